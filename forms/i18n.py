"""Translation markers for the pure packages.

``forms`` and ``exports`` never import Flask. User-visible messages are written
in English as msgids marked with :func:`N_` so Babel extracts them; whoever
shows them (the server, the CLI) translates them with its own gettext and then
interpolates the parameters: ``gettext(msgid) % params``.
"""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext-noop name
    """Mark *message* for extraction without translating it here."""
    return message
