"""Translation markers for the pure packages.

``forms`` and ``exports`` never import Flask. User-visible messages are written
in English as msgids marked with :func:`N_` so Babel extracts them; whoever
shows them (the server, the CLI) translates them with its own gettext and then
interpolates the parameters: ``gettext(msgid) % params``.

A message with a count is marked with :func:`NP_` (singular and plural, both with
``%(num)s``) and shown with an ``ngettext(singular, plural, num)`` that picks the
form the locale needs and fills in ``num`` (Flask-Babel's does).
"""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext-noop name
    """Mark *message* for extraction without translating it here."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802
    """Mark a message with a count for extraction: ``(singular, plural)``, for ngettext."""
    return singular, plural
