"""The 说明 (explanations) beside flagged figures, as rows of a merged export.

A figure lower than last period's (a correction of a cumulative total) or
outside the unit's own history (``forms.outliers``) stands only with a note
beside it, which the reviewer acknowledges on approval. The merged workbook
lists them all on one sheet, one row per unit and figure: what was flagged,
what the unit said, and who acknowledged it when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from exports.flat_data import FieldResolver, UnitReport, flat_value
from forms.i18n import N_

NOTES = N_("Explanations")
NOTE_HEADERS: tuple[str, ...] = (
    N_("Unit code"),
    N_("Unit"),
    N_("Item"),
    N_("Field key"),
    N_("Field"),
    N_("Value"),
    N_("Why it is flagged"),
    N_("The unit's explanation"),
    N_("Acknowledged by"),
    N_("Acknowledged at"),
)
NOT_EXPLAINED = N_("(not explained yet)")


class NoteRow(NamedTuple):
    unit_code: str
    unit_name: str
    item_number: str
    field_key: str
    field_label: str
    value: Any
    flagged: str
    explanation: str
    acknowledged_by: str
    acknowledged_at: datetime | None


def note_rows(report: UnitReport, resolver: FieldResolver, locale: str,
              translate: Callable[[str], str] = lambda s: s) -> Iterator[NoteRow]:
    """One row per figure of *report* that is flagged or carries a 说明, in form order.

    A flagged figure without its note says so; a note whose figure is no longer
    flagged (corrected since) is listed too: it is part of the record.
    """
    own = resolver.for_version(report.version)
    flagged: dict[str, list[str]] = {}
    for issue in report.issues:
        if issue.needs_figure_note:
            flagged.setdefault(issue.field, []).append(issue.render(translate, locale))
    noted = {k for k, v in report.explanations.items() if str(v).strip()}
    if not flagged and not noted:
        return
    acknowledged = bool(report.acknowledged_by) and report.status == "approved"
    for fld in own.fields():
        if fld.key not in flagged and fld.key not in noted:
            continue
        named = resolver.label_field(fld.key, fld)
        value = report.values.get(fld.key)
        explanation = str(report.explanations.get(fld.key) or "").strip()
        yield NoteRow(
            report.unit_code, report.unit_name,
            resolver.item_number(resolver.definition, fld.key)
            or resolver.item_number(own, fld.key),
            fld.key, named.text("label", locale),
            flat_value(fld, value, locale) if value is not None else None,
            "\n".join(flagged.get(fld.key, ())),
            explanation or translate(NOT_EXPLAINED),
            report.acknowledged_by if acknowledged and explanation else "",
            report.acknowledged_at if acknowledged and explanation else None,
        )
