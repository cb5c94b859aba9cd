"""One API save is one read path, and concurrent saves from one revision never fail.

A save is counted in SQL statements (a listener on the engine): the bound is
what the save needs (the token, the unit with its reports and what its assignment's
plan now is, the conditional update, the figures as rows, the revision, the event:
six; five when no figure changed; one more, the children's reports, for a unit with units
below it; on PostgreSQL the update, the revision and the event are one statement,
two fewer) and must not grow with the template or the tree. The issues of a save
are computed once, the definition of a template version is parsed once per process,
and simultaneous saves from the same revision, in real threads, give one success
and conflicts, never a 500 (on SQLite, and on PostgreSQL when DATABASE_URL is one).
"""

from __future__ import annotations

import io
import json
import threading

from api_helpers import token_for
from api_reports_world import (  # noqa: F401
    DEFINITION,
    HEADER,
    PERIOD,
    api_fixture,
    path,
    world_fixture,
)
from api_reports_world import KEY as ASSIGNMENT
from sqlalchemy import func, select, update
from statement_count import recorded, rendered_again
from test_api_workbook import download, fill
from test_reporting_form import Q2, form_of, village  # noqa: F401

from forms.definition import Definition
from forms.loader import CATALOG_DIR
from server.db import database, unit_of_work
from server.models import Report, ReportEvent, Revision
from server.models.accounts import utcnow
from server.models.reporting import Status
from server.models.templates import DefinitionCache
from server.services import assignments as assignment_service
from server.services import plans, reporting
from server.services import templates as template_service

COMPLETE = {**HEADER, "found": 5, "rectified": 2}
# The token, the unit with its reports (whether any unit is placed below it, and the
# fingerprint of the assignment's plan, which this process read before), the claim, the
# figures as rows, the revision and the event: six for a unit at the bottom of the tree,
# whatever the template.
MOST_STATEMENTS = 6
# A save that changes no figure (a text, a remark) writes no figures' rows: five.
TEXT_STATEMENTS = 5
# A unit with units below it reads their reports too (its figures are checked against
# theirs): one statement more, however many there are.
CHILDREN_STATEMENTS = 1
# On PostgreSQL the claim returns the row it wrote and the revision and the event are
# inserted from it in the same statement: two fewer.
RECORDED_WITH_THE_CLAIM = 2


def statements(app):
    return recorded(database(app).engine)


def bound(app, statements_: int) -> int:
    """*statements_* on SQLite, two fewer on PostgreSQL."""
    postgresql = database(app).engine.dialect.name == "postgresql"
    return statements_ - (RECORDED_WITH_THE_CLAIM if postgresql else 0)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def put(client, revision: int, found: int, unit: str = "VA1"):
    return client.put(path(unit), revision=revision,
                      json={"values": {**COMPLETE, "found": found}})


# -- statements and work of one save ------------------------------------------------------


def test_a_save_runs_a_bounded_number_of_statements_whatever_the_tree(app, api, make_unit,
                                                                     tree):
    client = api("va1")
    ok(put(client, 0, 5))
    with statements(app) as leaf:
        body = ok(put(client, 1, 6))
    assert body["revision"] == 2 and body["values"]["found"] == 6
    assert len(leaf) <= bound(app, MOST_STATEMENTS), "\n".join(leaf)
    # A unit below the village: its report is now checked against theirs, one query more.
    make_unit("C0", tree["VA1"], kind="company")
    with statements(app) as one_below:
        body = ok(put(client, 2, 7))
    assert body["revision"] == 3
    assert len(one_below) == len(leaf) + CHILDREN_STATEMENTS, "\n".join(one_below)
    for n in range(1, 12):
        make_unit(f"C{n}", tree["VA1"], kind="company")
    with statements(app) as twelve_below:
        body = ok(put(client, 3, 8))
    assert body["revision"] == 4
    assert len(twelve_below) == len(one_below), "\n".join(twelve_below)


def test_a_consolidating_unit_s_save_is_checked_against_the_units_below(
        api, session, make_unit, make_user, tree, world):
    """The children's reports are still read for a unit with units below it: its answer
    says where its figure differs from what their approved reports add up to."""
    reviewer = world["ta-hz"]
    for code, found in (("C1", 3), ("C2", 4)):
        company = make_unit(code, tree["VA1"], kind="company")
        user = make_user(code.lower(), unit=company)
        view = reporting.load(session, user, ASSIGNMENT, code, PERIOD)
        with unit_of_work(session):
            reporting.save(session, user, view, {**COMPLETE, "found": found, "rectified": 1})
            reporting.submit(session, user, view)
            reporting.approve(session, reviewer,
                              reporting.load(session, reviewer, ASSIGNMENT, code, PERIOD))
    client = api("va1")

    def differing(body: dict) -> list[tuple]:
        return [(i["field"], i["params"]["value"], i["params"]["expected"])
                for i in body["issues"] if i["code"] == "differs_from_children"]

    assert differing(ok(put(client, 0, 6))) == [("found", "6", "7")]
    assert differing(ok(put(client, 1, 7))) == []
    assert differing(ok(client.get(path()))) == []


class Progress:
    """The 21-item plan assigned under town TA, and village VA1's API client for it."""

    def __init__(self, app, session, tree, make_user, kinds=()) -> None:
        with unit_of_work(session):
            template_service.load_files(session, [CATALOG_DIR / "000_chidian_progress.yaml"])
            template = template_service.latest(session, "chidian-progress")
            assert template.definition.target_fields()
            assignment = assignment_service.create_assignment(
                session, key="progress", template=template, root=tree["TA"], kinds=kinds)
            self.periods = assignment_service.assignment_periods(assignment)
        self.session = session
        self.client = app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = \
            f"Bearer {token_for(session, make_user('va1', unit=tree['VA1']))}"

    def put(self, period: str, revision: int, values: dict) -> dict:
        return ok(self.client.put(f"/api/v1/reports/progress/VA1/{period}",
                                  headers={"If-Match": f'"{revision}"'},
                                  json={"values": values}))

    def approve(self, period: str) -> None:
        """Handed in and approved: a baseline of the periods after it."""
        with unit_of_work(self.session):
            self.session.execute(update(Report).where(Report.period == period)
                                 .values(status=Status.APPROVED, submitted_at=utcnow()))


def test_the_statements_of_a_save_are_rendered_once(app, session, tree, make_user):
    """No statement of a save has its text rendered again at each execution (what a list's
    IN or a literal-execute parameter does): the cached text is sent as it is. The plan
    asks two kinds of unit (a list in the statement)."""
    plan = Progress(app, session, tree, make_user, kinds=("village", "company"))
    plan.put(plan.periods[0], 0, {"reporter": "张三"})
    with rendered_again(database(app).engine) as seen:
        assert plan.put(plan.periods[0], 1, {"reporter": "李四"})["revision"] == 2
    assert seen == []


def test_a_save_of_the_21_item_plan_with_targets_runs_as_few_statements(
        app, session, tree, make_user):
    """Targets and the starting figures read what the view holds, with no statement of
    their own; the unit's earlier handed-in reports do not add any either."""
    plan = Progress(app, session, tree, make_user)
    first, second = plan.periods[:2]
    plan.put(first, 0, {"reporter": "张三"})
    with statements(app) as seen:
        assert plan.put(first, 1, {"reporter": "李四"})["revision"] == 2
    assert len(seen) <= bound(app, TEXT_STATEMENTS), "\n".join(seen)
    plan.approve(first)
    plan.put(second, 0, {"reporter": "张三"})
    with statements(app) as later:
        assert plan.put(second, 1, {"reporter": "李四"})["revision"] == 2
    assert len(later) <= bound(app, TEXT_STATEMENTS), "\n".join(later)


def test_a_save_decodes_each_report_it_reads_once(app, session, tree, make_user,
                                                  monkeypatch):
    """The history, the previous report and the targets all read the unit's handed-in
    reports: a save late in the plan decodes each of them once, not once per use."""
    plan = Progress(app, session, tree, make_user)
    figures = {"reporter": "张三", "i01_enterprises": 3}
    for period in plan.periods[:2]:  # two quarters handed in and approved
        plan.put(period, 0, figures)
        plan.approve(period)
    third = plan.periods[2]
    plan.put(third, 0, figures)
    decoded = []
    real = reporting.loads_values

    def counting(definition, data):
        decoded.append(data)
        return real(definition, data)

    for decoding in (reporting, plans):  # a view decodes with its assignment's plan
        monkeypatch.setattr(decoding, "loads_values", counting)
    answer = plan.put(third, 1, {**figures, "reporter": "李四"})
    assert answer["revision"] == 2 and answer["targets"]
    assert len(decoded) == 3  # the two approved quarters and the report saved, once each


def test_the_answer_s_targets_follow_the_figures_and_the_language(
        app, session, tree, make_user):
    """The targets of an answer are reused between saves: a save that moves a judged
    figure, or a reader of another language, gets them judged and worded afresh."""
    catalogue = CATALOG_DIR / "000_chidian_progress.yaml"
    with unit_of_work(session):
        template_service.load_files(session, [catalogue])
        template = template_service.latest(session, "chidian-progress")
        assignment = assignment_service.create_assignment(session, key="progress",
                                                          template=template, root=tree["TA"])
        period = assignment_service.assignment_periods(assignment)[0]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {token_for(session, make_user('va1', unit=tree['VA1']))}"
    revision = 0

    def certified(values: dict, language: str = "en") -> dict:
        nonlocal revision
        body = ok(client.put(f"/api/v1/reports/progress/VA1/{period}",
                             headers={"If-Match": f'"{revision}"', "Accept-Language": language},
                             json={"values": {"i08_workers": 10, **values}}))
        revision = body["revision"]
        assert body == ok(client.get(f"/api/v1/reports/progress/VA1/{period}",
                                     headers={"Accept-Language": language}))
        return next(t for t in body["targets"] if t["field"] == "i08_certified")

    half = certified({"i08_certified": 5, "reporter": "张三"})
    assert half["value"] == 50
    assert certified({"i08_certified": 5, "reporter": "李四"}) == half  # a text changed
    full = certified({"i08_certified": 10, "reporter": "李四"})
    assert full["value"] == 100 and full["text"] != half["text"]
    chinese = certified({"i08_certified": 10, "reporter": "王五"}, "zh")
    assert chinese["value"] == 100 and chinese["text"] != full["text"]


def test_a_revision_and_its_history_entry_record_the_report_as_saved(api, session, world):
    client = api("va1")
    ok(put(client, 0, 5))
    saved = ok(client.put(path(), revision=1, json={
        "values": {**COMPLETE, "found": 6}, "remarks": " 已核实 ",
        "explanations": {"found": "新排查"}}))
    session.expire_all()
    report = session.scalars(select(Report)).one()
    revision = session.scalars(select(Revision).where(Revision.number == 2)).one()
    assert saved["revision"] == report.revision == 2
    assert (revision.report_id, revision.template_version_id) == \
        (report.id, report.template_version_id)
    assert revision.values == report.values and revision.values["found"] == 6
    assert (revision.remarks, revision.explanations) == ("已核实", {"found": "新排查"})
    assert (revision.source, revision.author.username, revision.file_id) == ("api", "va1", None)
    event = session.scalars(select(ReportEvent).where(ReportEvent.revision == 2)).one()
    assert (event.report_id, event.action, event.comment, event.actor.username) == \
        (report.id, "saved", "", "va1")
    assert event.created_at == revision.created_at


def test_a_save_validates_once_and_answers_what_a_reload_would(api, monkeypatch):
    client = api("va1")
    ok(put(client, 0, 5))
    calls = []
    real = reporting.validate

    def counting(*args, **kwargs):
        calls.append(kwargs.get("check_required", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(reporting, "validate", counting)
    saved = ok(client.put(path(), revision=1,
                          json={"values": {**HEADER, "found": 2, "rectified": 3}}))
    assert calls == [True]  # what a submission would check, computed once
    monkeypatch.setattr(reporting, "validate", real)
    assert saved == ok(client.get(path()))
    assert any(i["severity"] == "error" for i in saved["issues"]), saved["issues"]


def test_a_template_version_is_parsed_once_per_process(api, monkeypatch):
    client = api("va1")
    ok(client.get(path()))  # parsed here at the latest
    parsed = []
    real = Definition.from_json

    def counting(text):
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(Definition, "from_json", staticmethod(counting))
    ok(put(client, 0, 5))
    ok(put(client, 1, 6))
    ok(client.get(path()))
    assert parsed == []


def test_the_cache_parses_a_changed_text_again():
    cache = DefinitionCache(size=2)
    text = Definition.model_validate(DEFINITION).to_json()
    assert cache.get(7, text) is cache.get(7, text)
    renamed = text.replace("整改隐患", "已整改隐患")
    assert renamed != text
    # Same id, other text (a restored backup): the new text, never the old definition.
    assert cache.get(7, renamed).field("rectified").label == "已整改隐患"
    assert cache.get(7, text).field("rectified").label == "整改隐患"
    assert cache.get(8, text) is not cache.get(7, text)  # a third entry evicts the oldest


def test_a_version_published_later_is_what_its_reports_use(api, session, world):
    client = api("va1")
    ok(put(client, 0, 5))  # version 1 parsed and cached
    with unit_of_work(session):
        text = json.dumps(DEFINITION, ensure_ascii=False)
        data = json.loads(text.replace('"整治方案"', '"修订后的整治方案"'))
        template_service.publish(session, Definition.model_validate(data), origin="upload")
        assignment_service.replace_version(
            session, assignment_service.get_assignment(session, ASSIGNMENT),
            template_service.get_version(session, "hazards", 2), "2024Q4")
    # The web form keeps attachments to itself: the refusal names the field by its label.
    refused = client.put(path(period="2024Q4"), revision=0, headers={"Accept-Language": "zh"},
                         json={"values": {**COMPLETE, "plan_file": {"id": 1}}})
    assert refused.status_code == 422
    assert "修订后的整治方案" in str(refused.get_json()["issues"])
    assert ok(put(client, 1, 6))["version"] == 1
    assert ok(client.put(path(period="2024Q4"), revision=0,
                         json={"values": COMPLETE}))["version"] == 2


# -- concurrent saves from one revision ---------------------------------------------------


def race(calls: list) -> list[int]:
    """Run *calls* at the same moment in threads; their status codes."""
    start = threading.Barrier(len(calls))
    codes: list[int] = [0] * len(calls)

    def run(n: int) -> None:
        start.wait(timeout=30)
        codes[n] = calls[n]().status_code

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return codes


def revisions(session) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(Revision.number).order_by(Revision.number)))


def test_simultaneous_puts_from_one_revision_give_one_success_and_conflicts(api, session):
    clients = [api("va1") for _ in range(8)]
    for round_ in range(4):
        # Round 0 creates the report: the first revision has its own race (the insert).
        codes = race([lambda c=c, n=n, r=round_: put(c, r, 100 * r + n)
                      for n, c in enumerate(clients)])
        assert sorted(codes) == [200] + [409] * 7, codes
        assert revisions(session) == list(range(1, round_ + 2))
        # A save that lost the race recorded nothing: one history entry per revision.
        assert sorted(session.scalars(select(ReportEvent.revision).where(
            ReportEvent.action == "saved"))) == list(range(1, round_ + 2))
    assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_simultaneous_uploads_give_one_saved_draft_and_conflicts(api, session):
    client = api("va1")
    ok(put(client, 0, 1))
    filled = [fill(download(client), {"found": 10 + n, "rectified": 1}) for n in range(4)]
    clients = [api("va1") for _ in filled]
    codes = race([lambda c=c, data=data: c.post(
        path() + "/workbook", data={"file": (io.BytesIO(data), "filled.xlsx")},
        content_type="multipart/form-data") for c, data in zip(clients, filled, strict=True)])
    assert sorted(codes) == [200] + [409] * 3, codes
    assert revisions(session) == [1, 2]


def test_simultaneous_web_form_saves_give_one_success_and_conflicts(
        app, browser, village, session):  # noqa: F811 (the fixture imported above)
    browsers = [type(browser)(app.test_client()).login_ok(village) for _ in range(6)]
    for round_ in range(3):
        forms = [form_of(b, Q2) for b in browsers]
        assert {f["revision"] for f in forms} == {str(round_)}
        codes = race([lambda b=b, f=f, n=n: b.post(Q2, {**f, "f_found": str(10 + n),
                                                        "action": "save"})
                      for n, (b, f) in enumerate(zip(browsers, forms, strict=True))])
        # The winner is redirected to the saved form; the others see it again with a 409.
        assert sorted(codes) == [302] + [409] * 5, codes
        assert revisions(session) == list(range(1, round_ + 2))
