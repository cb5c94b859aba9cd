"""The accident-report assignment (plan 003's event template) and the people who use it."""

from __future__ import annotations

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.models import Role
from server.services import assignments as assignment_service
from server.services.templates import get_version, load_files

ACCIDENTS = CATALOG_DIR / "003_cangyuan_accidents.yaml"


def assign_accidents(session, root, key: str = "accidents") -> None:
    """Load the accident template and assign it to the subtree of *root*."""
    with unit_of_work(session):
        load_files(session, [ACCIDENTS])
        assignment_service.create_assignment(
            session, key=key, template=get_version(session, "cangyuan-accidents", 1), root=root)


def event_people(make_user, tree) -> dict:
    """Two villages' submitters and their town's consolidator."""
    return {"va1": make_user("va1", unit=tree["VA1"]), "va2": make_user("va2", unit=tree["VA2"]),
            "ta": make_user("ta-hz", role=Role.CONSOLIDATOR, unit=tree["TA"])}
