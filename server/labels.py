"""Display names for stored codes (roles, unit kinds), translated when shown."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "submitter": _l("Submitter"),
    "consolidator": _l("Consolidator"),
    "admin": _l("Administrator"),
}

# Kinds are free text in imports; these are the usual ones. Others are shown as stored.
UNIT_KIND_LABELS = {
    "city": _l("City"),
    "county": _l("County"),
    "town": _l("Town"),
    "zone": _l("Development zone"),
    "village": _l("Village"),
    "community": _l("Community"),
    "company": _l("Company"),
    "department": _l("Department"),
    "bureau": _l("Bureau"),
    "office": _l("Office"),
}


def role_label(role) -> str:
    key = getattr(role, "value", role)
    return str(ROLE_LABELS.get(key, key))


def unit_kind_label(kind: str | None) -> str:
    return str(UNIT_KIND_LABELS.get(kind or "", kind or ""))


# Canonical column keys of the import readers (exports.unit_table), as shown in error tables.
COLUMN_LABELS = {
    "code": _l("Unit code"),
    "name": _l("Name"),
    "kind": _l("Kind"),
    "parent_code": _l("Parent unit code"),
    "contact_name": _l("Contact"),
    "contact_phone": _l("Phone"),
    "active": _l("Active"),
    "username": _l("Username"),
    "role": _l("Role"),
    "unit_code": _l("Unit code"),
    "password": _l("Password"),
}


def column_label(key: str | None) -> str:
    return str(COLUMN_LABELS.get(key or "", key or ""))


def register_labels(app: Flask) -> None:
    app.jinja_env.globals.update(role_label=role_label, unit_kind_label=unit_kind_label,
                                 column_label=column_label)
