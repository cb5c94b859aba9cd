"""The notifications blueprint: the bell in the header and the list of one's messages."""

from server.notifications import views  # noqa: F401  (registers routes)
from server.notifications.blueprint import bp

__all__ = ["bp"]
