"""The designer's drafts: generated keys, revisions, problems and publishing."""

import json

import pytest
from designer_helpers import build_monthly_draft

from server.db import unit_of_work
from server.locale import translate_issue
from server.models import Role, TemplateDraft
from server.services import designer
from server.services import templates as template_service
from server.services.errors import InvalidInput, InvalidState, NotAllowed, NotVisible, StaleRevision


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def keys_of(draft: TemplateDraft) -> list[str]:
    data = draft.data
    return [f["key"] for s in data["sections"] for i in s["items"] for f in i["fields"]]


def test_a_blank_draft_gets_a_generated_template_key_and_says_what_is_missing(
        app, session, admin):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with unit_of_work(session):
            first = designer.create_blank(session, admin)
            second = designer.create_blank(session, admin)
        assert first.template_key == "template_1" and second.template_key == "template_2"
        checked = designer.validate(first)
        assert checked.definition is None
        messages = {p.path: translate_issue(p) for p in checked.problems}
    assert messages["title"] == "The template needs a title."
    assert messages["sections"] == "Add at least one section."


def test_a_built_draft_is_valid_and_publishes_as_version_one(app, session, admin):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context():
        assert designer.validate(draft).problems == []
        with unit_of_work(session):
            result = designer.publish(session, admin, draft, draft.revision)
    assert (result.key, result.version, result.status) == ("template_1", 1, "created")
    published = template_service.latest(session, "template_1").definition
    assert [f.label for f in published.fields()][-3:] == ["指标1", "指标2", "工作情况"]
    assert published.schedule.frequency == "monthly"
    assert session.get(TemplateDraft, draft.id) is None  # the draft is gone once published


def test_a_stale_revision_changes_nothing(app, session, admin):
    draft = build_monthly_draft(session, admin)
    before = draft.definition_json
    with app.test_request_context(), pytest.raises(StaleRevision):
        designer.change(session, admin, draft, draft.revision - 1,
                        designer.set_attributes(None, {"title": "别人的标题"}))
    assert draft.definition_json == before


def test_a_deleted_key_is_never_given_again(app, session, admin):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context(), unit_of_work(session):
        designer.publish(session, admin, draft, draft.revision)
    with app.test_request_context(), unit_of_work(session):
        again = designer.create_from_version(session, admin, "template_1", 1)
        removed = keys_of(again)[0]
        designer.change(session, admin, again, again.revision,
                        designer.remove("sections.0.items.0.fields.0"))
        path = designer.change(session, admin, again, again.revision,
                               designer.add("sections.0.items.0", "fields", "decimal"))
    new_key = designer.node_at(again.data, path)["key"]
    assert removed not in keys_of(again) and new_key not in (removed,)
    assert new_key == "field_4"  # after field_1..field_3 of version 1


def test_moves_stop_at_the_ends_and_keep_keys(app, session, admin):
    draft = build_monthly_draft(session, admin)
    order = keys_of(draft)
    with app.test_request_context(), unit_of_work(session):
        designer.change(session, admin, draft, draft.revision,
                        designer.move("sections.0.items.0.fields.2", -1))
        designer.change(session, admin, draft, draft.revision,
                        designer.move("sections.0.items.0.fields.0", -1))
    assert keys_of(draft) == [order[0], order[2], order[1]]


def test_choices_keep_their_values_when_labels_stay(app, session, admin):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context(), unit_of_work(session):
        path = designer.change(session, admin, draft, draft.revision,
                               designer.add("sections.0.items.0", "fields", "choice"))
        designer.change(session, admin, draft, draft.revision,
                        designer.set_choices(path, ["是", "否"]))
        first = designer.node_at(draft.data, path)["choices"]
        designer.change(session, admin, draft, draft.revision,
                        designer.set_choices(path, ["否", "不适用", "是"]))
    values = {c["label"]: c["value"] for c in designer.node_at(draft.data, path)["choices"]}
    assert values["是"] == first[0]["value"] and values["否"] == first[1]["value"]
    assert values["不适用"] not in (first[0]["value"], first[1]["value"])


def test_a_corrected_choice_label_keeps_its_value_and_gets_english(app, session, admin):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context(), unit_of_work(session):
        path = designer.change(session, admin, draft, draft.revision,
                               designer.add("sections.0.items.0", "fields", "choice"))
        designer.change(session, admin, draft, draft.revision,
                        designer.set_choices(path, ["重打", "一般"]))
        first = designer.node_at(draft.data, path)["choices"]
        major, general = first[0]["value"], first[1]["value"]
        designer.change(session, admin, draft, draft.revision, designer.set_choices(path, [
            f"{general}： 一般 | General", f"{major}: 重大 | Major", "较大 | Serious"]))
    choices = designer.node_at(draft.data, path)["choices"]
    assert [(c["value"], c["label"], c.get("label_en")) for c in choices[:2]] == [
        (general, "一般", "General"), (major, "重大", "Major")]
    assert choices[2]["label"] == "较大" and choices[2]["value"] not in (major, general)
    assert [designer.choice_line(c) for c in choices[:2]] == [
        f"{general}: 一般 | General", f"{major}: 重大 | Major"]


def test_an_invalid_rule_is_a_problem_of_the_draft(app, session, admin):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context(headers={"Accept-Language": "en"}), unit_of_work(session):
        rule = designer.change(session, admin, draft, draft.revision, designer.add(None, "rules"))
        designer.change(session, admin, draft, draft.revision, designer.set_attributes(
            rule, {"expr": "field_2 <= nothing_here", "message": "整改数不能大于发现数"}))
        checked = designer.validate(draft)
        with pytest.raises(InvalidState):
            designer.publish(session, admin, draft, draft.revision)
    assert checked.definition is None
    assert any("nothing_here" in p.render() for p in checked.problems)


def test_publishing_a_change_that_breaks_continuity_needs_confirmation(
        app, session, admin, tree, make_assignment, make_user):
    draft = build_monthly_draft(session, admin)
    with app.test_request_context(), unit_of_work(session):
        designer.publish(session, admin, draft, draft.revision)
    version = template_service.latest(session, "template_1")
    make_assignment("monthly", version, tree["TA"], first=version.definition.schedule.first)
    from server.services import reporting
    clerk = make_user("clerk", Role.SUBMITTER, tree["VA1"])
    with app.test_request_context(), unit_of_work(session):
        view = reporting.load(session, clerk, "monthly", "VA1", version.definition.schedule.first)
        reporting.save(session, clerk, view, {"reporter": "张三", "phone": "13800000000",
                                               "field_1": 3})
    with app.test_request_context(headers={"Accept-Language": "en"}), unit_of_work(session):
        again = designer.create_from_version(session, admin, "template_1", 1)
        designer.change(session, admin, again, again.revision,
                        designer.remove("sections.0.items.0.fields.0"))
        designer.change(session, admin, again, again.revision,
                        designer.set_attributes("sections.0.items.0.fields.0",
                                                {"kind": "decimal"}))
        what = designer.plan(session, admin, again)
        assert what.reports == 1 and what.next_version == 2
        assert {(c.key, c.kind) for c in what.breaks} == {("field_1", "removed"),
                                                          ("field_2", "kind")}
        with pytest.raises(InvalidInput) as refused:
            designer.publish(session, admin, again, again.revision)
        assert "1 existing reports" in str(refused.value)
    with app.test_request_context(), unit_of_work(session):
        result = designer.publish(session, admin, again, again.revision, confirmed=True)
    assert result.version == 2


def test_only_administrators_reach_drafts(app, session, admin, make_user, tree):
    draft = build_monthly_draft(session, admin)
    clerk = make_user("clerk", Role.CONSOLIDATOR, tree["TA"])
    with app.test_request_context():
        with pytest.raises(NotVisible):
            designer.get(session, clerk, draft.id)
        with pytest.raises(NotAllowed):
            designer.create_blank(session, clerk)
        with pytest.raises(NotAllowed):
            designer.change(session, clerk, draft, draft.revision,
                            designer.set_attributes(None, {"title": "x"}))


def test_a_draft_from_an_import_keeps_what_the_reader_could_not_place(app, session, admin):
    from forms.importers import ImportResult, Proposal, SourceRef, Unplaced
    result = ImportResult(
        data={"title": "导入的表", "sections": [{"title": "一、任务", "items": [
            {"title": "培训", "fields": [{"kind": "integer", "label": "培训人数"}]}]}]},
        proposals=[Proposal("sections[0].items[0]", "item", SourceRef(paragraph=3, text="培训"))],
        unplaced=[Unplaced(SourceRef(paragraph=9, text="附件略"), "empty")])
    with app.test_request_context(), unit_of_work(session):
        draft = designer.create_from_import(session, admin, result, "plan.docx")
    field = draft.data["sections"][0]["items"][0]["fields"][0]
    assert field["key"] == "field_1" and field["label"] == "培训人数"
    notes = json.loads(draft.import_json)
    assert notes["unplaced"][0]["source"]["text"] == "附件略"
    assert notes["proposals"][0]["path"] == "sections[0].items[0]"
