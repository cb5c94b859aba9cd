"""The blueprint of signing in and out and of the account page (see ``views``)."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
