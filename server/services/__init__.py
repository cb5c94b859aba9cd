"""The service layer: every change to the database goes through here.

Views, the CLI and the JSON API parse their input, call a service and present
the outcome. Services take the :class:`~sqlalchemy.orm.Session` explicitly; they
add and flush (where an id is needed) but never commit or roll back: the caller's
boundary does, once, with :func:`server.db.unit_of_work` (a web or API request,
a CLI command, the demo loader, a test's factory), so a piece of work is saved
whole or not at all.

What a service will not do is raised as a :class:`~server.services.errors.Refusal`
whose class says why (not allowed, not visible, locked, invalid state, stale
revision, invalid input) with a translatable message, worded once, in the
service. Views do not check again who may do what: each channel maps refusals
once (``server.api.refusals`` to problem details, ``server.refusals`` to the web
pages, the CLI to a message and an exit status).
"""
