"""What a report starts from: one answer for the web form and the Excel workbook.

A report that exists shows its stored values. A new one starts with the header
fields people reuse (from the unit's previous report, else the unit's contact)
and, for a unit that consolidates, with what its children's approved reports
add up to, so the workbook of a new office report is as filled in as its form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from server.models import User
from server.services import consolidation, reporting
from server.services.consolidation import Prefill
from server.services.reporting import ReportView


@dataclass(frozen=True)
class StartingValues:
    values: dict[str, Any]
    prefill: Prefill | None = None  # the children's figures a new office report starts from


def starting_values(session: Session, user: User, view: ReportView) -> StartingValues:
    """The values *user* is shown for *view*'s report (stored, or a new report's start).

    The children's figures are offered only to someone who may fill the report in.
    """
    if view.report is not None:
        return StartingValues(view.values)
    prefill = (consolidation.prefill(session, view) if reporting.can_edit(user, view)
               else None)
    values: dict[str, Any] = dict(prefill.values) if prefill else {}
    for fld in view.definition.header:
        remembered = view.previous_values.get(fld.key)
        if remembered is None and fld.format == "phone":
            remembered = view.unit.contact_phone
        elif remembered is None and fld.key == "reporter":
            remembered = view.unit.contact_name
        if remembered:
            values[fld.key] = remembered
    return StartingValues(values, prefill)
