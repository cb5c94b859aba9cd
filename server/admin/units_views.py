"""The organisation tree pages: browse and search (administrators and consolidators);
add, edit, move, close and import units (administrators); the unit picker's
suggestions (a small JSON list for the ``<datalist>`` of a picker field)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exports import import_samples
from forms.tags import format_tags
from server.admin.blueprint import bp
from server.admin.forms import (
    UnitCreateForm,
    UnitDatesForm,
    UnitEditForm,
    UnitMoveForm,
    UnitTagsForm,
    kind_choices,
)
from server.admin.imports import import_page
from server.auth.access import roles_required
from server.db import db_session
from server.downloads import CSV, XLSX, send_written
from server.models import Role, User
from server.pagination import paginate
from server.refusals import on_refusal
from server.scope import can_see, get_unit_or_404, scope_roots
from server.services import units as unit_service
from server.services.owing import today


@bp.get("/units")
@roles_required(Role.ADMIN, Role.CONSOLIDATOR)
def units():
    """The top of the visible tree, or search results across it."""
    session = db_session()
    user = current_user._get_current_object()
    search = request.args.get("q", "").strip()
    tag = request.args.get("tag", "").strip()
    if search or tag:
        found, page = paginate(session, unit_service.units_query(user, search=search, tag=tag))
    else:
        found, page = list(scope_roots(session, user)), None
    return render_template(
        "admin/units.html", unit=None, units=found, page=page, search=search, tag=tag,
        breadcrumbs=[], counts=unit_service.count_descendants(session, found),
    )


@bp.get("/units/<path:code>")
@roles_required(Role.ADMIN, Role.CONSOLIDATOR)
def units_detail(code: str, tags_form: UnitTagsForm | None = None, past_due: bool = False,
                 dates_form: UnitDatesForm | None = None,
                 move_form: UnitMoveForm | None = None,
                 edit_form: UnitEditForm | None = None):
    """One unit: its contacts, its tags, its children and (for administrators) its
    accounts and a form to change its tags."""
    session = db_session()
    user = current_user._get_current_object()
    unit = get_unit_or_404(session, user, code)
    below, page = paginate(session, unit_service.children_query(user, unit))
    accounts = []
    if user.is_admin:
        accounts = session.scalars(
            select(User).where(User.unit_id == unit.id).order_by(User.username)
            .options(selectinload(User.unit))
        ).all()
    return render_template(
        "admin/units.html", unit=unit, units=below, page=page, search="",
        breadcrumbs=[a for a in unit_service.ancestors(session, unit) if can_see(user, a)],
        counts=unit_service.count_descendants(session, below), accounts=accounts,
        tags_form=tags_form or (UnitTagsForm(tags=format_tags(unit.tag_list))
                                if user.is_admin else None),
        dates_form=dates_form or (UnitDatesForm(reports_from=unit.reports_from,
                                                stops_on=unit.stops_on)
                                  if user.is_admin else None),
        move_form=move_form or (UnitMoveForm() if user.is_admin else None),
        edit_form=edit_form or (_edit_form(unit, formdata=None) if user.is_admin else None),
        past_due=past_due,
    )


def _needs_confirmation(form, before) -> bool:
    """Whether the reporting start in *form* reaches back before today (and before
    *before*, the unit's start until now) without the administrator having confirmed:
    the unit would owe periods at once that may already be past due."""
    start = form.reports_from.data
    if start is None or start >= today() or form.confirm_past.data:
        return False
    return before is None or start < before


def _edit_form(unit, **kwargs) -> UnitEditForm:
    form = UnitEditForm(obj=unit, **kwargs)
    form.kind.choices = kind_choices(unit.kind)
    return form


@bp.get("/unit-picker")
@roles_required(Role.ADMIN, Role.CONSOLIDATOR)
def unit_picker():
    """Up to ten visible units whose code, name or pinyin initials contain ``q``."""
    text = request.args.get("q", "")[:200]
    if "\x00" in text:  # no unit holds one, and PostgreSQL refuses it in a query
        return jsonify([])
    found = unit_service.pick(db_session(), current_user._get_current_object(), text)
    return jsonify([{"code": unit.code, "name": unit.name, "initials": unit.initials}
                    for unit in found])


@bp.route("/units-new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def units_new():
    """Add a unit under a parent chosen with the picker (administrators)."""
    session = db_session()
    user = current_user._get_current_object()
    form = UnitCreateForm(parent=request.args.get("parent", ""))

    def page(_refusal=None):
        status = 400 if form.is_submitted() else 200
        return render_template("admin/unit_new.html", form=form), status

    if not form.validate_on_submit():
        return page()
    on_refusal(page, form=form, fields={"day": "reports_from"})
    parent = unit_service.resolve_unit(session, user, form.parent.data, field="parent")
    if _needs_confirmation(form, None):
        return render_template("admin/unit_new.html", form=form, past_due=True), 200
    unit = unit_service.create_unit(
        session, form.code.data, form.name.data, form.kind.data, parent,
        contact_name=(form.contact_name.data or "").strip() or None,
        contact_phone=(form.contact_phone.data or "").strip() or None,
        reports_from=form.reports_from.data or today())
    flash(_("%(unit)s (%(code)s) is added.", unit=unit.name, code=unit.code), "success")
    return redirect(url_for("admin.units_detail", code=unit.code))


@bp.post("/units/<path:code>/edit")
@roles_required(Role.ADMIN)
def units_edit(code: str):
    """Change a unit's name, kind and contacts (administrators)."""
    session = db_session()
    unit = get_unit_or_404(session, current_user._get_current_object(), code)
    form = _edit_form(unit)

    def page(_refusal=None):
        return units_detail(code, edit_form=form), 400

    if not form.validate_on_submit():
        return page()
    on_refusal(page, form=form)
    changes = unit_service.update_unit(
        session, unit, name=form.name.data, kind=form.kind.data,
        contact_name=form.contact_name.data, contact_phone=form.contact_phone.data)
    if changes:
        flash(_("The changes to %(unit)s are saved.", unit=unit.name), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("admin.units_detail", code=unit.code))


@bp.post("/units/<path:code>/dates")
@roles_required(Role.ADMIN)
def units_dates(code: str):
    """Set the days a unit starts and stops reporting (administrators)."""
    session = db_session()
    unit = get_unit_or_404(session, current_user._get_current_object(), code)
    form = UnitDatesForm()

    def page(_refusal=None):
        return units_detail(code, dates_form=form), 400

    if not form.validate_on_submit():
        return page()
    on_refusal(page, form=form)
    if _needs_confirmation(form, unit.reports_from):
        return units_detail(code, dates_form=form, past_due=True), 200
    unit_service.set_reporting_dates(session, unit, form.reports_from.data, form.stops_on.data)
    flash(_("The reporting dates of %(unit)s are saved.", unit=unit.name), "success")
    return redirect(url_for("admin.units_detail", code=unit.code))


@bp.post("/units/<path:code>/move")
@roles_required(Role.ADMIN)
def units_move(code: str):
    """Place a unit under another parent from a day on (administrators)."""
    session = db_session()
    user = current_user._get_current_object()
    unit = get_unit_or_404(session, user, code)
    form = UnitMoveForm()

    def page(_refusal=None):
        return units_detail(code, move_form=form), 400

    if not form.validate_on_submit():
        return page()
    on_refusal(page, form=form)
    parent = unit_service.resolve_unit(session, user, form.parent.data, field="parent")
    unit_service.move_unit(session, unit, parent, form.day.data)
    flash(_("%(unit)s is placed under %(parent)s from %(day)s on.", unit=unit.name,
            parent=parent.name if parent else "—",
            day=(form.day.data or today()).isoformat()), "success")
    return redirect(url_for("admin.units_detail", code=unit.code))


@bp.post("/units/<path:code>/tags")
@roles_required(Role.ADMIN)
def units_tags(code: str):
    """Replace a unit's tags (administrators)."""
    session = db_session()
    unit = get_unit_or_404(session, current_user._get_current_object(), code)
    form = UnitTagsForm()

    def page(_refusal=None):
        return units_detail(code, tags_form=form), 400

    if not form.validate_on_submit():
        return page()
    on_refusal(page, form=form)
    tags = unit_service.set_tags(session, unit, form.tags.data or "")
    if tags:
        flash(_("The tags of %(unit)s are now %(tags)s.", unit=unit.name,
                tags=format_tags(tags)), "success")
    else:
        flash(_("%(unit)s has no tags now.", unit=unit.name), "success")
    return redirect(url_for("admin.units_detail", code=unit.code))


@bp.route("/units-import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def units_import():
    return import_page(
        "units", unit_service.import_units,
        lambda created, updated: _(
            "Import finished: %(created)s units created, %(updated)s updated.",
            created=created, updated=updated,
        ),
        "admin.units",
    )


@bp.get("/import-samples/<kind>.<ending>")
@roles_required(Role.ADMIN)
def import_sample(kind: str, ending: str):
    """A sample file of an import (``units`` or ``users``): headers and two example rows."""
    if kind not in import_samples.SAMPLES or ending not in ("csv", "xlsx"):
        abort(404)
    name = f"{kind}-sample.{ending}"
    if ending == "csv":
        data = import_samples.sample_csv(kind)
        return send_written(lambda out: out.write(data), CSV, name)
    data = import_samples.sample_xlsx(kind)
    return send_written(lambda out: out.write(data), XLSX, name)
