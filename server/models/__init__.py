"""Database models. Every model module is imported here so the metadata is complete
for Alembic, the test fixtures and anything else that walks ``Base.metadata``."""

from server.db import Base
from server.models.accounts import LoginAttempt, Role, User
from server.models.units import Unit

__all__ = ["Base", "LoginAttempt", "Role", "Unit", "User"]
