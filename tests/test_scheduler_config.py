"""Schedule files: good ones load into frozen models; bad ones are refused with file, line and field."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orderprobe.scheduler.config import ScheduleError, load, parse

GOOD = """\
agent: sh_1
channels:
  oncall:
    type: dingtalk
    url_env: OP_DING_URL
    secret_env: OP_DING_SECRET
  qa: {type: wecom, url_env: OP_WECOM_URL}
jobs:
  - id: smoke
    matrix: smoke
    every: 5m
    timeout: 4m
    labels: {location: shanghai}
    alert: {channels: [oncall], low_urgency: [qa], remind_every: 1h}
  - id: night
    probes: [checkout_basic]
    profile: {device: android-old, network: metro}
    cron: "*/10 8-23 * * *"
    timezone: Asia/Urumqi
"""


def test_a_good_file_loads_with_durations_in_seconds_and_defaults() -> None:
    config = parse(GOOD, "good.yaml")
    smoke, night = config.jobs
    assert (smoke.every, smoke.timeout, smoke.alert.remind_every) == (300, 240, 3600)
    assert smoke.alert.open_after == 2 and smoke.alert.resolve_after == 2  # the defaults
    assert night.cron == "*/10 8-23 * * *" and night.every is None
    assert config.channels["oncall"].type == "dingtalk"
    assert config.metrics.host == "127.0.0.1"  # loopback unless asked
    # a monitor retries once, and only the retry records a Playwright trace
    assert (smoke.retries, smoke.tracing) == (1, "on-first-retry")
    assert smoke.screenshots == "failure"  # as `orderprobe run`: a screenshot at the failure point only
    with pytest.raises(ValueError):
        smoke.every = 1  # frozen


def _error(text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ScheduleError) as caught:
        parse(text, "bad.yaml", environ)
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    every: 5m\n    timeout: 4m",
            "    every: 5 minutes\n    timeout: 4m",
            "bad.yaml:11: jobs[0].every: not a duration",
        ),
        ("    timeout: 4m", "    timeout: 0s", "bad.yaml:12: jobs[0].timeout: Input should be greater than 0"),
        ("remind_every: 1h}", "remind_every: 1h, open_after: 0}", "bad.yaml:14: jobs[0].alert.open_after:"),
        ("channels: [oncall]", "channels: [oncal]", "bad.yaml:14: jobs[0].alert.channels[0]: unknown channel 'oncal'"),
        ("type: dingtalk", "type: dingding", "bad.yaml:3: channels.oncall: Input tag 'dingding'"),
        ('cron: "*/10 8-23 * * *"', 'cron: "*/10 8-25 * * *"', "bad.yaml:18: jobs[1].cron:"),
        ("timezone: Asia/Urumqi", "timezone: Mars/Olympus", "bad.yaml:19: jobs[1].timezone: unknown time zone"),
        (
            "    matrix: smoke\n",
            "    matrix: smoke\n    colour: red\n",
            "bad.yaml:11: jobs[0].colour: unknown field",
        ),
        ("  - id: night", "  - id: smoke", "bad.yaml:8: jobs: job id 'smoke' is used twice"),
        ("    every: 5m\n", "", "bad.yaml:9: jobs[0]: give exactly one trigger"),
        ("    timeout: 4m", "    timeout: 4m\n    tracing: all", "bad.yaml:13: jobs[0].tracing: unknown tracing mode"),
        ("    timeout: 4m", "    timeout: 4m\n    screenshots: all", "bad.yaml:13: jobs[0].screenshots: Input"),
        ("    timeout: 4m", "    timeout: 4m\n    retries: 9", "bad.yaml:13: jobs[0].retries: Input should be less"),
        (
            "remind_every: 1h}",
            "remind_every: 1h, quorum: 0}",
            "bad.yaml:14: jobs[0].alert.quorum: a quorum is at least 1",
        ),
        (
            "remind_every: 1h}",
            "remind_every: 1h, quorum: 150%}",
            "bad.yaml:14: jobs[0].alert.quorum: not a quorum",
        ),
        (
            "remind_every: 1h}",
            "remind_every: 1h, escalate_to: [qa]}",
            "bad.yaml:14: jobs[0].alert: `escalate_to` needs",
        ),
        (
            "remind_every: 1h}",
            "remind_every: 1h, escalate_after: 15m, escalate_to: [qq]}",
            "bad.yaml:14: jobs[0].alert.escalate_to[0]: unknown channel 'qq'",
        ),
    ],
)
def test_bad_files_are_refused_with_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert expected in _error(GOOD.replace(old, new, 1))


def test_a_quorum_is_a_count_or_a_share_of_the_locations_that_ran_the_job() -> None:
    from orderprobe.scheduler.config import AlertRule

    assert [AlertRule(quorum=2).needed(n) for n in (1, 3)] == [2, 2]
    assert [AlertRule(quorum="50%").needed(n) for n in (1, 2, 3, 4)] == [1, 1, 2, 2]
    assert AlertRule(quorum=" 100 % ").quorum == "100%" and AlertRule(quorum="3").quorum == 3
    assert AlertRule().needed(5) == 1


def test_every_problem_is_listed_in_line_order() -> None:
    text = GOOD.replace("every: 5m", "every: soon").replace("timezone: Asia/Urumqi", "timezone: Nowhere")
    lines = _error(text).splitlines()
    assert [line.split(":")[1] for line in lines] == ["11", "19"]


def test_a_half_configured_channel_is_refused_only_when_the_service_needs_it() -> None:
    parse(GOOD, "good.yaml")  # `list` needs no secrets
    message = _error(GOOD, environ={"OP_DING_URL": "http://127.0.0.1:1/x"})
    assert message == "bad.yaml:6: channels.oncall.secret_env: environment variable OP_DING_SECRET is not set"
    assert "127.0.0.1:1" not in message  # values are never echoed


def test_a_channel_with_none_of_its_env_vars_set_is_disabled_with_one_warning() -> None:
    environ = {"OP_DING_URL": "http://127.0.0.1:1/x", "OP_DING_SECRET": "s"}
    config = parse(GOOD, "good.yaml", environ)
    assert set(config.channels) == {"oncall"}
    assert config.jobs[0].alert.channels == ("oncall",) and config.jobs[0].alert.low_urgency == ()
    assert config.warnings == (
        "good.yaml:7: channels.qa: disabled, OP_WECOM_URL is not set; alerts of smoke will not go there",
    )
    nothing_set = parse(GOOD, "good.yaml", {})
    assert nothing_set.channels == {} and len(nothing_set.warnings) == 2
    assert nothing_set.warnings[0].startswith("good.yaml:3: channels.oncall: disabled, OP_DING_URL, OP_DING_SECRET are")


def test_not_yaml_and_not_a_mapping() -> None:
    assert _error("jobs: [\n  - id: x\n").startswith("bad.yaml:2: invalid YAML")
    assert _error("- just\n- a list\n") == "bad.yaml:1: a schedule file is a mapping with `jobs:` (and `channels:`, …)"


def test_a_webhook_channel_without_url_env_is_refused() -> None:
    assert "bad.yaml:7: channels.qa: a webhook channel needs `url_env`" in _error(
        GOOD.replace(", url_env: OP_WECOM_URL", "")
    )


def test_the_shipped_example_is_valid_and_runs_with_no_secrets_set() -> None:
    example = Path(__file__).parents[1] / "scheduler" / "schedules.example.yaml"
    config = load(example)
    assert {j.id for j in config.jobs} == {"smoke", "metro-xinjiang", "north-china-pay"}
    unset = load(example, environ={})
    assert unset.channels == {} and [w.split(": ")[1] for w in unset.warnings] == [
        "channels.oncall-feishu", "channels.oncall-dingtalk", "channels.qa-wecom",
    ]  # fmt: skip


def test_without_config_the_command_falls_back_to_schedules_yaml_then_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderprobe.scheduler.command import EXAMPLE, config_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORDERPROBE_SCHEDULE", raising=False)
    assert config_path(None) == (EXAMPLE, True)
    (tmp_path / "schedules.yaml").write_text(GOOD, encoding="utf-8")
    assert config_path(None) == (Path("schedules.yaml"), False)
    monkeypatch.setenv("ORDERPROBE_SCHEDULE", "other.yaml")
    assert config_path(None) == (Path("other.yaml"), False)
    assert config_path("given.yaml") == (Path("given.yaml"), False)


def test_cli_refuses_a_bad_file_before_starting_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "schedules.yaml"
    bad.write_text(GOOD.replace("timeout: 4m", "timeout: forever"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "schedule", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{bad}:12: jobs[0].timeout: not a duration: 'forever'" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "orderprobe", "schedule", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "no schedule file" in missing.stderr


def test_cli_refuses_an_unusable_database_or_metrics_port_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text("database: 'nosuch://x'\njobs:\n  - {id: a, every: 1h, command: [x]}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "schedule", "--config", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2 and f"{path}: database: cannot open it" in done.stderr
    assert "Traceback" not in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path.write_text(f"database: 'sqlite:///{tmp_path / 'db'}'\njobs:\n  - {{id: a, every: 1h, command: [x]}}\n")
        done = subprocess.run(
            [sys.executable, "-m", "orderprobe", "schedule", "--config", str(path), "--metrics-port", str(port)],
            capture_output=True,
            text=True,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"metrics: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr


def test_matrix_and_profile_names_are_checked_against_the_catalogue_before_the_service_starts() -> None:
    from orderprobe.profiles.catalogue import load_catalogue

    catalogue = load_catalogue()
    text = GOOD.replace("matrix: smoke", "matrix: smok").replace("device: android-old", "device: android-mid")
    with pytest.raises(ScheduleError) as caught:
        parse(text.replace("network: metro}", "network: metro-weeak}"), "bad.yaml", catalogue=catalogue)
    message = str(caught.value)
    assert "bad.yaml:10: jobs[0].matrix: unknown matrix 'smok'; did you mean 'smoke'?" in message
    assert "bad.yaml:17: jobs[1].profile.network: unknown network 'metro-weeak'; did you mean 'metro-weak'?" in message
    parse(text.replace("matrix: smok", "matrix: smoke").replace("network: metro}", "network: metro-weak}"),
          "good.yaml", catalogue=catalogue)  # fmt: skip
    example = Path(__file__).parents[1] / "scheduler" / "schedules.example.yaml"
    load(example, catalogue=catalogue)


def test_a_job_passes_its_screenshot_mode_to_orderprobe_run(tmp_path: Path) -> None:
    from orderprobe.scheduler.service import Service

    text = GOOD.replace("    timeout: 4m", "    timeout: 4m\n    screenshots: 'on'", 1)
    config = parse(text.replace("agent: sh_1", f"agent: sh_1\nartefacts: {tmp_path / 'art'}"), "good.yaml")
    service = Service(config, database=f"sqlite:///{tmp_path / 'r.db'}")
    try:
        smoke, night = config.jobs
        argv = service.command(smoke, "run-1")
        assert argv[argv.index("--screenshots") + 1] == "on"
        argv = service.command(night, "run-2")
        assert argv[argv.index("--screenshots") + 1] == "failure"
        retried = parse(text.replace("    timeout: 4m", "    timeout: 4m\n    retries: 3", 1)).jobs[0]
        argv = service.command(retried, "run-3")  # the runner retries a failing journey within the run
        assert argv[argv.index("--retries") + 1] == "3" and argv.count("--retries") == 1
        tagged = parse(text.replace("    timeout: 4m", "    timeout: 4m\n    synthetic_header: X-Probe\n"
                                    "    user_agent_suffix: probe/1", 1)).jobs[0]  # fmt: skip
        argv = service.command(tagged, "run-4")
        assert argv[argv.index("--synthetic-header") + 1] == "X-Probe"
        assert argv[argv.index("--user-agent-suffix") + 1] == "probe/1"
    finally:
        service.store.close()
