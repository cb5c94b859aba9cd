"""Reporting pages for the units: what they owe, the form, history and print."""

from flask import Blueprint

bp = Blueprint("reporting", __name__, url_prefix="/reports")
