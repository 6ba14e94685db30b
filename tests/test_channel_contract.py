"""The contract every alert channel kind keeps, run over every kind the ``orderprobe.channels``
entry-point group registers: configured from a schedule file, it delivers to a real local
receiver (HTTP server or SMTP server on loopback), fails with a redacted ``ChannelError``, and
a bad setting is refused with file, line and field. A new kind adds its receiver to
``POINT_AT``; a kind without one fails ``test_every_registered_kind_is_under_contract``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orderprobe.scheduler import channels, config
from orderprobe.scheduler.channels import ChannelError
from orderprobe.scheduler.channels.registry import GROUP
from tests.support.receivers import SMTPSink, WebhookReceiver
from tests.test_alert_channels import _alert

SECRET = "contract-secret-不要外传"
TOKEN = "tok-9f8e7d6c"  # a webhook URL's own secret part


@dataclass
class Receivers:
    http: WebhookReceiver
    smtp: SMTPSink

    def said(self) -> str:
        """Everything that arrived, as text: JSON bodies decoded, mail subjects and bodies."""
        parts = [json.dumps(r.json(), ensure_ascii=False) for r in self.http.requests]
        for _sender, _to, message in self.smtp.messages:
            parts += [str(message["Subject"]), message.get_content()]
        return "\n".join(parts)

    def arrived(self) -> int:
        return len(self.http.requests) + len(self.smtp.messages)


# kind → (its settings besides `type`, the environment they read), pointed at the receivers
Point = Callable[[Receivers, int | None], tuple[dict, dict[str, str]]]


def _http(path: str) -> Point:
    def point(r: Receivers, dead: int | None) -> tuple[dict, dict[str, str]]:
        url = f"http://127.0.0.1:{dead}{path}/{TOKEN}" if dead else r.http.url(f"{path}/{TOKEN}")
        return {"url_env": "OP_URL", "secret_env": "OP_SECRET"}, {"OP_URL": url, "OP_SECRET": SECRET}

    return point


def _mail(r: Receivers, dead: int | None) -> tuple[dict, dict[str, str]]:
    settings = {"port": dead or r.smtp.port, "sender": "probes@example.com", "to": ["oncall@example.com"]}
    return {**settings, "password_env": "OP_PASSWORD"}, {"OP_PASSWORD": SECRET}


POINT_AT: dict[str, Point] = {
    "webhook": _http("/hook"),
    "feishu": _http("/open-apis/bot/v2/hook"),
    "lark": _http("/open-apis/bot/v2/hook"),
    "dingtalk": _http("/robot/send"),
    "wecom": _http("/cgi-bin/webhook/send"),
    "slack": _http("/services/T0/B0"),
    "email": _mail,
}
KINDS = sorted(channels.kinds())


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    r = Receivers(WebhookReceiver().start(), SMTPSink().start())
    yield r
    r.http.stop()
    r.smtp.stop()


def _schedule(kind: str, settings: dict) -> str:
    lines = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in settings.items())
    return f"channels:\n  c:\n    type: {kind}\n{lines}jobs:\n  - {{id: j, every: 5m, command: [run]}}\n"


def _channel(kind: str, r: Receivers, dead: int | None = None) -> channels.Channel:
    settings, environ = POINT_AT[kind](r, dead)
    schedule = config.parse(_schedule(kind, settings), "contract.yaml", environ)  # the service's own path
    return channels.build(dict(schedule.channels), environ)["c"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_registered_kind_is_under_contract() -> None:
    assert set(KINDS) == set(POINT_AT)
    assert {"webhook", "feishu", "lark", "dingtalk", "wecom", "slack", "email"} <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_delivers_what_went_wrong_and_what_recovered(kind: str, receivers: Receivers) -> None:
    channel = _channel(kind, receivers)
    channel.send(_alert())
    opened = receivers.said()
    channel.send(_alert("resolve"))
    assert receivers.arrived() == 2
    for needed in ("smoke", "payment/gateway_down", "pay"):  # job, cause, step
        assert needed in opened, (needed, opened[:500])
    resolved = receivers.said().removeprefix(opened)
    assert "smoke" in resolved and ("Resolved" in resolved or "resolve" in resolved), resolved[:500]
    assert SECRET not in receivers.said() and TOKEN not in receivers.said()


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_receiver_is_a_redacted_channel_error(kind: str, receivers: Receivers) -> None:
    dead = _closed_port()
    channel = _channel(kind, receivers, dead)
    with pytest.raises(ChannelError) as caught:
        channel.send(_alert())
    assert SECRET not in str(caught.value) and TOKEN not in str(caught.value), caught.value
    _settings, environ = POINT_AT[kind](receivers, dead)
    logged = channel.redact(" ".join(environ.values()))
    assert SECRET not in logged and TOKEN not in logged, logged


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_setting_is_refused_with_file_line_and_field(kind: str, receivers: Receivers) -> None:
    settings, environ = POINT_AT[kind](receivers, None)
    text = _schedule(kind, {**settings, "timeout": "soon"})  # line 4 + len(settings)
    with pytest.raises(config.ScheduleError) as caught:
        config.parse(text, "bad.yaml", environ)
    assert f"bad.yaml:{4 + len(settings)}: channels.c.timeout: not a duration" in str(caught.value)
    text = _schedule(kind, {**settings, "colour": "red"})
    with pytest.raises(config.ScheduleError) as caught:
        config.parse(text, "bad.yaml", environ)
    assert f"bad.yaml:{4 + len(settings)}: channels.c.colour: unknown field 'colour'" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_with_none_of_its_variables_set_it_is_disabled_with_a_warning(kind: str, receivers: Receivers) -> None:
    settings, environ = POINT_AT[kind](receivers, None)
    schedule = config.parse(_schedule(kind, settings), "unset.yaml", {})
    assert schedule.channels == {}
    assert schedule.warnings == (
        f"unset.yaml:2: channels.c: disabled, {', '.join(environ)} {'are' if len(environ) > 1 else 'is'} not set",
    )


PLUGIN = """
from typing import Literal

import httpx

from orderprobe.scheduler.channels.base import Channel, ChannelError, ChannelSettings


class AcmeSettings(ChannelSettings):
    type: Literal["acme"]
    url_env: str
    room: str


class AcmeChannel(Channel[AcmeSettings]):
    Settings = AcmeSettings

    def send(self, alert):
        response = httpx.post(self.env["url_env"], json={"room": self.config.room, "said": alert.title})
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}")


NotAChannel = dict
"""

USE = """
import sys
from orderprobe.scheduler import channels, config
from orderprobe.scheduler.alert import Alert
schedule = config.parse(sys.stdin.read(), "acme.yaml", {"ACME_URL": sys.argv[1]})
channels.build(dict(schedule.channels), {"ACME_URL": sys.argv[1]})["a"].send(Alert.model_validate_json(sys.argv[2]))
"""


def _install(site: Path, entry: str) -> None:
    """A third-party distribution on the path: a module and its dist-info, as pip leaves them."""
    (site / "acme_alerts.py").write_text(PLUGIN)
    info = site / "acme_alerts-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-alerts\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entry}\n")


def _run(site: Path, schedule: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", USE, *args], input=schedule, capture_output=True, text=True, env=env, check=False
    )


def test_a_third_party_kind_is_found_through_the_entry_point_group(tmp_path: Path, receivers: Receivers) -> None:
    _install(tmp_path, "acme = acme_alerts:AcmeChannel")
    alert = _alert().model_dump_json()
    good = "channels:\n  a: {type: acme, url_env: ACME_URL, room: ops}\njobs:\n  - {id: j, every: 5m, command: [x]}\n"
    done = _run(tmp_path, good, receivers.http.url("/acme"), alert)
    assert done.returncode == 0, done.stderr
    assert receivers.http.on("/acme")[0].json() == {"room": "ops", "said": _alert().title}
    bad = _run(tmp_path, good.replace(", room: ops", ""), receivers.http.url("/acme"), alert)
    assert "acme.yaml:2: channels.a.room: required field is missing" in bad.stderr


def test_an_entry_point_that_is_not_a_channel_is_named(tmp_path: Path) -> None:
    _install(tmp_path, "acme = acme_alerts:NotAChannel")
    done = _run(tmp_path, "jobs: []\n", "http://127.0.0.1:9/", "{}")
    assert done.returncode != 0
    assert "entry point acme = acme_alerts:NotAChannel (orderprobe.channels, from acme-alerts)" in done.stderr
    assert "not a subclass of orderprobe.scheduler.channels.Channel" in done.stderr
