"""The calendar of working days: administrators add holidays and 调休 working days (with
their reasons) for years the chinese-calendar package does not cover, or remove them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from forms.workdays import OFFICIAL_YEARS
from server.admin.blueprint import bp
from server.auth.access import roles_required
from server.choices import options
from server.db import db_session
from server.models import Role
from server.refusals import on_refusal
from server.services import calendar_imports, workdays

HOLIDAY, WORKDAY = "holiday", "workday"


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Day"), validators=[DataRequired()])
    kind = SelectField(_l("Kind"), choices=options([(HOLIDAY, _l("Holiday (day off)")),
                                                    (WORKDAY, _l("Working day (调休)"))]))
    reason = StringField(_l("Reason"), validators=[Length(max=workdays.REASON_MAX)],
                         description=_l("The holiday's name, e.g. 国庆节; or the holiday a "
                                        "working weekend day makes up for, e.g. 国庆节调休上班."))
    reason_en = StringField(_l("Reason in English"),
                            validators=[Length(max=workdays.REASON_MAX)])


class CalendarImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a file to import.")),
        FileAllowed(["csv", "txt"], _l("Only .csv files can be imported here."))],
        description=_l("One day a row: date, holiday (休) or workday (班), reason, reason in "
                       "English (optional), e.g. 2027-10-01,休,国庆节. All or nothing."))


class RemoveDayForm(FlaskForm):
    day = DateField(_l("Day"), validators=[DataRequired()])


def _year() -> int | None:
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and 1000 <= int(raw) <= 9999 else None


def _page(form: CalendarDayForm, status: int = 200,
          import_form: CalendarImportForm | None = None):
    year = _year()
    years = sorted(OFFICIAL_YEARS)
    return render_template(
        "admin/calendar.html", form=form, remove_form=RemoveDayForm(),
        import_form=import_form or CalendarImportForm(formdata=None),
        entries=workdays.entries(db_session(), year), year=year,
        official=(years[0], years[-1]) if years else None), status


@bp.route("/calendar", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def calendar():
    """The administrators' days, and the form to add one."""
    form = CalendarDayForm()
    if form.validate_on_submit():
        on_refusal(lambda _r=None: _page(form, 400), form=form)
        workdays.set_day(db_session(), form.day.data, workday=form.kind.data == WORKDAY,
                         reason=form.reason.data, reason_en=form.reason_en.data,
                         user=current_user._get_current_object())
        flash(_("%(day)s is saved in the calendar.", day=form.day.data.isoformat()), "success")
        return redirect(url_for("admin.calendar", year=form.day.data.year))
    return _page(form, 400 if form.errors else 200)


@bp.post("/calendar/import")
@roles_required(Role.ADMIN)
def calendar_import():
    """Days from an uploaded CSV, as ``tianbao calendar import`` reads them; all or
    nothing, each refusal naming its line; recorded in the audit log."""
    form = CalendarImportForm()
    if not form.validate_on_submit():
        return _page(CalendarDayForm(formdata=None), 400, form)
    on_refusal(lambda _r=None: _page(CalendarDayForm(formdata=None), 400, form),
               form=form)
    session = db_session()
    result = calendar_imports.import_file(session,
                                          form.file.data.read(workdays.CSV_MAX_BYTES + 1),
                                          user=current_user._get_current_object())
    flash(_("%(count)s days saved in the calendar.", count=result.added), "success")
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/remove")
@roles_required(Role.ADMIN)
def calendar_remove():
    form = RemoveDayForm()
    if form.validate_on_submit():
        if workdays.remove_day(db_session(), form.day.data):
            flash(_("%(day)s is removed from the calendar.", day=form.day.data.isoformat()),
                  "success")
        return redirect(url_for("admin.calendar", year=form.day.data.year))
    return redirect(url_for("admin.calendar"))
