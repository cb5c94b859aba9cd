"""The completeness matrix and the 催报 list of the units below a consolidator."""

from __future__ import annotations

import io

from flask import abort, render_template, request, send_file, url_for
from flask import session as web_session
from flask_babel import gettext as _
from flask_login import current_user

from server.auth.access import roles_required
from server.db import db_session
from server.downloads import XLSX
from server.locale import current_locale_code
from server.models import Role, Status
from server.review.blueprint import bp
from server.review.forms import BatchApproveForm, MatrixFilterForm
from server.services import assignments as assignment_service
from server.services import review as review_service
from server.services.errors import NotVisible


def _assignment_label(assignment) -> str:
    template = assignment_service.version_for(assignment, assignment.first_period).definition
    return _("%(template)s (%(unit)s)", template=template.text("title", current_locale_code()),
             unit=assignment.root_unit.name)


@bp.get("/")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix():
    """Units below × open periods, each cell a status; counts, filters, links to review."""
    session = db_session()
    user = current_user._get_current_object()
    # Events are never owed: they have their own list (events_views), not a matrix.
    assignments = [a for a in review_service.assignments_for(session, user)
                   if not assignment_service.is_event(a)]
    form = MatrixFilterForm(request.args)
    if not assignments:
        return render_template("review/matrix.html", form=None, matrix=None, assignment=None)
    wanted = request.args.get("assignment")
    last = _last_choice(user)
    if wanted:
        chosen = next((a for a in assignments if a.key == wanted), None)
    else:  # what the account chose last, while it is still theirs; else the first
        chosen = next((a for a in assignments if a.key == last.get("assignment")),
                      assignments[0])
    if chosen is None:
        abort(404)
    form.assignment.data = chosen.key
    if not wanted and not form.unit.data and last.get("assignment") == chosen.key:
        form.unit.data = last.get("unit")
    under = review_service.reviewed_unit(session, user, chosen, form.unit.data)
    if under is not None:
        _remember_choice(user, chosen.key, under.code)
    units = review_service.review_units(session, user, chosen)
    if under is None:
        form.set_choices([(a, _assignment_label(a)) for a in assignments], units, [])
        return render_template("review/matrix.html", form=form, matrix=None, assignment=chosen)
    form.unit.data = under.code
    kinds = review_service.completeness_kinds(session, user, chosen, under)
    form.set_choices([(a, _assignment_label(a)) for a in assignments], units, kinds)
    filters = form.filters()
    result = review_service.completeness(
        session, user, chosen, under, filters, page=request.args.get("page", 1, type=int))
    submitted = [(unit, period) for unit in result.rows for period in result.periods
                 if result.cell(unit, period).owed
                 and result.cell(unit, period).status == Status.SUBMITTED]
    return render_template(
        "review/matrix.html", form=form, matrix=result, assignment=chosen, filters=filters,
        statuses=review_service.COUNTED, Status=Status,
        approvable=review_service.approvable(session, user, chosen, submitted),
        batch_form=BatchApproveForm(formdata=None),
        all_periods_url=_matrix_url(all_periods="1"),
        latest_periods_url=_matrix_url(all_periods=None),
    )


@bp.post("/<assignment>/batch-approve")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix_batch_approve(assignment: str):
    """Approve the chosen submitted reports (or every one the matrix offered as approvable)
    in one go; each is checked and audited on its own, and those that do not qualify are
    listed with the reason."""
    form = BatchApproveForm()
    if not form.validate_on_submit():
        abort(400)
    session, user = db_session(), current_user._get_current_object()
    found = review_service.assignment_for(session, user, assignment)  # NotVisible: 404
    names = "approvable" if request.form.get("every") else "report"
    chosen = [tuple(value.split("|", 1)) for value in request.form.getlist(names)
              if value.count("|") == 1][:BATCH_MAX]
    outcomes = review_service.batch_approve(session, user, found.key, chosen)
    return render_template("review/batch_result.html", assignment=found, outcomes=outcomes,
                           approved=[o for o in outcomes if o.approved],
                           refused=[o for o in outcomes if not o.approved])


BATCH_MAX = 500  # reports approved in one request


LAST_CHOICE = "review.last"  # session key: {account id: {"assignment": …, "unit": …}}


def _last_choice(user) -> dict[str, str]:
    """The assignment and unit the account last looked at in the matrix (this session)."""
    return dict((web_session.get(LAST_CHOICE) or {}).get(str(user.id)) or {})


def _remember_choice(user, assignment: str, unit: str) -> None:
    """Keep the matrix on what the account chose, even when new assignments are added."""
    choices = dict(web_session.get(LAST_CHOICE) or {})
    if choices.get(str(user.id)) != {"assignment": assignment, "unit": unit}:
        choices[str(user.id)] = {"assignment": assignment, "unit": unit}
        web_session[LAST_CHOICE] = choices


def _matrix_url(**changes) -> str:
    args = request.args.to_dict()
    args.pop("page", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("review.matrix", **args)


def _chase_context(assignment_key: str, period: str):
    session = db_session()
    user = current_user._get_current_object()
    assignment = review_service.assignment_for(session, user, assignment_key)
    under = review_service.reviewed_unit(session, user, assignment, request.args.get("unit"))
    if under is None:
        raise NotVisible(what=assignment_key)
    entries = review_service.chase_list(session, user, assignment, under, period)
    return assignment, under, entries


@bp.get("/<assignment>/<period>/chase")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix_chase(assignment: str, period: str):
    """The units still owing the period's report, with whom to call."""
    found, under, entries = _chase_context(assignment, period)
    return render_template(
        "review/chase.html", assignment=found, under=under, period=period, entries=entries,
        due=assignment_service.due_date(found, period),
        title=review_service.chase_title(found, under, period, current_locale_code()),
    )


@bp.get("/<assignment>/<period>/chase.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def matrix_chase_download(assignment: str, period: str):
    found, under, entries = _chase_context(assignment, period)
    title = review_service.chase_title(found, under, period, current_locale_code())
    data = review_service.chase_workbook(entries, title)
    # send_file writes both an ASCII fallback and the UTF-8 filename* of RFC 6266.
    name = review_service.chase_filename(found, period)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name,
                     max_age=0)
