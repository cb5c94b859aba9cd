"""Each channel's sender against a local receiver: what arrives, and how failures are told."""

import base64
import hashlib
import hmac
import urllib.parse
from email.header import decode_header, make_header

import pytest
from notify_receivers import HttpReceiver, Script, SmtpReceiver, free_port

from server.channels import IDEMPOTENCY_HEADER, Message, SendError
from server.channels.email import SmtpSettings, message_id, send_email
from server.channels.robots import RobotSettings, dingtalk_signed_url, send_dingtalk, send_wecom
from server.channels.sms import SmsSettings, send_sms

MESSAGE = Message(recipient="", subject="已退回：安全生产进展, 2026年第二季度",
                  text="chidian-hz 退回了报告：第3项 \"数字\" 有误", url="http://tb.local/reports/x",
                  key="sms:13800000001:cd:VA1:2026Q2:report-returned:7")


def with_recipient(recipient: str) -> Message:
    return Message(recipient, MESSAGE.subject, MESSAGE.text, MESSAGE.url, MESSAGE.key)


def test_email_arrives_with_subject_link_and_a_stable_message_id():
    with SmtpReceiver() as smtp:
        settings = SmtpSettings(host="127.0.0.1", port=smtp.port, sender="tianbao@gov.test",
                                timeout=5)
        send_email(settings, with_recipient("va1@example.test"))
        assert len(smtp.messages) == 1
        received = smtp.messages[0]
        assert smtp.handler.envelopes[0] == ("tianbao@gov.test", ["va1@example.test"])
    assert str(make_header(decode_header(received["Subject"]))) == MESSAGE.subject
    body = received.get_payload(decode=True).decode("utf-8")
    assert MESSAGE.text in body and MESSAGE.url in body
    assert received["Message-ID"] == message_id(MESSAGE.key, "tianbao@gov.test")
    assert received[IDEMPOTENCY_HEADER] == MESSAGE.key


def test_email_to_a_server_that_is_not_there_is_a_retryable_failure():
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    with pytest.raises(SendError) as failure:
        send_email(settings, with_recipient("va1@example.test"))
    assert not failure.value.permanent


def test_email_without_an_address_is_a_permanent_failure():
    with pytest.raises(SendError) as failure:
        send_email(SmtpSettings(host="127.0.0.1", port=1), with_recipient("13800000001"))
    assert failure.value.permanent


def test_wecom_robot_gets_markdown_mentioning_the_user():
    with HttpReceiver() as robot:
        send_wecom(RobotSettings(robot.url, timeout=5), with_recipient("ZhangSan"))
    [request] = robot.accepted
    assert request.body["msgtype"] == "markdown"
    content = request.body["markdown"]["content"]
    assert MESSAGE.subject in content and MESSAGE.text in content and MESSAGE.url in content
    assert "<@ZhangSan>" in content
    assert request.key == MESSAGE.key


def test_dingtalk_robot_gets_signed_markdown_that_mentions_the_mobile():
    secret = "SEC0123456789abcdef"
    with HttpReceiver() as robot:
        send_dingtalk(RobotSettings(robot.url, secret=secret, timeout=5),
                      with_recipient("13800000001"))
    [request] = robot.accepted
    timestamp = request.query["timestamp"][0]
    # What DingTalk checks: base64(HMAC-SHA256(secret, "timestamp\nsecret")).
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert request.query["sign"] == [expected]
    assert request.body["msgtype"] == "markdown"
    assert request.body["markdown"]["title"] == MESSAGE.subject
    assert MESSAGE.url in request.body["markdown"]["text"]
    assert request.body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}


def test_dingtalk_signature_is_url_encoded():
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", "s", 1000)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["timestamp"] == ["1000"] and query["access_token"] == ["T"]
    assert "+" not in url.split("sign=")[1] and "/" not in url.split("sign=")[1]


def test_a_robot_answering_an_error_code_is_a_failure():
    refusing = HttpReceiver(Script(answer={"errcode": 310000, "errmsg": "sign not match"}))
    with refusing as robot, pytest.raises(SendError):
        send_dingtalk(RobotSettings(robot.url, secret="x", timeout=5),
                      with_recipient("13800000001"))


def test_sms_gateway_gets_the_filled_template_and_the_auth_header():
    template = '{"to": "{mobile}", "content": "{text}", "meta": {"ref": "{key}"}, "sign": "TB"}'
    with HttpReceiver() as gateway:
        send_sms(SmsSettings(gateway.url, body=template, auth_header="X-Api-Key: k-123",
                             timeout=5), with_recipient("13800000001"))
    [request] = gateway.accepted
    assert request.headers["X-Api-Key"] == "k-123"
    assert request.body["to"] == "13800000001" and request.body["sign"] == "TB"
    # The quotes in the text stay inside valid JSON.
    assert MESSAGE.text in request.body["content"] and MESSAGE.url in request.body["content"]
    assert request.body["meta"] == {"ref": MESSAGE.key}


@pytest.mark.parametrize(("script", "permanent"), [
    (Script(failures=1, status=500), False),
    (Script(failures=1, status=503), False),
    (Script(failures=1, status=429), False),
    (Script(failures=1, status=400), True),
    (Script(failures=1, status=401), True),
])
def test_http_errors_say_whether_to_try_again(script, permanent):
    with HttpReceiver(script) as gateway, pytest.raises(SendError) as failure:
        send_sms(SmsSettings(gateway.url, timeout=5), with_recipient("13800000001"))
    assert failure.value.permanent is permanent
    assert gateway.accepted == []


def test_a_refused_connection_and_a_time_out_are_retryable():
    with pytest.raises(SendError) as refused:
        send_wecom(RobotSettings(f"http://127.0.0.1:{free_port()}/hook", timeout=2),
                   with_recipient("u"))
    assert not refused.value.permanent
    with HttpReceiver(Script(delay=1.5)) as slow, pytest.raises(SendError) as timed_out:
        send_wecom(RobotSettings(slow.url, timeout=0.3), with_recipient("u"))
    assert not timed_out.value.permanent
