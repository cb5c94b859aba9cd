"""The template designer: administrators build a template in the browser and publish it.

Views are thin over :mod:`server.services.designer`: each POST is one WTForms
form carrying the draft revision it was made on, changes the draft through the
service and answers with the draft's page again (its problems included). A
refused change (another administrator was faster, a part that no longer
exists) changes nothing and shows the page with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError
from werkzeug.wrappers import Response

from forms.importers import MESSAGES as IMPORT_MESSAGES
from forms.periods import Frequency, Period, Schedule
from forms.rules import RuleSyntaxError, parse
from forms.tags import COMMON_TAGS
from server.admin import designer_forms as df
from server.admin.blueprint import bp
from server.admin.forms import ActionForm
from server.admin.templates_views import flash_published
from server.auth.access import roles_required
from server.choices import options
from server.db import db_session
from server.downloads import XLSX, send_written
from server.locale import current_locale_code, source_place, translate_issue
from server.models import Role, TemplateDraft
from server.refusals import on_refusal
from server.services import designer
from server.services import templates as template_service
from server.services import units as units_service
from server.services.errors import InvalidInput

PREVIEW_PERIODS = 36  # periods and due dates listed under the schedule


def _user():
    return current_user._get_current_object()


def _draft(draft_id: int) -> TemplateDraft:
    return designer.get(db_session(), _user(), draft_id)


# -- list and new drafts ------------------------------------------------------------------------


def _version_choices():
    rows = template_service.list_latest(db_session())
    return options((f"{row.key}:{row.version}", f"{row.title} · v{row.version}")
                   for row, _count in rows)


@bp.get("/designer", endpoint="designer")
@roles_required(Role.ADMIN)
def designer_list():
    return _index_page()


def _index_page(version_form=None, file_form=None, status: int = 200):
    version_form = version_form or df.FromVersionForm(formdata=None)
    version_form.template.choices = _version_choices()
    return render_template(
        "admin/designer/index.html", drafts=designer.list_drafts(db_session(), _user()),
        blank_form=ActionForm(), version_form=version_form,
        file_form=file_form or df.FromFileForm(formdata=None)), status


@bp.post("/designer/new")
@roles_required(Role.ADMIN)
def designer_new_blank():
    if not ActionForm().validate_on_submit():
        abort(400)
    draft = designer.create_blank(db_session(), _user())
    return redirect(url_for("admin.designer_edit", draft_id=draft.id), 303)


@bp.post("/designer/new/version")
@roles_required(Role.ADMIN)
def designer_new_from_version():
    form = df.FromVersionForm()
    form.template.choices = _version_choices()
    if not form.validate_on_submit():
        return _index_page(version_form=form, status=400)
    key, _sep, version = form.template.data.rpartition(":")
    if not version.isdigit():
        abort(404)
    draft = designer.create_from_version(db_session(), _user(), key, int(version))
    return redirect(url_for("admin.designer_edit", draft_id=draft.id), 303)


@bp.post("/designer/new/file")
@roles_required(Role.ADMIN)
def designer_new_from_file():
    form = df.FromFileForm()
    if not form.validate_on_submit():
        return _index_page(file_form=form, status=400)
    upload = form.file.data
    filename = upload.filename or "upload"
    on_refusal(lambda _refusal: _index_page(file_form=form, status=422), form=form)
    result = designer.read_document(upload.read(), filename, form.kind.data or None)
    draft = designer.create_from_import(db_session(), _user(), result, filename)
    return redirect(url_for("admin.designer_edit", draft_id=draft.id), 303)


# -- the editor page ----------------------------------------------------------------------------


@dataclass
class Page:
    """The forms of the draft page, replaced by the one the person sent when it has errors."""

    meta: Any = None
    schedule: Any = None
    node: Any = None
    node_attributes: list = field(default_factory=list)
    editing: str | None = None


@bp.get("/designer/<int:draft_id>")
@roles_required(Role.ADMIN)
def designer_edit(draft_id: int):
    draft = _draft(draft_id)
    return _edit_page(draft, Page(editing=request.args.get("edit") or None))


def _edit_page(draft: TemplateDraft, page: Page, status: int = 200):
    data = draft.data
    revision = str(draft.revision)
    meta = page.meta or df.MetaForm(formdata=None, data=_meta_data(data))
    schedule = page.schedule or df.ScheduleForm(formdata=None, data=_schedule_data(data))
    schedule.due_phase.choices = df.phase_options(data)
    editing, node_form, attributes, node_type = page.editing, page.node, page.node_attributes, None
    if editing:
        try:
            node = designer.node_at(data, editing)
            node_type = designer.node_type(editing)
        except InvalidInput:
            editing = None
        else:
            if node_form is None:
                node_form, attributes = df.node_form(node_type, node, data)
            node_form.path.data = editing
    for form in (meta, schedule, node_form):
        if form is not None:
            form.revision.data = revision
    checked = designer.validate(draft)
    return render_template(
        "admin/designer/edit.html", draft=draft, data=data, checked=checked,
        meta_form=meta, schedule_form=schedule, node_form=node_form, attributes=attributes,
        editing=editing, node_type=node_type, add_form=df.AddForm(formdata=None),
        action_form=df.NodeActionForm(formdata=None), revision=revision,
        delete_form=df.RevisionForm(formdata=None, revision=revision),
        schedule_preview=_schedule_preview(data.get("schedule")),
        fields=designer.labelled_fields(data), import_notes=_import_notes(draft),
        display_path=designer.display_path, source_place=source_place,
        editor_title=lambda kind: EDITOR_TITLES.get(kind, ""),
        data_node=lambda path: designer.node_at(data, path),
        field_kinds=df.kind_options(), column_kinds=df.kind_options(df.COLUMN_KINDS),
        readable_rule=lambda expr: designer.readable_rule(expr, data),
        unit_tags=_unit_tags() if any(a.name == "applies_when" for a in attributes or ()) else [],
    ), status


def _unit_tags() -> list[str]:
    """The tags units carry, then the common ones no unit carries yet."""
    in_use = units_service.tags_in_use(db_session())
    return in_use + [tag for tag in COMMON_TAGS if tag not in in_use]


EDITOR_TITLES = {
    "section": _l("Section"), "item": _l("Item"), "field": _l("Field"),
    "column": _l("Column of the table"), "table_column": _l("Column of the printed table"),
    "rule": _l("Rule"), "phase": _l("Phase"),
}


def _meta_data(data: dict[str, Any]) -> dict[str, Any]:
    source = data.get("source") or {}
    date = source.get("date")
    return {"title": data.get("title"), "title_en": data.get("title_en"),
            "description": data.get("description"), "issuer": source.get("issuer"),
            "plan_title": source.get("title"), "doc_number": source.get("doc_number"),
            "plan_date": _date(date), "notes": "\n".join(data.get("notes") or [])}


def _date(text):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _schedule_data(data: dict[str, Any]) -> dict[str, Any]:
    schedule = data.get("schedule") or {}
    due = schedule.get("due") or {}
    event = data.get("event") or {}
    return {"frequency": schedule.get("frequency"), "due_rule": due.get("rule"),
            "event_location": event.get("location", True),
            "event_max_files": event.get("max_files", 5),
            "event_max_file_mb": Decimal(str(event.get("max_file_mb", 10))),
            "event_max_total_mb": Decimal(str(event.get("max_total_mb", 30))),
            "event_totals": event.get("totals") or "",
            "months": due.get("months", 1), "month": due.get("month", 1),
            "day": due.get("day", 5), "fixed_date": _date(due.get("date")),
            "first": schedule.get("first"), "last": schedule.get("last"),
            "due_phase": data.get("due_phase") or ""}


@dataclass(frozen=True)
class SchedulePreview:
    periods: list[tuple[str, Any]]  # (label, due date)
    more: int
    problem: str | None


def _schedule_preview(data: dict[str, Any] | None) -> SchedulePreview:
    """The periods and due dates the schedule makes, or why it makes none."""
    try:
        schedule = Schedule.model_validate(data or {})
    except ValidationError as exc:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return SchedulePreview([], 0, message)
    periods = schedule.periods()
    shown = [(p.label(current_locale_code()), schedule.due_date(p))
             for p in periods[:PREVIEW_PERIODS]]
    return SchedulePreview(shown, max(0, len(periods) - PREVIEW_PERIODS), None)


def _import_notes(draft: TemplateDraft) -> dict[str, Any] | None:
    notes = draft.import_notes
    if not notes:
        return None
    for piece in notes.get("unplaced", []):
        piece["message"] = translate_issue(IMPORT_MESSAGES.get(piece["code"], piece["code"]),
                                           piece.get("params") or {})
    return notes


def _changed(draft: TemplateDraft, anchor: str | None = None, edit: str | None = None):
    return redirect(url_for("admin.designer_edit", draft_id=draft.id, edit=edit,
                            _anchor=anchor), 303)


def _refused_page(draft: TemplateDraft, page: Page):
    """On a refusal the request's work is rolled back: show the draft as stored."""
    def render(refusal):
        db_session().refresh(draft)
        status = 409 if refusal.code == "stale_revision" else 422
        return _edit_page(draft, page, status)
    return render


@bp.post("/designer/<int:draft_id>/meta")
@roles_required(Role.ADMIN)
def designer_meta(draft_id: int):
    draft = _draft(draft_id)
    form = df.MetaForm()
    if not form.validate_on_submit():
        return _edit_page(draft, Page(meta=form), 400)
    on_refusal(_refused_page(draft, Page(meta=form)))
    notes = [line.strip() for line in (form.notes.data or "").splitlines() if line.strip()]
    designer.change(db_session(), _user(), draft, form.revision_number(),
                    designer.set_attributes(None, {
                        "title": (form.title.data or "").strip(),
                        "title_en": (form.title_en.data or "").strip() or None,
                        "description": (form.description.data or "").strip() or None,
                        "source.issuer": (form.issuer.data or "").strip(),
                        "source.title": (form.plan_title.data or "").strip(),
                        "source.doc_number": (form.doc_number.data or "").strip() or None,
                        "source.date": form.plan_date.data.isoformat()
                        if form.plan_date.data else None,
                        "notes": notes}))
    flash(_("Saved."), "success")
    return _changed(draft, "details")


@bp.post("/designer/<int:draft_id>/schedule")
@roles_required(Role.ADMIN)
def designer_schedule(draft_id: int):
    draft = _draft(draft_id)
    form = df.ScheduleForm()
    if not form.validate_on_submit():
        return _edit_page(draft, Page(schedule=form), 400)
    on_refusal(_refused_page(draft, Page(schedule=form)))
    frequency = form.frequency.data
    if frequency == Frequency.EVENT:  # no periods, no deadline: only what events carry
        designer.change(db_session(), _user(), draft, form.revision_number(),
                        designer.set_attributes(None, {"schedule": {"frequency": frequency},
                                                       "due_phase": None,
                                                       "event": _event_rules(form)}))
        flash(_("Saved."), "success")
        return _changed(draft, "schedule")
    rule = "fixed" if frequency == Frequency.ONCE else form.due_rule.data
    if rule == "fixed":
        due = {"rule": "fixed", "date": form.fixed_date.data.isoformat()
               if form.fixed_date.data else None}
    elif rule == "in_period":
        due = {"rule": "in_period", "month": form.month.data or 1, "day": form.day.data or 5}
    else:
        due = {"rule": "after_end", "months": form.months.data if form.months.data is not None
               else 1, "day": form.day.data or 5}
    first = _period_of(frequency, (form.first.data or "").strip(), start=True)
    last = _period_of(frequency, (form.last.data or "").strip(), start=False)
    # Only a one-off report falls due with a phase; the phase's end is then its due date
    # (the definition derives it, so the two never disagree).
    due_phase = (form.due_phase.data or None) if rule == "fixed" else None
    if due_phase:
        phase = next((p for p in draft.data.get("phases") or [] if p.get("key") == due_phase),
                     {})
        due["date"] = phase.get("end") or due["date"]
    designer.change(db_session(), _user(), draft, form.revision_number(),
                    designer.set_attributes(None, {"schedule": {
                        "frequency": frequency, "due": due, "first": first, "last": last},
                        "due_phase": due_phase, "event": None}))
    flash(_("Saved."), "success")
    return _changed(draft, "schedule")


def _event_rules(form: df.ScheduleForm) -> dict[str, Any]:
    """The event settings as the definition writes them (defaults where left empty)."""
    rules: dict[str, Any] = {"location": bool(form.event_location.data)}
    for name in ("max_files", "max_file_mb", "max_total_mb"):
        value = getattr(form, f"event_{name}").data
        if value is not None:
            rules[name] = int(value) if name == "max_files" else str(value)
    if form.event_totals.data in ("month", "quarter"):
        rules["totals"] = form.event_totals.data
    return rules


def _period_of(frequency: str, key: str, *, start: bool) -> str:
    """*key* as a period of *frequency*: a window typed for another frequency (2024-05 for a
    quarterly schedule) becomes the period containing its start (or end); anything
    unreadable is kept, for the schedule's problem to say why."""
    if frequency == Frequency.ONCE:
        return Period.once().key
    try:
        period = Period.parse(key)
    except ValueError:
        return key
    if period.frequency == frequency or period.frequency == Frequency.ONCE:
        return key
    return Period.containing(frequency, period.start if start else period.end).key


@bp.post("/designer/<int:draft_id>/add")
@roles_required(Role.ADMIN)
def designer_add(draft_id: int):
    draft = _draft(draft_id)
    form = df.AddForm()
    if not form.validate_on_submit():
        return _edit_page(draft, Page(), 400)
    on_refusal(_refused_page(draft, Page()))
    path = designer.change(db_session(), _user(), draft, form.revision_number(),
                           designer.add(form.parent.data or None, form.collection.data,
                                        form.kind.data or None))
    return _changed(draft, "editor", edit=path)


@bp.post("/designer/<int:draft_id>/node")
@roles_required(Role.ADMIN)
def designer_node(draft_id: int):
    """Save the editor of one section, item, field, column or rule."""
    draft = _draft(draft_id)
    path = request.form.get("path", "")
    on_refusal(_refused_page(draft, Page()))
    node = designer.node_at(draft.data, path)
    node_type = designer.node_type(path)
    form, shown = df.node_form(node_type, node, draft.data, from_request=True)
    page = Page(node=form, node_attributes=shown, editing=path)
    if not form.validate_on_submit():
        return _edit_page(draft, page, 400)
    on_refusal(_refused_page(draft, page))
    values, choices = df.submitted_values(form, shown, node_type, node)
    session, user = db_session(), _user()
    designer.change(session, user, draft, form.revision_number(),
                    designer.set_attributes(path, values))
    if choices is not None:
        designer.change(session, user, draft, draft.revision, designer.set_choices(path, choices))
    flash(_("Saved."), "success")
    return _changed(draft, "editor", edit=path)


@bp.post("/designer/<int:draft_id>/node-action")
@roles_required(Role.ADMIN)
def designer_node_action(draft_id: int):
    """Move a part up or down among its siblings, or delete it (buttons, with or without JS)."""
    draft = _draft(draft_id)
    form = df.NodeActionForm()
    if not form.validate_on_submit():
        return _edit_page(draft, Page(), 400)
    on_refusal(_refused_page(draft, Page()))
    action, path = form.action.data, form.path.data
    if action == "delete":
        designer.change(db_session(), _user(), draft, form.revision_number(),
                        designer.remove(path))
        flash(_("Deleted."), "success")
        return _changed(draft, "outline")
    moved = designer.change(db_session(), _user(), draft, form.revision_number(),
                            designer.move(path, -1 if action == "up" else 1))
    return _changed(draft, "node-" + moved.replace(".", "-"))


@bp.post("/designer/<int:draft_id>/move-item")
@roles_required(Role.ADMIN)
def designer_move_item(draft_id: int):
    """Move an item into another section (a select and a button, with or without JS)."""
    draft = _draft(draft_id)
    form = df.MoveItemForm()
    if not form.validate_on_submit():
        return _edit_page(draft, Page(), 400)
    on_refusal(_refused_page(draft, Page()))
    moved = designer.change(db_session(), _user(), draft, form.revision_number(),
                            designer.move_to_section(form.path.data, form.section.data))
    flash(_("Moved."), "success")
    return _changed(draft, "node-" + moved.replace(".", "-"))


@bp.post("/designer/<int:draft_id>/delete")
@roles_required(Role.ADMIN)
def designer_discard(draft_id: int):
    draft = _draft(draft_id)
    form = df.RevisionForm()
    if not form.validate_on_submit():
        abort(400)
    on_refusal(_refused_page(draft, Page()))
    designer.delete(db_session(), _user(), draft, form.revision_number())
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("admin.designer"), 303)


# -- rules checked as they are typed ------------------------------------------------------------


@bp.post("/designer/<int:draft_id>/check-rule")
@roles_required(Role.ADMIN)
def designer_check_rule(draft_id: int):
    """JSON: is the rule (or, with ``as``, the formula or applicability condition) well
    written, where is the mistake, which names are no field."""
    draft = _draft(draft_id)
    form = df.RevisionForm()
    if not form.validate_on_submit():
        return jsonify(ok=False, message=_("The form has expired. Reload the page."),
                       column=None, unknown=[]), 400
    text = request.form.get("expr", "")
    try:
        expr = parse(text)
    except RuleSyntaxError as exc:
        return jsonify(ok=False, message=translate_issue(exc.message, exc.params),
                       column=exc.params["position"], unknown=[])
    known = {key for key, _label in designer.labelled_fields(draft.data)}
    unknown = sorted(expr.fields - known)
    if unknown:
        return jsonify(ok=False, column=None, unknown=unknown,
                       message=_("No field is called %(names)s.", names=", ".join(unknown)))
    checked_as = request.form.get("as", "rule")
    if checked_as == "formula" and (expr.kind not in ("number", "any") or expr.tags):
        return jsonify(ok=False, column=None, unknown=[],
                       message=_("A formula gives a number from other fields, not a yes/no."))
    if checked_as == "condition" and expr.kind not in ("bool", "any"):
        return jsonify(ok=False, column=None, unknown=[],
                       message=_("A condition is true or false, not a number."))
    return jsonify(ok=True, message=str(WELL_WRITTEN.get(checked_as, WELL_WRITTEN["rule"])),
                   column=None, unknown=[])


WELL_WRITTEN = {"rule": _l("The rule is well written."),
                "formula": _l("The formula is well written."),
                "condition": _l("The condition is well written.")}


# -- preview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewView:
    """What the report form's macros read of a report, for a form nobody has filled in."""

    unit_name: str
    values: dict = field(default_factory=dict)


@bp.get("/designer/<int:draft_id>/preview")
@roles_required(Role.ADMIN)
def designer_preview(draft_id: int):
    from server.reporting import display
    from server.reporting import report_form as rf

    draft = _draft(draft_id)
    checked = designer.validate(draft)
    if checked.definition is None:
        return render_template("admin/designer/preview.html", draft=draft, checked=checked,
                               definition=None), 422
    locale = current_locale_code()
    definition = checked.definition
    form = rf.build_form(definition, locale)
    placed = rf.place_issues(definition, [], _, locale)
    phone = request.args.get("width") == "phone"
    return render_template(
        "admin/designer/preview.html", draft=draft, checked=checked, definition=definition,
        d=definition, form=form, placed=placed, cumulative={}, lost_files={},
        attachment_limits={}, args={}, phone=phone,
        # As a unit without tags sees it: parts that depend on answers carry their hint.
        fa=rf.form_applicability(definition, None, {}, locale),
        view=PreviewView(_("Your unit")),
        **display.template_helpers(), field_name=rf.field_name,
        template_row=rf.template_row, cell_anchor=rf.cell_anchor,
        column_inputs=display.column_inputs, indicators=display.indicators,
        progress_column=display.progress_column)


@bp.get("/designer/<int:draft_id>/preview.xlsx")
@roles_required(Role.ADMIN)
def designer_preview_workbook(draft_id: int) -> Response:
    draft = _draft(draft_id)
    checked = designer.validate(draft)
    if checked.definition is None:
        flash(_("The draft has problems: correct them before previewing it."), "error")
        return redirect(url_for("admin.designer_edit", draft_id=draft.id))
    locale = current_locale_code()
    data = designer.preview_workbook(checked.definition, locale, _("Your unit"))
    title = checked.definition.text("title", locale)
    name = _("Preview %(title)s.xlsx", title=title).replace("/", " ")
    return send_written(lambda out: out.write(data), XLSX, name)


# -- publishing ------------------------------------------------------------------------------


@bp.get("/designer/<int:draft_id>/publish")
@roles_required(Role.ADMIN)
def designer_publish(draft_id: int):
    draft = _draft(draft_id)
    return _publish_page(draft, df.PublishForm(formdata=None, revision=str(draft.revision)))


def _publish_page(draft: TemplateDraft, form, status: int = 200):
    plan = designer.plan(db_session(), _user(), draft)
    form.revision.data = str(draft.revision)
    return render_template("admin/designer/publish.html", draft=draft, plan=plan, form=form,
                           change_label=lambda kind: str(CHANGE_LABELS[kind]),
                           attribute_labels=df.attribute_labels), status


CHANGE_LABELS = {"added": _l("added"), "removed": _l("removed"), "kind": _l("kind changed"),
                 "changed": _l("changed")}


@bp.post("/designer/<int:draft_id>/publish")
@roles_required(Role.ADMIN)
def designer_publish_post(draft_id: int):
    draft = _draft(draft_id)
    form = df.PublishForm()
    if not form.validate_on_submit():
        return _publish_page(draft, form, 400)

    def render(refusal):
        db_session().refresh(draft)
        return _publish_page(draft, form, 409 if refusal.code == "stale_revision" else 422)

    on_refusal(render, form=form)
    result = designer.publish(db_session(), _user(), draft, form.revision_number(),
                              confirmed=bool(form.confirm.data))
    flash_published(result)
    return redirect(url_for("admin.template_detail", key=result.key), 303)
