"""``orderprobe shop`` against a real running shop: faults, reset, state, bad input, serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from orderprobe.cli import main as cli
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import running_shop


def active(demo: DemoShop) -> dict[str, dict]:
    return {f["name"]: f for f in demo.context.faults.snapshot()}


def test_fault_with_params_and_window(demo: DemoShop, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["shop", "fault", "api_5xx", "--param", "rate=0.5", "--param", "seed=3", "--seconds", "60"]
    assert cli([*argv, "--url", demo.url]) == 0
    fault = active(demo)["api_5xx"]
    assert fault["params"] == {"rate": 0.5, "seed": 3, "pages": False} and fault["seconds_left"] > 0
    assert json.loads(capsys.readouterr().out)["fault"]["name"] == "api_5xx"
    assert cli(["shop", "fault", "slow_route", "--param", "path=/pay", "--param", "ms=250", "--url", demo.url]) == 0
    assert active(demo)["slow_route"]["params"] == {"path": "/pay", "ms": 250}


def test_clear_one_or_all(demo: DemoShop) -> None:
    demo.set_fault("payment_down")
    demo.set_fault("sms_delay", ms=5)
    assert cli(["shop", "fault", "--clear", "payment_down", "--url", demo.url]) == 0
    assert set(active(demo)) == {"sms_delay"}
    assert cli(["shop", "fault", "--clear", "--url", demo.url]) == 0
    assert active(demo) == {}


def test_reset_and_state(demo: DemoShop, capsys: pytest.CaptureFixture[str]) -> None:
    demo.state.stock["FS-001"] = 0
    demo.set_fault("payment_down")
    assert cli(["shop", "reset", "--url", demo.url]) == 0
    assert demo.state.stock["FS-001"] == 3 and active(demo) == {}
    capsys.readouterr()
    assert cli(["shop", "state", "--url", demo.url]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["payment_url"] == demo.payment_url and "payment_down" in state["known_faults"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["shop", "fault", "meteor_strike"], "unknown fault 'meteor_strike'"),
        (["shop", "fault", "payment_slow", "--param", "ms"], "expected K=V"),
        (["shop", "fault", "payment_slow", "--param", "ms=soon"], "ms"),
        (["shop", "fault", "payment_down", "--seconds", "-3"], "seconds"),
        (["shop", "fault"], "give a fault NAME"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    demo: DemoShop, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli([*argv, "--url", demo.url]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert active(demo) == {}


def test_unreachable_shop_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with running_shop() as gone:
        url = gone.url
    assert cli(["shop", "state", "--url", url]) == 1
    assert "cannot reach the demo shop" in capsys.readouterr().err


def test_serve_prints_both_urls_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "orderprobe", "shop", "--port", "0", "--payment-port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        shop_line, pay_line = proc.stdout.readline(), proc.stdout.readline()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in shop_line and "http://pay.localhost:" in pay_line
        url = shop_line.split()[-1]
        assert cli(["shop", "state", "--url", url]) == 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def test_serve_on_a_busy_port_is_a_clear_error(demo: DemoShop) -> None:
    argv = [sys.executable, "-m", "orderprobe", "shop", "--port", str(demo.port), "--payment-port", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{demo.port}" in done.stderr and "Traceback" not in done.stderr
