"""``/me``, ``/units`` and ``/templates``: who the token is, what it sees, what can be reported.

Units are limited to the account's scope (``server.scope``); a unit outside it
is 404 as if it did not exist. Templates are the same for every account.
"""

from __future__ import annotations

import json
from datetime import date

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false
from sqlalchemy.orm import selectinload

from server.api import schemas, serializers
from server.api.auth import api_user, check_role
from server.api.blueprint import bp
from server.api.pagination import paginate_query, paginated
from server.api.problems import ApiError
from server.api.reports import body_object
from server.db import db_session
from server.locale import DEFAULT_LOCALE
from server.models import Role, TemplateVersion, Unit, User
from server.scope import get_unit_or_404
from server.services import templates as template_service
from server.services import units as unit_service
from server.services.errors import InvalidInput


def me_json(user: User) -> dict:
    return schemas.answer(schemas.Me(
        username=user.username,
        # Accounts have no display name of their own yet; the field is kept for clients.
        name=None,
        role=user.role,
        unit=serializers.unit_ref(user.unit),
        locale=user.locale or DEFAULT_LOCALE,
    ))


def unit_item(unit: Unit) -> schemas.Unit:
    return schemas.Unit(
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        parent=unit.parent.code if unit.parent is not None else None,
        level=unit.depth,
        contact_name=unit.contact_name,
        contact_phone=unit.contact_phone,
        active=unit.active,
        tags=unit.tag_list,
    )


def template_item(row: TemplateVersion) -> schemas.Template:
    return schemas.Template(
        key=row.key,
        title=row.title,
        version=row.version,
        frequency=row.definition.schedule.frequency,
        published_at=row.created_at,
    )


def stored_definition(row: TemplateVersion) -> dict:
    # Stored exactly as validated (Definition.to_json), so it is served as stored.
    return json.loads(row.definition_json)


@bp.get("/me")
def me():
    return me_json(api_user())


@bp.get("/units")
def units():
    user = api_user()
    session = db_session()
    code = request.args.get("under", "").strip()
    under = get_unit_or_404(session, user, code) if code else None
    tag = request.args.get("tag", "").strip() or None
    query = unit_service.units_query(user, under=under, tag=tag)
    if tag and "\x00" in tag:  # no tag holds one, and PostgreSQL refuses it in a query
        query = query.where(false())
    query = (query.order_by(None)
             .order_by(Unit.path).options(selectinload(Unit.parent)))
    return paginate_query(schemas.UnitPage, session, query, unit_item)


@bp.post("/units/<unit>/move")
def move_unit(unit: str):
    """Place a unit (and its subtree) under another parent from a day on (administrators):
    ``{"parent": "T2", "on": "2024-10-01"}``; ``parent`` null makes it a top unit, ``on``
    defaults to today. A move that would alter a closed period answers 423."""
    user = check_role(Role.ADMIN)
    session = db_session()
    moved = get_unit_or_404(session, user, unit)
    body = body_object()
    parent_code, on = body.get("parent"), body.get("on")
    if parent_code is not None and not isinstance(parent_code, str):
        raise ApiError(400, "bad_request", _("“%(name)s” must be a string.", name="parent"))
    day = None
    if on is not None:
        try:
            day = date.fromisoformat(on) if isinstance(on, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ApiError(400, "bad_request",
                           _("“%(name)s” must be a date (YYYY-MM-DD).", name="on"))
    parent = None
    if parent_code:
        # No code holds a NUL character, and PostgreSQL refuses one in a query.
        parent = None if "\x00" in parent_code else unit_service.get_unit(session, parent_code)
        if parent is None:
            raise InvalidInput(_l("The unit code “%(code)s” does not exist."), field="parent",
                               code=parent_code)
    unit_service.move_unit(session, moved, parent, day)
    return schemas.answer(unit_item(unit_service.get_unit(session, moved.code)))


@bp.get("/templates")
def templates():
    api_user()
    rows = [row for row, _count in template_service.list_latest(db_session())]
    return paginated(schemas.TemplatePage,
                     lambda offset, limit: (rows[offset:offset + limit], len(rows)), template_item)


@bp.get("/templates/<key>")
def template(key: str):
    api_user()
    history = template_service.versions(db_session(), key)
    if not history:
        raise ApiError(404, "not_found")
    latest = history[0]
    return schemas.answer(schemas.TemplateDetail(
        **dict(template_item(latest)), versions=[row.version for row in reversed(history)],
        definition=stored_definition(latest)))


@bp.get("/templates/<key>/versions/<int(max=2147483647):n>")
def template_version(key: str, n: int):
    api_user()
    row = template_service.get_version(db_session(), key, n)
    if row is None:
        raise ApiError(404, "not_found")
    return schemas.answer(schemas.TemplateVersion(
        key=row.key, version=row.version, definition=stored_definition(row)))
