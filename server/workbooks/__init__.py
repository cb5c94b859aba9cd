"""The Excel round trip in the browser: template download, upload, bulk upload."""

from server.workbooks import views  # noqa: F401  (registers routes)
from server.workbooks.blueprint import bp

__all__ = ["bp"]
