"""企业微信 (WeCom) and 钉钉 (DingTalk) group robots: markdown posted to a webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import dataclass

from server.channels import Message, SendError
from server.channels.http import post_json


@dataclass(frozen=True)
class RobotSettings:
    webhook: str
    secret: str = ""  # DingTalk's 加签 secret; WeCom robots have none
    timeout: float = 10.0


def markdown(message: Message) -> str:
    text = f"**{message.subject}**\n\n{message.text}"
    return f"{text}\n\n[{message.url}]({message.url})" if message.url else text


def _check_answer(answer) -> None:
    # Both robots answer 200 with {"errcode": 0, ...} on success, another errcode otherwise.
    if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
        raise SendError(f"robot refused: {answer!r}")


def send_wecom(settings: RobotSettings, message: Message) -> None:
    """Markdown mentioning the recipient's WeCom user id (``<@userid>``), when there is one."""
    content = markdown(message)
    if message.recipient:
        content = f"{content}\n\n<@{message.recipient}>"
    answer = post_json(settings.webhook, {"msgtype": "markdown", "markdown": {"content": content}},
                       key=message.key, timeout=settings.timeout)
    _check_answer(answer)


def dingtalk_signed_url(webhook: str, secret: str, now_ms: int | None = None) -> str:
    """The webhook with DingTalk's ``timestamp`` and ``sign`` query parameters.

    sign = base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), URL-encoded;
    DingTalk refuses a signature more than an hour old, so it is made for each attempt.
    """
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))
    separator = "&" if "?" in webhook else "?"
    return f"{webhook}{separator}timestamp={timestamp}&sign={sign}"


def send_dingtalk(settings: RobotSettings, message: Message) -> None:
    """Markdown that @-mentions the recipient's mobile number, when there is one."""
    url = (dingtalk_signed_url(settings.webhook, settings.secret) if settings.secret
           else settings.webhook)
    text = markdown(message)
    body = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text}}
    if message.recipient:
        body["markdown"]["text"] = f"{text}\n\n@{message.recipient}"
        body["at"] = {"atMobiles": [message.recipient], "isAtAll": False}
    _check_answer(post_json(url, body, key=message.key, timeout=settings.timeout))
