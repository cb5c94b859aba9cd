"""The Excel round trip on the server: template workbooks out, filled workbooks in.

One service for the web pages and the CLI, built on ``exports`` (which knows
nothing of the database):

* :func:`template_for` writes the official form of a report as .xlsx,
  filled in like its web form (see :mod:`server.services.starting_values`),
  with the previous period's cumulative figures.
* :func:`import_upload` reads one upload meant for a known report (the form
  page); :func:`import_bulk` reads many (files or .zip bundles), matching each
  to exactly one report in the account's scope by its signed identity sheet.

Each upload ends in an :class:`UploadOutcome`: saved as a draft revision with
source "excel" and the original file kept (warnings allowed), not saved
because of errors (the workbook is offered back annotated, kept for the
uploader as a :class:`StoredFile`), or refused (another report, a tampered
identity, a locked report…). One upload never blocks another.

Workbooks are signed with a key derived from the app's ``SECRET_KEY``, so
servers sharing that key accept each other's workbooks.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.annotate import annotate_workbook
from exports.bulk import Upload, expand_uploads
from exports.identity import Identity
from exports.messages import CellIssue
from exports.notes_sheet import printed_notes
from exports.template_workbook import build_template
from exports.workbook_reader import ReadResult, read_workbook
from forms.definition import Definition
from forms.events import EventInfo, read_event
from forms.periods import NEVER_DUE, Period
from server.locale import current_locale_code
from server.models import Unit, User
from server.models.accounts import utcnow
from server.models.reporting import Assignment, Source, StoredFile
from server.pdf import only_sheets, set_up_for_print
from server.scope import can_see, unit_scope
from server.services import assignments as assignment_service
from server.services import events, files, reporting
from server.services import templates as template_service
from server.services.errors import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotVisible,
    PeriodClosed,
    Refusal,
    ReportLocked,
)
from server.services.reporting import ReportView
from server.services.starting_values import starting_values

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {
    "xlsx": XLSX_TYPE,
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_SIGNING_LABEL = b"tianbao/workbook-signature/v1"
_FILENAME_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

SAVED, NOT_SAVED, REFUSED = "saved", "not_saved", "refused"
SKIPPED = "skipped"  # a file of a background upload that was not read (see result rows)


def signing_key(secret_key: str | bytes | None = None) -> bytes:
    """The workbook signing key: an HMAC of a fixed label under the app's SECRET_KEY.

    Deriving it (rather than using SECRET_KEY itself) keeps the session key out
    of every workbook's signature computation while servers sharing SECRET_KEY
    still agree on it.
    """
    secret = current_app.config["SECRET_KEY"] if secret_key is None else secret_key
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return hmac.new(secret, _SIGNING_LABEL, hashlib.sha256).digest()


def resolver(session: Session) -> Callable[[str, int], Definition | None]:
    """Template key and version → definition (None when unknown or retired)."""
    return lambda key, version: template_service.get_definition(session, key, version)


# -- template workbooks ---------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateWorkbook:
    data: bytes
    filename: str


def template_for(session: Session, user: User, view: ReportView, *,
                 locale: str | None = None) -> TemplateWorkbook:
    """The official form of the report as .xlsx, filled in as its web form is for *user*."""
    locale = locale or current_locale_code()
    previous = view.previous
    values = starting_values(session, user, view).values
    data = build_template(
        view.definition, unit_code=view.unit.code, unit_name=view.unit.name,
        period=view.period, secret=signing_key(), locale=locale, translate=gettext,
        values=values or None, previous=view.previous_values or None,
        previous_period=previous.period if previous else None, tags=view.unit.tags,
        explanations=view.report.explanations if view.report is not None else None,
        event=view.report.event if view.report is not None else None,
        banner=due_line(view, locale),
    )
    return TemplateWorkbook(data, workbook_filename(view, locale))


def for_print(data: bytes) -> bytes:
    """The official form *data* as it prints: the form sheet, then the unit's 说明 of the
    figures it explained (no such page when it explained none), never the hidden sheets;
    the form upright when it is narrow."""
    return only_sheets(data, _printed, upright_when_narrow=True)


def _printed(sheet) -> bool:
    """Whether *sheet* is printed: the 说明 sheet only when it explains a figure (its other
    rows hidden by then), any other sheet when it is laid out for print."""
    explained = printed_notes(sheet)
    return set_up_for_print(sheet) if explained is None else explained


def due_line(view: ReportView, locale: str) -> str:
    """"截止 2026年10月8日（10月5日为国庆节假期，顺延至10月8日）" under the period of the
    official form; empty for a report that is never due (events)."""
    due = assignment_service.due(view.assignment, view.period)
    if due.date >= NEVER_DUE:
        return ""
    with force_locale(locale):
        day = format_date(due.date, format="long")
        reason = due.reason(locale).rstrip("。.")
        if not reason:
            return gettext("Due %(date)s", date=day)
        return gettext("Due %(date)s (%(reason)s)", date=day, reason=reason)


def workbook_filename(view: ReportView, locale: str) -> str:
    """``<unit name>_<period>_<form title>.xlsx``, safe on every file system."""
    title = view.definition.text("title", locale)
    try:
        period = Period.parse(view.period).label(locale)
    except ValueError:
        period = view.period
    stem = "_".join(part for part in (view.unit.name, period, title) if part)
    stem = _FILENAME_UNSAFE.sub(" ", stem).strip(" .")[:120] or view.unit.code
    return f"{stem}.xlsx"


# -- outcomes --------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    """What became of one uploaded workbook."""

    filename: str
    result: str  # SAVED, NOT_SAVED (errors: annotated workbook offered) or REFUSED
    issues: list[CellIssue] = field(default_factory=list)
    refusal: Refusal | None = None  # a refusal decided here rather than by the reader
    view: ReportView | None = None
    revision: int | None = None
    annotated: StoredFile | None = None

    @property
    def saved(self) -> bool:
        return self.result == SAVED

    @property
    def errors(self) -> list[CellIssue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[CellIssue]:
        return [i for i in self.issues if not i.is_error]


@dataclass(frozen=True)
class IssueLine:
    """One problem as a page or the CLI shows it, in the current language."""

    sheet: str
    cell: str
    label: str
    message: str
    is_error: bool


def issue_lines(outcome: UploadOutcome) -> list[IssueLine]:
    locale = current_locale_code()
    lines = [IssueLine("", "", "", str(outcome.refusal), True)] if outcome.refusal else []
    for issue in outcome.issues:
        lines.append(IssueLine(issue.sheet or "", issue.cell or "",
                               issue.field_label(gettext, locale),
                               issue.render(gettext, locale), issue.is_error))
    return lines


def report_label(view: ReportView) -> str:
    """``<form title>, <unit name>, <period>`` in the current language."""
    locale = current_locale_code()
    try:
        period = Period.parse(view.period).label(locale)
    except ValueError:
        period = view.period
    return gettext("%(title)s, %(unit)s, %(period)s",
                   title=view.definition.text("title", locale), unit=view.unit.name,
                   period=period)


def summary(outcome: UploadOutcome) -> str:
    """One line saying what became of the upload."""
    if outcome.result == SAVED:
        report = report_label(outcome.view)
        warnings = len(outcome.warnings)
        if warnings:
            return ngettext(
                "Saved as draft revision %(revision)s of %(report)s, with %(num)s warning.",
                "Saved as draft revision %(revision)s of %(report)s, with %(num)s warnings.",
                warnings, revision=outcome.revision, report=report)
        return gettext("Saved as draft revision %(revision)s of %(report)s.",
                       revision=outcome.revision, report=report)
    if outcome.result == NOT_SAVED:
        return ngettext(
            "Not saved: %(num)s error. Correct it in the marked workbook and upload it again.",
            "Not saved: %(num)s errors. Correct them in the marked workbook and upload it "
            "again.", len(outcome.errors))
    if outcome.refusal is not None:
        return gettext("Refused: %(reason)s", reason=str(outcome.refusal))
    first = outcome.errors[0] if outcome.errors else None
    reason = first.render(gettext, current_locale_code()) if first else ""
    return gettext("Refused: %(reason)s", reason=reason)


# -- importing -------------------------------------------------------------------------------


def import_upload(session: Session, user: User, view: ReportView, data: bytes,
                  filename: str) -> UploadOutcome:
    """Read an upload meant for *view*'s report and save it as a draft if it has no errors."""
    expected = Identity(view.template.key, view.template.version, view.unit.code, view.period,
                        unit_name=view.unit.name)
    result = read_workbook(data, filename, secret=signing_key(), resolve=resolver(session),
                           expected=expected)
    return _import_read(session, user, view, result, data)


def import_bulk(session: Session, user: User, uploads: Iterable[tuple[str, bytes]],
                progress: Callable[[int, int], None] | None = None) -> list[UploadOutcome]:
    """Read many uploads (.zip bundles unpacked), each matched to its own report;
    *progress* hears (workbooks read, workbooks in all) after each."""
    outcomes = []
    expanded = expand_uploads(uploads)
    for upload in expanded:
        outcomes.append(import_one(session, user, upload))
        if progress is not None:
            progress(len(outcomes), len(expanded))
    return outcomes


def bulk_size(uploads: Iterable[tuple[str, bytes]]) -> int:
    """How many workbooks a bulk upload holds (the members of its .zip bundles counted)."""
    return len(expand_uploads(uploads))


def import_one(session: Session, user: User, upload: Upload) -> UploadOutcome:
    """One workbook of a bulk upload, matched to the report its identity names in *user*'s
    scope and saved as a draft there (or why not)."""
    if upload.problem is not None:
        return UploadOutcome(upload.filename, REFUSED, [upload.problem])
    result = read_workbook(upload.data, upload.filename, secret=signing_key(),
                           resolve=resolver(session))
    if result.refused:
        return UploadOutcome(upload.filename, REFUSED, result.issues)
    view = match_report(session, user, result.identity, upload.filename)
    if isinstance(view, Refusal):
        return UploadOutcome(upload.filename, REFUSED, refusal=view)
    return _import_read(session, user, view, result, upload.data)


def match_report(session: Session, user: User, identity: Identity,
                 filename: str) -> ReportView | Refusal:
    """The one report in *user*'s scope the workbook's identity names, or why there is none.

    A unit outside the scope gets the same answer as one that does not exist.
    """
    period = _period_text(identity.period)
    unit = session.scalar(select(Unit).where(Unit.code == identity.unit, unit_scope(user)))
    candidates = []
    if unit is not None:
        assignments = session.scalars(select(Assignment).where(
            Assignment.template_key == identity.template, Assignment.active.is_(True),
        ).order_by(Assignment.key))
        candidates = [a for a in assignments if assignment_service.reports_for_unit(a, unit)
                      and identity.period in assignment_service.assignment_periods(a)]
    if len(candidates) > 1:  # prefer the assignment whose version the workbook was made for
        same = [a for a in candidates
                if assignment_service.version_for(a, identity.period).version == identity.version]
        candidates = same if len(same) == 1 else candidates
    if not candidates:
        return NotVisible(_l(
            "“%(filename)s” is for unit %(unit)s, period %(period)s: no such report of "
            "template %(template)s is within your reach. Check that the unit is one of "
            "yours, or upload the workbook on the report's own page."),
            filename=filename, unit=_unit_text(identity), period=period,
            template=identity.template)
    if len(candidates) > 1:
        return InvalidInput(_l(
            "“%(filename)s” matches several assignments of template %(template)s for unit "
            "%(unit)s (%(keys)s), so it was not saved. Upload it on the page of its report."),
            filename=filename, template=identity.template, unit=_unit_text(identity),
            keys=", ".join(a.key for a in candidates))
    return reporting.load(session, user, candidates[0].key, unit.code, identity.period)


def _import_read(session: Session, user: User, view: ReportView, result: ReadResult,
                 data: bytes) -> UploadOutcome:
    filename = result.filename
    if result.refused:
        return UploadOutcome(filename, REFUSED, result.issues, view=view)
    if result.identity.version != view.template.version:
        return UploadOutcome(filename, REFUSED, view=view, refusal=InvalidInput(_l(
            "“%(filename)s” was made for version %(got)s of the template, but this report "
            "uses version %(expected)s. Download the current template and copy your figures "
            "into it."), filename=filename, got=result.identity.version,
            expected=view.template.version))
    refusal = _upload_refusal(user, view, filename)
    if refusal is not None:
        return UploadOutcome(filename, REFUSED, view=view, refusal=refusal)

    # What does not apply to the unit is ignored, whatever its cells hold.
    result.drop(view.applicability({**view.values, **result.raw}).fields)
    # The workbook holds every field but attachments: those stay as they are.
    values = {**view.values, **result.values}
    issues = _merge(result.issues, result.locate(
        reporting.issues_for(view, values, check_required=False)))
    # An event's time and place as the web form would refuse them keep the upload out too.
    event, event_issues = _read_event(view, result)
    issues = event_issues + issues
    if any(issue.is_error for issue in issues):
        annotated = _keep_annotated(session, user, view, result, data, issues)
        return UploadOutcome(filename, NOT_SAVED, issues, view=view, annotated=annotated)

    original = files.store(session, io.BytesIO(data), filename,
                           CONTENT_TYPES.get(result.format or ""), unit=view.unit, user=user,
                           limit=None)
    try:
        # The 说明 sheet's notes replace the stored ones (it was prefilled with them);
        # a workbook without that sheet leaves them as they are.
        report, _draft = reporting.save(session, user, view, values, source=Source.EXCEL,
                                        file=original, on_behalf=True,
                                        explanations=result.explanations, event=event)
    except Refusal as exc:  # values the form would not take: nothing of this upload is kept
        session.delete(original)  # the other uploads of a bulk import stand
        return UploadOutcome(filename, REFUSED, view=view, refusal=exc)
    return UploadOutcome(filename, SAVED, issues, view=view, revision=report.revision)


def _read_event(view: ReportView, result: ReadResult) -> tuple[EventInfo | None,
                                                                 list[CellIssue]]:
    """An event report's time and place from the workbook's event sheet, checked as the web
    form checks them, with the stored attachments (files are added on the web only).
    (None, []) for other reports; a workbook without the sheet keeps the stored event."""
    if not view.definition.is_event or result.event is None:
        return None, []
    stored = events.stored_event(view)
    raw = {"at": "", "location": "", "latitude": "", "longitude": ""}
    if stored is not None:  # entries the sheet leaves out (no location asked) stay
        raw.update(location=stored.location, latitude=stored.latitude,
                   longitude=stored.longitude)
    raw.update(result.event.raw)
    info, issues = read_event(raw, utcnow(), stored.attachments if stored else ())
    return info, [CellIssue(i.severity, i.code, dict(i.params), field=i.field,
                            sheet=result.event.sheet, cell=result.event.cell_of(i.field))
                  for i in issues]


def _merge(first: list[CellIssue], second: list[CellIssue]) -> list[CellIssue]:
    """Both lists, without an issue the reader already reported (same place and code)."""
    seen = {(i.field, i.row, i.column, i.code) for i in first}
    return first + [i for i in second if (i.field, i.row, i.column, i.code) not in seen]


def _upload_refusal(user: User, view: ReportView, filename: str) -> Refusal | None:
    """Why an upload cannot be saved in the report now (the workflow's rule), or None."""
    refusal = reporting.edit_refusal(user, view, on_behalf=True)
    if refusal is None or isinstance(refusal, ReportLocked | PeriodClosed):
        return refusal
    if isinstance(refusal, InvalidState):
        return InvalidState(_l(
            "“%(filename)s” was not saved: the report is %(status)s and cannot change now. "
            "If it must change, ask your consolidator to return it."),
            state=refusal.state, filename=filename, status=reporting.status_label(view.status))
    return NotAllowed(_l("“%(filename)s” was not saved: only the unit's own accounts or a "
                         "consolidator above it can fill in this report."), filename=filename)


def _keep_annotated(session: Session, user: User, view: ReportView, result: ReadResult,
                    data: bytes, issues: list[CellIssue]) -> StoredFile | None:
    """The upload with its problems marked, kept for the uploader (None if not possible)."""
    annotated = annotate_workbook(data, result, secret=signing_key(), translate=gettext,
                                  locale=current_locale_code(), issues=issues)
    if annotated is None:
        return None
    stored = files.store(session, io.BytesIO(annotated.data), annotated.filename, XLSX_TYPE,
                         unit=view.unit, user=user, limit=None)
    return stored if isinstance(stored, StoredFile) else None


def annotated_file(session: Session, user: User, token: str) -> StoredFile | None:
    """An annotated workbook by its token: only for the account it was made for, in scope."""
    stored = session.scalar(select(StoredFile).where(
        StoredFile.token == token, StoredFile.created_by_id == user.id))
    if stored is None or stored.content_type != XLSX_TYPE:
        return None
    if stored.unit_id is not None:
        unit = session.get(Unit, stored.unit_id)
        if unit is None or not can_see(user, unit):
            return None
    return stored


def _period_text(key: str) -> str:
    try:
        return Period.parse(key).label(current_locale_code())
    except ValueError:
        return key


def _unit_text(identity: Identity) -> str:
    return f"{identity.unit_name} ({identity.unit})" if identity.unit_name else identity.unit


def count_by_result(outcomes: Iterable[UploadOutcome | ResultRow]) -> dict[str, Any]:
    """How many uploads were saved, not saved, refused (and skipped, in a background job)."""
    counts = {SAVED: 0, NOT_SAVED: 0, REFUSED: 0, SKIPPED: 0}
    for outcome in outcomes:
        counts[outcome.result] += 1
    return counts


def counts_text(counts: Mapping[str, int]) -> str:
    """"3 saved, 1 not saved because of errors, 2 refused." (and the files skipped)."""
    text = gettext("%(saved)s saved, %(not_saved)s not saved because of errors, "
                   "%(refused)s refused.", saved=counts[SAVED], not_saved=counts[NOT_SAVED],
                   refused=counts[REFUSED])
    if counts.get(SKIPPED):
        text += " " + ngettext("%(num)s file skipped.", "%(num)s files skipped.",
                               counts[SKIPPED])
    return text


# -- the results table of a bulk upload ---------------------------------------------------------


@dataclass(frozen=True)
class ResultRow:
    """One line of a bulk upload's results table, in one language: what the page shows of
    an :class:`UploadOutcome`, whether it was made now or stored by a background job."""

    filename: str
    result: str  # SAVED, NOT_SAVED, REFUSED or SKIPPED
    summary: str
    report: dict[str, str] | None = None  # assignment, unit, period of the report's page
    report_text: str = ""  # "<unit name> · <period>"
    annotated: str | None = None  # token of the workbook with the problems marked
    lines: tuple[IssueLine, ...] = ()

    @property
    def problems(self) -> tuple[IssueLine, ...]:
        """The problems listed under the summary (a refusal says all in its summary)."""
        return self.lines if self.result in (SAVED, NOT_SAVED) else ()


def result_row(outcome: UploadOutcome) -> ResultRow:
    """The results table's line of *outcome* in the current language."""
    view = outcome.view
    report = report_text = None
    if view is not None:
        report = {"assignment": view.assignment.key, "unit": view.unit.code,
                  "period": view.period}
        report_text = f"{view.unit.name} · {_period_text(view.period)}"
    return ResultRow(outcome.filename, outcome.result, summary(outcome), report,
                     report_text or "",
                     outcome.annotated.token if outcome.annotated is not None else None,
                     tuple(issue_lines(outcome)))


def skipped_row(filename: str, reason: str) -> ResultRow:
    """The line of a file a background upload did not read, with *reason* (translated)."""
    return ResultRow(filename, SKIPPED, gettext("Skipped: %(reason)s", reason=reason))


def row_record(rows: Mapping[str, ResultRow]) -> dict[str, Any]:
    """One file's line in each language (*rows*: locale → line) as JSON-ready data, so the
    results page of a background upload reads in the language of whoever opens it."""
    first = next(iter(rows.values()))
    return {"filename": first.filename, "result": first.result, "report": first.report,
            "annotated": first.annotated,
            "text": {locale: {"summary": row.summary, "report": row.report_text,
                              "lines": [[line.sheet, line.cell, line.label, line.message,
                                         line.is_error] for line in row.lines]}
                     for locale, row in rows.items()}}


def rows_from_records(records: Iterable[Mapping[str, Any]], locale: str,
                      fallback: str) -> list[ResultRow]:
    """The stored lines (see :func:`row_record`) in *locale* (else *fallback*)."""
    found = []
    for record in records:
        text = record["text"].get(locale) or record["text"].get(fallback) or next(
            iter(record["text"].values()))
        found.append(ResultRow(
            record["filename"], record["result"], text["summary"], record.get("report"),
            text.get("report", ""), record.get("annotated"),
            tuple(IssueLine(*line) for line in text.get("lines", ()))))
    return found
