"""Personal API tokens: creation, authentication, revocation and listing.

A secret looks like ``tb_<43 url-safe characters>``. Only its SHA-256 is stored;
its first characters (``prefix``) are kept in clear so that people can tell their
tokens apart and authentication finds the row by an indexed column before
comparing hashes in constant time.

A token works until it expires (``DEFAULT_DAYS`` unless its creator chose another
lifetime), is revoked, or its account changes password or is disabled: whoever
takes over an account must not keep a way in through an old token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, load_only, selectinload

from server.models import ApiToken, User
from server.models.accounts import as_utc, expired_at, utcnow
from server.services import audit
from server.services.errors import InvalidInput

SECRET_MARK = "tb_"
PREFIX_LENGTH = len(SECRET_MARK) + 8
NAME_MAX = 100
# last_used_at is a hint for people, not an audit log: one write per token and minute
# keeps busy scripts from turning every read into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_DAYS = 90
MAX_DAYS = 365


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(session: Session, user: User, name: str = "", *,
           days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """A new token for *user* valid for *days* and its secret, which is not stored and
    cannot be shown again."""
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(_l("A token name has at most %(max)s characters."), field="name",
                        max=NAME_MAX)
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(_l("A token is valid for 1 to %(max)s days."), field="days",
                           max=MAX_DAYS)
    secret = SECRET_MARK + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user=user, name=name, prefix=secret[:PREFIX_LENGTH],
                     token_hash=hash_secret(secret), created_at=now,
                     expires_at=now + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, audit.Kind.TOKEN_CREATED, unit=user.unit,
                 target=f"{user.username}: {token.prefix}… {name}".strip(),
                 details={"prefix": token.prefix, "name": name, "days": days})
    return token, secret


# Set in the session's info when authenticating wrote when the token was last used.
TOUCHED = "tianbao.token_touched"

# Built once (every API request runs it). The token itself as plain columns: nothing of
# the request changes it through the ORM (its use is recorded by a conditional UPDATE).
# Of the account only what requests read (who, which role, which unit): each column costs
# every request its description and its place in the row; the others load when something
# asks (the account pages, a notification). Not the account's unit: the scope needs only
# its id (server.scope), a report's view loads the unit it shows (for a unit's own
# account, the same one, found there when the account's unit is asked for), and each
# entity built costs the most frequent request of all, a save, a few hundredths of its work.
_BY_PREFIX = (
    select(ApiToken.id, ApiToken.token_hash, ApiToken.expires_at, ApiToken.last_used_at, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.prefix == bindparam("prefix"), ApiToken.revoked_at.is_(None))
    .options(load_only(User.username, User.role, User.unit_id, User.active, User.locale))
)


def authenticate(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    """The active account whose unrevoked, unexpired token *secret* is, or None.

    Records when the token was last used (at most once a minute).
    """
    now = now or utcnow()
    secret = (secret or "").strip()
    if not secret.startswith(SECRET_MARK) or len(secret) <= PREFIX_LENGTH:
        return None
    digest = hash_secret(secret)
    candidates = session.execute(_BY_PREFIX, {"prefix": secret[:PREFIX_LENGTH]}).all()
    match = None
    for token in candidates:
        # compare_digest on every candidate: the time taken does not tell which one matched.
        if hmac.compare_digest(token.token_hash, digest):
            match = token
    if match is None or not match.User.active or expired_at(match.expires_at, now):
        return None
    _touch(session, match.id, match.last_used_at, now)
    return match.User


def _touch(session: Session, token_id: int, last_used_at: datetime | None,
           now: datetime) -> None:
    if last_used_at is not None and as_utc(last_used_at) >= now - LAST_USED_RESOLUTION:
        return  # recorded less than a minute ago, as read with the token: no statement at all
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id,
               or_(ApiToken.last_used_at.is_(None),
                   ApiToken.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        session.info[TOUCHED] = True


def revoke(session: Session, token: ApiToken, *, now: datetime | None = None) -> None:
    """Stop *token* from working; revoking twice keeps the first time."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, audit.Kind.TOKEN_REVOKED, unit=token.user.unit,
                     target=f"{token.user.username}: {token.prefix}…",
                     details={"prefix": token.prefix, "name": token.name})


def revoke_all(session: Session, user: User, *, now: datetime | None = None) -> None:
    """Revoke every token of *user* (password changed, account disabled); no commit."""
    if user.id is None:
        return
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )


def for_user(session: Session, user: User, *, include_revoked: bool = False) -> Sequence[ApiToken]:
    """*user*'s tokens, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


def all_tokens(session: Session, *, include_revoked: bool = False) -> Sequence[ApiToken]:
    """Every account's tokens, by username then newest first (for administrators)."""
    query = select(ApiToken).join(ApiToken.user).options(selectinload(ApiToken.user))
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.scalars(
        query.order_by(User.username, ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def get_for_user(session: Session, user: User, token_id: int) -> ApiToken | None:
    """*user*'s token with *token_id* (another account's token is None)."""
    return session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )


def find(session: Session, id_or_prefix: str) -> ApiToken | None:
    """A token by its id or its visible prefix; None if unknown or ambiguous."""
    text = (id_or_prefix or "").strip()
    if text.isdigit():
        return session.get(ApiToken, int(text))
    if not text.startswith(SECRET_MARK):
        return None
    # A whole secret pasted by mistake still finds its token by the prefix.
    rows = session.scalars(
        select(ApiToken).where(ApiToken.prefix == text[:PREFIX_LENGTH]).limit(2)
    ).all()
    return rows[0] if len(rows) == 1 else None
