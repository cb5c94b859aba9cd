"""The service layer: every change to the database goes through here.

Views, the CLI and the JSON API parse their input, call a service and present
the outcome. Services take the :class:`~sqlalchemy.orm.Session` explicitly and
commit their own unit of work; expected problems with the user's input are
raised as :class:`~server.services.errors.Refusal` with a translatable message.
"""
