"""Forms of the admin blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, PasswordField, SelectField, StringField
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
        _l("Unit code"), validators=[Optional(), Length(max=64)],
        description=_l("Required for submitters and consolidators."),
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


class UnitMoveForm(FlaskForm):
    """Place a unit under another parent from a day on; earlier periods keep the old one."""

    parent = StringField(_l("New parent unit code"), validators=[Length(max=64)],
                         description=_l("Empty: the unit becomes a top unit."))
    day = DateField(
        _l("From"), validators=[Optional()],
        description=_l("Periods that begin on or after this day count it under the new "
                       "parent; earlier ones keep the old. Empty: today."))
