"""The event list as a download (workbook or CSV), for the events page and the API alike."""

from __future__ import annotations

import io

from flask_babel import gettext

from exports import event_list
from server.downloads import CSV, XLSX, send_written
from server.labels import period_label
from server.locale import current_locale_code
from server.services.events import EventExport


def workbook_response(found: EventExport):
    """The events as an .xlsx download, one row each, in the reader's language."""
    locale = current_locale_code()
    return send_written(
        lambda out: event_list.write_workbook(out, found.definition, found.rows,
                                              title=found.title, locale=locale,
                                              translate=gettext, period_label=period_label),
        XLSX, found.filename + ".xlsx")


def csv_response(found: EventExport):
    """The events as a UTF-8 CSV download."""
    text = io.StringIO()
    event_list.write_csv(text, found.definition, found.rows, locale=current_locale_code(),
                         translate=gettext, period_label=period_label)
    return send_written(lambda out: out.write(text.getvalue().encode("utf-8")), CSV,
                        found.filename + ".csv")
