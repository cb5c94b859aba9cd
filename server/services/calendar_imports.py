"""A CSV file of calendar days, uploaded on the calendar page or given to ``tianbao calendar
import``: read (size, encoding), applied all or nothing by :mod:`workdays`, and recorded in
the audit log. (Apart from ``workdays``, which due dates read, so that the audit log's
imports do not make a cycle.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.models import User
from server.services import audit, workdays


def import_file(session: Session, data: bytes, user: User | None = None
                ) -> workdays.ImportResult:
    """Apply the CSV *data*; InvalidInput (translated, naming the line) when it is too
    large, not text, or a row is wrong: then nothing is saved."""
    result = workdays.import_csv(session, workdays.csv_text(data), user=user)
    if result.days:
        days = [day.isoformat() for day in result.days]
        audit.record(session, audit.Kind.CALENDAR_IMPORTED,
                     **({"actor": user} if user is not None else {}),
                     target=f"{days[0]} – {days[-1]}" if len(days) > 1 else days[0],
                     details={"count": len(days), "days": days[:100]})
    return result
