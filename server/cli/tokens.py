"""``tianbao tokens``: personal API tokens, from the shell.

``create`` prints the secret alone on standard output (and its explanation on
standard error), so a script can capture it: ``TOKEN=$(tianbao tokens create ann)``.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask_babel import format_datetime
from flask_babel import gettext as _

from server.cli.common import Failure, group, require_migrated, user_or_fail
from server.db import db_session, unit_of_work
from server.services import tokens


@group("tokens")
def tokens_group() -> None:
    """Create and revoke personal API tokens."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (shown in lists).")
@click.option("--days", type=click.IntRange(1, tokens.MAX_DAYS), default=tokens.DEFAULT_DAYS,
              show_default=True, help="How many days the token works.")
def tokens_create(username: str, name: str, days: int) -> None:
    """Create a token for an account and print its secret (shown only this once)."""
    require_migrated()
    user = user_or_fail(username)
    if not user.active:
        raise Failure(_("The account %(username)s is disabled.", username=user.username))
    with unit_of_work(db_session()) as session:
        token, secret = tokens.create(session, user, name, days=days)
    click.echo(secret)
    click.echo(_("Token %(id)s (%(prefix)s…) created for %(username)s, valid until "
                 "%(expires)s. Keep the secret above: it cannot be shown again.",
                 id=token.id, prefix=token.prefix, username=user.username,
                 expires=_when(token.expires_at)), err=True)


@tokens_group.command("revoke")
@click.argument("token_id_or_prefix", metavar="TOKEN_ID_OR_PREFIX")
def tokens_revoke(token_id_or_prefix: str) -> None:
    """Revoke a token, named by its number or its prefix (tb_…)."""
    require_migrated()
    with unit_of_work(db_session()) as session:
        token = tokens.find(session, token_id_or_prefix)
        if token is None:
            raise Failure(_("There is no token “%(token)s”.", token=token_id_or_prefix))
        tokens.revoke(session, token)
    click.echo(_("Token %(id)s (%(prefix)s…) of %(username)s is revoked.",
                 id=token.id, prefix=token.prefix, username=token.user.username))


@tokens_group.command("list")
@click.argument("username", required=False)
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
def tokens_list(username: str | None, include_revoked: bool) -> None:
    """List tokens: number, prefix, account, name, created, last used, expiry."""
    require_migrated()
    session = db_session()
    if username:
        rows = tokens.for_user(session, user_or_fail(username), include_revoked=include_revoked)
    else:
        rows = tokens.all_tokens(session, include_revoked=include_revoked)
    for token in rows:
        used = _when(token.last_used_at) if token.last_used_at else _("never used")
        expires = (_("expired %(when)s", when=_when(token.expires_at)) if token.expired()
                   else _("expires %(when)s", when=_when(token.expires_at)))
        revoked = "\t" + _("revoked") if token.revoked_at else ""
        click.echo(f"{token.id}\t{token.prefix}…\t{token.user.username}\t{token.name or '-'}\t"
                   f"{_when(token.created_at)}\t{used}\t{expires}{revoked}")


def _when(moment: datetime) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm")
