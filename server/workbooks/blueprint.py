"""The blueprint of the Excel round trip in the browser (see ``views``)."""

from flask import Blueprint

bp = Blueprint("workbooks", __name__)
