"""The JSON shapes of the API, each written once: the serialisers build these models, the
views answer their JSON (:func:`answer`), and the OpenAPI document (``server.api.openapi``)
takes its component schemas from them.

A member that is ``null`` when it has no value is typed ``X | None`` and always present;
a member that is left out when it does not apply (an issue's ``row``, a problem's
``issues``) is declared with :func:`absent`. Class docstrings and field descriptions
are the document's descriptions, written for the API's users.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from flask import Response, current_app
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from forms.definition import Definition, Severity, TargetKind, TargetScope
from forms.periods import Frequency
from forms.targets import TargetStatus
from server.models import Role, Status
from server.models.accounts import as_utc
from server.models.reporting import Source

# An instant in ISO 8601 with its offset ("2024-05-01T08:00:00+00:00"); stored times are UTC.
Instant = Annotated[datetime, PlainSerializer(lambda moment: as_utc(moment).isoformat(),
                                              when_used="json")]
Values = Annotated[dict[str, Any], Field(description=(
    "Values by field key: numbers, text, dates (ISO), booleans, lists of choice keys, "
    "table rows."))]
# A template definition as stored (Definition.to_json) and served as it is: not parsed
# again, documented by the Definition model's own schema.
StoredDefinition = Annotated[dict[str, Any],
                             PlainValidator(lambda stored: stored,
                                            json_schema_input_type=Definition)]
Count = Annotated[int, Field(ge=0)]


def answer(model: BaseModel) -> Response:
    """The JSON response of *model*, as the API answers it: pydantic writes the JSON in one
    pass, with no dictionary built and then encoded again (for a save's answer, 56 µs
    instead of 144), as the UTF-8 bytes the response sends (``model_dump_json`` would
    decode them into a string for the response to encode again)."""
    return current_app.response_class(type(model).__pydantic_serializer__.to_json(model),
                                      mimetype="application/json")


def _only_the_type(schema: dict[str, Any]) -> None:
    """An absent member is never null: its schema is only the type of its value."""
    schema.pop("default", None)
    schema.update(next(s for s in schema.pop("anyOf") if s != {"type": "null"}))


def absent(description: str | None = None) -> Any:
    """A member left out of the answer (or the request) unless it has a value."""
    return Field(default=None, description=description,
                 exclude_if=lambda value: value is None, json_schema_extra=_only_the_type)


class UnitRef(BaseModel):
    """A unit named by its code and name."""

    code: str
    name: str


class Issue(BaseModel):
    """A problem found in values or in an upload; the message follows Accept-Language."""

    field: str | None
    code: str
    severity: Severity
    message: str
    params: dict[str, Any]
    row: int | None = absent("0-based row of a repeating table")
    column: str | None = absent()
    sheet: str | None = absent()
    cell: str | None = absent()


class Problem(BaseModel):
    """RFC 9457 problem details; title and detail follow Accept-Language."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str = Field(description=(
        "unauthorized, forbidden, not_found, method_not_allowed, bad_request, "
        "stale_revision, locked, invalid_state, invalid, too_large, precondition_required"))
    detail: str
    current_revision: int | None = absent("with stale_revision")
    status_now: Status | None = absent("with invalid_state")
    issues: list[Issue] | None = absent("with invalid")


class OpenApiDocument(BaseModel):
    """This document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# -- accounts, units, templates -----------------------------------------------------------


class Me(BaseModel):
    username: str
    name: str | None
    role: Role
    unit: UnitRef | None
    locale: str


class Unit(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None = Field(description="the parent's code")
    level: Count
    contact_name: str | None
    contact_phone: str | None
    active: bool
    tags: list[str] = Field(description="Tags that scope which parts of a report apply to the "
                            "unit (applies_when: unit_has('危化')), in the order given")


class Template(BaseModel):
    key: str
    title: str
    version: int
    frequency: Frequency
    published_at: Instant | None


class TemplateDetail(Template):
    """A template's latest version, its version numbers (oldest first) and definition."""

    versions: list[int]
    definition: StoredDefinition


class TemplateVersion(BaseModel):
    key: str
    version: int
    definition: StoredDefinition


# -- reports ------------------------------------------------------------------------------


class JobLinks(BaseModel):
    job: str = Field(description="The path of this job resource (poll it)")
    download: str | None = Field(default=None, description="The path of the file, once ready")


class Job(BaseModel):
    """A merged export of a large subtree, prepared in the background."""

    id: int
    kind: Literal["merged", "csv", "series"]
    status: Literal["queued", "running", "done", "failed"]
    done: Count = Field(description="Units processed so far (for a series: units × periods)")
    total: Count = Field(description="Units to process")
    percent: int = Field(ge=0, le=100)
    file_name: str
    created_at: Instant
    finished_at: Instant | None = None
    expires_at: Instant | None = Field(default=None,
                                       description="Until when the file can be downloaded")
    error: str = Field(default="", description="Why it failed, in the account's language")
    links: JobLinks


class TaskLinks(BaseModel):
    report: str = Field(description="The path of the report")


class Task(BaseModel):
    """A report owed (or overseen) for one unit and period."""

    assignment: str
    unit: UnitRef
    period: str
    due: date
    due_moved_from: date | None = Field(
        default=None, description="The template's due date, when the assignment moved it off a "
        "weekend or public holiday to `due`")
    due_note: str = Field(default="", description="Why the due date moved, in the account's "
                          "language (10月5日为国庆节假期，顺延至10月8日。)")
    status: Status
    late: bool
    overdue: bool
    revision: Count
    links: TaskLinks
    phase: PlanPhase | None = Field(
        default=None, description="The assignment's phase today, if its plan names phases")


# -- targets and phases (issue #14) ----------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


Number = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]


class WindowProgress(BaseModel):
    """One window of a recurring minimum (每年/每半年/每季度至少…)."""

    window: str = Field(description="The window as a period key: 2024, 2024H2, 2024Q3")
    start: date
    end: date
    count: Number = Field(description="What was done in the window (increments or counts)")
    minimum: Number
    status: TargetStatus


class TargetProgress(BaseModel):
    """Where one of the plan's targets stands today (Asia/Shanghai), with its sentence."""

    field: str
    label: str
    kind: TargetKind = Field(description=(
        "absolute: a figure by a date; share: value/denominator in percent by a date; "
        "stock: a stock down to a level by a date; recurring: a minimum per window"))
    scope: TargetScope = Field(description=(
        "jurisdiction: judged on the consolidating office's figures; unit: on each unit's"))
    comparison: str
    target: Number
    by: date
    every: str | None
    denominator_field: str | None
    value: Number | None = Field(description=(
        "The figure compared: the value, the share in percent, the remaining stock, or the "
        "count of the latest window"))
    period: str | None = Field(description="The report the value comes from")
    status: TargetStatus
    expected: Number | None = Field(description="Where a straight-line pace would be today")
    baseline: Number | None = Field(description="Stock: the figure of the first report")
    numerator: Number | None
    denominator: Number | None
    windows: list[WindowProgress]
    text: str = Field(description="The sentence the pages show, in the request's language")


class PlanPhase(BaseModel):
    """A named stage of the plan (动员部署, 专项治理, 总结评估) with its dates."""

    key: str
    name: str
    start: date
    end: date


class Attachment(BaseModel):
    """A photo or document of an event (JPEG, PNG or PDF), read at ``…/attachments/{id}``."""

    id: str
    name: str
    size: Count
    content_type: str


class EventDetails(BaseModel):
    """What every event report carries besides its fields."""

    at: Instant = Field(description="When the event happened")
    location: str = Field(description="Address, or empty")
    latitude: str | None = Field(description="Decimal degrees, with longitude, or null")
    longitude: str | None
    attachments: list[Attachment]


class FieldComment(BaseModel):
    """A reviewer's comment on one field, given when returning the report."""

    field: str = Field(description="The field's key")
    label: str = Field(description="The field's label, in the reader's language")
    comment: str


class Report(BaseModel):
    assignment: str
    unit: UnitRef
    period: str
    template: str
    version: int
    status: Status
    revision: Count
    due: date
    due_moved_from: date | None = Field(
        default=None, description="The template's due date, when the assignment moved it off a "
        "weekend or public holiday to `due`")
    due_note: str = Field(default="", description="Why the due date moved, in the account's "
                          "language (10月5日为国庆节假期，顺延至10月8日。)")
    late: bool
    submitted_at: Instant | None
    values: Values
    increments: Values = Field(description="本期新增 of the cumulative fields")
    calculated: list[str] = Field(
        default_factory=list,
        description="Keys of the values calculated from the others by the field's formula: "
                    "read-only, recomputed on every save; a posted value for them is ignored")
    issues: list[Issue]
    remarks: str
    explanations: dict[str, str] = Field(description=(
        "说明 beside flagged figures, by field key: a correction of a cumulative figure, an "
        "outlier, a changed starting figure"))
    flagged: list[str] = Field(description=(
        "Fields whose warnings need a 说明 in explanations before submitting, and the "
        "reviewer's acknowledgement before approving"))
    targets: list[TargetProgress] = Field(description=(
        "The unit's targets: every unit's own, and the jurisdiction's for the consolidating "
        "unit"))
    phase: PlanPhase | None = Field(description="The plan's phase today, if it names phases")
    phases: list[PlanPhase] = Field(
        default_factory=list,
        description="Every phase of the assignment: the template's, as the assignment dates them")
    applies: dict[str, bool] = Field(
        default_factory=dict,
        description="For every field whose applicability depends on the unit's tags or on "
                    "other answers (applies_when): whether it applies. A field that does not "
                    "apply (false) has no value, is not validated and is never counted, not "
                    "even as zero.")
    skipped: list[str] = Field(
        default_factory=list,
        description="Fields given a value in this save that were left out because they do "
                    "not apply to the unit (answers to a save only).")
    event: EventDetails | None = absent(
        "Event reports only: the time, place and attachments of the event; an event is "
        "never due (due is 9999-12-31) and never late")
    field_comments: list[FieldComment] | None = absent(
        "A returned report whose return named single fields: the reviewer's comments on "
        "them, in the form's order (left out otherwise); the form shows each at its field")


class Revision(BaseModel):
    number: int
    author: str | None
    source: Source
    created_at: Instant
    values: Values
    remarks: str
    explanations: dict[str, str]


class Event(BaseModel):
    action: str
    actor: str | None
    revision: int
    comment: str
    created_at: Instant
    field_comments: list[FieldComment] | None = absent(
        "A return's comments on single fields (left out when it has none)")


class History(BaseModel):
    """Every revision and every workflow event of a report, oldest first."""

    revisions: list[Revision]
    events: list[Event]


class WorkbookResult(BaseModel):
    saved: bool
    result: str
    summary: str
    issues: list[Issue]
    report: Report | None


# -- consolidations -----------------------------------------------------------------------


class ConsolidationChild(BaseModel):
    unit: UnitRef
    status: Status
    included: bool
    late: bool
    carried_from: str | None = Field(
        default=None, description="Not counted: its cumulative figures are carried forward "
        "from its approved report of this period")


class Mismatch(BaseModel):
    """A figure a unit reported that differs from what its children's figures give."""

    unit: UnitRef
    field: str
    reported: Any
    computed: Any
    difference: Any = Field(description="reported - computed, for numbers")
    depth: Count


class Part(BaseModel):
    """One unit's part of a consolidated figure."""

    unit: str
    name: str
    value: Any
    revision: int | None
    explanation: str = Field(default="", description="The unit's 说明 beside this figure, if any")
    carried_from: str | None = Field(
        default=None, description="The period the value was carried forward from (a "
        "cumulative figure of a unit whose report of this period does not count)")


class Fall(BaseModel):
    """A unit's own cumulative figure lower than its previous one: a real fall."""

    unit: str
    name: str
    field: str
    value: Any
    previous: Any
    previous_period: str


class TallyCount(BaseModel):
    """How many counted units gave one answer of a yes/no or choice field, and which."""

    option: str = Field(description='"yes"/"no", a choice value, or "" for no answer')
    label: str
    count: Count
    units: list[Part]
class FigureCoverage(BaseModel):
    """Who is in a figure: the children it applies to (applies_when), counted with this
    period's report, carried forward, blank, or never reported (applies = reported +
    carried + blank + never)."""

    applies: Count
    reported: Count = Field(description="counted with a report of this period")
    carried: Count = Field(description="carried forward from an earlier approved report")
    blank: Count = Field(description="counted, but left the figure blank")
    never: Count = Field(description="no report that counts (none within the figure's span "
                         "for a cumulative one carried forward)")
    text: str = Field(description="the same, in words: “17 个单位：4 个本期已计入，…”")
    not_applicable: list[str] = Field(description="codes of the children it does not apply "
                                      "to: left out, never counted as zero")


class Closure(BaseModel):
    """A closing of the period over the consolidated unit (its own or one above)."""

    unit: UnitRef = Field(description="The unit the period was closed for")
    closed_at: datetime
    closed_by: str | None


class Consolidation(BaseModel):
    assignment: str
    unit: UnitRef
    period: str
    template: str
    version: int
    include_submitted: bool
    carry_forward: bool = Field(description="False in the strict view: nothing carried forward")
    values: Values
    increments: Values = Field(description="本期新增 of the cumulative figures, over the same "
                               "units in both periods")
    previous_values: Values = Field(default_factory=dict, description="The figures of the "
                                    "period before; cumulative ones over the same units")
    overall: FigureCoverage = Field(description="The children as a whole: counted, carried "
                                    "forward, neither")
    falls: list[Fall] = Field(default_factory=list, description="Units whose own cumulative "
                              "figure is lower than their previous one")
    previous_period: str | None
    children: list[ConsolidationChild]
    missing: list[ConsolidationChild] = Field(
        description="children not counted in the figures")
    mismatches: list[Mismatch]
    provenance: dict[str, list[Part]] = Field(
        description="The parts of each figure, by field key.")
    calculated: list[str] = Field(
        default_factory=list,
        description="Keys of the values recomputed from the consolidated values by the "
                    "field's formula (a rate is never summed or averaged); they have no parts")
    tallies: dict[str, list[TallyCount]] = Field(
        default_factory=dict,
        description="Yes/no and choice fields: the units counted under each answer, by field "
                    "key (the unanswered last)")
    targets: list[TargetProgress] = Field(
        description="The jurisdiction's targets judged on the consolidated figures")
    phase: PlanPhase | None
    phases: list[PlanPhase] = Field(default_factory=list)
    coverage: dict[str, FigureCoverage] = Field(
        description="By field key, for every consolidated field: the children it applies to "
                    "and how many of them reported it.")
    closed: Closure | None = Field(
        default=None,
        description="Set while the period is closed over this unit: no report of it below "
                    "can change (423 period_closed) until it is reopened.")


# -- pages --------------------------------------------------------------------------------

MAX_PER_PAGE = 500
Item = TypeVar("Item", bound=BaseModel)


class Page(BaseModel, Generic[Item]):
    """One page of a list; the Link header names the first, previous, next and last."""

    items: list[Item]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: Count


class UnitPage(Page[Unit]):
    """Units in tree order."""


class TemplatePage(Page[Template]):
    """The latest version of each template."""


class TaskPage(Page[Task]):
    """Tasks, most urgent (submitter) or newest period (consolidator) first."""


# -- notifications and reminders (issue #17) ----------------------------------------------


class NotificationItem(BaseModel):
    """One of the account's messages in the app (the bell)."""

    id: int
    kind: str = Field(description="report-submitted, report-returned, report-approved, "
                                  "reminder, reminder-chase, reminder-escalation")
    subject: str
    text: str
    link: str = Field(description="Path of the page it is about on this server, or empty")
    created_at: Instant
    read_at: Instant | None


class NotificationPage(Page[NotificationItem]):
    """The account's messages in the app, newest first."""


class UnreadCount(BaseModel):
    unread: Count


class MarkedRead(BaseModel):
    changed: Count = Field(description="How many messages were unread and are now read")


class ChaseUnit(BaseModel):
    unit: UnitRef
    parent: str = Field(description="The parent unit's name")
    status: Status
    days_overdue: Count
    contact_name: str | None
    contact_phone: str | None
    last_reminded_at: Instant | None = Field(description="The last 一键催报 of this period")


class ChaseList(BaseModel):
    """The units below a unit still to report a period (not started, draft or returned),
    and the reminder as text for a WeChat group."""

    assignment: str
    unit: UnitRef
    period: str
    due: date
    units: list[ChaseUnit]
    text: str = Field(description="The reminder as plain text, to paste into a group chat")
    interval_hours: Count = Field(description="A unit is reminded at most once in this "
                                              "many hours per period")


class ChaseResult(BaseModel):
    reminded: list[UnitRef]
    messages: Count = Field(description="Messages written to the outbox")


class ReminderSettings(BaseModel):
    """When and how the units of an assignment are reminded."""

    days_before: int = Field(ge=0, le=60, description="Days before the due date; 0: none")
    on_due_day: bool
    overdue_every: int = Field(ge=1, le=60, description="Days between reminders once overdue")
    overdue_max: int = Field(ge=0, le=20, description="Reminders once overdue, at most")
    escalate_after: int = Field(ge=0, le=120, description=(
        "Overdue days after which the consolidators above are told, once; 0: never"))
    quiet_start: str = Field(description="No messages from this time (HH:MM, Beijing time)")
    quiet_end: str = Field(description="…until this time; equal to quiet_start: none")
    channels: list[str] = Field(description="app, email, wecom, dingtalk, sms (those the "
                                            "server has configured are used)")
    defaults: bool = Field(description="Whether the assignment uses the default settings")


# -- request bodies -----------------------------------------------------------------------


class EventInput(BaseModel):
    """The time and place of an event as sent: a time without offset is Beijing time."""

    at: str = Field(min_length=1, description="e.g. 2024-06-30T14:30 (Beijing time) or an "
                                              "ISO time with offset; not in the future")
    location: str | None = absent("Address (at most 200 characters)")
    latitude: str | float | None = absent("Decimal degrees -90 to 90, with longitude")
    longitude: str | float | None = absent("Decimal degrees -180 to 180, with latitude")
    attachments: list[str] | None = absent(
        "Ids of the stored attachments to keep (left out: all are kept)")


class SaveReport(BaseModel):
    values: Values
    remarks: str | None = absent()
    explanations: dict[str, str | None] | None = absent(
        "说明 by field key, replacing the stored ones; null or blank clears one")
    event: EventInput | None = absent(
        "Event reports: the time and place (required in an event's first save; left out "
        "later, the stored ones stay)")


class ArrivedEvent(BaseModel):
    """One event handed in by a unit in the account's scope."""

    assignment: str
    unit: UnitRef
    period: str = Field(description="The event's key, e.g. event-3")
    title: str
    status: Status
    revision: Count
    received_at: Instant
    event: EventDetails


class EventList(BaseModel):
    events: list[ArrivedEvent] = Field(description="Newest arrival first")


class Acknowledge(BaseModel):
    acknowledged: bool = Field(default=False, description=(
        "The reviewer read the explanations of the flagged figures; required to approve a "
        "report that has any"))


class Remarks(BaseModel):
    remarks: str | None = absent()


class Comment(BaseModel):
    comment: str = Field(default="", description=(
        "What needs to be corrected; may be left out when field_comments names the fields"))
    field_comments: dict[str, str] | None = absent(
        "Comments on single fields by field key, shown to the unit at those fields")


class MoveUnit(BaseModel):
    parent: str | None = Field(default=None, description="the new parent's code; null: a top "
                               "unit")
    on: date | None = Field(default=None, description="the day the move takes effect "
                            "(default: today); periods that begin before it keep the old "
                            "parent")


class Reason(BaseModel):
    reason: str = Field(min_length=1)


class ChaseRequest(BaseModel):
    units: list[str] | None = absent("Codes of the units to remind (left out: every unit "
                                     "on the list)")


class ReminderSettingsInput(BaseModel):
    """The settings to change; those left out stay as they are."""

    days_before: int | None = absent()
    on_due_day: bool | None = absent()
    overdue_every: int | None = absent()
    overdue_max: int | None = absent()
    escalate_after: int | None = absent()
    quiet_start: str | None = absent("HH:MM")
    quiet_end: str | None = absent("HH:MM")
    channels: list[str] | None = absent()
    defaults: bool | None = absent("true: go back to the default settings")
