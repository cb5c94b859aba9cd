"""The audit page: administrators see every event, a consolidator those of its subtree;
filtered by person, unit (subtree), kind and days, paged, newest first; an .xlsx export."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from exports.audit_list import AuditRow, write_audit_list
from server.admin.blueprint import bp
from server.admin.forms import AuditFilterForm
from server.auth.access import roles_required
from server.choices import options
from server.db import db_session
from server.downloads import XLSX, send_written
from server.models import Role
from server.navigation import Page
from server.pagination import PER_PAGE
from server.services import audit
from server.services import units as unit_service
from server.services.errors import Refusal

EXPORT_LIMIT = 100_000


def _filters() -> tuple[AuditFilterForm, audit.AuditFilter | None]:
    """The filter form from the query string, and what it asks for (None: a bad filter)."""
    form = AuditFilterForm(request.args)
    form.kind.choices = options([("", _("All kinds")), *audit.kind_choices()])
    if not form.validate():
        return form, None
    if "\x00" in (form.person.data or ""):  # no username holds one; PostgreSQL refuses it
        form.person.errors = [*form.person.errors, _("No account has this username.")]
        return form, None
    unit = None
    try:
        unit = unit_service.resolve_unit(db_session(), current_user._get_current_object(),
                                         form.unit.data, field="unit")
    except Refusal as refusal:
        form.unit.errors = [*form.unit.errors, str(refusal)]
        return form, None
    return form, audit.AuditFilter(person=form.person.data or "", unit=unit,
                                   kind=form.kind.data or "", since=form.since.data,
                                   until=form.until.data)


def _reader():
    user = current_user._get_current_object()
    if not audit.may_read(user):
        abort(404)
    return user


@bp.get("/audit", endpoint="audit")
@roles_required(Role.ADMIN, Role.CONSOLIDATOR)
def audit_log():
    user = _reader()
    form, wanted = _filters()
    events, page = [], None
    if wanted is not None:
        session = db_session()
        query = audit.entries_query(user, wanted)
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        page = Page.from_request(total or 0, PER_PAGE)
        events = audit.entries(session, query, offset=page.offset, limit=PER_PAGE)
    return render_template("admin/audit.html", form=form, events=events, page=page,
                           kind_label=audit.kind_label, describe=audit.describe_details,
                           local_time=audit.local_time), 200 if wanted is not None else 400


@bp.get("/audit.xlsx")
@roles_required(Role.ADMIN, Role.CONSOLIDATOR)
def audit_export():
    user = _reader()
    _form, wanted = _filters()
    if wanted is None:
        abort(400)
    events = audit.entries(db_session(), audit.entries_query(user, wanted), limit=EXPORT_LIMIT)
    rows = [AuditRow(time=audit.local_time(event.at),
                     person=event.actor.username if event.actor else "",
                     kind=audit.kind_label(event.kind),
                     unit_code=event.unit.code if event.unit else "",
                     unit_name=event.unit.name if event.unit else "",
                     target=event.target, details=audit.describe_details(event.details),
                     ip=event.ip) for event in events]
    return send_written(lambda out: write_audit_list(out, rows, title=_("Audit log"),
                                                     translate=_),
                        XLSX, "audit-log.xlsx")
