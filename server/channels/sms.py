"""SMS through a configurable HTTP gateway: a JSON body template and an auth header."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.channels import Message, SendError
from server.channels.http import post_json

DEFAULT_BODY = '{"mobile": "{mobile}", "text": "{text}"}'


@dataclass(frozen=True)
class SmsSettings:
    url: str
    body: str = DEFAULT_BODY  # JSON; "{mobile}", "{text}", "{key}" inside strings are filled in
    auth_header: str = ""  # e.g. "Authorization: Bearer …" or "X-Api-Key: …"
    timeout: float = 10.0


def render_body(template: str, values: dict[str, str]) -> Any:
    """The template's JSON with the placeholders filled inside its strings.

    Filling in after parsing keeps a message with quotes or newlines valid JSON.
    """
    def fill(node):
        if isinstance(node, str):
            for name, value in values.items():
                node = node.replace("{" + name + "}", value)
            return node
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        return node
    return fill(json.loads(template))


def send_sms(settings: SmsSettings, message: Message) -> None:
    if not message.recipient:
        raise SendError("no mobile number", permanent=True)
    text = "\n".join(part for part in (message.subject, message.text, message.url) if part)
    body = render_body(settings.body, {"mobile": message.recipient, "text": text,
                                       "key": message.key})
    headers = {}
    if settings.auth_header:
        name, _, value = settings.auth_header.partition(":")
        headers[name.strip()] = value.strip()
    post_json(settings.url, body, key=message.key, timeout=settings.timeout, headers=headers)
