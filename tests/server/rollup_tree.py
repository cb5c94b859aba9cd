"""A four-level reporting chain for the consolidation tests.

    CITY (city, reports itself: the assignment includes its root)
    ├── CO1 (county)
    │   ├── D1 (district: does not report, transparent)
    │   │   └── T1 (town)
    │   │       ├── V1 (village)
    │   │       └── G1 (group: does not report, transparent)
    │   │           └── V2 (village)
    │   └── T2 (town)
    │       └── V3 (village)
    └── CO2 (county)
        └── T3 (town)
            └── V4 (village)

Each reporting unit has a submitter account named after it in lower case; every
unit with units below it also has a consolidator account (``<code>-hz``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hazards import FOUND, hazards_definition

from forms.definition import Definition
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services import reporting
from server.services import templates as template_service

KEY = "hazards-city"
KINDS = ("city", "county", "town", "village")
Q2_ON_TIME = datetime(2024, 7, 1, 2, tzinfo=UTC)  # the 2024Q2 deadline is 2024-07-05
Q3_ON_TIME = datetime(2024, 10, 2, 2, tzinfo=UTC)  # the 2024Q3 deadline is 2024-10-05
Q3_LATE = datetime(2024, 10, 20, 2, tzinfo=UTC)
HEADER = {"reporter": "王五", "phone": "13800000000"}

RECTIFIED = {"key": "rectified", "kind": "integer", "label": "已整改", "label_en": "Rectified",
             "unit": "处", "min": 0}
MEASURES = {"key": "measures", "kind": "longtext", "label": "工作措施", "label_en": "Measures"}
POSTS = {"key": "posts", "kind": "integer", "label": "示范岗", "label_en": "Posts", "min": 0,
         "cumulative": True}

V1_FIELDS = ({**FOUND, "label_en": "Hazards found"}, RECTIFIED, MEASURES)
V2_FIELDS = (*V1_FIELDS, POSTS)  # version 2 adds a field

LAYOUT = (  # code, parent, kind
    ("CITY", None, "city"),
    ("CO1", "CITY", "county"),
    ("D1", "CO1", "district"),
    ("T1", "D1", "town"),
    ("V1", "T1", "village"),
    ("G1", "T1", "group"),
    ("V2", "G1", "village"),
    ("T2", "CO1", "town"),
    ("V3", "T2", "village"),
    ("CO2", "CITY", "county"),
    ("T3", "CO2", "town"),
    ("V4", "T3", "village"),
)
CONSOLIDATORS = ("CITY", "CO1", "CO2", "D1", "T1", "T2", "T3", "G1")


def definition(fields: tuple[dict, ...] = V1_FIELDS) -> Definition:
    return Definition.model_validate(hazards_definition(last="2025Q4", fields=fields))


def build(session, make_unit, make_user) -> dict[str, Any]:
    """The units, the accounts and the assignment (template version 1 from 2024Q2)."""
    units: dict[str, Any] = {}
    for code, parent, kind in LAYOUT:
        units[code] = make_unit(code, units.get(parent) if parent else None, kind=kind)
    users = {code.lower(): make_user(code.lower(), Role.SUBMITTER, units[code])
             for code, _, kind in LAYOUT if kind in KINDS}
    users |= {f"{code.lower()}-hz": make_user(f"{code.lower()}-hz", Role.CONSOLIDATOR,
                                              units[code]) for code in CONSOLIDATORS}
    users["boss"] = make_user("boss", Role.ADMIN)
    with unit_of_work(session):
        template_service.publish(session, definition(), origin="upload")
        template = template_service.get_version(session, "hazards", 1)
        assignment = assignment_service.create_assignment(session, key=KEY, template=template,
                                                          root=units["CITY"], kinds=KINDS,
                                                          include_root=True)
    return {"units": units, "users": users, "assignment": assignment}


def publish_version_2(session, world, from_period: str = "2024Q3") -> None:
    """Version 2 (with the posts field) for the periods from *from_period* on."""
    with unit_of_work(session):
        template_service.publish(session, definition(V2_FIELDS), origin="upload")
        assignment_service.replace_version(session, world["assignment"],
                                           template_service.get_version(session, "hazards", 2),
                                           from_period)


def save(session, world, who: str, unit: str, period: str, values: dict):
    user = world["users"][who]
    view = reporting.load(session, user, KEY, unit, period)
    with unit_of_work(session):
        reporting.save(session, user, view, {**HEADER, **values}, remarks="已核实")
    return view


def send(session, world, who: str, unit: str, period: str, values: dict, *,
         approve_by: str | None = None, at: datetime = Q3_ON_TIME) -> None:
    """Save and submit the unit's report; approve it from above when *approve_by* is given."""
    user = world["users"][who]
    view = save(session, world, who, unit, period, values)
    with unit_of_work(session):
        reporting.submit(session, user, view, now=at)
        if approve_by:
            reviewer = world["users"][approve_by]
            reporting.approve(session, reviewer,
                              reporting.load(session, reviewer, KEY, unit, period))


def roll_up(session, world) -> None:
    """Reports of 2024Q2 (all version 1) and 2024Q3 (V2 still on version 1, others on 2).

    2024Q2, all approved: V1 2, V2 1, V3 1; T1 3, T2 1; CO1 4; CITY 4.
    2024Q3: V1 5 (posts 2) and V2 3 (version 1, no posts), both approved; V3 4,
    submitted late and not approved; V4 has not reported. T1 reports 10 instead of
    its villages' 8 (an override), approved; T2 4, approved; CO1 14, approved.
    """
    q2 = {"at": Q2_ON_TIME}
    send(session, world, "v1", "V1", "2024Q2", {"found": 2, "measures": "排查了仓库"},
         approve_by="t1-hz", **q2)
    send(session, world, "v2", "V2", "2024Q2", {"found": 1}, approve_by="t1-hz", **q2)
    send(session, world, "v3", "V3", "2024Q2", {"found": 1}, approve_by="t2-hz", **q2)
    send(session, world, "t1", "T1", "2024Q2", {"found": 3}, approve_by="co1-hz", **q2)
    send(session, world, "t2", "T2", "2024Q2", {"found": 1}, approve_by="co1-hz", **q2)
    send(session, world, "co1", "CO1", "2024Q2", {"found": 4}, approve_by="city-hz", **q2)
    send(session, world, "city", "CITY", "2024Q2", {"found": 4}, approve_by="boss", **q2)

    send(session, world, "v2", "V2", "2024Q3", {"found": 3, "rectified": 1,
                                                "measures": "整改了消防通道"},
         approve_by="t1-hz")
    publish_version_2(session, world)
    send(session, world, "v1", "V1", "2024Q3", {"found": 5, "rectified": 2, "posts": 2,
                                                "measures": "夜查两次"},
         approve_by="t1-hz")
    send(session, world, "v3", "V3", "2024Q3", {"found": 4, "posts": 1}, at=Q3_LATE)
    send(session, world, "t1", "T1", "2024Q3", {"found": 10, "rectified": 3, "posts": 2},
         approve_by="co1-hz")
    send(session, world, "t2", "T2", "2024Q3", {"found": 4, "posts": 1}, approve_by="co1-hz")
    send(session, world, "co1", "CO1", "2024Q3", {"found": 14, "rectified": 3, "posts": 3},
         approve_by="city-hz")


def ordered(world, *codes: str) -> list[str]:
    """*codes* in tree order: by the paths of ids, so it depends on the ids the database gave."""
    return sorted(codes, key=lambda code: world["units"][code].path)
