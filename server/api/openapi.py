"""The OpenAPI 3.1 document of the JSON API, built from one declarative table.

Each row of :data:`OPERATIONS` is one operation: method, path (relative to the
server URL ``/api/v1``), parameters, request body, success response and the
problems it may answer. The bodies are the pydantic models of ``server.api.schemas``,
the same the serialisers answer with, and their component schemas are generated from
them. ``tests/server/test_openapi.py`` compares the table with the blueprint's routes,
so an endpoint cannot be added or removed without this document following; the
schemathesis run checks the answers against the schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from server.api import schemas
from server.api.auth import public
from server.api.blueprint import bp
from server.api.pagination import DEFAULT_PER_PAGE
from server.downloads import XLSX

API_VERSION = "1.0.0"
PROBLEM = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


class _Schemas(GenerateJsonSchema):
    """Component schemas without a title on every property (the name says it already)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def component_schemas(models: Iterable[type[BaseModel]]) -> dict[str, dict[str, Any]]:
    """The schemas of *models* and of every model and enum they use, by class name.

    In validation mode: what the answers hold (an instant is a date-time whatever its
    serialiser, a stored definition is a ``Definition``), and the answers are the models'
    dumps, so the two modes would differ only where this one says more.
    """
    _, schema = models_json_schema([(model, "validation") for model in models],
                                   ref_template=ref("{model}")["$ref"],
                                   schema_generator=_Schemas)
    return schema["$defs"]


STRING = {"type": "string"}
STATUS = ref("Status")


# -- parameters ---------------------------------------------------------------------------


def path_param(name: str, description: str, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "minLength": 1}}


def query_param(name: str, description: str, schema: dict) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


PARAMETERS: dict[str, dict[str, Any]] = {
    "assignment": path_param("assignment", "Assignment key, e.g. chidian-progress."),
    "unit": path_param("unit", "Unit code, e.g. CHIDIAN-V01."),
    "period": path_param("period", "Period key: 2024Q2, 2024H1, 2024-05, 2024 or once; an "
                                   "event's key: event-1, event-2…"),
    "token": path_param("token", "The attachment's id."),
    "job_id": path_param("job_id", "The job's id.", {"type": "integer", "minimum": 0,
                                                      "maximum": 2147483647}),
    "since": query_param("since", "Only events that happened on or after this day "
                                  "(Beijing time).", {"type": "string", "format": "date"}),
    "until": query_param("until", "Only events that happened on or before this day "
                                  "(Beijing time).", {"type": "string", "format": "date"}),
    "key": path_param("key", "Template key."),
    "notification_id": path_param("notification_id", "The message's id.",
                                  {"type": "integer", "minimum": 1}),
    "n": path_param("n", "Template version number.", {"type": "integer", "minimum": 1}),
    "page": query_param("page", "Page number, from 1.", {"type": "integer", "minimum": 1,
                                                         "default": 1}),
    "per_page": query_param("per_page", "Items per page.",
                            {"type": "integer", "minimum": 1, "maximum": schemas.MAX_PER_PAGE,
                             "default": DEFAULT_PER_PAGE}),
    "under": query_param("under", "Only this unit and the units below it (unit code).", STRING),
    "tag": query_param("tag", "Only units carrying this tag (e.g. 危化).", STRING),
    "period_filter": query_param("period", "Only this period key.", STRING),
    "status": query_param("status", "Only reports in this status.", STATUS),
    "assignment_filter": query_param("assignment", "Only this assignment key.", STRING),
    "include_submitted": query_param(
        "include_submitted", "Count submitted reports too, not only approved ones.",
        {"type": "boolean", "default": False}),
    "carry_forward": query_param(
        "carry_forward", "Cumulative figures of a child whose report does not count carry "
        "forward its latest approved figure within the field's span (the default); false is "
        "the strict view, this period's reports only.",
        {"type": "boolean", "default": True}),
    "If-Match": {"name": "If-Match", "in": "header", "required": True, "schema": STRING,
                 "description": "The revision the change starts from (ETag of the report; "
                                "quotes optional). Missing: 428."},
    "If-Match-optional": {"name": "If-Match", "in": "header", "required": False,
                          "schema": STRING, "description": "When given, the action is "
                          "refused (409 stale_revision) unless it is the current revision."},
    "Accept-Language": {"name": "Accept-Language", "in": "header", "required": False,
                        "schema": STRING, "description": "zh-CN (default) or en."},
}
REPORT = ("assignment", "unit", "period")
ACTION = (*REPORT, "If-Match-optional")
PAGED = ("page", "per_page")

# -- responses ----------------------------------------------------------------------------

PROBLEMS: dict[int, str] = {
    400: "Malformed JSON or parameters (bad_request).",
    401: "No valid token (unauthorized).",
    403: "The account's role may not do this (forbidden).",
    404: "Unknown, or outside the account's scope (not_found).",
    409: "The report changed since that revision (stale_revision, with current_revision), "
         "is approved (locked) or is in the wrong state for the action (invalid_state).",
    413: "The upload is too large (too_large).",
    422: "The values have errors (invalid, with issues).",
    423: "The period is closed over this report by a consolidator above (period_closed): "
         "nothing of it may change until the period is reopened.",
    428: "If-Match is missing (precondition_required).",
    429: "Done too recently (too_soon): e.g. a unit was reminded of this period within the "
         "configured hours.",
}


def problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": PROBLEMS[status],
                                "content": {PROBLEM: {"schema": ref("Problem")}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": STRING, "required": True,
                                                    "description": "Bearer"}}
    return response


LINK = {"Link": {"schema": STRING,
                 "description": 'RFC 8288 links to the "first", "prev", "next" and "last" pages.'}}
ETAG = {"ETag": {"schema": STRING, "required": True,
                 "description": 'The report\'s revision, e.g. "3".'}}


@dataclass(frozen=True)
class Body:
    """A success answer: a JSON *model*, or a file of *media* type."""

    model: type[BaseModel] | None = None
    media: str = "application/json"
    headers: dict[str, Any] = field(default_factory=dict)
    description: str = "OK"

    def response(self) -> dict[str, Any]:
        content = ref(self.model.__name__) if self.model else {
            "type": "string", "contentMediaType": self.media}
        out: dict[str, Any] = {"description": self.description,
                               "content": {self.media: {"schema": content}}}
        if self.headers:
            out["headers"] = self.headers
        return out


REPORT_BODY = Body(schemas.Report, headers=ETAG)
JOB_ACCEPTED = Body(schemas.Job, description="Accepted: prepared in the background",
                    headers={"Location": {"schema": STRING, "required": True,
                                          "description": "The job resource to poll."}})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    tag: str
    summary: str
    ok: Body
    params: tuple[str, ...] = ()
    body: type[BaseModel] | Literal["multipart"] | None = None
    body_required: bool = True
    problems: tuple[int, ...] = (404,)
    public: bool = False
    status: str = "200"
    also: tuple[tuple[str, Body], ...] = ()  # other success answers (status, body)

    @property
    def operation_id(self) -> str:
        words = [w.strip("{}") for w in self.path.split("/") if w]
        return "_".join([self.method, *words]).replace(".", "_").replace("-", "_")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operationId": self.operation_id, "tags": [self.tag], "summary": self.summary,
            "parameters": [{"$ref": f"#/components/parameters/{p}"}
                           for p in (*self.params, "Accept-Language")],
        }
        if self.body == "multipart":
            out["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string",
                             "contentMediaType": "application/octet-stream"}}}}}}
        elif self.body:
            schema = ref(self.body.__name__)
            out["requestBody"] = {"required": self.body_required,
                                  "content": {"application/json": {"schema": schema}}}
        problems = set(self.problems)
        if self.params or self.body:
            problems.add(400)
        if self.public:
            out["security"] = []
        else:
            problems.add(401)
        out["responses"] = {self.status: self.ok.response(),
                            **{status: body.response() for status, body in self.also},
                            **{str(s): problem_response(s) for s in sorted(problems)}}
        return out


R = "/reports/{assignment}/{unit}/{period}"
C = "/consolidations/{assignment}/{unit}/{period}"

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/openapi.json", "meta", "This document.",
              Body(schemas.OpenApiDocument, description="The OpenAPI 3.1 document"),
              problems=(), public=True),
    Operation("get", "/me", "account", "The account the token belongs to.", Body(schemas.Me),
              problems=()),
    Operation("get", "/units", "units", "Units in the account's scope, in tree order.",
              Body(schemas.UnitPage, headers=LINK), ("under", "tag", *PAGED)),
    Operation("post", "/units/{unit}/move", "units",
              "Place a unit and its subtree under another parent from a day on "
              "(administrators). Periods that begin before that day keep the old parent; a "
              "move that would alter a closed period answers 423.",
              Body(schemas.Unit), ("unit",), schemas.MoveUnit, problems=(403, 404, 422, 423)),
    Operation("get", "/templates", "templates", "The latest version of each template.",
              Body(schemas.TemplatePage, headers=LINK), PAGED, problems=()),
    Operation("get", "/templates/{key}", "templates",
              "A template's latest version, its version numbers and definition.",
              Body(schemas.TemplateDetail), ("key",)),
    Operation("get", "/templates/{key}/versions/{n}", "templates",
              "One version of a template with its definition.", Body(schemas.TemplateVersion),
              ("key", "n")),
    Operation("get", "/tasks", "reports",
              "What the account's unit owes (submitter) or oversees (consolidator).",
              Body(schemas.TaskPage, headers=LINK),
              ("period_filter", "status", "assignment_filter", *PAGED), problems=()),
    Operation("get", R, "reports", "One report: status, revision, values and issues.",
              REPORT_BODY, REPORT),
    Operation("put", R, "reports", "Save a draft revision (source api).", REPORT_BODY,
              (*REPORT, "If-Match"), schemas.SaveReport, problems=(403, 404, 409, 422, 423, 428)),
    Operation("post", R + "/submit", "reports", "Submit the latest revision.", REPORT_BODY,
              ACTION, schemas.Remarks, False, (403, 404, 409, 422, 423)),
    Operation("post", R + "/withdraw", "reports",
              "Withdraw a submitted report that no reviewer has acted on yet: it becomes a "
              "draft again (recorded in its history).", REPORT_BODY, ACTION,
              problems=(403, 404, 409, 423)),
    Operation("post", R + "/return", "review", "Return a submitted report with a comment.",
              REPORT_BODY, ACTION, schemas.Comment, problems=(403, 404, 409, 422, 423)),
    Operation("post", R + "/approve", "review", "Approve (and lock) a submitted report.",
              REPORT_BODY, ACTION, schemas.Acknowledge, False, (403, 404, 409, 422, 423)),
    Operation("post", R + "/unapprove", "review", "Withdraw an approval, with a reason.",
              REPORT_BODY, ACTION, schemas.Reason, problems=(403, 404, 409, 422, 423)),
    Operation("get", R + "/history", "reports", "Every revision and every workflow event.",
              Body(schemas.History), REPORT),
    Operation("get", R + "/workbook.xlsx", "workbooks", "The official Excel form of the report.",
              Body(media=XLSX, description="The workbook"), REPORT),
    Operation("post", R + "/workbook", "workbooks",
              "Upload a filled workbook; saved as a draft revision unless it has errors.",
              Body(schemas.WorkbookResult), REPORT, "multipart",
              problems=(403, 404, 409, 413, 422, 423)),
    Operation("post", "/events/{assignment}", "events",
              "File a new event of the account's unit (its next key, event-N) as a draft; "
              "the event member is required.", REPORT_BODY, ("assignment",), schemas.SaveReport,
              problems=(403, 404, 409, 422, 423), status="201"),
    Operation("get", "/events", "events",
              "The events handed in by the units in the account's scope, newest arrival "
              "first.", Body(schemas.EventList), ("assignment_filter", "since", "until"),
              problems=()),
    Operation("get", "/events/{assignment}/events.xlsx", "events",
              "The events of an event assignment handed in within the account's scope: one "
              "row each with its provenance, and the totals per month or quarter when the "
              "template asks for them.", Body(media=XLSX, description="The workbook"),
              ("assignment", "since", "until")),
    Operation("get", "/events/{assignment}/events.csv", "events",
              "The same rows as CSV (UTF-8 with BOM).",
              Body(media="text/csv", description="The events"),
              ("assignment", "since", "until")),
    Operation("post", R + "/attachments", "events",
              "Add a photo or document (JPEG, PNG or PDF, checked by content) to an event: a "
              "new revision.", REPORT_BODY, (*REPORT, "If-Match"), "multipart",
              problems=(403, 404, 409, 413, 422, 423, 428)),
    Operation("get", R + "/attachments/{token}", "events",
              "One attachment of a report, as stored.",
              Body(media="application/octet-stream", description="The file"),
              (*REPORT, "token")),
    Operation("get", C, "consolidations",
              "The consolidated figures of a unit's children, with provenance.",
              Body(schemas.Consolidation), (*REPORT, "include_submitted", "carry_forward"),
              problems=(403, 404)),
    Operation("post", C + "/close", "consolidations",
              "Close the period for the unit's subtree once every report owed is approved: "
              "until it is reopened, changes below answer 423.",
              Body(schemas.Consolidation), REPORT, problems=(403, 404, 409)),
    Operation("post", C + "/reopen", "consolidations",
              "Reopen a closed period with a reason; who, when and why are recorded.",
              Body(schemas.Consolidation), REPORT, schemas.Reason, problems=(403, 404, 409, 422)),
    Operation("get", C + "/merged.xlsx", "consolidations",
              "The merged workbook: totals, one sheet per unit, flat data, completeness. "
              "A subtree above the server's threshold answers 202 with a job to poll. "
              "For an event assignment: its events workbook, limited to the period's days "
              "(all events for the period key event).",
              Body(media=XLSX, description="The merged workbook"),
              (*REPORT, "include_submitted", "carry_forward"), problems=(403, 404),
              also=(("202", JOB_ACCEPTED),)),
    Operation("get", "/consolidations/{assignment}/{unit}/series.xlsx", "consolidations",
              "One unit's cumulative indicators across the periods of the plan, with "
              "increments. A subtree above the server's threshold answers 202 with a job "
              "to poll.",
              Body(media=XLSX, description="The series workbook"), ("assignment", "unit"),
              problems=(403, 404), also=(("202", JOB_ACCEPTED),)),
    Operation("get", C + "/flat.csv", "consolidations",
              "One row per unit and field, for pivot tables (UTF-8 with BOM). A subtree "
              "above the server's threshold answers 202 with a job to poll. For an event "
              "assignment: its events CSV, limited to the period's days.",
              Body(media="text/csv", description="The flat data"),
              (*REPORT, "include_submitted", "carry_forward"), problems=(403, 404),
              also=(("202", JOB_ACCEPTED),)),
    Operation("get", C + "/chase", "reminders",
              "The units below the unit still to report the period (not started, draft or "
              "returned), when each was last reminded, and the reminder as text for a group "
              "chat.", Body(schemas.ChaseList), REPORT, problems=(403, 404)),
    Operation("post", C + "/chase", "reminders",
              "一键催报: remind the chosen units (all on the list when left out) now on every "
              "channel; recorded with who and when; a unit reminded of the period within the "
              "configured hours answers 429.", Body(schemas.ChaseResult), REPORT,
              schemas.ChaseRequest, False, (403, 404, 422, 429)),
    Operation("get", "/assignments/{assignment}/reminders", "reminders",
              "An assignment's reminder settings (administrators).",
              Body(schemas.ReminderSettings), ("assignment",), problems=(403, 404)),
    Operation("put", "/assignments/{assignment}/reminders", "reminders",
              "Change an assignment's reminder settings (those left out stay; defaults: true "
              "goes back to the defaults).", Body(schemas.ReminderSettings), ("assignment",),
              schemas.ReminderSettingsInput, problems=(403, 404, 422)),
    Operation("get", "/notifications", "notifications",
              "The account's messages in the app, newest first.",
              Body(schemas.NotificationPage, headers=LINK), PAGED, problems=()),
    Operation("get", "/notifications/unread-count", "notifications",
              "How many of the account's messages are unread.", Body(schemas.UnreadCount),
              problems=()),
    Operation("post", "/notifications/{notification_id}/read", "notifications",
              "Mark one message read.", Body(schemas.NotificationItem), ("notification_id",)),
    Operation("post", "/notifications/read", "notifications",
              "Mark every message of the account read.", Body(schemas.MarkedRead),
              problems=()),
    Operation("get", "/jobs/{job_id}", "jobs",
              "A background export: status, units processed of total, and the download "
              "link once the file is ready. Only the account's own jobs.",
              Body(schemas.Job), ("job_id",)),
    Operation("get", "/jobs/{job_id}/file", "jobs",
              "The file of a finished background export (404 before it is ready, after "
              "it expired, or for another account's job).",
              Body(media="application/octet-stream", description="The file"), ("job_id",)),
)

DESCRIPTION = """\
Read and write the reports of Tianbao (填报) without a browser: the same services and
rules as the web pages. Authenticate with a personal token (`Authorization: Bearer …`,
created on the account page or with `tianbao tokens create USERNAME`); a token has
exactly its account's role and scope, and anything outside that scope answers 404.
A token expires (after 90 days unless created with another lifetime) and is revoked when
its account's password changes or the account is disabled; then it answers 401.
Errors are `application/problem+json` with a machine `code`; titles, details and issue
messages follow `Accept-Language` (zh-CN by default, en). Identifiers are the assignment
key, the unit code and the period key."""


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built once per process)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation.to_dict()
    models = [schemas.Problem, *(o.ok.model for o in OPERATIONS if o.ok.model),
              *(o.body for o in OPERATIONS if isinstance(o.body, type))]
    return {
        "openapi": "3.1.0",
        # The title names the packages client generators make: ASCII, so they install.
        "info": {"title": "Tianbao API", "version": API_VERSION,
                 "description": DESCRIPTION},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in dict.fromkeys(o.tag for o in OPERATIONS)],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token of the account."}},
            "schemas": component_schemas(dict.fromkeys(models)),
            "parameters": PARAMETERS,
        },
    }


@bp.get("/openapi.json")
@public
def openapi_json():
    return jsonify(document())
