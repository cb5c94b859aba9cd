"""E-mail over SMTP (plain, STARTTLS or implicit TLS)."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from server.channels import IDEMPOTENCY_HEADER, Message, SendError

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = "tianbao@localhost"
    tls: str = "none"  # one of TLS_MODES
    timeout: float = 10.0


def message_id(key: str, sender: str) -> str:
    """The same Message-ID for every attempt at one outbox row, so a repeat is recognisable."""
    domain = sender.rpartition("@")[2] or "tianbao"
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


def compose(settings: SmtpSettings, message: Message) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(message.key, settings.sender)
    email[IDEMPOTENCY_HEADER] = message.key
    body = message.text if not message.url else f"{message.text}\n\n{message.url}"
    email.set_content(body)
    return email


def send_email(settings: SmtpSettings, message: Message) -> None:
    if "@" not in message.recipient:
        raise SendError("not an e-mail address", permanent=True)
    email = compose(settings, message)
    try:
        if settings.tls == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password)
            client.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"recipient refused: {exc.recipients}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        # 5xx answers are final for this message; 4xx ones are "try again later".
        raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                        permanent=exc.smtp_code >= 500) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from None
