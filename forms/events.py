"""What every event report carries besides its fields: the time and place of the event.

The time is read as Beijing time (Asia/Shanghai) unless it says otherwise, is
required and may not lie in the future; the location is optional: an address,
coordinates (both or neither), or both. Attachments are listed here too (their
content is checked in ``forms.event_files``); the limits come from the
template's :class:`forms.definition.EventRules`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from forms.definition import EventRules
from forms.issues import Issue, error
from forms.periods import SHANGHAI

LOCATION_MAX = 200
MB = 1024 * 1024
# Field keys the issues of an event point at (never a definition's field key: those
# start with a letter and may not contain a dot).
AT, LOCATION, COORDINATES, ATTACHMENTS = ("event.at", "event.location", "event.coordinates",
                                          "event.attachments")


@dataclass(frozen=True)
class EventInfo:
    """The time (aware, UTC), the place and the attachments of one event."""

    at: datetime
    location: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    attachments: tuple[dict[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.astimezone(UTC).isoformat(), "location": self.location,
                "latitude": _text(self.latitude), "longitude": _text(self.longitude),
                "attachments": [dict(a) for a in self.attachments]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventInfo:
        return cls(at=datetime.fromisoformat(data["at"]), location=data.get("location") or "",
                   latitude=_decimal(data.get("latitude")),
                   longitude=_decimal(data.get("longitude")),
                   attachments=tuple(data.get("attachments") or ()))

    @property
    def local_time(self) -> datetime:
        return self.at.astimezone(SHANGHAI)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def parse_time(value: Any) -> datetime:
    """An aware datetime from ``2024-06-30T14:30``, ``2024-06-30 14:30`` or an ISO time with
    an offset; a time without offset is Beijing time. Raises ValueError."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip().replace("Z", "+00:00")
        if not text:
            raise ValueError(value)
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC)


def read_event(raw: Mapping[str, Any], now: datetime,
               attachments: Sequence[Mapping[str, Any]] = ()) -> tuple[EventInfo | None,
                                                                        list[Issue]]:
    """The event's time and place from *raw* (``at``, ``location``, ``latitude``,
    ``longitude``), or the issues that keep it from being saved."""
    issues: list[Issue] = []
    at = None
    text = raw.get("at")
    if text is None or str(text).strip() == "":
        issues.append(error(AT, "event_time_required"))
    else:
        try:
            at = parse_time(text)
        except (ValueError, TypeError, OverflowError):
            issues.append(error(AT, "event_time_bad", value=str(text)[:40]))
    if at is not None and at > now.astimezone(UTC):
        issues.append(error(AT, "event_time_future",
                            value=at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")))
    location = " ".join(str(raw.get("location") or "").split())
    if len(location) > LOCATION_MAX:
        issues.append(error(LOCATION, "location_too_long", max=LOCATION_MAX))
    try:
        latitude, longitude = _decimal(raw.get("latitude")), _decimal(raw.get("longitude"))
    except ValueError:
        latitude = longitude = None
        issues.append(error(COORDINATES, "coordinates_bad"))
    else:
        if (latitude is None) != (longitude is None) or (
                latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)):
            issues.append(error(COORDINATES, "coordinates_bad"))
    if issues:
        return None, issues
    return EventInfo(at, location, latitude, longitude, tuple(attachments)), []


def attachment_limits(rules: EventRules, app_limit: int | None) -> tuple[int, int]:
    """Bytes allowed per file and per event (never above the server's request limit)."""
    per_file = int(rules.max_file_mb * MB)
    total = int(rules.max_total_mb * MB)
    if app_limit:
        per_file, total = min(per_file, app_limit), min(total, app_limit)
    return per_file, total


def check_attachment_count(rules: EventRules, sizes: Sequence[int],
                           app_limit: int | None) -> list[Issue]:
    """Too many attachments, or too large together."""
    if len(sizes) > rules.max_files:
        return [error(ATTACHMENTS, "too_many_attachments", max=rules.max_files)]
    _, total = attachment_limits(rules, app_limit)
    if sum(sizes) > total:
        return [error(ATTACHMENTS, "attachments_too_large", max=mb_text(total))]
    return []


def mb_text(size: int) -> str:
    """A byte count as MB for messages: 10, 2.5."""
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")
