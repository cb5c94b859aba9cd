"""Review pages for consolidators: completeness, chasing, review decisions."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")
