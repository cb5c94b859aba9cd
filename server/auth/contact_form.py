"""The form of an account's addresses for notifications (account page and administration)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import Length, Optional


class ContactForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)],
                         description=_l("For SMS and 钉钉 mentions."),
                         render_kw={"autocomplete": "tel", "inputmode": "tel"})
    wecom_userid = StringField(_l("WeCom user id"), validators=[Optional(), Length(max=64)],
                               description=_l("Your 企业微信 account, mentioned in the group "
                                              "robot's messages."),
                               render_kw={"autocomplete": "off"})
    notify_on_submission = BooleanField(_l("Tell me when a unit below submits a report"))
    reminders_opt_out = BooleanField(
        _l("Send me no reminders of reports due or overdue"),
        description=_l("Reminders to a consolidator of units that are long overdue are sent "
                       "all the same."))
