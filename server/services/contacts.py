"""Where an account is reached by notifications: e-mail, mobile, WeCom user id, preferences."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from server.models import Role, User
from server.services import audit
from server.services.errors import InvalidInput

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^\+?[0-9][0-9 -]{5,30}$")
WECOM_USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def update_contact(session: Session, user: User, *, email: str | None, mobile: str | None,
                   wecom_userid: str | None, notify_on_submission: bool = False) -> None:
    """Set *user*'s addresses (each optional; blank removes it) and notification preference.

    Only reviewers (consolidators, administrators) hear of submissions: for a
    submitter the preference is always off.
    """
    email, mobile, wecom_userid = _clean(email), _clean(mobile), _clean(wecom_userid)
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise InvalidInput(_l("Enter an e-mail address such as name@example.gov.cn."),
                           field="email")
    if mobile and not MOBILE.match(mobile):
        raise InvalidInput(_l("Enter a mobile number of digits, e.g. 13800000000."),
                           field="mobile")
    if wecom_userid and not WECOM_USERID.match(wecom_userid):
        raise InvalidInput(_l("A WeCom user id has letters, digits and _ . @ - only "
                              "(at most 64)."), field="wecom_userid")
    notify = bool(notify_on_submission) and user.role != Role.SUBMITTER
    before = {"email": user.email, "mobile": user.mobile, "wecom_userid": user.wecom_userid,
              "notify_on_submission": user.notify_on_submission}
    after = {"email": email, "mobile": mobile, "wecom_userid": wecom_userid,
             "notify_on_submission": notify}
    user.email, user.mobile, user.wecom_userid = email, mobile, wecom_userid
    user.notify_on_submission = notify
    session.flush()
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changed:
        audit.record(session, audit.Kind.USER_CHANGED, unit=user.unit, target=user.username,
                     details=changed)
