"""Forms of the admin blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from server.choices import options
from server.models import Role

IMPORT_EXTENSIONS = ["xlsx", "csv"]


def role_choices() -> list[SelectChoice]:
    return options([
        (Role.SUBMITTER.value, _l("Submitter")),
        (Role.CONSOLIDATOR.value, _l("Consolidator")),
        (Role.ADMIN.value, _l("Administrator")),
    ])


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocapitalize": "none", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=role_choices)
    unit_code = StringField(
        _l("Unit"), validators=[Optional(), Length(max=200)],
        description=_l("Required for submitters and consolidators. Type its code, name or "
                       "the pinyin initials of its name, in any case."),
    )
    password = PasswordField(_l("Initial password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})


class ImportForm(FlaskForm):
    file = FileField(
        _l("Spreadsheet (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose a file to import.")),
            FileAllowed(IMPORT_EXTENSIONS, _l("Only .xlsx and .csv files can be imported.")),
        ],
    )


class ActionForm(FlaskForm):
    """Empty: the CSRF token of a one-button action (enable, disable)."""


class UnitTagsForm(FlaskForm):
    """The tags of a unit (危化、有限空间), which scope the duties that apply to it."""

    tags = StringField(
        _l("Tags"), validators=[Length(max=500)],
        description=_l("Separated by 、 , or ；, e.g. 危化、有限空间、规模以上. Parts of a "
                       "report that apply only to some kinds of unit follow these tags."),
    )


class UnitDatesForm(FlaskForm):
    """The days a unit starts and stops reporting: it owes the periods that begin between."""

    reports_from = DateField(
        _l("Reports from"), validators=[Optional()],
        description=_l("It owes the periods that begin on or after this day; empty: every "
                       "period."))
    stops_on = DateField(
        _l("Stops reporting on"), validators=[Optional()],
        description=_l("It owes no period that begins on or after this day; empty: it goes "
                       "on reporting."))
    confirm_past = BooleanField(_l("Save all the same: the unit gets work that is already "
                                   "past due"))


class UnitMoveForm(FlaskForm):
    """Place a unit under another parent from a day on; earlier periods keep the old one."""

    parent = StringField(_l("New parent unit"), validators=[Length(max=200)],
                         description=_l("Its code, name or pinyin initials, in any case. "
                                        "Empty: the unit becomes a top unit."))
    day = DateField(
        _l("From"), validators=[Optional()],
        description=_l("Periods that begin on or after this day count it under the new "
                       "parent; earlier ones keep the old. Empty: today."))


def kind_choices(current: str | None = None) -> list[SelectChoice]:
    """The usual unit kinds, and *current* when it is another one (imports take any)."""
    from server.labels import UNIT_KIND_LABELS

    pairs = [(key, label) for key, label in UNIT_KIND_LABELS.items()]
    if current and current not in UNIT_KIND_LABELS:
        pairs.append((current, current))
    return options(pairs)


class UnitEditForm(FlaskForm):
    """The name, kind and contacts of a unit."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=kind_choices)
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=50)],
                                render_kw={"inputmode": "tel", "autocomplete": "off"})


class UnitCreateForm(UnitEditForm):
    """A new unit under a parent found with the unit picker."""

    parent = StringField(_l("Parent unit"), validators=[Length(max=200)],
                         description=_l("Its code, name or pinyin initials, in any case. "
                                        "Empty: a new top unit."))
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)],
                       render_kw={"autocapitalize": "none", "autocomplete": "off"})
    reports_from = DateField(
        _l("Reports from"), validators=[Optional()],
        description=_l("It owes the periods that begin on or after this day; empty: today."))
    confirm_past = BooleanField(_l("Save all the same: the unit gets work that is already "
                                   "past due"))


class AuditFilterForm(FlaskForm):
    """The audit page's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    person = StringField(_l("Person"), validators=[Optional(), Length(max=64)],
                         render_kw={"autocapitalize": "none", "autocomplete": "off"},
                         description=_l("A username."))
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=200)],
                       description=_l("This unit and the units below it: code, name or "
                                      "pinyin initials."))
    kind = SelectField(_l("Kind of event"), validators=[Optional()])
    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])
