"""The pure parts of emulation: seeded dropout schedules, URL/host matching, UA metadata, labels."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderprobe.probes.emulation import Emulation
from orderprobe.probes.emulation.device import user_agent_metadata
from orderprobe.probes.emulation.routing import glob_regex, host_regex
from orderprobe.probes.emulation.schedule import dropout_windows
from orderprobe.probes.emulation.throttling.cdp import cdp_conditions
from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.models import Dropouts, FaultRule, Network, Switch

METRO = Dropouts(offline_s=(2, 5), every_s=(20, 40), seed=23)


def test_same_seed_same_schedule_and_a_longer_horizon_only_appends() -> None:
    assert dropout_windows(METRO, 600) == dropout_windows(Dropouts(offline_s=(2, 5), every_s=(20, 40), seed=23), 600)
    assert dropout_windows(METRO, 600)[: len(dropout_windows(METRO, 120))] == dropout_windows(METRO, 120)
    assert dropout_windows(METRO, 600) != dropout_windows(METRO, 600, seed=24)
    assert dropout_windows(METRO, 600, seed=23) == dropout_windows(METRO, 600)


def test_schedule_respects_the_ranges() -> None:
    windows = dropout_windows(METRO, 3600)
    assert 0 <= windows[0][0] < 40  # the journey starts somewhere between stations
    for start, end in windows:
        assert 2 - 1e-3 <= end - start <= 5 + 1e-3
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        assert 20 - 1e-3 <= start - end <= 40 + 1e-3
    assert 3600 / 45 <= len(windows) <= 3600 / 22


def test_metro_weak_loses_the_signal_within_a_normal_journey_on_a_fresh_schedule_each_time() -> None:
    metro = load_catalogue().networks["metro-weak"].dropouts
    assert metro is not None and metro.seed is None  # not pinned: each journey draws its own
    firsts = {dropout_windows(metro, 60, seed=seed)[0] for seed in range(200)}
    assert len(firsts) == 200  # varied between journeys
    assert all(1 <= start <= 10 and 2 <= end - start <= 5 for start, end in firsts)  # inside a 10–20 s journey
    profile = load_catalogue().profile(network="metro-weak")
    seeds = {Emulation(profile, None, None).seed for _ in range(5)}  # type: ignore[arg-type]
    assert len(seeds) == 5  # a fresh seed per journey, kept for the record


def test_outage_windows_merge_dropouts_and_offline_switches() -> None:
    profile = load_catalogue().profile(network="metro-weak")
    emulation = Emulation(profile, None, None, seed=3)  # type: ignore[arg-type]
    (s0, e0) = dropout_windows(profile.network.dropouts, 60, seed=3)[0]  # type: ignore[arg-type]
    emulation.outages.go_offline(s0 - 1, 1.5, "switch@pay")  # overlaps the first dropout
    emulation.outages.go_offline(e0 + 100, 2, "probe")
    windows = emulation.outages.windows(e0 + 200)
    assert windows[0] == (s0 - 1, e0) and (e0 + 100, e0 + 102) in windows


def test_offline_now_follows_the_schedule_without_a_browser() -> None:
    profile = load_catalogue().profile(network="metro-weak")
    profile = profile.model_copy(update={"network": profile.network.model_copy(update={"dropouts": METRO})})
    emulation = Emulation(profile, context=None, page=None, seed=None)  # type: ignore[arg-type]
    (s0, e0), (s1, _) = dropout_windows(METRO, 100)[:2]
    assert emulation.offline_now((s0 + e0) / 2) == "dropout"
    assert emulation.offline_now(e0 + 0.01) is None
    assert emulation.offline_now(s1) == "dropout"
    assert emulation.offline_now(3000.0) in ("dropout", None)  # beyond the first horizon: extended, no error
    other = Emulation(profile, None, None, seed=99)  # type: ignore[arg-type]
    s99, e99 = dropout_windows(METRO, 100, seed=99)[0]  # a run-level seed replaces the network's own
    assert other.offline_now((s99 + e99) / 2) == "dropout"


@pytest.mark.parametrize(
    ("pattern", "url", "hit"),
    [
        ("**/api/**", "http://127.0.0.1:8000/api/cart", True),
        ("**/api/**", "http://127.0.0.1:8000/apix/cart", False),
        ("**/*", "http://127.0.0.1:8000/a/b?c=d", True),
        ("http://*/pay", "http://pay.localhost:9/pay", True),
        ("http://*/pay", "http://a/b/pay", False),  # * does not cross "/"
        ("**/slow?*", "http://x/slow?1", True),
    ],
)
def test_url_globs(pattern: str, url: str, hit: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(url)) is hit


def test_dns_host_patterns_match_urls_on_any_port() -> None:
    polluted = host_regex(load_catalogue().networks["public-wifi-dns-polluted"].dns_polluted)
    for url in ("http://pay.localhost:35809/cashier?o=1", "https://PAY.localhost./", "https://mapi.alipay.com/gateway.do",
                "https://alipay.com", "https://wx.tenpay.com:443/pay#x", "http://u:p@pay.example.cn/"):  # fmt: skip
        assert polluted.search(url), url
    for url in ("http://shop.localhost:8000/pay.html", "http://127.0.0.1:9/?next=http://pay.localhost/",
                "https://notalipay.com/", "https://alipay.com.evil.cn/", "http://pay/"):  # fmt: skip
        assert not polluted.search(url), url


def test_user_agent_metadata_matches_each_device() -> None:
    devices = load_catalogue().devices
    android = user_agent_metadata(devices["android-mid"])
    assert android is not None
    assert (android["platform"], android["platformVersion"], android["model"], android["mobile"]) == (
        "Android", "14", "23124RA7EC", True)  # fmt: skip
    assert android["brands"][0] == {"brand": "Google Chrome", "version": "124"}
    webview = user_agent_metadata(devices["wechat"])
    assert webview is not None and webview["brands"][0]["brand"] == "Android WebView" and webview["model"] == "PGEM10"
    desktop = user_agent_metadata(devices["desktop-chrome"])
    assert desktop is not None and (desktop["platform"], desktop["architecture"], desktop["mobile"]) == (
        "Windows", "x86", False)  # fmt: skip
    assert user_agent_metadata(devices["iphone-15"]) is None  # Safari: no UA client hints
    assert user_agent_metadata(devices["android-4.4"]) is None  # pre-Chromium WebView: none either


def test_fault_rules_need_one_clear_effect() -> None:
    with pytest.raises(ValidationError, match="a fault needs an effect"):
        FaultRule(url="**/*")
    with pytest.raises(ValidationError, match="cannot both abort and answer"):
        FaultRule(abort="failed", status=500)
    assert (
        FaultRule(url="**/api/**", status=503, delay_ms=200, rate=0.25).label == "HTTP 503 +200 ms on **/api/** @ 25%"
    )


def test_switch_labels_and_item_ids() -> None:
    four_g = load_catalogue().networks["4g"]
    assert Switch(at="pay", offline_s=3).label == "offline 3 s at start of 'pay'"
    assert Switch(at="checkout", network=four_g).label == "→ 4g at start of 'checkout'"
    assert Switch(at="pay", when="end", offline_s=1.5, network=four_g).slug == "off1.5s-4g-pay"


def test_cdp_conditions_are_bytes_per_second() -> None:
    network = Network(name="n", rtt_ms=300, down_kbps=1600, up_kbps=None)
    assert cdp_conditions(network) == {"offline": False, "latency": 300, "downloadThroughput": 200000.0,
                                        "uploadThroughput": -1}  # fmt: skip
    assert cdp_conditions(network, offline=True)["offline"] is True


def test_in_packet_mode_only_localhost_names_stay_a_dns_route() -> None:
    """The link's resolver answers DNS pollution in packet mode, but Chromium resolves *.localhost
    itself (RFC 6761) and never asks it: those names, and only those, are still polluted by route."""
    local = host_regex(load_catalogue().networks["public-wifi-dns-polluted"].dns_polluted, only_local=True)
    for url in ("http://pay.localhost:35809/cashier?o=1", "https://PAY.localhost./"):
        assert local.search(url), url
    for url in ("https://mapi.alipay.com/gateway.do", "http://u:p@pay.example.cn/", "http://shop.localhost:8000/"):
        assert not local.search(url), url
