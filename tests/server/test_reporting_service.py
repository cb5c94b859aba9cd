"""Details of the workflow service not covered by the full-cycle tests."""

import pytest
from sqlalchemy.orm import Session

from forms.loader import CATALOG_DIR
from server.db import database, unit_of_work
from server.models import User
from server.services import assignments as assignment_service
from server.services import reporting
from server.services.errors import InvalidInput, StaleRevision
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


def test_a_save_racing_another_on_the_same_report_is_refused_as_stale(app, session, template,
                                                                      tree, make_user):
    """Two requests read revision 1 and save at the same time: the second one to write is
    told the report changed (not a server error), and the first one's save stands alone."""
    user = make_user("va1", unit=tree["VA1"])
    header = {"reporter": "张三", "phone": "13800000001"}
    with unit_of_work(session):
        assignment_service.create_assignment(session, key="cd", template=template, root=tree["TA"])
        reporting.save(session, user, reporting.load(session, user, "cd", "VA1", "2024Q2"),
                       {**header, "i01_enterprises": "1"})
    with Session(database(app).engine, expire_on_commit=False) as first, \
            Session(database(app).engine, expire_on_commit=False) as second:
        first_view = reporting.load(first, first.get(User, user.id), "cd", "VA1", "2024Q2")
        second_view = reporting.load(second, second.get(User, user.id), "cd", "VA1", "2024Q2")
        with unit_of_work(first):
            reporting.save(first, first.get(User, user.id), first_view,
                           {**header, "i01_enterprises": "2"}, expected_revision=1)
        with pytest.raises(StaleRevision) as refused, unit_of_work(second):
            reporting.save(second, second.get(User, user.id), second_view,
                           {**header, "i01_enterprises": "3"}, expected_revision=1)
    assert refused.value.current == 2
    session.expire_all()
    report = reporting.load(session, user, "cd", "VA1", "2024Q2").report
    assert [r.values["i01_enterprises"] for r in reporting.revisions(session, report)] == [2, 1]


@pytest.mark.parametrize("expected", [0, None])
def test_two_first_saves_of_the_same_report_never_fail_as_a_server_error(
        app, session, template, tree, make_user, expected):
    """Two requests find no report yet and both save: the second to write is told the report
    changed when it said which revision it started from (0: none), and otherwise adds the
    next revision; both saves are kept, and no unique-key error reaches anyone."""
    user = make_user("va1", unit=tree["VA1"])
    header = {"reporter": "张三", "phone": "13800000001"}
    with unit_of_work(session):
        assignment_service.create_assignment(session, key="cd", template=template, root=tree["TA"])
    with Session(database(app).engine, expire_on_commit=False) as first, \
            Session(database(app).engine, expire_on_commit=False) as second:
        first_view = reporting.load(first, first.get(User, user.id), "cd", "VA1", "2024Q2")
        second_view = reporting.load(second, second.get(User, user.id), "cd", "VA1", "2024Q2")
        assert first_view.report is None and second_view.report is None
        with unit_of_work(first):
            reporting.save(first, first.get(User, user.id), first_view,
                           {**header, "i01_enterprises": "2"}, expected_revision=expected)
        if expected == 0:
            with pytest.raises(StaleRevision) as refused, unit_of_work(second):
                reporting.save(second, second.get(User, user.id), second_view,
                               {**header, "i01_enterprises": "3"}, expected_revision=0)
            assert refused.value.current == 1
        else:
            with unit_of_work(second):
                reporting.save(second, second.get(User, user.id), second_view,
                               {**header, "i01_enterprises": "3"})
    session.expire_all()
    report = reporting.load(session, user, "cd", "VA1", "2024Q2").report
    kept = [r.values["i01_enterprises"] for r in reporting.revisions(session, report)]
    assert kept == ([2] if expected == 0 else [3, 2])
