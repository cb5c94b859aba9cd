"""Which channels are configured, and their senders, from the application's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from server.channels import Message
from server.channels.email import SmtpSettings, send_email
from server.channels.robots import RobotSettings, send_dingtalk, send_wecom
from server.channels.sms import DEFAULT_BODY, SmsSettings, send_sms


def senders(config: Mapping) -> dict[str, Callable[[Message], None]]:
    """A sender for each channel whose settings are present (the app needs none)."""
    timeout = float(config.get("NOTIFY_TIMEOUT") or 10)
    found: dict[str, Callable[[Message], None]] = {}
    if config.get("SMTP_HOST"):
        found["email"] = partial(send_email, SmtpSettings(
            host=config["SMTP_HOST"], port=int(config.get("SMTP_PORT") or 25),
            user=config.get("SMTP_USER") or "", password=config.get("SMTP_PASSWORD") or "",
            sender=config.get("SMTP_FROM") or "tianbao@localhost",
            tls=config.get("SMTP_TLS") or "none", timeout=timeout))
    if config.get("WECOM_WEBHOOK"):
        found["wecom"] = partial(send_wecom, RobotSettings(config["WECOM_WEBHOOK"],
                                                           timeout=timeout))
    if config.get("DINGTALK_WEBHOOK"):
        found["dingtalk"] = partial(send_dingtalk, RobotSettings(
            config["DINGTALK_WEBHOOK"], secret=config.get("DINGTALK_SECRET") or "",
            timeout=timeout))
    if config.get("SMS_URL"):
        found["sms"] = partial(send_sms, SmsSettings(
            config["SMS_URL"], body=config.get("SMS_BODY") or DEFAULT_BODY,
            auth_header=config.get("SMS_AUTH_HEADER") or "", timeout=timeout))
    return found


def configured_channels(config: Mapping) -> set[str]:
    return {"app", *senders(config)}
