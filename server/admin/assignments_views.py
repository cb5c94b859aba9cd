"""Assignment administration: which template version goes to which part of the tree,
for which window of periods, and a newer version from a given period on.

Creating and replacing go through the assignment service
(:mod:`server.services.assignments`), which holds the rules of a valid assignment;
this module turns the form's text into units, template versions and period keys,
runs the service's checks on all of them at once and puts every problem beside its
input. Nothing is written unless every input is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from forms.definition import Definition, Phase
from forms.periods import Period
from server.admin.blueprint import bp
from server.auth.access import roles_required
from server.choices import options
from server.db import db_session
from server.labels import UNIT_KIND_LABELS, period_label, unit_kind_label
from server.locale import current_locale_code
from server.models import Assignment, Report, Role, TemplateVersion, Unit
from server.refusals import on_refusal
from server.services import assignments as assignment_service
from server.services import owing, reminders
from server.services import units as unit_service
from server.services.errors import Refusal

# The service's names of the inputs its refusals concern -> this form's fields, where they differ.
FORM_FIELDS = {"consolidating_unit": "consolidating_code", "first_period": "first",
               "last_period": "last"}


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (the render_field macro draws them as a group)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PhasesForm(FlaskForm):
    """The assignment's own phases on top of the template's (the service reads the text)."""

    phases = TextAreaField(
        _l("Phases of this assignment"), validators=[Length(max=4000)],
        description=_l("One per line: key | name | start | end, e.g. gongjian | 集中攻坚 | "
                       "2024-06-01 | 2025-12-31. A key of the template's phases dates that "
                       "phase otherwise; another key adds a phase. Empty: the template's phases."),
        render_kw={"rows": 4, "autocapitalize": "none"})
    due_phase = StringField(
        _l("One-off report due at the end of phase"), validators=[Length(max=64)],
        description=_l("The key of a phase; empty: the template's due date."),
        render_kw={"autocapitalize": "none", "autocomplete": "off"})
    shift_to_workday = BooleanField(
        _l("Move due dates off weekends and public holidays"),
        description=_l("A due date on a weekend, a public holiday or a day off in the "
                       "calendar moves to the next working day (调休 working days count)."))


class AssignmentForm(PhasesForm):
    key = StringField(
        _l("Key"), validators=[DataRequired(), Length(max=64)],
        description=_l("Lower-case letters, digits, - and _; it appears in addresses, "
                       "e.g. chidian-2024."),
        render_kw={"autocapitalize": "none", "autocomplete": "off"})
    template = SelectField(_l("Template version"), validate_choice=False)
    root_code = StringField(
        _l("Root unit"), validators=[DataRequired(), Length(max=200)],
        description=_l("Its code, name or pinyin initials. The units below it report; the "
                       "root itself only if ticked below."))
    include_root = BooleanField(_l("The root unit reports too"))
    kinds = MultiCheckboxField(
        _l("Only units of these kinds"),
        description=_l("Tick none and every unit below the root reports."))
    consolidating_code = StringField(
        _l("Consolidating unit"), validators=[Length(max=200)],
        description=_l("The office that reviews and consolidates; empty: the root unit."))
    first = StringField(_l("First period"), validators=[Length(max=32)],
                        description=_l("Choose or type a month, quarter, half-year or year, "
                                       "e.g. 2026年11月 or 2026年第三季度. Empty: the start of "
                                       "the template's window."),
                        render_kw={"list": "period-options", "autocomplete": "off"})
    last = StringField(_l("Last period"), validators=[Length(max=32)],
                       description=_l("Empty: the end of the template's window."),
                       render_kw={"list": "period-options", "autocomplete": "off"})
    confirm_overdue = BooleanField(
        _l("Create it all the same: the units get work that is already past due"))


CHANNEL_LABELS = {"app": _l("In the app"), "email": _l("E-mail"), "sms": _l("SMS"),
                  "wecom": _l("WeCom group robot"), "dingtalk": _l("DingTalk group robot")}


class ReminderPolicyForm(FlaskForm):
    days_before = IntegerField(_l("Remind this many days before the due date (0: not)"),
                               validators=[InputRequired()])
    on_due_day = BooleanField(_l("Remind on the due date"))
    overdue_every = IntegerField(_l("When overdue, remind every this many days"),
                                 validators=[InputRequired()])
    overdue_max = IntegerField(_l("…at most this many times (0: not)"),
                               validators=[InputRequired()])
    escalate_after = IntegerField(_l("Tell the consolidators above after this many overdue "
                                     "days (0: never)"), validators=[InputRequired()])
    quiet_start = StringField(_l("Quiet hours from (Asia/Shanghai)"),
                              validators=[InputRequired(), Length(max=5)])
    quiet_end = StringField(_l("Quiet hours until"), validators=[InputRequired(), Length(max=5)])
    channels = MultiCheckboxField(_l("Channels"))


class ReplaceVersionForm(FlaskForm):
    template = SelectField(_l("New template version"), validate_choice=False)
    from_period = SelectField(_l("From period"), validate_choice=False)


@dataclass(frozen=True)
class WindowPeriod:
    period: str
    due: date
    version: int | None = None  # template version used for new reports of the period
    started: int = 0  # reports already started (they keep their own version)
    moved: str = ""  # why the due date moved to a working day


@dataclass
class Chosen:
    """The form's inputs turned into what the service needs."""

    key: str
    template: TemplateVersion
    root: Unit
    consolidating: Unit
    first: str
    last: str
    phases: list[Phase]


def _version_label(row: TemplateVersion) -> str:
    return _("%(title)s · %(key)s v%(version)s", title=row.title, key=row.key,
             version=row.version)


def _assignable_versions(session: Session, key: str | None = None) -> list[TemplateVersion]:
    query = select(TemplateVersion).where(TemplateVersion.retired.is_(False))
    if key is not None:
        query = query.where(TemplateVersion.key == key)
    return list(session.scalars(query.order_by(TemplateVersion.key,
                                               TemplateVersion.version.desc())))


def _known_kinds(session: Session) -> list[tuple[str, str]]:
    """The usual unit kinds and any other kind found in the tree, with their labels."""
    kinds = list(UNIT_KIND_LABELS)
    kinds += sorted(set(session.scalars(select(Unit.kind).distinct())) - set(kinds))
    return [(k, unit_kind_label(k)) for k in kinds]


def _window(definition: Definition, first: str, last: str) -> list[WindowPeriod]:
    schedule = definition.schedule
    return [WindowPeriod(key, schedule.due_date(Period.parse(key)))
            for key in assignment_service.period_keys(definition, first, last)]


def _add_error(field, message: str) -> None:
    field.errors = [*field.errors, message]


def _parse_period(field, text: str, definition: Definition) -> Period | None:
    """The service's reading of a period typed in *field*, or None with its refusal shown."""
    try:
        return assignment_service.parse_period(definition, text, field=field.name)
    except Refusal as error:
        _add_error(field, str(error))
        return None


def _passes(field, check, *args) -> bool:
    """Run one of the service's checks; a refusal is shown beside *field*."""
    try:
        check(*args)
    except Refusal as error:
        _add_error(field, str(error))
        return False
    return True


def _template_of(session: Session, field) -> TemplateVersion | None:
    key, _sep, version = (field.data or "").rpartition(":")
    row = None
    if key and version.isdigit():
        row = session.scalar(select(TemplateVersion).where(
            TemplateVersion.key == key, TemplateVersion.version == int(version)))
    if row is None:
        _add_error(field, _("Choose a published template version."))
    elif not _passes(field, assignment_service.check_assignable, row):
        return None
    return row


def _unit_of(session: Session, field) -> Unit | None:
    try:
        return unit_service.resolve_unit(session, current_user._get_current_object(),
                                         field.data, field=field.name)
    except Refusal as error:
        _add_error(field, str(error))
        return None


def _chosen(session: Session, form: AssignmentForm) -> Chosen | None:
    """Check every input (all problems at once); None when any is wrong."""
    key = (form.key.data or "").strip().lower()
    _passes(form.key, assignment_service.check_key, session, key)
    template = _template_of(session, form.template)
    root = _unit_of(session, form.root_code)
    consolidating = root
    if (form.consolidating_code.data or "").strip():
        consolidating = _unit_of(session, form.consolidating_code)
        if consolidating is not None and root is not None and not _passes(
                form.consolidating_code, assignment_service.check_consolidating_unit,
                root, consolidating):
            consolidating = None
    first = last = None
    if template is not None:
        definition = template.definition
        first = _parse_period(form.first, (form.first.data or "").strip()
                              or definition.schedule.first, definition)
        last = _parse_period(form.last, (form.last.data or "").strip()
                             or definition.schedule.last, definition)
        if first is not None and last is not None and last < first:
            _add_error(form.last, _("The last period comes before the first."))
    phases = _phases_of(form)
    if form.errors or None in (template, root, consolidating, first, last, phases):
        return None
    return Chosen(key, template, root, consolidating, first.key, last.key, phases)


def _phases_of(form: PhasesForm) -> list[Phase] | None:
    try:
        return assignment_service.parse_phases(form.phases.data or "")
    except Refusal as error:
        _add_error(form.phases, str(error))
        return None


def _create_form(session: Session) -> AssignmentForm:
    form = AssignmentForm()
    form.template.choices = options([("", _("Choose…"))] + [
        (f"{row.key}:{row.version}", _version_label(row)) for row in _assignable_versions(session)])
    form.kinds.choices = options(_known_kinds(session))
    return form


def _period_choices(session: Session) -> list[str]:
    """The periods of every assignable template's window, as labels in the reader's
    language (which the form reads back), for the period fields' suggestions."""
    seen: dict[str, Period] = {}
    for row in _assignable_versions(session):
        schedule = row.definition.schedule
        if schedule.is_event:
            continue
        for period in schedule.periods():
            seen.setdefault(period.key, period)
    ordered = sorted(seen.values(), key=lambda p: (p.start, p.months))
    return [period_label(period.key) for period in ordered]


def _overdue(window: list[WindowPeriod]) -> list[WindowPeriod]:
    """The periods of *window* whose due date has passed already."""
    day = owing.today()
    return [period for period in window if period.due < day]


# -- pages -----------------------------------------------------------------------------------


@bp.get("/assignments")
@roles_required(Role.ADMIN)
def assignments():
    """Every assignment with its template versions, part of the tree, window and size."""
    session = db_session()
    rows = assignment_service.list_assignments(session)
    sizes = {a.id: _reporting_count(session, a) for a in rows}
    return render_template("admin/assignments.html", rows=rows, sizes=sizes,
                           unit_kind_label=unit_kind_label)


def _reporting_count(session: Session, assignment: Assignment) -> int:
    query = owing.owing_today(assignment).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


@bp.route("/assignments/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def assignments_new():
    """Create an assignment; "Preview" shows its periods and due dates without saving."""
    session = db_session()
    form = _create_form(session)
    preview = None
    overdue: list[WindowPeriod] = []

    def page(_refusal=None):
        status = 400 if form.errors else 200
        return render_template("admin/assignments_new.html", form=form, preview=preview,
                               overdue=overdue, period_choices=_period_choices(session)), status

    if form.validate_on_submit():
        chosen = _chosen(session, form)
        window = (_window(chosen.template.definition, chosen.first, chosen.last)
                  if chosen is not None else [])
        overdue = _overdue(window)
        if chosen is not None and "preview" in request.form:
            preview = window
        elif chosen is not None and overdue and not form.confirm_overdue.data:
            preview = window  # the warning, before anything is saved: confirm, or change
        elif chosen is not None:
            on_refusal(page, form=form, fields=FORM_FIELDS)
            created = assignment_service.create_assignment(
                session, key=chosen.key, template=chosen.template, root=chosen.root,
                consolidating_unit=chosen.consolidating, kinds=form.kinds.data or (),
                first=chosen.first, last=chosen.last,
                include_root=bool(form.include_root.data),
                user=current_user._get_current_object(),
                phases=chosen.phases, due_phase=form.due_phase.data,
                shift_to_workday=bool(form.shift_to_workday.data))
            flash(_("The assignment %(key)s is created: %(count)s units report under it.",
                    key=created.key, count=_reporting_count(session, created)), "success")
            return redirect(url_for("admin.assignments_detail", key=created.key))
    return page()


def _detail_form(session: Session, assignment: Assignment) -> ReplaceVersionForm:
    form = ReplaceVersionForm()
    form.template.choices = options(
        (str(row.version), _version_label(row))
        for row in _assignable_versions(session, assignment.template_key))
    periods = assignment_service.assignment_periods(assignment)
    if assignment_service.is_event(assignment):  # one open window: a new version replaces it
        periods = [assignment.first_period]
    form.from_period.choices = options((p, period_label(p)) for p in periods)
    return form


def _periods_of(session: Session, assignment: Assignment) -> list[WindowPeriod]:
    started = dict(session.execute(
        select(Report.period, func.count()).where(Report.assignment_id == assignment.id)
        .group_by(Report.period)).all())
    locale = current_locale_code()
    found = []
    for p in assignment_service.assignment_periods(assignment):
        due = assignment_service.due(assignment, p)
        version = assignment_service.version_for(assignment, p).version
        found.append(WindowPeriod(p, due.date, version, started.get(p, 0), due.reason(locale)))
    return found


def _phases_form(assignment: Assignment, formdata=None) -> PhasesForm:
    own = [Phase.model_validate(p) for p in assignment.phases or ()]
    return PhasesForm(formdata=formdata, phases=assignment_service.format_phases(own),
                      due_phase=assignment.due_phase or "",
                      shift_to_workday=assignment.shift_to_workday)


def _reminders_form(assignment: Assignment, formdata=None) -> ReminderPolicyForm:
    values = reminders.policy_of(assignment).as_dict()
    form = ReminderPolicyForm(formdata=formdata, data=values)
    form.channels.choices = options((c, CHANNEL_LABELS[c]) for c in reminders.ALL_CHANNELS)
    return form


def _detail_page(session: Session, assignment: Assignment, form: ReplaceVersionForm,
                 status: int = 200, phases_form: PhasesForm | None = None,
                 reminders_form: ReminderPolicyForm | None = None):
    return render_template(
        "admin/assignments_detail.html", assignment=assignment, form=form,
        periods=_periods_of(session, assignment), size=_reporting_count(session, assignment),
        unit_kind_label=unit_kind_label,
        phases=assignment_service.phases_of(assignment),
        phases_form=phases_form or _phases_form(assignment, formdata=None),
        reminders_form=reminders_form or _reminders_form(assignment),
        reminders_changed=bool(assignment.reminder_policy),
    ), status


@bp.get("/assignments/<key>")
@roles_required(Role.ADMIN)
def assignments_detail(key: str):
    """One assignment: its periods and due dates, versions, and the version replacement."""
    session = db_session()
    assignment = assignment_service.get_assignment(session, key)  # unknown: NotVisible, 404
    return _detail_page(session, assignment, _detail_form(session, assignment))


@bp.post("/assignments/<key>/versions")
@roles_required(Role.ADMIN)
def assignments_replace_version(key: str):
    """Use another version of the template from a period on; reports already made keep theirs."""
    session = db_session()
    assignment = assignment_service.get_assignment(session, key)
    form = _detail_form(session, assignment)

    def page(_refusal=None):
        return _detail_page(session, assignment, form, 400)

    if form.validate_on_submit():
        row = None
        if (form.template.data or "").isdigit():
            row = session.scalar(select(TemplateVersion).where(
                TemplateVersion.key == assignment.template_key,
                TemplateVersion.version == int(form.template.data)))
        if row is None:
            _add_error(form.template, _("Choose a published template version."))
        else:
            on_refusal(page, form=form)
            try:
                assignment_service.replace_version(session, assignment, row,
                                                   form.from_period.data or "")
            except Refusal as refusal:
                # replace_version names no input yet: its period, or else the version.
                refusal.field = refusal.field or (
                    "from_period" if "period" in refusal.params else "template")
                raise
            flash(_("From %(period)s on, new reports use version %(version)s.",
                    period=form.from_period.data, version=row.version), "success")
            return redirect(url_for("admin.assignments_detail", key=key))
    return page()


@bp.post("/assignments/<key>/phases")
@roles_required(Role.ADMIN)
def assignments_phases(key: str):
    """Date the template's phases otherwise for this assignment, or add phases of its own."""
    session = db_session()
    assignment = assignment_service.get_assignment(session, key)
    form = _phases_form(assignment, formdata=request.form)

    def page(_refusal=None):
        return _detail_page(session, assignment, _detail_form(session, assignment), 400, form)

    if form.validate_on_submit():
        phases = _phases_of(form)
        if phases is not None:
            on_refusal(page, form=form)
            assignment_service.set_phases(assignment, phases, form.due_phase.data)
            assignment.shift_to_workday = bool(form.shift_to_workday.data)
            flash(_("The phases of %(key)s are saved.", key=key), "success")
            return redirect(url_for("admin.assignments_detail", key=key))
    return page()


@bp.post("/assignments/<key>/reminders")
@roles_required(Role.ADMIN)
def assignments_reminders(key: str):
    """Change when and how the units of this assignment are reminded."""
    session = db_session()
    assignment = assignment_service.get_assignment(session, key)
    form = _reminders_form(assignment, formdata=request.form)

    def page(_refusal=None):
        return _detail_page(session, assignment, _detail_form(session, assignment), 400,
                            reminders_form=form)

    if form.validate_on_submit():
        on_refusal(page, form=form)
        if request.form.get("reset"):
            reminders.change_policy(session, assignment, {}, reset=True)
        else:
            reminders.change_policy(session, assignment, {name: form[name].data for name in (
                "days_before", "on_due_day", "overdue_every", "overdue_max", "escalate_after",
                "quiet_start", "quiet_end", "channels")})
        flash(_("The reminders of %(key)s are saved.", key=key), "success")
        return redirect(url_for("admin.assignments_detail", key=key))
    return page()
