"""The dashboard of an assignment below a unit, the units behind its numbers, the
administrators' overview and the 晾晒通报 downloads."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from flask import abort, render_template, request, send_file, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from exports import svg_charts
from forms.targets import STATUS_LABELS
from server.auth.access import roles_required
from server.db import db_session
from server.downloads import XLSX
from server.labels import period_label
from server.locale import current_locale_code
from server.models import Role, Unit
from server.pagination import paginate
from server.pdf import send_pdf
from server.review.blueprint import bp
from server.review.forms import DashboardForm
from server.review.matrix_views import _assignment_label
from server.services import assignments as assignment_service
from server.services import briefing as briefing_service
from server.services import dashboard as dashboard_service
from server.services import review as review_service
from server.services.dashboard import LATE, MISSING, ON_TIME, PENDING
from server.services.errors import NotVisible


def measure_labels() -> dict[str, str]:
    return {
        "owed": _("Owed"), ON_TIME: _("On time"), LATE: _("Late"), MISSING: _("Missing"),
        PENDING: _("Not yet due"), "approved": _("Approved"), "returned": _("Returned"),
        "never": _("Never reported"),
    }


def target_labels() -> dict[str, str]:
    return {str(status): _(label) for status, label in STATUS_LABELS.items()}


def _context():
    """The chosen assignment, unit, kind and form, scope-checked; None when nothing to show."""
    session = db_session()
    user = current_user._get_current_object()
    assignments = [a for a in review_service.assignments_for(session, user)
                   if not assignment_service.is_event(a)]
    form = DashboardForm(request.args)
    wanted = request.args.get("assignment")
    if not assignments:
        if wanted:
            abort(404)
        return session, user, form, None, None
    chosen = next((a for a in assignments if a.key == wanted), None if wanted else assignments[0])
    if chosen is None:
        abort(404)
    form.assignment.data = chosen.key
    under = review_service.reviewed_unit(session, user, chosen, form.unit.data)
    units = review_service.review_units(session, user, chosen)
    kinds = review_service.completeness_kinds(session, user, chosen, under) if under else []
    periods = dashboard_service.begun_periods(chosen, dashboard_service.today())
    form.set_choices([(a, _assignment_label(a)) for a in assignments], units, kinds, periods)
    if under is not None:
        form.unit.data = under.code
    return session, user, form, chosen, under


def charts(board: dashboard_service.Dashboard) -> dict[str, Markup]:
    labels = [period_label(p) for p in board.periods]
    names = measure_labels()
    states = [ON_TIME, LATE, MISSING, PENDING]
    colours = {ON_TIME: "#2e7d32", LATE: "#f9a825", MISSING: "#c62828", PENDING: "#9e9e9e"}
    out = {
        "timeliness": svg_charts.stacked_columns(
            labels, [svg_charts.Series(names[s], [board.by_period[p][s] for p in board.periods],
                                       colours[s]) for s in states],
            title=_("Reports by period: on time, late, missing"),
            description=_("The table below the chart gives the same figures."),
            ident="chart-timeliness"),
        "rates": svg_charts.lines(
            labels, [svg_charts.Series(_("Completion"), [board.by_period[p].completion
                                                         for p in board.periods], "#1565c0"),
                     svg_charts.Series(_("On time"), [board.by_period[p].timeliness
                                                      for p in board.periods], "#2e7d32")],
            title=_("Completion and timeliness by period"),
            description=_("The table below the chart gives the same figures."),
            target=1.0, target_label=_("Target: every unit on time"), percent=True,
            ident="chart-rates"),
    }
    if board.children:
        out["ranking"] = svg_charts.ranking_bars(
            [row.unit.name for row in board.children],
            [row.total.completion for row in board.children],
            title=_("Children ranked by completion"),
            description=_("The ranking table gives the same figures."), ident="chart-ranking")
    return {key: Markup(svg) for key, svg in out.items()}  # noqa: S704  (escaped by svg_charts)


@bp.get("/dashboard")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def dashboard():
    """Completeness and timeliness over periods, the children ranked, who never reported."""
    session, user, form, chosen, under = _context()
    if chosen is None or under is None:
        return render_template("review/dashboard.html", form=form if chosen else None,
                               board=None, assignment=chosen)
    periods = dashboard_service.choose_periods(
        chosen, dashboard_service.today(), form.first.data, form.last.data)
    board = dashboard_service.build(session, chosen, under, periods, kind=form.chosen_kind())
    judged = dashboard_service.child_targets(session, user, board)
    return render_template(
        "review/dashboard.html", form=form, board=board, assignment=chosen,
        charts=charts(board), labels=measure_labels(), link=_units_link(board),
        judged=judged, target_labels=target_labels(),
        target_limit=dashboard_service.TARGET_CHILDREN)


def _units_link(board):
    """A function (period, measure, child) → the URL of the units behind that number;
    the common part is built once (a page has hundreds of these links)."""
    base = url_for("review.dashboard_units", assignment=board.assignment.key,
                   unit=board.under.code, kind=board.kind or None,
                   first=board.periods[0] if board.periods else None,
                   last=board.periods[-1] if board.periods else None)

    def link(period: str | None, measure: str, child: Unit | None = None) -> str:
        extra = {"period": period, "measure": measure,
                 "child": child.code if child is not None else None}
        return base + "&" + urlencode({k: v for k, v in extra.items() if v is not None})
    return link


@bp.get("/dashboard/targets")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def dashboard_targets():
    """The key indicators over the periods shown, each against its target line."""
    session, user, form, chosen, under = _context()
    if chosen is None or under is None:
        abort(404)
    periods = dashboard_service.choose_periods(
        chosen, dashboard_service.today(), form.first.data, form.last.data)
    found = dashboard_service.indicators(session, user, chosen, under, periods,
                                         current_locale_code())
    charts = []
    for index, item in enumerate(found):
        name = item.shown.progress.field.text("label", current_locale_code())
        target = (f"{item.target:.0%}" if item.percent else f"{item.target:g}")
        charts.append(Markup(svg_charts.lines(  # noqa: S704  (escaped by svg_charts)
            [period_label(key) for key in item.labels], [svg_charts.Series(name, item.values)],
            title=name, description=item.shown.text, percent=item.percent,
            target=item.target, target_label=_("Target %(target)s by %(date)s", target=target,
                                               date=format_date(item.deadline)),
            ident=f"chart-target-{index}")))
    return render_template("review/dashboard_targets.html", assignment=chosen, under=under,
                           indicators=list(zip(found, charts, strict=True)),
                           back=url_for("review.dashboard", **{
                               k: v for k, v in request.args.items()
                               if k in ("assignment", "unit", "kind", "first", "last")}))


@bp.get("/dashboard/units")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def dashboard_units():
    """The units behind one number of the dashboard, a page at a time."""
    session, _user, form, chosen, under = _context()
    if chosen is None or under is None:
        abort(404)
    measure = request.args.get("measure", "")
    kind = form.chosen_kind()
    child = dashboard_service.child_of(session, under, request.args.get("child"))
    period = request.args.get("period") or None
    labels = measure_labels()
    if measure not in labels:
        abort(404)
    per_period = False
    if measure == "never":
        periods = dashboard_service.choose_periods(
            chosen, dashboard_service.today(), form.first.data, form.last.data)
        scope = child or under
        parts = dashboard_service.with_paths(
            session, chosen, scope, dashboard_service.segments(session, chosen, periods))
        query = dashboard_service.never_reported_query(chosen, scope, parts, kind)
    elif period is None:  # a total over the range: one row per unit-period
        periods = dashboard_service.choose_periods(
            chosen, dashboard_service.today(), form.first.data, form.last.data)
        query = dashboard_service.units_behind_range(chosen, under, periods, measure,
                                                     child=child, kind=kind)
        per_period = True
    else:
        if period not in dashboard_service.begun_periods(chosen, dashboard_service.today()):
            abort(404)
        query = dashboard_service.units_behind(chosen, under, period, measure, child=child,
                                               kind=kind)
    found, page = paginate(session, query, whole_rows=per_period)
    rows = found if per_period else [(unit, period) for unit in found]
    return render_template("review/dashboard_units.html", assignment=chosen, under=under,
                           child=child, period=period, measure=labels[measure], rows=rows,
                           per_period=per_period, page=page, back=url_for("review.dashboard", **{
                               k: v for k, v in request.args.items()
                               if k in ("assignment", "unit", "kind", "first", "last")}))


@bp.get("/overview")
@roles_required(Role.ADMIN)
def overview():
    """Every assignment's latest due period: which lag, and where."""
    session = db_session()
    rows = dashboard_service.overview(session, current_user._get_current_object())
    return render_template("review/overview.html", rows=rows,
                           labels={r.assignment.key: _assignment_label(r.assignment)
                                   for r in rows})


def _briefing():
    session, user, form, chosen, under = _context()
    if chosen is None or under is None:
        raise NotVisible(what=request.args.get("assignment", ""))
    begun = dashboard_service.begun_periods(chosen, dashboard_service.today())
    period = request.args.get("period") or (begun[-1] if begun else None)
    if period not in begun:
        abort(404)
    return briefing_service.build(session, chosen, under, period, kind=form.chosen_kind(),
                                  user=user)


@bp.get("/dashboard/briefing.xlsx")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def dashboard_briefing_xlsx():
    brief = _briefing()
    return send_file(io.BytesIO(briefing_service.workbook(brief)), mimetype=XLSX,
                     as_attachment=True, download_name=brief.filename + ".xlsx", max_age=0)


@bp.get("/dashboard/briefing.pdf")
@roles_required(Role.CONSOLIDATOR, Role.ADMIN)
def dashboard_briefing_pdf():
    brief = _briefing()
    return send_pdf(briefing_service.workbook(brief), brief.filename + ".pdf")

