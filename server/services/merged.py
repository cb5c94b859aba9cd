"""Merged exports of a consolidation: the merged workbook, the flat data as CSV, and
one unit's cumulative figures across the periods of the plan.

The writers in ``exports/`` are pure and take the subtree as an iterator of
:class:`~exports.flat_data.UnitReport`; this module produces that iterator from
the database without holding the subtree in memory:

* **one query** over the subtree, in tree order (``Unit.path``), read in batches
  (``yield_per``: a server-side cursor on PostgreSQL). Each row is a reporting
  unit with its report of the period and, joined in the same statement, its
  nearest earlier and later submitted or approved reports (the baselines of
  本期新增 and of the cumulative checks, exactly as a report view picks them).
  Plain columns, not ORM objects, so nothing accumulates in the session;
* a stack of the reporting ancestors of the current row gives each unit its
  *consolidation parent* (the nearest reporting unit above it, transparent
  units skipped) and its depth below the consolidating unit: depth 1 are the
  children whose reports make the summary's totals;
* issues are ``forms.validation.validate`` as the review page computes them,
  plus the mismatches the consolidation service found below (an office's
  figure that differs from what its own children add up to).

Values are exported for the reports that count in the totals: approved ones, and
submitted ones too with the switch (the ``included`` flag, shown on the
completeness sheet). The others are listed with their status only, so a pivot of
the data sheet's first level always gives the summary's totals.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from itertools import chain
from typing import IO, Any

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from exports.flat_data import (
    BOM,
    FLAT_HEADERS,
    NOT_STARTED,
    UnitReport,
    csv_cell,
    flat_rows,
    neutralise,
    tally_rows,
    total_rows,
)
from exports.merged_workbook import (
    CLOSED_NO,
    CLOSED_YES,
    ClosedPeriod,
    MergedWorkbook,
    write_merged_workbook,
)
from exports.series import build_series
from exports.summary_sheets import SummaryInput
from forms.definition import Definition
from forms.i18n import N_
from forms.issues import Issue, warning
from forms.periods import SHANGHAI, Period, days_until
from forms.validation import validate
from forms.values import format_number, loads_values
from server.models import Unit, UnitPlacement, UnitTag, User
from server.models.accounts import utcnow
from server.models.reporting import (
    Assignment,
    Report,
    ReportEvent,
    Status,
    late_or_overdue,
    sent_in_sql,
)
from server.models.templates import TemplateVersion
from server.models.units import subtree_bounds
from server.pdf import only_sheets
from server.scope import unit_scope
from server.services import assignments as assignment_service
from server.services import closing, targets
from server.services.consolidation import Figures
from server.services.errors import NotVisible
from server.services.owing import in_force, owing_units, period_day
from server.services.review import assignment_for

BATCH = 500  # rows fetched per round trip


# -- the subtree as a stream of UnitReports -----------------------------------------------


def unit_reports(session: Session, figures: Figures, *, locale: str = "zh_CN",
                 now: datetime | None = None) -> Iterator[UnitReport]:
    """Every reporting unit below ``figures.unit``, in tree order, with its report.

    ``included`` follows the figures' switch (approved only, or submitted too);
    for the direct children it is the figures' own decision. *locale* is part of
    the agreed signature: the reports carry data, the writers render it.
    """
    children = {state.unit.id: state for state in figures.children}
    carried = _carried_values(figures)
    mismatches = _mismatches_by_unit(figures)
    for unit_id, report in subtree_reports(
        session, figures.assignment, figures.unit, figures.period,
        include_submitted=figures.include_submitted, now=now,
    ):
        state = children.get(unit_id)
        changes: dict[str, Any] = {}
        if state is not None:
            changes["included"] = state.included and report.has_report
            if state.carried_from and state.unit.code in carried:
                # What the totals count for it: its cumulative figures carried forward.
                values, version = carried[state.unit.code]
                changes.update(carried_from=state.carried_from, values=values,
                               previous=values, previous_period=state.carried_from,
                               carried_version=version)
        extra = mismatches.get(unit_id)
        if extra:
            changes["issues"] = (*report.issues, *extra)
        yield replace(report, **changes) if changes else report


def subtree_reports(
    session: Session,
    assignment: Assignment,
    under: Unit,
    period: str,
    *,
    include_submitted: bool = False,
    now: datetime | None = None,
) -> Iterator[tuple[int, UnitReport]]:
    """``(unit id, UnitReport)`` for every reporting unit strictly below *under*.

    One statement, read in batches; memory does not grow with the subtree.
    """
    now = now or utcnow()
    versions = template_versions(session, assignment.template_key)
    current_version = assignment_service.version_for(assignment, period)
    days_left = days_until(assignment_service.due_date(assignment, period), now)
    ancestors: list[tuple[str, str]] = []  # (path, code) of the reporting units above the row
    result = session.execute(_subtree_statement(assignment, under, period),
                             execution_options={"yield_per": BATCH})
    for rows in result.partitions():
        histories = _histories(session, assignment, period, versions,
                               [row.id for row in rows])
        for row in rows:
            while ancestors and not row.path.startswith(ancestors[-1][0]):
                ancestors.pop()
            parent_code = ancestors[-1][1] if ancestors else under.code
            depth = len(ancestors) + 1
            ancestors.append((row.path, row.code))
            yield row.id, _unit_report(row, period, assignment.template_key, parent_code, depth,
                                       versions, current_version, days_left, include_submitted,
                                       histories.get(row.id, []))


def _histories(session: Session, assignment: Assignment, period: str,
               versions: Mapping[int, TemplateVersion],
               unit_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each unit's reports handed in before *period*, oldest first (typed values): the
    history its figures are judged against for outliers, as on the review page."""
    found: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(Report.unit_id, Report.values, Report.template_version_id)
        .where(Report.assignment_id == assignment.id, Report.unit_id.in_(unit_ids),
               Report.period < period, sent_in_sql(Report.status))
        .order_by(Report.unit_id, Report.period))
    for row in rows:
        values = _decoded(versions, row.template_version_id, row.values)
        if values is not None:
            found.setdefault(row.unit_id, []).append(values)
    return found


def template_versions(session: Session, template_key: str) -> dict[int, TemplateVersion]:
    """Every published version of a template, by row id (a handful of rows)."""
    return {tv.id: tv for tv in session.scalars(
        select(TemplateVersion).where(TemplateVersion.key == template_key))}


def version_definitions(session: Session, template_key: str) -> dict[int, Definition]:
    """Version number -> definition, so reports of older versions merge by field key."""
    return {tv.version: tv.definition for tv in template_versions(session, template_key).values()}


def _subtree_statement(assignment: Assignment, under: Unit, period: str):
    """The units that owe *period* below *under*, as the tree stood then, with their reports."""
    units = owing_units(assignment, period, under)
    owing_ids = units.with_only_columns(Unit.id).order_by(None)

    def neighbour(pick, later: bool):
        """Per unit, the nearest earlier (or later) period it handed a report in for."""
        return (
            select(Report.unit_id, pick(Report.period).label("period"))
            .where(Report.assignment_id == assignment.id, sent_in_sql(Report.status),
                   Report.period > period if later else Report.period < period,
                   Report.unit_id.in_(owing_ids))
            .group_by(Report.unit_id)
            .subquery()
        )

    before, after = neighbour(func.max, False), neighbour(func.min, True)
    cur, prev, nxt = aliased(Report), aliased(Report), aliased(Report)
    approver = aliased(User)

    def report_at(alias, period_column):
        return and_(alias.unit_id == Unit.id, alias.assignment_id == assignment.id,
                    alias.period == period_column)

    return (
        select(
            Unit.id, Unit.code, Unit.name, UnitPlacement.path, Unit.contact_name,
            Unit.contact_phone,
            # The unit's tags in one text (tags never hold spaces): what applies to it.
            select(func.aggregate_strings(UnitTag.tag, " ")).where(UnitTag.unit_id == Unit.id)
            .scalar_subquery().label("tags"),
            cur.status, cur.revision, cur.values, cur.template_version_id, cur.submitted_at,
            cur.late, cur.explanations, cur.approved_at,
            approver.username.label("approved_by"),
            prev.period.label("prev_period"), prev.values.label("prev_values"),
            prev.template_version_id.label("prev_version_id"),
            nxt.period.label("next_period"), nxt.values.label("next_values"),
            nxt.template_version_id.label("next_version_id"),
        )
        .select_from(Unit)
        .join(UnitPlacement, and_(UnitPlacement.unit_id == Unit.id,
                                  in_force(UnitPlacement, period_day(assignment, period))))
        .outerjoin(cur, report_at(cur, period))
        .outerjoin(approver, approver.id == cur.approved_by_id)
        .outerjoin(before, before.c.unit_id == Unit.id)
        .outerjoin(prev, report_at(prev, before.c.period))
        .outerjoin(after, after.c.unit_id == Unit.id)
        .outerjoin(nxt, report_at(nxt, after.c.period))
        .where(units.whereclause, Unit.id != under.id)
        .order_by(UnitPlacement.path)
    )


def _unit_report(row: Any, period: str, template_key: str, parent_code: str, depth: int,
                 versions: Mapping[int, TemplateVersion], current: TemplateVersion,
                 days_left: int, include_submitted: bool,
                 history: list[dict[str, Any]]) -> UnitReport:
    status = row.status or NOT_STARTED
    template = versions.get(row.template_version_id, current)
    late = late_or_overdue(status, row.late, days_left)
    base = dict(unit_code=row.code, unit_name=row.name, parent_code=parent_code, depth=depth,
                period=period, template=template_key, late=late,
                submitter=row.contact_name or "", phone=row.contact_phone or "")
    if status == NOT_STARTED:
        return UnitReport(**base, included=False, tags=frozenset((row.tags or "").split()))
    definition = template.definition
    values = loads_values(definition, row.values or {})
    previous = _decoded(versions, row.prev_version_id, row.prev_values)
    following = _decoded(versions, row.next_version_id, row.next_values)
    tags = frozenset((row.tags or "").split())
    issues = validate(definition, values, previous, period=period,
                      previous_period=row.prev_period, following=following,
                      following_period=row.next_period, tags=tags, history=history)
    base.update(
        submitter=str(values.get("reporter") or base["submitter"]),
        phone=str(values.get("phone") or base["phone"]),
    )
    included = status == Status.APPROVED or (include_submitted and status == Status.SUBMITTED)
    return UnitReport(
        **base,
        version=template.version,
        status=status,
        submitted_at=row.submitted_at,
        revision=row.revision,
        values=values if included else {},
        previous=previous,
        previous_period=row.prev_period,
        issues=tuple(issues),
        included=included,
        explanations=dict(row.explanations or {}),
        tags=tags,
        acknowledged_by=(row.approved_by or "") if status == Status.APPROVED else "",
        acknowledged_at=row.approved_at if status == Status.APPROVED else None,
    )


def _decoded(versions: Mapping[int, TemplateVersion], version_id: int | None,
             values: Any) -> dict[str, Any] | None:
    if version_id is None or version_id not in versions:
        return None
    return loads_values(versions[version_id].definition, values or {})


def _carried_values(figures: Figures) -> dict[str, tuple[dict[str, Any], int | None]]:
    """Unit code -> the cumulative figures carried forward for it (the parts of the totals)
    and the template version they were reported under."""
    out: dict[str, tuple[dict[str, Any], int | None]] = {}
    for key, parts in figures.result.provenance.items():
        for part in parts:
            if part.carried_from:
                out.setdefault(part.unit_code, ({}, part.version))[0][key] = part.value
    return out


def _mismatches_by_unit(figures: Figures) -> dict[int, list[Issue]]:
    """The consolidation's mismatches below the unit, as warnings of the unit concerned."""
    out: dict[int, list[Issue]] = {}
    definition = figures.definition
    for mismatch in getattr(figures, "mismatches", ()):
        if mismatch.depth == 0:
            continue  # the unit's own report is not part of its merged workbook
        fld = definition.field(mismatch.field_key)
        labels = {"label": fld.label if fld is not None else mismatch.field_key}
        if fld is not None and fld.label_en:
            labels["label_en"] = fld.label_en
        out.setdefault(mismatch.unit.id, []).append(warning(
            mismatch.field_key, "differs_from_children", value=format_number(mismatch.reported),
            expected=format_number(mismatch.computed), **labels))
    return out


# -- the files -------------------------------------------------------------------------------


def remembered(translate: Callable[[str], str]) -> Callable[[str], str]:
    """*translate* asked once per text: one export repeats the same few hundred labels
    thousands of times, and a lookup through the request's locale is not free."""
    cache: dict[str, str] = {}

    def lookup(text: str) -> str:
        found = cache.get(text)
        if found is None:
            found = cache[text] = translate(text)
        return found

    return lookup


def write_merged(session: Session, figures: Figures, output: str | os.PathLike[str] | IO[bytes],
                 *, locale: str = "zh_CN", translate: Callable[[str], str] = gettext,
                 now: datetime | None = None,
                 progress: Callable[[int], None] | None = None) -> MergedWorkbook:
    """The merged workbook of the figures' unit and period, written to *output*.

    The summary holds the consolidated values with the previous period's
    consolidation beside the cumulative ones (its 本期新增); every report below
    streams through once. *progress* hears the number of units written after each.
    """
    unit = figures.unit
    translate = remembered(translate)
    banner = figures.overall.sentence(ngettext, carrying=figures.carry_forward, locale=locale)
    goals = targets.for_consolidation(session, figures, now=now)
    signer = _signer(figures)
    summary = SummaryInput(
        unit_name=unit.name, period_label=Period.parse(figures.period).label(locale),
        as_of=_local(now or utcnow()), coverage=banner, values=figures.values,
        increments=figures.increments, previous=figures.previous_values,
        coverage_by_field=coverage_of(figures, translate, locale), targets=goals,
        preparer=_submitter(session, figures) or signer.get("reporter", ""),
        phone=signer.get("phone", ""), **_reviewer(figures),
        strict=not figures.carry_forward, include_submitted=figures.include_submitted)
    return write_merged_workbook(
        output, figures.definition, unit_code=unit.code, unit_name=unit.name,
        period=figures.period, consolidated={**signer, **figures.values},
        reports=unit_reports(session, figures, locale=locale, now=now),
        previous_consolidated=figures.previous_values or None,
        previous_period=figures.previous_period,
        versions=version_definitions(session, figures.assignment.template_key),
        locale=locale, translate=translate, tallies=figures.result.tallies,
        coverage=summary.coverage_by_field, coverage_overall=banner, targets=goals,
        summary=summary, lists=figures.result.lists, provenance=figures.result.provenance,
        closed=closed_period(figures), progress=progress,
    )


def write_summary_pdf_workbook(session: Session, figures: Figures, *, locale: str = "zh_CN",
                               translate: Callable[[str], str] = gettext,
                               now: datetime | None = None) -> bytes:
    """The leader's summary alone: the merged workbook's 汇总表 (with its print settings,
    seal block and page footers), without the data sheets, ready to print to PDF."""
    buffer = io.BytesIO()
    result = write_merged(session, figures, buffer, locale=locale, translate=translate, now=now)
    return only_sheets(buffer.getvalue(), lambda sheet: sheet.title == result.summary_table_sheet)


def subtree_size(session: Session, figures: Figures) -> int:
    """How many reporting units a merged export of *figures* writes (its progress total)."""
    return _owing_count(session, figures.assignment, figures.period, figures.unit)


def closed_period(figures: Figures) -> ClosedPeriod | None:
    """The closing in force over the figures' period, as the exports state it."""
    closure = figures.closure
    if closure is None:
        return None
    return ClosedPeriod(closure.unit.name, closing.local_time(closure.closed_at),
                        closure.closed_by.username if closure.closed_by else "—")


# The CSV's last two columns: the same on every row, so a pivot of it still says it.
CLOSED_HEADERS = (N_("Period closed"), N_("Closed at"))


def _signer(figures: Figures) -> dict[str, str]:
    """Who answers for the figures: the office's own report's contact, else the unit's, so
    a generated form never shows an empty 报送人 box."""
    own = figures.own.values if figures.own is not None else {}
    unit = figures.unit
    found = {"reporter": str(own.get("reporter") or unit.contact_name or ""),
             "phone": str(own.get("phone") or unit.contact_phone or "")}
    return {key: value for key, value in found.items() if value}


def _submitter(session: Session, figures: Figures) -> str:
    """The account that last submitted the office's own report of the period ("" if none)."""
    report = figures.own.report if figures.own is not None else None
    if report is None or report.submitted_at is None:
        return ""
    return session.scalar(
        select(User.username).join(ReportEvent, ReportEvent.actor_id == User.id)
        .where(ReportEvent.report_id == report.id, ReportEvent.action == "submitted")
        .order_by(ReportEvent.id.desc()).limit(1)) or ""


def _reviewer(figures: Figures) -> dict[str, Any]:
    """审核人: who closed the period for the unit (and when), else who approved the office's
    own report; nothing when neither happened (the summary leaves a line to sign)."""
    closure = figures.closure
    if closure is not None and closure.closed_by is not None:
        return {"reviewer": closure.closed_by.username, "reviewer_closed": True,
                "reviewed_on": _local(closure.closed_at).date()}
    report = figures.own.report if figures.own is not None else None
    if report is not None and report.status == Status.APPROVED and report.approved_by:
        return {"reviewer": report.approved_by.username,
                "reviewed_on": _local(report.approved_at).date() if report.approved_at else None}
    return {}


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def coverage_of(figures: Figures, translate: Callable[[str], str],
                locale: str) -> dict[str, str]:
    """Who is in each figure, in words, where it differs from the units as a whole (a
    figure that does not apply to every unit, one left blank, one carried forward or not)."""
    banner = figures.overall.sentence(ngettext, carrying=figures.carry_forward, locale=locale)
    found = {}
    for key in figures.result.provenance:
        if key in figures.result.tallies:
            continue
        said = figures.coverage_sentence(key, ngettext, locale)
        if said != banner:
            found[key] = said
    counted = [c.unit.code for c in figures.included]
    for key, codes in figures.result.calculated_over.items():  # a rate over fewer units
        if codes != counted:
            found[key] = figures.calculated_sentence(key, ngettext, locale)
    return found


def write_flat_csv(session: Session, figures: Figures, output: IO[bytes] | IO[str], *,
                   locale: str = "zh_CN", translate: Callable[[str], str] = gettext,
                   now: datetime | None = None,
                   progress: Callable[[int], None] | None = None) -> int:
    """The flat data (unit × field) as CSV, UTF-8 with a byte-order mark; returns the rows.

    *output* is a binary file (encoded here) or a text stream (written as is).
    *progress* hears the number of units read so far after each.
    """
    binary = not isinstance(output, io.TextIOBase) and "b" in getattr(output, "mode", "b")
    translate = remembered(translate)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    count = 0

    def flush() -> None:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        output.write(text.encode("utf-8") if binary else text)

    buffer.write(BOM)
    writer.writerow([neutralise(translate(header)) for header in (*FLAT_HEADERS, *CLOSED_HEADERS)])
    closed = closed_period(figures)
    status = [translate(CLOSED_YES) if closed else translate(CLOSED_NO),
              closed.closed_at if closed else ""]
    reports = unit_reports(session, figures, locale=locale, now=now)
    if progress is not None:
        reports = _counted(reports, progress)
    rows = flat_rows(figures.definition, reports,
                     versions=version_definitions(session, figures.assignment.template_key),
                     locale=locale, translate=translate)
    tallies = tally_rows(figures.definition, figures.result.tallies,
                         unit_code=figures.unit.code, unit_name=figures.unit.name,
                         period=figures.period, locale=locale, translate=translate)
    totals = total_rows(figures.definition, figures.values, figures.increments,
                        {key: figures.coverage(key) for key in figures.result.provenance},
                        unit_code=figures.unit.code, unit_name=figures.unit.name,
                        period=figures.period, locale=locale)
    for row in chain(rows, tallies, totals):
        writer.writerow([*(csv_cell(value) for value in row), *status])
        count += 1
        if count % BATCH == 0:
            flush()
    flush()
    return count


def _counted(reports: Iterator[UnitReport], progress: Callable[[int], None]
             ) -> Iterator[UnitReport]:
    for number, report in enumerate(reports, start=1):
        yield report
        progress(number)


def write_series(session: Session, user: User, assignment_key: str, unit_code: str,
                 output: str | os.PathLike[str] | IO[bytes], *, locale: str = "zh_CN",
                 translate: Callable[[str], str] = gettext, now: datetime | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
    """One unit's cumulative indicators across every period of the plan window.

    A unit that reports under the assignment shows its own reports as handed in
    (submitted or approved); a unit that does not (a town office above the
    villages) shows its consolidation of each period that has begun. NotVisible
    for an assignment, or a unit, the account cannot see or that neither
    reports nor consolidates.
    """
    assignment, unit = series_subject(session, user, assignment_key, unit_code)
    definition = assignment_service.version_for(assignment, assignment.last_period).definition
    if assignment_service.reports_for_unit(assignment, unit):
        by_period = targets.own_reports(session, assignment, unit)
    else:
        units = _owing_count(session, assignment, assignment.last_period, unit)
        by_period = targets.consolidated_reports(
            session, user, assignment, unit, targets.today(now),
            progress=(lambda periods: progress(periods * units)) if progress else None)
    data = build_series(definition, unit_name=unit.name, reports=by_period, locale=locale,
                        translate=remembered(translate))
    if isinstance(output, str | os.PathLike):
        with open(output, "wb") as file:
            file.write(data)
    else:
        output.write(data)


def series_size(session: Session, user: User, assignment_key: str, unit_code: str,
                now: datetime | None = None) -> tuple[int, int]:
    """How much work the series of *unit_code* is: its reporting units below (0 for a unit
    that reports itself: its own reports are read at once) and the periods consolidated.
    The progress of a background series counts units × periods. NotVisible like
    :func:`write_series`."""
    assignment, unit = series_subject(session, user, assignment_key, unit_code)
    if assignment_service.reports_for_unit(assignment, unit):
        return 0, 0
    periods = len(assignment_service.open_periods(assignment, targets.today(now)))
    return _owing_count(session, assignment, assignment.last_period, unit), periods


def _owing_count(session: Session, assignment: Assignment, period: str, unit: Unit) -> int:
    units = owing_units(assignment, period, unit)
    return session.scalar(select(func.count()).select_from(
        units.with_only_columns(Unit.id).where(Unit.id != unit.id).order_by(None)
        .subquery())) or 0


def series_subject(session: Session, user: User, assignment_key: str,
                    unit_code: str) -> tuple[Assignment, Unit]:
    assignment = assignment_for(session, user, assignment_key)
    unit = session.scalar(select(Unit).where(Unit.code == unit_code, unit_scope(user)))
    if unit is None:
        raise NotVisible(what=unit_code)
    low, high = subtree_bounds(assignment.root_unit.path)
    if not low <= unit.path < high:
        raise NotVisible(what=unit_code)
    return assignment, unit


# -- file names ------------------------------------------------------------------------------


def merged_filename(figures: Figures, locale: str = "zh_CN") -> str:
    with force_locale(locale):
        return gettext("merged-%(assignment)s-%(unit)s-%(period)s.xlsx",
                       **_name_parts(figures.assignment.key, figures.unit.code, figures.period))


def summary_pdf_filename(figures: Figures, locale: str = "zh_CN") -> str:
    with force_locale(locale):
        return gettext("summary-%(assignment)s-%(unit)s-%(period)s.pdf",
                       **_name_parts(figures.assignment.key, figures.unit.code, figures.period))


def csv_filename(figures: Figures, locale: str = "zh_CN") -> str:
    with force_locale(locale):
        return gettext("data-%(assignment)s-%(unit)s-%(period)s.csv",
                       **_name_parts(figures.assignment.key, figures.unit.code, figures.period))


def series_filename(session: Session, user: User, assignment_key: str, unit_code: str,
                    locale: str = "zh_CN") -> str:
    """The across-periods file name; NotVisible like :func:`write_series`."""
    assignment, unit = series_subject(session, user, assignment_key, unit_code)
    with force_locale(locale):
        return gettext("series-%(assignment)s-%(unit)s.xlsx",
                       **_name_parts(assignment.key, unit.code, ""))


def _name_parts(assignment: str, unit: str, period: str) -> dict[str, str]:
    """Keys as they may appear in a file name (no path separators)."""
    clean = str.maketrans({c: "-" for c in '/\\:*?"<>|'})
    return {"assignment": assignment.translate(clean), "unit": unit.translate(clean),
            "period": period.translate(clean)}
