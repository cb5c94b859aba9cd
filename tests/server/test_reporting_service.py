"""Details of the workflow service not covered by the full-cycle tests."""

import pytest

from forms.loader import CATALOG_DIR
from server.db import unit_of_work
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.errors import InvalidInput
from server.services.templates import get_version, load_files


@pytest.fixture
def template(session):
    with unit_of_work(session):
        load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
    return get_version(session, "chidian-progress", 1)


@pytest.mark.parametrize(("first", "last"), [("2024Q9", "2026Q4"), ("2024-13", "2026Q4"),
                                             ("2024Q2", "soon"), ("2024H1", "2024H2")])
def test_bad_period_windows_are_user_errors(session, template, tree, first, last):
    with pytest.raises(InvalidInput) as info, unit_of_work(session):
        assignment_service.create_assignment(session, key="x", template=template, root=tree["TA"],
                                             first=first, last=last)
    assert info.value.field in ("first_period", "last_period")


def test_correcting_an_earlier_period_flags_the_later_report(session, template, tree,
                                                             make_user):
    user = make_user("va1", unit=tree["VA1"])
    with unit_of_work(session):
        assignment_service.create_assignment(session, key="cd", template=template, root=tree["TA"])
    header = {"reporter": "张三", "phone": "13800000001"}
    with unit_of_work(session):
        later = reporting.load(session, user, "cd", "VA1", "2024Q3")
        reporting.save(session, user, later, {**header, "i01_enterprises": "5"})
        earlier = reporting.load(session, user, "cd", "VA1", "2024Q2")
        _, issues = reporting.save(session, user, earlier, {**header, "i01_enterprises": "7"})
    assert issues == []  # a draft of a later period is no baseline yet
    with unit_of_work(session):
        reporting.submit(session, user, later)
        earlier = reporting.load(session, user, "cd", "VA1", "2024Q2")
        _, issues = reporting.save(session, user, earlier, {**header, "i01_enterprises": "7"})
    assert ("i01_enterprises", "later_period_lower") in {(i.field, i.code) for i in issues}
