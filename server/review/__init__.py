"""Review pages for consolidators: completeness, chasing, review decisions."""

from server.review import (  # noqa: F401  (routes)
    dashboard_views,
    events_views,
    matrix_views,
    report_views,
)
from server.review.blueprint import bp

__all__ = ["bp"]
