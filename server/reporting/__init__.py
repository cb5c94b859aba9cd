"""Reporting pages for the units: what they owe, the form, history and print."""

from server.reporting import (  # noqa: F401  (registers routes)
    form_views,
    history_views,
    print_views,
    submit_views,
    tasks,
)
from server.reporting.blueprint import bp

__all__ = ["bp"]
