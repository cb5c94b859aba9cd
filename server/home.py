"""The start page: where each role begins."""

from __future__ import annotations

from flask import Flask, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.navigation import entries_for


def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    role_help = {
        "submitter": _("Fill in and submit the reports of your unit."),
        "consolidator": _("Follow, review and consolidate the reports of the units below yours."),
        "admin": _("Manage templates, units and accounts."),
    }.get(current_user.role, "")
    links = [(entry.endpoint, entry.label) for entry in entries_for(current_user)]
    if "auth.account" in current_app.view_functions:
        links.append(("auth.account", _("My account")))
    return render_template("home/index.html", role_help=role_help, links=links)


def register_home(app: Flask) -> None:
    app.add_url_rule("/", "index", index)
