"""The calendar of working days: the chinese-calendar package's days plus the
administrators' own (holidays and 调休 working days, with reasons).

Due dates ask :func:`calendar_of` (through ``assignments.due``); the calendar
page and ``tianbao calendar`` change the administrators' days here. The days are
read once per database session (a small table) and forgotten when they change.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from babel.dates import format_skeleton
from flask import has_app_context
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forms.workdays import CalendarDay, Shift, WorkCalendar
from server.models import User
from server.models.jobs import CalendarEntry
from server.services.errors import InvalidInput

CACHE_KEY = "tianbao.work_calendar"
REASON_MAX = 100
CSV_MAX_ROWS = 2000
CSV_MAX_BYTES = 256 * 1024  # 2000 rows of date, kind and two reasons fit well inside


def calendar_of(session: Session | None) -> WorkCalendar:
    """The package's days with the administrators' days over them (cached per session)."""
    if session is None:
        return WorkCalendar()
    found = session.info.get(CACHE_KEY)
    if found is None:
        found = session.info[CACHE_KEY] = WorkCalendar(
            CalendarDay(row.day, row.workday, row.reason, row.reason_en)
            for row in session.scalars(select(CalendarEntry)))
    return found


def forget(session: Session) -> None:
    session.info.pop(CACHE_KEY, None)


def entries(session: Session, year: int | None = None) -> list[CalendarEntry]:
    query = select(CalendarEntry).order_by(CalendarEntry.day)
    if year is not None:
        query = query.where(CalendarEntry.day >= date(year, 1, 1),
                            CalendarEntry.day <= date(year, 12, 31))
    return list(session.scalars(query))


def set_day(session: Session, day: date, *, workday: bool, reason: str, reason_en: str = "",
            user: User | None = None) -> CalendarEntry:
    """Declare *day* a holiday (``workday=False``) or a working day; replaces what an
    administrator said of it before. Refused (InvalidInput on ``reason``) without a reason."""
    reason, reason_en = (reason or "").strip(), (reason_en or "").strip()
    if not reason:
        raise InvalidInput(_l("Say why: the holiday's name, or the 调休 it makes up for."),
                           field="reason")
    if len(reason) > REASON_MAX or len(reason_en) > REASON_MAX:
        raise InvalidInput(_l("A reason has at most %(count)s characters."), field="reason",
                           count=REASON_MAX)
    entry = session.scalar(select(CalendarEntry).where(CalendarEntry.day == day))
    if entry is None:
        entry = CalendarEntry(day=day)
        session.add(entry)
    entry.workday, entry.reason, entry.reason_en = bool(workday), reason, reason_en
    entry.created_by_id = user.id if user is not None else None
    session.flush()
    forget(session)
    return entry


def remove_day(session: Session, day: date) -> bool:
    """Forget what administrators said of *day*; True if there was something."""
    removed = session.execute(delete(CalendarEntry).where(CalendarEntry.day == day)).rowcount
    forget(session)
    return bool(removed)


@dataclass(frozen=True)
class ImportResult:
    added: int
    days: tuple[date, ...] = ()


HOLIDAY_WORDS = {"holiday", "off", "休", "假", "休息", "节假日", "放假"}
WORKDAY_WORDS = {"workday", "work", "班", "上班", "工作日", "调休上班"}


def import_csv(session: Session, text: str, user: User | None = None) -> ImportResult:
    """Days from CSV rows ``date,kind,reason[,reason_en]`` (kind: holiday/休 or workday/班);
    a header row is skipped. Refused as a whole, with the line, when a row is wrong."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if len(rows) > CSV_MAX_ROWS:
        raise InvalidInput(_l("At most %(count)s days at once."), count=CSV_MAX_ROWS)
    parsed = []
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        try:
            day = date.fromisoformat(cells[0])
        except (ValueError, IndexError):
            if number == 1:
                continue  # a header
            raise InvalidInput(_l("Line %(line)s: the first column is a date like 2027-10-01."),
                               line=number) from None
        kind = cells[1].lower() if len(cells) > 1 else ""
        if kind not in HOLIDAY_WORDS | WORKDAY_WORDS:
            raise InvalidInput(_l("Line %(line)s: the second column is holiday (休) or "
                                  "workday (班)."), line=number)
        reason = cells[2] if len(cells) > 2 else ""
        if not reason:
            raise InvalidInput(_l("Line %(line)s: the third column says why."), line=number)
        parsed.append((day, kind in WORKDAY_WORDS, reason, cells[3] if len(cells) > 3 else ""))
    for day, workday, reason, reason_en in parsed:
        set_day(session, day, workday=workday, reason=reason, reason_en=reason_en, user=user)
    return ImportResult(len(parsed), tuple(sorted(day for day, *_rest in parsed)))


def csv_text(data: bytes) -> str:
    """The text of an uploaded calendar CSV: at most :data:`CSV_MAX_BYTES`, UTF-8 (with or
    without its byte-order mark) or GB18030 as Excel saves it on a Chinese Windows."""
    if len(data) > CSV_MAX_BYTES:
        raise InvalidInput(_l("The file is larger than %(size)s KB; a calendar CSV is much "
                              "smaller."), size=CSV_MAX_BYTES // 1024)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(_l("The file is not a CSV text file (UTF-8 or GB18030)."))


# -- saying why a date moved ---------------------------------------------------------------


def short_date(day: date, locale: str) -> str:
    """10月5日 / Oct 5: the day of a due date within its year."""
    return format_skeleton("MMMd", day, locale=locale)


def shift_reason(shift: Shift, locale: str) -> str:
    """"10月5日为国庆节假期，顺延至10月8日。" in *locale*."""
    if not has_app_context():
        return _shift_reason(shift, locale)
    with force_locale(locale):
        return _shift_reason(shift, locale)


def _shift_reason(shift: Shift, locale: str) -> str:
    because = shift.because
    names = {"day": short_date(shift.original, locale), "moved": short_date(shift.moved, locale)}
    chinese = locale.lower().startswith("zh")
    name = because.reason if chinese or not because.reason_en else because.reason_en
    if because.source == "weekend":
        weekday = format_skeleton("EEEE", shift.original, locale=locale)
        return gettext("%(day)s is a %(weekday)s; the due date moves to %(moved)s.",
                       weekday=weekday, **names)
    return gettext("%(day)s falls in the %(holiday)s holiday; the due date moves to "
                   "%(moved)s.", holiday=name, **names)
