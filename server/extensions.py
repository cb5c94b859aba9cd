"""Flask extensions shared by the app factory and the blueprints."""

from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from server.db import db_session
from server.services.accounts import load_user

csrf = CSRFProtect()

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to open this page.")
login_manager.login_message_category = "info"
# "strong" would sign people out whenever their mobile network changes address.
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(user_id: str):
    return load_user(db_session(), user_id)
