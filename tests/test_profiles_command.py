"""`orderprobe profiles list | show | validate` through the real console script and the CLI entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orderprobe.cli import main as cli

ORDERPROBE = str(Path(sys.executable).with_name("orderprobe"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    full_env.pop("ORDERPROBE_PROFILES", None)
    return subprocess.run([ORDERPROBE, "profiles", *args], capture_output=True, text=True, env=full_env, timeout=120)


def test_list_shows_every_kind_as_a_table() -> None:
    out = run("list")
    assert out.returncode == 0, out.stderr
    for title in ("设备 Devices", "网络 Networks", "地区 Regions", "账号 Accounts", "矩阵 Matrices"):
        assert title in out.stdout
    for name in ("android-4.4", "metro-weak", "public-wifi-dns-polluted", "urumqi", "teen", "presale"):
        assert f"│ {name} " in out.stdout  # a table cell, not just a mention
    assert "新疆维吾尔自治区乌鲁木齐市天山区" in out.stdout
    assert "1638.4" in out.stdout and "2–5 s / 20–40 s" in out.stdout


def test_list_one_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["profiles", "list", "networks"]) == 0
    out = capsys.readouterr().out
    assert "metro-weak" in out and "iphone-15" not in out


def test_show_account_names_env_vars_never_values() -> None:
    out = run("show", "traveller", env={"ORDERPROBE_DEMO_PASSWORD": "pw-should-not-leak"})
    assert out.returncode == 0, out.stderr
    assert "ORDERPROBE_DEMO_PASSWORD (set)" in out.stdout and "ORDERPROBE_DEMO_SMS_CODE" in out.stdout
    assert "pw-should-not-leak" not in out.stdout + out.stderr
    assert "accounts/traveller" in out.stdout and "accounts.yaml:" in out.stdout


def test_show_matrix_lists_its_items(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert cli(["profiles", "show", "matrices/presale"]) == 0
    out = capsys.readouterr().out
    assert "android-4.4/3g/dancheng/normal" in out and "blocked (compatibility)" in out
    assert "offline 3 s at start of 'pay'" in out


def test_show_unknown_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["profiles", "show", "nokia-3310"]) == 2
    assert "nothing named 'nokia-3310'" in capsys.readouterr().err


def test_bad_user_folder_stops_list_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "networks.yaml").write_text("networks:\n  - {name: x, rtt_ms: -5, down_kbps: 1, up_kbps: 1}\n")
    out = run("--profiles", str(tmp_path), "list")
    assert out.returncode == 2
    assert (
        f"{tmp_path / 'networks.yaml'}:2: networks[0].rtt_ms: Input should be greater than or equal to 0" in out.stderr
    )
    assert "Traceback" not in out.stderr


def test_validate_builtins() -> None:
    out = run("validate")
    assert out.returncode == 0 and "7 devices" in out.stdout and "6 matrices" in out.stdout
