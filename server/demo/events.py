"""Demo events: a few accidents and important situations, filed by their units with a
photo, handed in, one of them approved, so the events list has something to show."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, time, timedelta
from io import BytesIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.periods import SHANGHAI
from server.models import Role, User
from server.models.reporting import Assignment, ReportEvent, Revision, StoredFile
from server.services import events, reporting
from server.services.owing import owing_today

# Per template: (days before today, hour in Beijing time, place, values), one per unit.
EVENTS = {
    "cangyuan-accidents": [
        (12, "10:20", "勐董镇茶叶初制所揉捻车间",
         {"kind": "machinery", "deaths": 0, "injured": 1, "loss": 0.8,
          "description": "员工清理揉捻机时未停机，右手被卷入致轻伤，已送县医院治疗。",
          "stopped": False}),
        (3, "15:45", "岩帅镇木材加工厂砂光工段",
         {"kind": "fire", "deaths": 0, "injured": 0, "loss": 2.5,
          "description": "砂光机除尘管道内积尘起火，员工使用灭火器扑灭，无人员伤亡。",
          "stopped": True}),
    ],
    "siping-important": [
        (5, "09:00", "",
         {"subject": "某化工企业储罐区检测发现重大事故隐患",
          "details": "县工信局联合应急部门检查时发现储罐区可燃气体报警装置失效，"
                     "已责令停用相关储罐。",
          "measures": "督促企业限期更换报警装置，整改完成前停用储罐区。"}),
    ],
}


def demo_photo(width: int = 32, height: int = 24) -> bytes:
    """A small orange PNG standing in for a site photo."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    rows = b"".join(b"\x00" + b"\xf0\x80\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def fill_events(session: Session, assignment: Assignment, now: datetime) -> list:
    """File the demo events of *assignment* (one per unit, first units first), each
    received an hour after it happened; the first one approved the next morning."""
    planned = EVENTS.get(assignment.template_key, [])
    units = session.scalars(owing_today(assignment)).all()
    reviewer = session.scalar(select(User).where(User.role == Role.CONSOLIDATOR,
                                                 User.unit_id == assignment.consolidating_unit_id))
    filed = []
    for (days, clock, place, values), unit in zip(planned, units, strict=False):
        submitter = session.scalar(select(User).where(User.role == Role.SUBMITTER,
                                                      User.unit_id == unit.id))
        if submitter is None:
            continue
        day = (now.astimezone(SHANGHAI) - timedelta(days=days)).date()
        happened = datetime.combine(day, time.fromisoformat(clock), tzinfo=SHANGHAI)
        received = min(happened + timedelta(hours=1), now)
        key = reporting.next_event_key(session, assignment, unit)
        view = reporting.load(session, submitter, assignment.key, unit.code, key)
        raw = {"reporter": unit.contact_name or "值班员", "phone": unit.contact_phone or "",
               **values}
        with session.no_autoflush:  # the moments below are set before anything is written
            report, _issues = events.save_event(
                session, submitter, view, raw, {"at": happened.isoformat(), "location": place},
                uploads=[events.Upload(BytesIO(demo_photo()), "现场照片.png")], now=received)
            report.created_at = report.updated_at = received
            reporting.submit(session, submitter, view, now=received)
        _backdate(session, received)
        if reviewer is not None and not filed:
            approved = min(received + timedelta(hours=18), now)
            with session.no_autoflush:
                reporting.approve(session, reviewer, view)
                report.approved_at = approved
            _backdate(session, approved)
        filed.append(report)
    return filed


def _backdate(session: Session, moment: datetime) -> None:
    """The revisions, files and audit entries just made happened at *moment*."""
    for pending in session.new:
        if isinstance(pending, Revision | ReportEvent | StoredFile):
            pending.created_at = pending.created_at or moment
