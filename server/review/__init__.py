"""Review pages for consolidators: completeness, chasing, review decisions."""

from server.review import events_views, matrix_views, report_views  # noqa: F401  (routes)
from server.review.blueprint import bp

__all__ = ["bp"]
