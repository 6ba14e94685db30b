"""Bad profile data is refused before any browser starts, naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderprobe.cli import main as cli
from orderprobe.profiles.catalogue import ProfileError, load_catalogue

GOOD_DEVICE = """\
devices:
  - name: phone-a
    viewport: {width: 390, height: 800}
    device_scale_factor: 3
    is_mobile: true
    has_touch: true
    user_agent: "Mozilla/5.0 (Linux; Android 14; X) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
"""


def refused(folder: Path) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_catalogue([folder])
    return info.value


def put(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_unknown_field_names_file_line_field_and_suggests(tmp_path: Path) -> None:
    file = put(tmp_path, "devices.yaml", GOOD_DEVICE + "    cpu_slowdow: 4\n")
    error = refused(tmp_path)
    assert (error.file, error.line, error.field) == (file, 8, "devices[0].cpu_slowdow")
    assert str(error).startswith(
        f"{file}:8: devices[0].cpu_slowdow: unknown field 'cpu_slowdow'; did you mean 'cpu_slowdown'?"
    )


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    file = put(tmp_path, "devices.yaml", GOOD_DEVICE.replace("width: 390", "width: wide"))
    error = refused(tmp_path)
    assert (
        str(error)
        == f"{file}:3: devices[0].viewport.width: Input should be a valid integer, unable to parse string as an integer"
    )


def test_nested_wrong_type_in_a_later_item(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: a, rtt_ms: 10, down_kbps: 1, up_kbps: 1}\n  - name: b\n    rtt_ms: 10\n"
        "    down_kbps: 1\n    up_kbps: 1\n    dropouts:\n      offline_s: [5, 2]\n      every_s: [20, 40]\n"
    )
    file = put(tmp_path, "networks.yaml", text)
    error = refused(tmp_path)
    assert (error.file, error.line, error.field) == (file, 8, "networks[1].dropouts.offline_s")
    assert "range must be [low, high]" in error.message


def test_missing_required_field_points_at_its_item(tmp_path: Path) -> None:
    file = put(tmp_path, "accounts.yaml", "accounts:\n  - name: a\n    username: a\n")
    error = refused(tmp_path)
    assert str(error) == f"{file}:2: accounts[0].password_env: required field is missing"


def test_a_literal_secret_is_refused(tmp_path: Path) -> None:
    file = put(
        tmp_path,
        "accounts.yaml",
        "accounts:\n  - name: a\n    username: a\n    password_env: A\n    password: hunter2\n",
    )
    error = refused(tmp_path)
    assert (error.line, error.field) == (5, "accounts[0].password") and "unknown field" in error.message
    assert error.file == file
    put(tmp_path, "accounts.yaml", "accounts:\n  - {name: a, username: a, password_env: demo-pass}\n")
    assert refused(tmp_path).field == "accounts[0].password_env"  # a value, not an env var NAME


def test_missing_reference_in_a_matrix(tmp_path: Path) -> None:
    file = put(tmp_path, "matrices/m.yaml", "matrices:\n  - name: m\n    rows:\n      - {probe: teen_blocked}\n"
               "      - {probe: teen_blocked, device: nokia-3310, account: teen}\n")  # fmt: skip
    error = refused(tmp_path)
    assert (error.file, error.line, error.field) == (file, 5, "matrices[0].rows[1].device")
    assert error.message.startswith("no device named 'nokia-3310' (known: iphone-15,")


def test_missing_reference_in_a_product_and_a_switch(tmp_path: Path) -> None:
    file = put(tmp_path, "matrices/m.yaml", "matrices:\n  - name: m\n    probes: [teen_blocked]\n"
               "    networks:\n      - wifi\n      - 5g\n    switches: [{at: pay, network: wifi6}]\n")  # fmt: skip
    error = refused(tmp_path)
    assert [(p.file, p.line, p.field) for p in error.problems] == [
        (file, 6, "matrices[0].networks[1]"), (file, 7, "matrices[0].switches[0].network")]  # fmt: skip


def test_duplicate_name_within_a_file(tmp_path: Path) -> None:
    file = put(tmp_path, "devices.yaml", GOOD_DEVICE + GOOD_DEVICE.removeprefix("devices:\n"))
    error = refused(tmp_path)
    assert str(error) == f"{file}:8: devices[1].name: duplicate device name 'phone-a' (first defined at {file}:2)"


def test_duplicate_name_across_files_of_one_folder(tmp_path: Path) -> None:
    first = put(tmp_path, "matrices/a.yaml", "matrices:\n  - {name: dup, probes: [teen_blocked]}\n")
    second = put(tmp_path, "matrices/b.yaml", "matrices:\n  - {name: other, probes: [teen_blocked]}\n"
                 "  - {name: dup, probes: [expired_card]}\n")  # fmt: skip
    error = refused(tmp_path)
    assert (error.file, error.line, error.field) == (second, 3, "matrices[1].name")
    assert f"first defined at {first}:2" in error.message


def test_duplicate_key_and_bad_yaml(tmp_path: Path) -> None:
    file = put(tmp_path, "regions.yaml", "regions:\n  - name: x\n    locale: zh-CN\n    locale: zh-TW\n")
    problems = {p.field: p for p in refused(tmp_path).problems}  # also: the region lacks required fields
    duplicate = problems["regions[0].locale"]
    assert (duplicate.file, duplicate.line, duplicate.message) == (file, 4, "duplicate key (first at line 3)")
    put(tmp_path, "regions.yaml", "regions:\n  - name: x\n    locale: [zh-CN\n    timezone: Asia/Shanghai\n")
    error = refused(tmp_path)
    assert error.file == file and error.line == 4 and error.message.startswith("invalid YAML")


def test_bad_timezone_and_unknown_top_level_key(tmp_path: Path) -> None:
    region = ("regions:\n  - name: x\n    locale: zh-CN\n    timezone: Asia/Beijing\n    geolocation: {latitude: 1, "
              "longitude: 2}\n    address: {country: CN, recipient: a, phone: '13800138000', province: p, city: c, "
              "district: d, street: s, postcode: '100000'}\nextra: 1\n")  # fmt: skip
    file = put(tmp_path, "regions.yaml", region)
    error = refused(tmp_path)
    assert [str(p) for p in error.problems] == [
        f"{file}:4: regions[0].timezone: unknown IANA timezone 'Asia/Beijing' (e.g. Asia/Shanghai)",
        f"{file}:7: extra: unknown top-level key; this file holds only 'regions'",
    ]


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    put(tmp_path, "devices.yaml", GOOD_DEVICE.replace("width: 390", "width: -1") + "    colour: red\n")
    put(tmp_path, "networks.yaml", "networks:\n  - {name: n, rtt_ms: fast, down_kbps: 1, up_kbps: 1}\n")
    error = refused(tmp_path)
    assert [p.field for p in error.problems] == ["devices[0].viewport.width", "devices[0].colour", "networks[0].rtt_ms"]
    assert len(str(error).splitlines()) == 3


def test_not_a_profile_folder(tmp_path: Path) -> None:
    assert "no profile files here" in str(refused(tmp_path))
    assert "does not exist" in str(refused(tmp_path / "missing"))


def test_validate_command_exits_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = put(tmp_path, "devices.yaml", GOOD_DEVICE + "    cpu_slowdow: 4\n")
    assert cli(["profiles", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{file}:8: devices[0].cpu_slowdow: unknown field" in err.replace("\n", "")
    put(tmp_path, "devices.yaml", GOOD_DEVICE)
    assert cli(["profiles", "validate", str(tmp_path)]) == 0
    assert "valid" in capsys.readouterr().out
