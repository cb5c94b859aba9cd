"""Display names for stored codes, translated when shown: roles, unit kinds, import
columns, periods (2024年第二季度 / 2024 Q2), schedule frequencies and field kinds."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from forms.consolidation import UNANSWERED
from forms.definition import FieldDef, FieldKind
from forms.definition_errors import VALUE_LABELS
from forms.periods import Frequency, Period
from server.locale import current_locale_code
from server.services import assignments as assignment_service

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


# The words for enumerated values of the definition format live beside the schema
# (forms.definition_errors.VALUE_LABELS), shared with definition problems and the help.
FREQUENCY_LABELS = {frequency: _l(VALUE_LABELS[frequency]) for frequency in Frequency}
KIND_LABELS = {kind: _l(VALUE_LABELS[kind]) for kind in FieldKind}


def period_label(key: str) -> str:
    """A period key as people say it in the current locale; unknown keys unchanged."""
    try:
        return Period.parse(key).label(current_locale_code())
    except ValueError:
        return key


def frequency_label(frequency: str) -> str:
    label = FREQUENCY_LABELS.get(Frequency(frequency)) if frequency in set(Frequency) else None
    return str(label) if label else frequency


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(FieldKind(kind)) if kind in set(FieldKind) else None
    return str(label) if label else kind


def register_labels(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=role_label, unit_kind_label=unit_kind_label, column_label=column_label,
        period_label=period_label, frequency_label=frequency_label, kind_label=kind_label,
        due_note=due_note,
    )


def due_note(assignment, period: str) -> str:
    """Why *period*'s due date moved to a working day, in the reader's language ("" if not)."""
    return assignment_service.due(assignment, period).reason(current_locale_code())


def tally_label(fld: FieldDef, option: str) -> str:
    """An answer counted by a tally (forms.consolidation.tally): "yes"/"no", a choice value,
    or "" for the units that gave no answer, in the reader's language."""
    if option == UNANSWERED:
        return str(_l("Not answered"))
    if fld.kind is FieldKind.YESNO:
        return str(_l("Yes") if option == "yes" else _l("No"))
    locale = current_locale_code()
    for choice in fld.choices:
        if choice.value == option:
            return choice.text("label", locale)
    return option
