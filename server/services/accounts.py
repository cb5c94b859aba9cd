"""Accounts: creation, enabling and disabling, passwords, login and bulk import."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from forms.i18n import N_
from server.models import LoginAttempt, Role, Unit, User
from server.models.accounts import new_session_token, utcnow
from server.models.units import subtree_bounds
from server.services import audit, passwords, tokens
from server.services.errors import InvalidInput, NotAllowed, RowProblem
from server.services.units import contains_pattern

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

DEFAULT_MAX_FAILURES = 5
DEFAULT_MAX_ADDRESS_FAILURES = 20
DEFAULT_WINDOW = timedelta(minutes=15)


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up in lower case."""
    return (username or "").strip().lower()


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalise_username(username)))


def _check_role_and_unit(role: str, unit: Unit | None) -> None:
    if role not in set(Role):
        raise InvalidInput(_l("Unknown role “%(role)s”."), field="role", role=role)
    if role != Role.ADMIN and unit is None:
        raise InvalidInput(_l("Submitters and consolidators must belong to a unit."),
                           field="unit")


def find_unit(session: Session, code: str | None) -> Unit | None:
    """The unit with *code*; None for an empty code; Refusal for an unknown one."""
    code = (code or "").strip()
    if not code:
        return None
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise InvalidInput(_l("There is no unit with code “%(code)s”."), field="unit",
                           code=code)
    return unit


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    unit: Unit | None = None,
    *,
    check_password: bool = True,
) -> User:
    """Create an active account; refuses taken or malformed usernames and weak passwords."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise InvalidInput(
            _l("A username has 2 to 64 characters: letters, digits and . _ @ - "
               "(“%(username)s” does not fit)."),
            field="username", username=username,
        )
    if get_user(session, name) is not None:
        raise InvalidInput(_l("The username “%(username)s” is already taken."),
                           field="username", username=name)
    role = str(role)
    _check_role_and_unit(role, unit)
    if check_password:
        passwords.check_policy(password)
    user = User(
        username=name,
        password_hash=passwords.hash_password(password),
        role=role,
        unit=unit,
        active=True,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, audit.Kind.USER_CREATED, unit=unit, target=user.username,
                 details={"role": role, "unit": unit.code if unit else None})
    return user


def set_active(session: Session, user: User, active: bool, *, acting: User | None = None) -> None:
    """Enable or disable *user*. Administrators cannot disable themselves (lock-out)."""
    if not active and acting is not None and acting.id == user.id:
        raise NotAllowed(_l("You cannot disable your own account."))
    if user.active != active:
        audit.record(session, audit.Kind.USER_CHANGED, actor=acting if acting else audit.CURRENT,
                     unit=user.unit, target=user.username, details={"active": active})
    user.active = active
    if not active:
        end_sessions(user)
        tokens.revoke_all(session, user)


def end_sessions(user: User) -> None:
    """Sign *user* out everywhere: every session cookie carries the account's session
    token (:meth:`User.get_id`), and one with an old token no longer loads the account.
    Used on sign-out too, so a copied cookie dies with the sign-out. No commit."""
    user.session_token = new_session_token()


def _set_password(session: Session, user: User, new_password: str) -> None:
    """Whoever knew the old password may have kept a session or a token: both end."""
    passwords.check_policy(new_password)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    end_sessions(user)
    tokens.revoke_all(session, user)


def reset_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password chosen by an administrator; sessions and tokens end."""
    _set_password(session, user, new_password)
    audit.record(session, audit.Kind.PASSWORD_RESET, unit=user.unit, target=user.username)


def change_password(session: Session, user: User, current: str, new_password: str) -> None:
    """The account holder's own change: the current password is required."""
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidInput(_l("The current password is not correct."), field="current_password")
    if current == new_password:
        raise InvalidInput(_l("The new password must differ from the current one."),
                        field="password")
    _set_password(session, user, new_password)
    audit.record(session, audit.Kind.PASSWORD_CHANGED, actor=user, unit=user.unit,
                 target=user.username)


def users_query(search: str | None = None) -> Select:
    """All accounts by username, optionally those whose username or unit matches *search*."""
    query = select(User).outerjoin(User.unit).options(selectinload(User.unit))
    text = (search or "").strip()
    if text:
        pattern = contains_pattern(text)
        query = query.where(or_(User.username.ilike(pattern, escape="\\"),
                                Unit.code.ilike(pattern, escape="\\"),
                                Unit.name.ilike(pattern, escape="\\")))
    return query.order_by(User.username)


def list_users(session: Session, *, under: Unit | None = None) -> Sequence[User]:
    query = select(User).options(selectinload(User.unit)).order_by(User.username)
    if under is not None:
        low, high = subtree_bounds(under.path)
        query = query.join(User.unit).where(Unit.path >= low, Unit.path < high)
    return session.scalars(query).all()


# --- login ---------------------------------------------------------------------------


class LoginStatus(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    DISABLED = "disabled"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginOutcome:
    status: LoginStatus
    user: User | None = None
    retry_minutes: int = 0


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str,
    *,
    max_failures: int = DEFAULT_MAX_FAILURES,
    max_address_failures: int = DEFAULT_MAX_ADDRESS_FAILURES,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime | None = None,
) -> LoginOutcome:
    """Check a login and record failures.

    After *max_failures* failures for the same username from the same address
    within *window*, or *max_address_failures* failures from the same address
    for any usernames (one guess at each of many accounts), further attempts are
    refused without checking the password until the failures leave the window.
    Counting happens in the database so the limit holds across server processes.

    A disabled account gets the same answer whether or not the password is right
    (and the attempt counts as a failure either way), so the answer cannot be used
    to test passwords of disabled accounts.
    """
    now = now or datetime.now(UTC)
    name = normalise_username(username)[:64]
    ip = (ip or "unknown")[:64]
    since = now - window
    retry = (_retry_minutes(session, (LoginAttempt.username == name, LoginAttempt.ip == ip),
                            max_failures, since, window, now)
             or _retry_minutes(session, (LoginAttempt.ip == ip,),
                               max_address_failures, since, window, now))
    user = get_user(session, name) if name else None
    if retry:
        _failed(session, name, user, ip, LoginStatus.THROTTLED)
        return LoginOutcome(LoginStatus.THROTTLED, retry_minutes=retry)

    right = passwords.verify_password(user.password_hash if user else None, password)
    if not right or not user.active:
        session.add(LoginAttempt(username=name, ip=ip, at=now))
        # Old attempts are useless once out of the window; dropping them keeps the table small.
        session.execute(delete(LoginAttempt).where(LoginAttempt.at <= since))
        status = LoginStatus.DISABLED if user and not user.active else LoginStatus.INVALID
        _failed(session, name, user, ip, status)
        return LoginOutcome(status)
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.username == name, LoginAttempt.ip == ip)
    )
    user.last_login_at = now
    audit.record(session, audit.Kind.SIGN_IN, actor=user, unit=user.unit, target=user.username,
                 ip=ip)
    return LoginOutcome(LoginStatus.OK, user=user)


def _failed(session: Session, name: str, user: User | None, ip: str,
            status: LoginStatus) -> None:
    """Audit a refused sign-in: the name tried and why, never the password."""
    audit.record(session, audit.Kind.SIGN_IN_FAILED, actor=None,
                 unit=user.unit if user is not None else None, target=name, ip=ip,
                 details={"reason": status.value, "known_account": user is not None})


def _retry_minutes(session: Session, criteria: tuple, limit: int, since: datetime,
                   window: timedelta, now: datetime) -> int:
    """Minutes until fewer than *limit* failures matching *criteria* remain in the
    window; 0 when there are fewer already."""
    failures = session.scalars(
        select(LoginAttempt.at).where(*criteria, LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc()).limit(limit)
    ).all()
    if len(failures) < limit:
        return 0
    remaining = _as_utc(failures[-1]) + window - now
    return max(1, -(-int(remaining.total_seconds()) // 60))


def _as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_user(session: Session, user_id: str) -> User | None:
    """The active account for a Flask-Login id (``"<id>:<session token>"``), or None."""
    raw_id, _, token = (user_id or "").partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = session.get(User, int(raw_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


# --- bulk import -----------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, or why it did nothing (``problems`` not empty)."""

    problems: list = field(default_factory=list)  # RowError / RowProblem
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def import_users(session: Session, data: bytes, filename: str) -> ImportReport:
    """Create or update accounts from a spreadsheet; all or nothing.

    Existing accounts (same username) get the file's role and unit, its active
    flag if the file has that column, and a new password only where the file gives
    one. New accounts need a password.
    """
    from exports.unit_table import read_users

    units = dict(session.execute(select(Unit.code, Unit.id)).all())
    result = read_users(data, filename, units.keys())
    report = ImportReport(problems=list(result.errors))
    if report.problems:
        return report

    usernames = [normalise_username(row.username) for row in result.rows]
    existing = {
        user.username: user
        for user in session.scalars(select(User).where(User.username.in_(usernames)))
    } if usernames else {}
    minimum = passwords.min_length()
    for row in result.rows:
        number = row.row
        name = normalise_username(row.username)
        if row.password:
            problem = passwords.password_problem(row.password)
            if problem is not None:
                report.problems.append(RowProblem(
                    number, "password", "weak_password",
                    N_("The password must have at least %(min)s characters."), {"min": minimum},
                ))
        elif name not in existing:
            report.problems.append(RowProblem(
                number, "password", "password_required",
                N_("A new account needs a password (“%(username)s”)."), {"username": name},
            ))
        if not USERNAME_PATTERN.match(name):
            report.problems.append(RowProblem(
                number, "username", "bad_username",
                N_("A username has 2 to 64 characters: letters, digits and . _ @ - "
                   "(“%(username)s” does not fit)."), {"username": row.username},
            ))
    if report.problems:
        return report

    for row in result.rows:
        name = normalise_username(row.username)
        unit_id = units.get(row.unit_code) if row.unit_code else None
        user = existing.get(name)
        if user is None:
            user = User(username=name, session_token=new_session_token(), created_at=utcnow())
            session.add(user)
            report.created.append(name)
        else:
            report.updated.append(name)
        user.role = str(row.role)
        user.unit_id = unit_id
        if user.active is None or "active" in result.columns:
            if not row.active and user.active:
                end_sessions(user)
                tokens.revoke_all(session, user)
            user.active = row.active
        if row.password:
            user.password_hash = passwords.hash_password(row.password)
            user.password_changed_at = utcnow()
            end_sessions(user)
            tokens.revoke_all(session, user)
    session.flush()
    audit.record(session, audit.Kind.USERS_IMPORTED, target=filename,
                 details=audit.import_details(created=report.created, updated=report.updated))
    return report
