"""Database models. Every model module is imported here so the metadata is complete
for Alembic, the test fixtures and anything else that walks ``Base.metadata``."""

from server.db import Base
from server.models.accounts import ApiToken, LoginAttempt, Role, User
from server.models.audit import AuditEvent
from server.models.designer import TemplateDraft
from server.models.notifications import Channel, Delivery, Notification
from server.models.reporting import (
    Assignment,
    AssignmentVersion,
    FieldComment,
    PeriodClosure,
    Report,
    ReportEvent,
    ReportValue,
    Revision,
    Source,
    Status,
    StoredFile,
)
from server.models.templates import TemplateVersion
from server.models.units import Unit, UnitPlacement, UnitTag

__all__ = [
    "ApiToken", "Assignment", "AuditEvent", "AssignmentVersion", "Base", "Channel", "Delivery",
    "FieldComment",
    "LoginAttempt",
    "Notification", "Report", "ReportEvent", "ReportValue",
    "Revision", "Role", "Source", "Status", "StoredFile", "TemplateDraft", "TemplateVersion",
    "Unit", "UnitPlacement", "UnitTag", "User", "PeriodClosure",
]
