"""Each alert channel's real payload format and signing, delivered to a real local receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from orderprobe.scheduler import channels, config
from orderprobe.scheduler.alert import Alert, Problem
from orderprobe.scheduler.channels import ChannelError, dingtalk, slack, smtp, webhook, wecom
from orderprobe.scheduler.channels.text import escape_markdown
from orderprobe.scheduler.notifier import Notifier
from tests.support.receivers import SMTPSink, WebhookReceiver

SECRET = "SECabc123-不要外传"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


def _alert(event: str = "open", kind: str = "checkout", urgency: str = "high") -> Alert:
    return Alert(
        event=event,
        kind=kind,
        urgency=urgency,
        incident_id=7,
        job="smoke",
        description="主路径冒烟",
        labels={"location": "shanghai"},
        first_failure_at=datetime(2026, 6, 18, 2, 0, 5, tzinfo=UTC),
        opened_at=datetime(2026, 6, 18, 2, 5, tzinfo=UTC),
        resolved_at=datetime(2026, 6, 18, 2, 20, 5, tzinfo=UTC) if event == "resolve" else None,
        bad_runs=2,
        run_id="smoke-20260618-020500-abc123",
        report="https://probes.example/runs/smoke-20260618-020500-abc123",
        problems=[
            Problem(
                probe="checkout_basic",
                profile="android-old/metro/xinjiang/normal",
                status="failed",
                step="pay",
                cause="payment/gateway_down",
                dependency="payment-gateway",
                summary="支付网关不可用 payment gateway down",
            )
        ],
    )


def _channel(kind: str, receiver: WebhookReceiver, path: str, secret: bool = True, **extra: object) -> channels.Channel:
    model = config.ScheduleConfig.model_validate(
        {
            "channels": {
                "c": {"type": kind, "url_env": "URL", **({"secret_env": "SECRET"} if secret else {}), **extra}
            },
            "jobs": [{"id": "j", "every": 60, "command": ["true"]}],
        }
    ).channels["c"]
    return channels.build({"c": model}, {"URL": receiver.url(path), "SECRET": SECRET})["c"]


def test_what_every_message_says() -> None:
    text = _alert().text()
    for needed in ("smoke", "pay", "payment/gateway_down", "payment-gateway", "android-old/metro/xinjiang/normal",
                   "2026-06-18 10:00:05 CST", "https://probes.example/runs/"):  # fmt: skip
        assert needed in text  # job, step, cause, profile, first failure (job's time zone), report
    resolved = _alert("resolve").text()
    assert "已恢复 Resolved" in resolved and "持续 Duration: 20m00s" in resolved


def test_generic_webhook_posts_the_alert_as_json_with_an_hmac_signature(receiver: WebhookReceiver) -> None:
    _channel("webhook", receiver, "/generic").send(_alert())
    (request,) = receiver.on("/generic")
    body = request.json()
    assert body["source"] == "orderprobe" and body["event"] == "open" and body["kind"] == "checkout"
    assert body["problems"][0]["step"] == "pay" and body["first_failure_at"] == "2026-06-18T02:00:05Z"
    stamp = request.headers["X-Orderprobe-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Orderprobe-Signature"] == f"sha256={expected}"


def test_every_message_of_every_channel_shares_one_tls_context(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a TLS context reads the whole CA bundle (20 ms of CPU): once per process, not per message."""
    built: list[object] = []
    create = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: built.append(1) or create(*a, **k))
    webhook._tls.cache_clear()
    try:
        for kind, path in (("webhook", "/a"), ("webhook", "/b"), ("slack", "/c")):
            _channel(kind, receiver, path).send(_alert())
    finally:
        webhook._tls.cache_clear()
    assert len(receiver.requests) == 3 and len(built) == 1


@pytest.mark.parametrize("msg_type", ["text", "post", "interactive"])
def test_feishu_payload_and_signature(receiver: WebhookReceiver, msg_type: str) -> None:
    before = int(time.time())
    _channel("feishu", receiver, "/feishu", msg_type=msg_type).send(_alert())
    body = receiver.on("/feishu")[0].json()
    assert body["msg_type"] == msg_type
    stamp = body["timestamp"]
    assert before <= int(stamp) <= int(time.time())  # seconds
    # Feishu: HMAC-SHA256 keyed with "timestamp\nsecret" over an empty message, base64.
    key = f"{stamp}\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    if msg_type == "text":
        assert "payment/gateway_down" in body["content"]["text"]
    elif msg_type == "post":
        post = body["content"]["post"]["zh_cn"]
        assert post["title"].startswith("🔴") and "smoke" in post["title"]
        tags = [item for line in post["content"] for item in line]
        assert {"tag": "a", "text": "查看报告 Open report", "href": _alert().report} in tags
        assert any("步骤 step「pay」" in item.get("text", "") for item in tags)
    else:
        card = body["card"]
        assert card["header"]["template"] == "red" and card["header"]["title"]["tag"] == "plain_text"
        assert card["elements"][0]["text"]["tag"] == "lark_md"
        assert "payment-gateway" in card["elements"][0]["text"]["content"]
        assert card["elements"][1]["actions"][0]["url"] == _alert().report


def test_feishu_without_secret_sends_no_signature(receiver: WebhookReceiver) -> None:
    _channel("lark", receiver, "/lark", secret=False).send(_alert("resolve"))
    body = receiver.on("/lark")[0].json()
    assert "sign" not in body and "timestamp" not in body
    assert body["card"]["header"]["template"] == "green"


def test_dingtalk_markdown_signed_in_the_query_string(receiver: WebhookReceiver) -> None:
    before = int(time.time() * 1000)
    channel = _channel("dingtalk", receiver, "/robot/send", at_mobiles=["13800000000"])
    channel.url += "?access_token=tok"  # DingTalk URLs carry a token already
    channel.send(_alert())
    (request,) = receiver.on("/robot/send")
    assert request.query["access_token"] == ["tok"]
    stamp = request.query["timestamp"][0]
    assert before <= int(stamp) <= int(time.time() * 1000)  # milliseconds
    digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert request.query["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undid the urlencoding
    body = request.json()
    assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("🔴")
    assert body["markdown"]["text"].startswith("### 🔴") and "\n\n" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert "@13800000000" in body["markdown"]["text"]  # DingTalk only notifies mentions present in the text


def test_dingtalk_sign_is_urlencoded_on_the_wire() -> None:
    settings = dingtalk.DingTalkSettings(type="dingtalk", url_env="U", secret_env="S")
    channel = dingtalk.DingTalkChannel("d", settings, {"U": "http://x/send", "S": SECRET})
    url = channel.target(1_750_000_000.123)
    stamp = "1750000000123"
    digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert url == f"http://x/send?timestamp={stamp}&sign={urllib.parse.quote_plus(base64.b64encode(digest))}"


def test_low_urgency_dingtalk_mentions_nobody(receiver: WebhookReceiver) -> None:
    _channel("dingtalk", receiver, "/d", at_mobiles=["13800000000"]).send(_alert(kind="flaky", urgency="low"))
    body = receiver.on("/d")[0].json()
    assert body["at"]["atMobiles"] == [] and "@138" not in body["markdown"]["text"]


def test_wecom_markdown(receiver: WebhookReceiver) -> None:
    _channel("wecom", receiver, "/cgi-bin/webhook/send", secret=False).send(_alert("remind"))
    body = receiver.on("/cgi-bin/webhook/send")[0].json()
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith('## <font color="warning">⏰ 仍未恢复 Still open')
    assert "**首次失败 First failure**" in content and len(content.encode()) <= 4096


def test_slack_text_and_blocks(receiver: WebhookReceiver) -> None:
    _channel("slack", receiver, "/services/T/B/X", secret=False).send(_alert())
    body = receiver.on("/services/T/B/X")[0].json()
    assert body["text"] == _alert().title  # the notification fallback
    header, facts, problems = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": _alert().title, "emoji": True}}
    assert facts["type"] == "section" and all(f["type"] == "mrkdwn" for f in facts["fields"])
    assert len(facts["fields"]) <= 10 and facts["fields"][0]["text"].startswith("*任务 Job*\n")
    assert "payment/gateway_down" in problems["text"]["text"]


def test_email_over_a_real_smtp_server() -> None:
    sink = SMTPSink().start()
    try:
        model = smtp.EmailSettings(
            type="email", port=sink.port, sender="probes@example.com", to=("oncall@example.com",)
        )
        smtp.EmailChannel("mail", model, {}).send(_alert())
        ((sender, rcpts, message),) = sink.wait_for(1)
    finally:
        sink.stop()
    assert sender == "probes@example.com" and rcpts == ["oncall@example.com"]
    assert message["Subject"] == _alert().title  # decoded from RFC 2047 by the email package
    assert message["X-Orderprobe-Incident"] == "smoke/checkout/7"
    assert "payment/gateway_down" in message.get_payload(decode=True).decode()


REFUSALS = [("/feishu", {"code": 19021, "msg": "sign match fail"}), ("/dingtalk", {"errcode": 310000, "errmsg": "x"})]


@pytest.mark.parametrize(("path", "reply"), REFUSALS)
def test_a_bot_that_answers_200_with_an_error_code_is_a_failure(path: str, reply: dict) -> None:
    receiver = WebhookReceiver(reply={path: (200, reply)}).start()
    try:
        kind = "feishu" if path == "/feishu" else "dingtalk"
        with pytest.raises(ChannelError, match="bot refused"):
            _channel(kind, receiver, path).send(_alert())
    finally:
        receiver.stop()


def test_retries_with_back_off_then_delivers(caplog: pytest.LogCaptureFixture) -> None:
    receiver = WebhookReceiver(fail_first=2).start()
    try:
        channel = _channel("wecom", receiver, "/w", secret=False, retries=3, backoff=0.05)
        notifier = Notifier({"c": channel})
        with caplog.at_level(logging.INFO, "orderprobe.scheduler"):
            notifier.notify(_alert(), ["c"])
            assert notifier.drain(60)
        notifier.close()
    finally:
        receiver.stop()
    assert len(receiver.on("/w")) == 1
    retries = [r.getMessage() for r in caplog.records if "retry in" in r.getMessage()]
    assert retries == [
        "alert via c failed (HTTP 500); retry in 0.05s",
        "alert via c failed (HTTP 500); retry in 0.10s",  # doubling
    ]


def test_a_dead_channel_is_logged_redacted_and_does_not_hold_up_the_others(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    dead_url = "http://127.0.0.1:9/very-secret-token-xyz"  # discard port: connection refused
    dead = channels.build(
        {"dead": wecom.WeComSettings(type="wecom", url_env="DEAD", retries=2, backoff=0.05)}, {"DEAD": dead_url}
    )["dead"]
    alive_channel = _channel("wecom", receiver, "/alive", secret=False)
    results: list[tuple[str, bool]] = []
    notifier = Notifier({"dead": dead, "alive": alive_channel}, on_result=lambda name, ok: results.append((name, ok)))
    with caplog.at_level(logging.DEBUG, "orderprobe.scheduler"):
        notifier.notify(_alert(), ["dead", "alive"])  # returns at once: delivery is on worker threads
        receiver.wait_for(lambda r: len(r) == 1)
        assert notifier.drain(60)
    notifier.close()
    assert sorted(results) == [("c", True), ("dead", False)]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "dropped after 3 attempts" in logged
    assert "very-secret-token-xyz" not in logged and "127.0.0.1:9" not in logged


HOSTILE = "[点我领券 claim coupon](http://evil.example/phish) <script>alert(1)</script> **urgent** _now_\n# heading"
MD_LINK = re.compile(r"\[[^\]\n]*\]\s*\([^)\n]*\)")


def _hostile_alert() -> Alert:
    alert = _alert()
    problem = alert.problems[0].model_copy(update={"summary": HOSTILE, "step": "pay](http://evil.example/x)"})
    return alert.model_copy(update={"problems": [problem], "error": "<!channel> & <http://evil.example|ok>"})


@pytest.mark.parametrize(
    "kind, path, extra",
    [
        ("feishu", "/f", {"msg_type": "interactive"}),
        ("feishu", "/ft", {"msg_type": "text"}),
        ("dingtalk", "/d", {}),
        ("wecom", "/w", {}),
    ],
)
def test_page_text_cannot_inject_markup_into_markdown_channels(receiver, kind, path, extra) -> None:
    _channel(kind, receiver, path, secret=False, **extra).send(_hostile_alert())
    body = receiver.on(path)[0].json()
    text = (
        body.get("markdown", {}).get("text")
        or body.get("markdown", {}).get("content")
        or body.get("content", {}).get("text")
        or body["card"]["elements"][0]["text"]["content"]
    )
    assert "点我领券" in text and "evil.example" in text  # still said, as text
    assert "<script>" not in text and "<!channel>" not in text and "<http" not in text  # no tags (<at>, <font>)
    if kind != "feishu" or extra["msg_type"] != "text":  # markdown: no link, emphasis or heading from the page
        assert not MD_LINK.search(text), text
        assert "**urgent**" not in text and "_now_" not in text and "\n# heading" not in text
        assert "payment/gateway_down" in text  # an underscore inside a word is left alone


def test_slack_gets_ampersand_and_angle_brackets_as_entities(receiver) -> None:
    _channel("slack", receiver, "/s", secret=False).send(_hostile_alert())
    body = receiver.on("/s")[0].json()
    mrkdwn = [body["text"]] + [
        part["text"]
        for block in body["blocks"]
        if block["type"] == "section"
        for part in [*block.get("fields", []), *([block["text"]] if "text" in block else [])]
    ]
    joined = "\n".join(mrkdwn)
    assert "&lt;script&gt;" in joined and "&lt;!channel&gt; &amp;" in joined
    for text in mrkdwn:
        assert "<" not in text and ">" not in text and "& " not in text, text


def _huge_alert(size: int = 4_000_000) -> Alert:
    """A page's text of megabytes (a runaway page, a dumped JSON) in the summary and the error."""
    alert = _alert()
    page = ("商品已售罄 sold out & <b>x</b> " * (size // 40))[:size]
    problem = alert.problems[0].model_copy(update={"summary": page})
    return alert.model_copy(update={"problems": [problem] * 3, "error": page})


@pytest.mark.parametrize(
    "kind, extra",
    [("feishu", {"msg_type": "interactive"}), ("feishu", {"msg_type": "text"}), ("feishu", {"msg_type": "post"}),
     ("dingtalk", {}), ("wecom", {}), ("slack", {})],
)  # fmt: skip
def test_megabytes_of_page_text_are_cut_to_each_bots_limits(receiver: WebhookReceiver, kind: str, extra) -> None:
    channel = _channel(kind, receiver, "/x", secret=False, **extra)
    alert = _huge_alert()
    body = channel.payload(alert, 1_750_000_000.0)
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if kind == "wecom":
        content = body["markdown"]["content"]
        assert len(content.encode()) <= wecom.MAX_BYTES and content.endswith("…")
        assert content.startswith(f'## <font color="warning">{escape_markdown(alert.title)}</font>')
    elif kind == "slack":
        fields = [f["text"] for b in body["blocks"] for f in b.get("fields", [])]
        texts = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b]
        assert fields and all(len(f) <= slack.FIELD for f in fields)
        assert texts and all(len(t) <= slack.SECTION for t in texts)
        assert len(body["text"]) <= slack.SECTION
        assert all(not re.search(r"&[a-z]*…$", t) for t in [*fields, *texts])  # never half an entity
    else:
        assert size <= 20_000, size  # Feishu and DingTalk refuse bodies over 20 KB
    said = json.dumps(body, ensure_ascii=False)
    assert "Checkout failing · smoke" in said and "商品已售罄" in said  # what matters is still said
