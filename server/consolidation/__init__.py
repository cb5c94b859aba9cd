"""Consolidation pages: a subtree's figures with their provenance, and merged downloads."""

from flask import Blueprint

bp = Blueprint("consolidation", __name__, url_prefix="/consolidation")
