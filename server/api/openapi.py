"""The OpenAPI 3.1 document of the JSON API, built from one declarative table.

Each row of :data:`OPERATIONS` is one operation: method, path (relative to the
server URL ``/api/v1``), parameters, request body, success response and the
problems it may answer. ``tests/server/test_openapi.py`` compares the table with the
blueprint's routes, so an endpoint cannot be added or removed without this
document following; the schemathesis run checks the answers against the schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import jsonify

from forms.definition import Definition
from server.api.auth import public
from server.api.blueprint import bp
from server.downloads import XLSX
from server.models import Role, Status

API_VERSION = "1.0.0"
PROBLEM = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None,
        **extra: Any) -> dict[str, Any]:
    """An object schema: every key of *required* must be present."""
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}, **extra}


def page_of(item: str) -> dict[str, Any]:
    return {"allOf": [ref("Page"), obj({"items": {"type": "array", "items": ref(item)}})]}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
INSTANT = {"type": "string", "format": "date-time"}
VALUES = {"type": "object", "description": "Values by field key: numbers, text, dates (ISO), "
          "booleans, lists of choice keys, table rows.", "additionalProperties": True}
STATUS = {"type": "string", "enum": [str(s) for s in Status]}

# -- schemas -----------------------------------------------------------------------------

SCHEMAS: dict[str, dict[str, Any]] = {
    "OpenApiDocument": obj({"openapi": STRING, "info": {"type": "object"},
                            "paths": {"type": "object"}}, description="This document."),
    "Problem": obj(
        {"type": STRING, "title": STRING, "status": INTEGER, "code": {
            "type": "string", "description": (
                "unauthorized, forbidden, not_found, method_not_allowed, bad_request, "
                "stale_revision, locked, invalid_state, invalid, too_large, "
                "precondition_required")}},
        {"detail": STRING,
         "current_revision": {"type": "integer", "description": "with stale_revision"},
         "status_now": {**STATUS, "description": "with invalid_state"},
         "issues": {"type": "array", "items": ref("Issue"), "description": "with invalid"}},
        description="RFC 9457 problem details; title and detail follow Accept-Language.",
        additionalProperties=True,
    ),
    "Issue": obj(
        {"field": nullable(STRING), "code": STRING,
         "severity": {"type": "string", "enum": ["error", "warning"]},
         "message": STRING, "params": {"type": "object", "additionalProperties": True}},
        {"row": {"type": "integer", "description": "0-based row of a repeating table"},
         "column": STRING, "sheet": STRING, "cell": STRING},
    ),
    "UnitRef": obj({"code": STRING, "name": STRING}),
    "Page": obj({"items": {"type": "array"}, "page": {"type": "integer", "minimum": 1},
                 "per_page": {"type": "integer", "minimum": 1, "maximum": 500},
                 "total": {"type": "integer", "minimum": 0}}),
    "Me": obj({"username": STRING, "name": nullable(STRING),
               "role": {"type": "string", "enum": [str(r) for r in Role]},
               "unit": nullable(ref("UnitRef")), "locale": STRING}),
    "Unit": obj({"code": STRING, "name": STRING, "kind": STRING,
                 "parent": nullable({"type": "string", "description": "the parent's code"}),
                 "level": {"type": "integer", "minimum": 0},
                 "contact_name": nullable(STRING), "contact_phone": nullable(STRING),
                 "active": BOOLEAN}),
    "UnitPage": page_of("Unit"),
    "Template": obj({"key": STRING, "title": STRING, "version": INTEGER,
                     "frequency": STRING, "published_at": nullable(INSTANT)}),
    "TemplatePage": page_of("Template"),
    "TemplateDetail": {"allOf": [ref("Template"), obj({
        "versions": {"type": "array", "items": INTEGER},
        "definition": ref("Definition")})]},
    "TemplateVersion": obj({"key": STRING, "version": INTEGER,
                            "definition": ref("Definition")}),
    "Task": obj({"assignment": STRING, "unit": ref("UnitRef"), "period": STRING, "due": DATE,
                 "status": STATUS, "late": BOOLEAN, "overdue": BOOLEAN,
                 "revision": {"type": "integer", "minimum": 0},
                 "links": obj({"report": STRING})}),
    "TaskPage": page_of("Task"),
    "Report": obj({
        "assignment": STRING, "unit": ref("UnitRef"), "period": STRING, "template": STRING,
        "version": INTEGER, "status": STATUS, "revision": {"type": "integer", "minimum": 0},
        "due": DATE, "late": BOOLEAN, "submitted_at": nullable(INSTANT), "values": VALUES,
        "increments": {**VALUES, "description": "本期新增 of the cumulative fields"},
        "issues": {"type": "array", "items": ref("Issue")}, "remarks": STRING}),
    "History": obj({
        "revisions": {"type": "array", "items": obj({
            "number": INTEGER, "author": nullable(STRING),
            "source": {"type": "string", "enum": ["web", "excel", "api", "consolidation"]},
            "created_at": INSTANT, "values": VALUES, "remarks": STRING})},
        "events": {"type": "array", "items": obj({
            "action": STRING, "actor": nullable(STRING), "revision": INTEGER,
            "comment": STRING, "created_at": INSTANT})}}),
    "WorkbookResult": obj({"saved": BOOLEAN, "result": STRING, "summary": STRING,
                           "issues": {"type": "array", "items": ref("Issue")},
                           "report": nullable(ref("Report"))}),
    "ConsolidationChild": obj({"unit": ref("UnitRef"), "status": STATUS, "included": BOOLEAN,
                               "late": BOOLEAN}),
    "Consolidation": obj({
        "assignment": STRING, "unit": ref("UnitRef"), "period": STRING, "template": STRING,
        "version": INTEGER, "include_submitted": BOOLEAN, "values": VALUES,
        "increments": VALUES, "previous_period": nullable(STRING),
        "children": {"type": "array", "items": ref("ConsolidationChild")},
        "missing": {"type": "array", "items": ref("ConsolidationChild"),
                    "description": "children not counted in the figures"},
        "mismatches": {"type": "array", "items": obj({
            "unit": ref("UnitRef"), "field": STRING, "reported": {}, "computed": {},
            "difference": {"description": "reported - computed, for numbers"},
            "depth": {"type": "integer", "minimum": 0}})},
        "provenance": {"type": "object", "description": "The parts of each figure, by field key.",
                       "additionalProperties": {"type": "array", "items": obj({
                           "unit": STRING, "name": STRING, "value": {},
                           "revision": nullable(INTEGER)})}}}),
    "SaveReport": obj({"values": VALUES}, {"remarks": STRING}),
    "Remarks": obj({}, {"remarks": STRING}),
    "Comment": obj({"comment": {"type": "string", "minLength": 1}}),
    "Reason": obj({"reason": {"type": "string", "minLength": 1}}),
}


def definition_schemas() -> dict[str, dict[str, Any]]:
    """The template definition's own JSON schema (pydantic), as ``Definition*`` components."""
    schema = Definition.model_json_schema(
        mode="serialization", ref_template="#/components/schemas/Definition.{model}")
    nested = schema.pop("$defs", {})
    return {"Definition": schema, **{f"Definition.{k}": v for k, v in nested.items()}}


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
    "period": path_param("period", "Period key: 2024Q2, 2024H1, 2024-05, 2024 or once."),
    "key": path_param("key", "Template key."),
    "n": path_param("n", "Template version number.", {"type": "integer", "minimum": 1}),
    "page": query_param("page", "Page number, from 1.", {"type": "integer", "minimum": 1,
                                                         "default": 1}),
    "per_page": query_param("per_page", "Items per page.",
                            {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
    "under": query_param("under", "Only this unit and the units below it (unit code).", STRING),
    "period_filter": query_param("period", "Only this period key.", STRING),
    "status": query_param("status", "Only reports in this status.", STATUS),
    "assignment_filter": query_param("assignment", "Only this assignment key.", STRING),
    "include_submitted": query_param(
        "include_submitted", "Count submitted reports too, not only approved ones.",
        {"type": "boolean", "default": False}),
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
    428: "If-Match is missing (precondition_required).",
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
    """A success answer: a JSON schema name, or a file of *media* type."""

    schema: str | None = None
    media: str = "application/json"
    headers: dict[str, Any] = field(default_factory=dict)
    description: str = "OK"

    def response(self) -> dict[str, Any]:
        content = ref(self.schema) if self.schema else {
            "type": "string", "contentMediaType": self.media}
        out: dict[str, Any] = {"description": self.description,
                               "content": {self.media: {"schema": content}}}
        if self.headers:
            out["headers"] = self.headers
        return out


REPORT_BODY = Body("Report", headers=ETAG)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    tag: str
    summary: str
    ok: Body
    params: tuple[str, ...] = ()
    body: str | None = None  # a schema name (JSON) or "multipart"
    body_required: bool = True
    problems: tuple[int, ...] = (404,)
    public: bool = False

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
                "schema": obj({"file": {"type": "string", "contentMediaType":
                                        "application/octet-stream"}})}}}
        elif self.body:
            out["requestBody"] = {"required": self.body_required,
                                  "content": {"application/json": {"schema": ref(self.body)}}}
        problems = set(self.problems)
        if self.params or self.body:
            problems.add(400)
        if self.public:
            out["security"] = []
        else:
            problems.add(401)
        out["responses"] = {"200": self.ok.response(),
                            **{str(s): problem_response(s) for s in sorted(problems)}}
        return out


R = "/reports/{assignment}/{unit}/{period}"
C = "/consolidations/{assignment}/{unit}/{period}"

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/openapi.json", "meta", "This document.",
              Body("OpenApiDocument", description="The OpenAPI 3.1 document"),
              problems=(), public=True),
    Operation("get", "/me", "account", "The account the token belongs to.", Body("Me"),
              problems=()),
    Operation("get", "/units", "units", "Units in the account's scope, in tree order.",
              Body("UnitPage", headers=LINK), ("under", *PAGED)),
    Operation("get", "/templates", "templates", "The latest version of each template.",
              Body("TemplatePage", headers=LINK), PAGED, problems=()),
    Operation("get", "/templates/{key}", "templates",
              "A template's latest version, its version numbers and definition.",
              Body("TemplateDetail"), ("key",)),
    Operation("get", "/templates/{key}/versions/{n}", "templates",
              "One version of a template with its definition.", Body("TemplateVersion"),
              ("key", "n")),
    Operation("get", "/tasks", "reports",
              "What the account's unit owes (submitter) or oversees (consolidator).",
              Body("TaskPage", headers=LINK),
              ("period_filter", "status", "assignment_filter", *PAGED), problems=()),
    Operation("get", R, "reports", "One report: status, revision, values and issues.",
              REPORT_BODY, REPORT),
    Operation("put", R, "reports", "Save a draft revision (source api).", REPORT_BODY,
              (*REPORT, "If-Match"), "SaveReport", problems=(403, 404, 409, 422, 428)),
    Operation("post", R + "/submit", "reports", "Submit the latest revision.", REPORT_BODY,
              ACTION, "Remarks", False, (403, 404, 409, 422)),
    Operation("post", R + "/return", "review", "Return a submitted report with a comment.",
              REPORT_BODY, ACTION, "Comment", problems=(403, 404, 409, 422)),
    Operation("post", R + "/approve", "review", "Approve (and lock) a submitted report.",
              REPORT_BODY, ACTION, problems=(403, 404, 409)),
    Operation("post", R + "/unapprove", "review", "Withdraw an approval, with a reason.",
              REPORT_BODY, ACTION, "Reason", problems=(403, 404, 409, 422)),
    Operation("get", R + "/history", "reports", "Every revision and every workflow event.",
              Body("History"), REPORT),
    Operation("get", R + "/workbook.xlsx", "workbooks", "The official Excel form of the report.",
              Body(media=XLSX, description="The workbook"), REPORT),
    Operation("post", R + "/workbook", "workbooks",
              "Upload a filled workbook; saved as a draft revision unless it has errors.",
              Body("WorkbookResult"), REPORT, "multipart",
              problems=(403, 404, 409, 413, 422)),
    Operation("get", C, "consolidations",
              "The consolidated figures of a unit's children, with provenance.",
              Body("Consolidation"), (*REPORT, "include_submitted"), problems=(403, 404)),
    Operation("get", C + "/merged.xlsx", "consolidations",
              "The merged workbook: totals, one sheet per unit, flat data, completeness.",
              Body(media=XLSX, description="The merged workbook"),
              (*REPORT, "include_submitted"), problems=(403, 404)),
    Operation("get", C + "/flat.csv", "consolidations",
              "One row per unit and field, for pivot tables (UTF-8 with BOM).",
              Body(media="text/csv", description="The flat data"),
              (*REPORT, "include_submitted"), problems=(403, 404)),
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
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tianbao (填报) API", "version": API_VERSION,
                 "description": DESCRIPTION},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in dict.fromkeys(o.tag for o in OPERATIONS)],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token of the account."}},
            "schemas": {**SCHEMAS, **definition_schemas()},
            "parameters": PARAMETERS,
        },
    }


@bp.get("/openapi.json")
@public
def openapi_json():
    return jsonify(document())
