"""The organisation tree pages: browse and search (administrators and consolidators),
import (administrators)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forms.tags import format_tags
from server.admin.blueprint import bp
from server.admin.forms import UnitDatesForm, UnitMoveForm, UnitTagsForm
from server.admin.imports import import_page
from server.auth.access import roles_required
from server.db import db_session
from server.models import Role, User
from server.pagination import paginate
from server.refusals import on_refusal
from server.scope import can_see, get_unit_or_404, scope_roots
from server.services import jobs
from server.services import units as unit_service
from server.services.errors import InvalidInput
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
def units_detail(code: str, tags_form: UnitTagsForm | None = None,
                 dates_form: UnitDatesForm | None = None,
                 move_form: UnitMoveForm | None = None):
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
    )


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
    parent = None
    parent_code = (form.parent.data or "").strip()
    if parent_code:
        parent = unit_service.get_unit(session, parent_code)
        if parent is None:
            raise InvalidInput(_l("The unit code “%(code)s” does not exist."), field="parent",
                               code=parent_code)
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
        background=_units_in_background,
    )


def _units_in_background(session, data: bytes, filename: str):
    """A correct table of more rows than the threshold is applied by a worker: the answer
    is the job's page. None for a small table or one with problems (shown at once)."""
    size = unit_service.rows_to_import(session, data, filename)
    if size is None or size <= jobs.threshold():
        return None
    job = jobs.start_units_import(session, current_user._get_current_object(), data,
                                  filename, size)
    return redirect(url_for("jobs.detail", job_id=job.id))
