"""Up-front checks: each problem is refused before any browser starts, in one line naming what and where."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderprobe.preflight import Refused, check_run, check_target, collection_argv, resolving_through
from orderprobe.probes.fixtures import DEMO_SECRETS
from tests.support.remote import Zone

BUILTIN = Path(__file__).resolve().parents[1] / "probes" / "checkout"
BUILTIN_ARGS = [str(BUILTIN), "-c", str(BUILTIN / "pytest.ini")]


def refusal(argv: list[str]) -> str:
    with pytest.raises(Refused) as info:
        check_run(argv)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("m.example.com", "not an http(s) URL with a host"),
        ("ftp://m.example.com", "not an http(s) URL with a host"),
        ("https://", "not an http(s) URL with a host"),
        ("http://127.0.0.1:99999/", "the port is not a number from 1 to 65535"),
        ("http://a..b/", "cannot resolve a..b"),  # refused by the IDNA codec, no DNS query leaves the machine
    ],
)
def test_target_syntax(url: str, expected: str) -> None:
    with pytest.raises(Refused, match=re.escape(expected)):
        check_target(url)


def test_target_reachability(listening: int) -> None:
    check_target(f"http://127.0.0.1:{listening}/")
    check_target(f"http://shop.localhost:{listening}/")  # *.localhost is loopback, as in Chromium
    port = closed_port()
    with pytest.raises(Refused, match=rf"cannot connect to 127.0.0.1:{port} \(127.0.0.1: Connection refused\)"):
        check_target(f"http://127.0.0.1:{port}/")


def test_an_unresolvable_target_names_the_dns_error() -> None:
    """A fake resolver stands in for DNS: a real lookup would leave the machine (tests talk only to loopback)."""

    def nxdomain(*_args: object, **_kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(Refused, match=r"^--target https://m.shop.example/: cannot resolve m.shop.example \(DNS: Name"):
        check_target("https://m.shop.example/", resolve=nxdomain)


def test_the_target_is_resolved_through_the_resolver_packet_mode_will_ask(
    listening: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--resolver`` the journeys' DNS goes there, so the preflight asks it too (a zone on
    loopback stands in: it knows shop.orderprobe.test, which the host's resolver does not)."""
    for name in DEMO_SECRETS:  # an in-process run in this worker may have set them: the refusal past the target
        monkeypatch.delenv(name, raising=False)
    with Zone() as zone:
        zone.names["shop.orderprobe.test"] = "127.0.0.1"
        check_target(f"http://shop.orderprobe.test:{listening}/", resolve=resolving_through(zone.address))
        assert zone.asked["shop.orderprobe.test", "A"] == 1
        gone = "http://gone.orderprobe.test/"
        message = refusal([*BUILTIN_ARGS, "--target", gone, "--resolver", zone.address, "--matrix", "smoke"])
        said = f"cannot resolve gone.orderprobe.test (DNS: --resolver {zone.address}: NXDOMAIN)"
        assert message == f"--target {gone}: {said}"
        known = [*BUILTIN_ARGS, "--target", f"http://shop.orderprobe.test:{listening}", "--resolver", zone.address]
        assert refusal([*known, "--matrix", "smoke"]).startswith("account 'normal' (")  # past the target: resolved


def test_collection_pass_drops_parallelism_and_run_files() -> None:
    argv = collection_argv(
        ["probes", "-n", "2", "--junitxml", "j.xml", "-p", "no:xdist", "-p", "mine", "-n4", "--dist=load",
         "--reporter", "store,html"]
    )  # fmt: skip
    assert argv == [
        "probes",
        "-p",
        "mine",
        "--collect-only",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        "--capture=no",
        "--reporter",
        ",",
    ]


def test_names_are_checked_even_where_a_probe_marker_would_hide_them() -> None:
    """test_teen_blocked pins account=teen: an account typo in --profile used to be silently dropped."""
    message = refusal([*BUILTIN_ARGS, "-k", "teen_blocked", "--profile", "android-mid/wifi/shanghai/normall"])
    assert message.startswith("account: unknown account 'normall'; did you mean 'normal'?")
    assert refusal([*BUILTIN_ARGS, "--matrix", "smok"]).startswith("matrix: unknown matrix 'smok'; did you mean")
    assert "unknown network 'metro'" in refusal([*BUILTIN_ARGS, "--network", "metro"])


def test_probe_files_that_do_not_import_are_named_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "test_ok.py").write_text("def test_fine(journey):\n    pass\n", encoding="utf-8")
    broken = tmp_path / "test_broken.py"
    broken.write_text("import pytest\n\nimport no_such_module_here\n", encoding="utf-8")
    message = refusal([str(tmp_path), "-n", "2"])
    assert (
        message == f"probe file does not import: {broken}:3: ModuleNotFoundError: No module named 'no_such_module_here'"
    )
    broken.write_text("def test_x(journey):\n    if True\n        pass\n", encoding="utf-8")
    assert refusal([str(tmp_path), "-n", "2"]).startswith(f"probe file does not import: {broken}:2: SyntaxError")


def test_secrets_of_the_chosen_accounts(tmp_path: Path, listening: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERPROBE_DEMO_PASSWORD", raising=False)
    external = [*BUILTIN_ARGS, "--target", f"http://127.0.0.1:{listening}", "--matrix", "smoke"]
    message = refusal(external)
    assert message.startswith("account 'normal' (")
    assert "accounts.yaml:6): environment variable ORDERPROBE_DEMO_PASSWORD (password) is not set" in message
    assert "needed by live_room_checkout, subsidy_checkout, video_feed_checkout" in message
    assert len(check_run([*BUILTIN_ARGS, "--matrix", "smoke"]).journeys) == 3  # the embedded shop brings its test users
    monkeypatch.setenv("ORDERPROBE_DEMO_PASSWORD", "from-the-vault")
    assert len(check_run(external).journeys) == 3


GUEST = """
def test_guest_checkout(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
"""
LOGS_IN = """
import pytest

@pytest.mark.profile(account="normal")
def test_member_checkout(journey, page, target, profile):
    with journey.step("log in"):
        profile.account.password()
"""


def test_only_accounts_a_journey_is_given_are_required(
    tmp_path: Path, listening: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guest checkout on the default profile never logs in: its default account's secret is not
    required. A probe that names its account, or an account chosen on the command line, still is."""
    monkeypatch.delenv("ORDERPROBE_DEMO_PASSWORD", raising=False)
    (tmp_path / "test_guest.py").write_text(GUEST, encoding="utf-8")
    (tmp_path / "test_member.py").write_text(LOGS_IN, encoding="utf-8")
    target = ["--target", f"http://127.0.0.1:{listening}"]
    (guest,) = check_run([str(tmp_path / "test_guest.py"), *target]).journeys
    assert guest.profile.account.password_env == "ORDERPROBE_DEMO_PASSWORD"  # defaulted, not required
    assert "ORDERPROBE_DEMO_PASSWORD" in refusal([str(tmp_path / "test_member.py"), *target])
    assert "ORDERPROBE_DEMO_PASSWORD" in refusal([str(tmp_path / "test_guest.py"), *target, "--account", "normal"])


def test_the_plan_names_each_journey_as_the_run_will() -> None:
    """`--list`: each presale row once, with its mid-journey switches as the run names it."""
    from orderprobe.runner import plan_listing

    listing = plan_listing(check_run([*BUILTIN_ARGS, "--matrix", "presale"]).journeys).splitlines()
    rows = listing[:-1]
    assert len(rows) == len(set(rows))  # no two identical lines
    assert "video_feed_checkout  [android-mid/wifi/shanghai/normal+4g-checkout]" in rows
    assert any(r.startswith("pay_after_network_loss  [android-mid/metro-weak/shanghai/normal+off3s-pay]") for r in rows)
    assert re.fullmatch(r"\d+ journeys", listing[-1]) and int(listing[-1].split()[0]) == len(rows)
