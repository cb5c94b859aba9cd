"""The administration blueprint; its pages are in the ``*_views`` modules."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
