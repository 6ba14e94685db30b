"""The built-in catalogue and how profiles, matrices and user folders behave (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orderprobe.probes.emulation import context_options
from orderprobe.probes.emulation.throttling.cdp import cdp_conditions
from orderprobe.profiles.catalogue import DEFAULTS, ENV_VAR, load_catalogue
from orderprobe.profiles.models import Account, SecretMissing

SEED_PROBES = {
    "video_feed_checkout", "live_room_checkout", "subsidy_checkout", "coupon_checkout", "buried_cart_checkout",
    "teen_blocked", "no_payment_bound", "expired_card", "cross_province_login", "high_returns_review",
    "flash_sale_sold_out", "cross_border_phantom_stock", "region_refusal_cosmetics", "nagqu_ambient_refused",
    "hk_electronics_customs", "tier3_furniture_pickup", "payment_backup_channel",
    "insufficient_balance", "teen_virtual_goods", "ip_banned", "stock_sync_lag", "farm_produce_restock",
    "alcohol_license", "special_line_food", "pay_after_network_loss",
}  # fmt: skip


@pytest.fixture(scope="module")
def cat():  # type: ignore[no-untyped-def]
    return load_catalogue()


def test_builtin_catalogue_has_what_the_issue_asks_for(cat) -> None:  # type: ignore[no-untyped-def]
    assert {"iphone-15", "android-mid", "android-low", "android-4.4", "douyin-webview", "wechat",
            "desktop-chrome"} <= set(cat.devices)  # fmt: skip
    assert {"wifi", "4g", "slow-4g", "3g", "edge", "metro-weak", "public-wifi-dns-polluted", "flaky"} <= set(
        cat.networks
    )
    assert {"beijing", "shanghai", "urumqi", "lhasa", "nagqu", "hong-kong", "macau", "taipei", "dancheng"} <= set(
        cat.regions
    )
    assert set(cat.accounts) == {"normal", "newbie", "expired", "teen", "traveller", "returner", "broke"}
    assert {"smoke", "presale", "paths", "regions"} <= set(cat.matrices)
    assert "causes" not in str(cat.folders) and not hasattr(cat, "causes")  # the classifier's file is not ours


def test_devices_and_networks_carry_the_documented_numbers(cat) -> None:  # type: ignore[no-untyped-def]
    assert 4 <= cat.devices["android-low"].cpu_slowdown <= 6
    old = cat.devices["android-4.4"].user_agent
    assert "Android 4.4" in old and "AppleWebKit/534.30" in old and "Version/4.0 Mobile Safari/534.30" in old
    assert "aweme" in cat.devices["douyin-webview"].user_agent
    assert "MicroMessenger" in cat.devices["wechat"].user_agent
    slow = cat.networks["slow-4g"]  # Lighthouse: 150 ms RTT, 1.6 Mbps down, 750 kbps up
    assert (slow.rtt_ms, slow.down_kbps, slow.up_kbps) == (150, 1638.4, 750)
    assert cdp_conditions(slow) == {"offline": False, "latency": 150, "downloadThroughput": 204800.0,
                                     "uploadThroughput": 93750.0}  # fmt: skip
    for network in cat.networks.values():
        assert network.source, f"{network.name} must cite where its numbers come from"
    assert cat.networks["metro-weak"].dropouts is not None
    assert any(p.startswith("pay.") for p in cat.networks["public-wifi-dns-polluted"].dns_polluted)
    assert cat.networks["flaky"].faults


def test_regions_have_full_addresses(cat) -> None:  # type: ignore[no-untyped-def]
    urumqi = cat.regions["urumqi"].address
    assert (urumqi.province, urumqi.city, urumqi.postcode) == ("新疆维吾尔自治区", "乌鲁木齐市", "830002")
    assert cat.regions["nagqu"].address.city == "那曲市"
    assert cat.regions["dancheng"].address.district == "郸城县"
    for region in cat.regions.values():
        a = region.address
        assert a.recipient and a.phone and a.street and a.postcode, region.name


def test_default_profile_and_context_options(cat) -> None:  # type: ignore[no-untyped-def]
    profile = cat.profile()
    assert profile.name == "/".join(DEFAULTS[k] for k in ("device", "network", "region", "account"))
    options = context_options(cat.profile(device="iphone-15", region="hong-kong"))
    assert options["user_agent"].startswith("Mozilla/5.0 (iPhone")
    assert options["viewport"] == {"width": 393, "height": 659} and options["is_mobile"] is True
    assert (options["locale"], options["timezone_id"]) == ("zh-HK", "Asia/Hong_Kong")
    assert options["permissions"] == ["geolocation"]
    assert options["extra_http_headers"] == {"Accept-Language": "zh-HK,zh;q=0.9,en;q=0.8"}  # Safari: no client hints
    android = context_options(cat.profile())["extra_http_headers"]
    assert android["Sec-CH-UA-Platform"] == '"Android"' and android["Sec-CH-UA-Mobile"] == "?1"
    assert "proxy" not in options


def test_unknown_name_in_profile_is_a_clear_error(cat) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown network 'metro-weka'; did you mean 'metro-weak'"):
        cat.profile(network="metro-weka")


def test_account_secrets_come_from_env_only(cat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    teen: Account = cat.accounts["teen"]
    monkeypatch.delenv("ORDERPROBE_DEMO_PASSWORD", raising=False)
    with pytest.raises(SecretMissing, match="ORDERPROBE_DEMO_PASSWORD.*not set"):
        teen.password()
    monkeypatch.setenv("ORDERPROBE_DEMO_PASSWORD", "demo-pass")
    assert teen.password() == "demo-pass"
    monkeypatch.setenv("ORDERPROBE_DEMO_SMS_CODE", "246810")
    assert cat.accounts["traveller"].sms_code() == "246810"
    with pytest.raises(SecretMissing, match="SMS code"):
        teen.sms_code()  # teen has no SMS code configured
    described = json.dumps(cat.profile(account="traveller").describe(), ensure_ascii=False)
    assert "demo-pass" not in described and "246810" not in described
    assert "ORDERPROBE_DEMO_SMS_CODE" in described


def test_smoke_is_the_three_paths_under_one_good_profile(cat) -> None:  # type: ignore[no-untyped-def]
    items = cat.expand("smoke")
    assert 3 <= len(items) <= 8
    assert {i.probe for i in items} == {"video_feed_checkout", "live_room_checkout", "subsidy_checkout"}
    assert {i.profile.name for i in items} == {"android-mid/wifi/shanghai/normal"}
    assert all(i.expectation.outcome == "pass" for i in items)


def test_presale_sweeps_every_seed_scenario(cat) -> None:  # type: ignore[no-untyped-def]
    items = cat.expand("presale")
    assert {i.probe for i in items} == SEED_PROBES
    by = {(i.probe, i.profile.device.name, i.profile.network.name, i.profile.account.name): i for i in items}
    old = next(i for i in items if i.profile.device.name == "android-4.4")
    assert (old.expectation.outcome, old.expectation.causes) == ("blocked", ("compatibility",))
    assert any(i.profile.network.name == "metro-weak" for i in items)
    teen = by[("teen_blocked", "android-mid", "wifi", "teen")]
    assert (teen.expectation.outcome, teen.expectation.causes) == ("blocked", ("account",))
    xinjiang = next(i for i in items if i.probe == "region_refusal_cosmetics")
    assert xinjiang.profile.region.address.province == "新疆维吾尔自治区" and xinjiang.expectation.causes == ("region",)
    lost = next(i for i in items if i.profile.switches and i.profile.switches[0].offline_s)
    assert lost.profile.switches[0].at == "pay" and lost.id.endswith("-off3s-pay")
    ids = [(i.probe, i.id) for i in items]
    assert len(ids) == len(set(ids)), "ids must be unique per probe for pytest parametrisation"


def test_paths_compares_the_same_paths_under_weak_networks(cat) -> None:  # type: ignore[no-untyped-def]
    items = cat.expand("paths")
    paths = {"video_feed_checkout", "buried_cart_checkout", "live_room_checkout", "subsidy_checkout"}  # seed §7
    assert {i.probe for i in items} == paths
    networks = {i.profile.network.name for i in items}
    assert "wifi" in networks and {"metro-weak", "slow-4g"} & networks
    for network in networks:  # every path under every network, everything else equal
        same = [i for i in items if i.profile.network.name == network]
        assert {i.probe for i in same} == paths
        assert len({(i.profile.device.name, i.profile.region.name, i.profile.account.name) for i in same}) == 1


def test_regions_matrix_rules_give_expectations(cat) -> None:  # type: ignore[no-untyped-def]
    items = cat.expand("regions")
    expect = {(i.probe, i.profile.region.name): i.expectation.outcome for i in items}
    assert expect[("region_refusal_cosmetics", "urumqi")] == "blocked"
    assert expect[("region_refusal_cosmetics", "shanghai")] == "pass"  # the control
    assert expect[("hk_electronics_customs", "macau")] == "blocked"
    assert expect[("nagqu_ambient_refused", "nagqu")] == "blocked"
    assert expect[("video_feed_checkout", "nagqu")] == "blocked"  # no ambient goods at all in Nagqu
    assert expect[("nagqu_ambient_refused", "beijing")] == "pass"
    assert {r for (p, r) in expect if p == "video_feed_checkout"} == set(cat.regions)


def test_matrix_item_ids_are_short_and_stable(cat) -> None:  # type: ignore[no-untyped-def]
    item = next(i for i in cat.expand("presale") if i.profile.device.name == "iphone-15")
    assert item.id == "iphone-15-4g-beijing-normal"
    assert [i.id for i in cat.expand("presale")] == [i.id for i in load_catalogue().expand("presale")]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_folder_overrides_builtins_by_name_and_adds_entries(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "networks.yaml", "networks:\n  - {name: wifi, rtt_ms: 5, down_kbps: 100000, up_kbps: 50000}\n"
          "  - {name: office, rtt_ms: 12, down_kbps: 20000, up_kbps: 5000, source: measured}\n")  # fmt: skip
    write(tmp_path, "matrices/mine.yaml", "matrices:\n  - {name: mine, probes: [teen_blocked], accounts: teen,\n"
          "     networks: [office, wifi], rules: [{account: teen, expect: blocked}]}\n")  # fmt: skip
    cat = load_catalogue([tmp_path])
    assert cat.networks["wifi"].rtt_ms == 5  # overridden
    assert cat.networks["4g"].rtt_ms == 170  # built-in kept
    assert [(i.profile.network.name, i.expectation.outcome) for i in cat.expand("mine")] == [
        ("office", "blocked"), ("wifi", "blocked")]  # fmt: skip
    assert cat.origin("networks", "wifi").endswith("networks.yaml:2")
    other = tmp_path / "env"
    write(other, "devices.yaml", "devices:\n  - name: kiosk\n    viewport: {width: 1080, height: 1920}\n"
          "    device_scale_factor: 1\n    is_mobile: false\n    has_touch: true\n"
          "    user_agent: Mozilla/5.0 (X11; Linux x86_64) Kiosk\n")  # fmt: skip
    monkeypatch.setenv(ENV_VAR, str(other))
    both = load_catalogue([tmp_path])
    assert "kiosk" in both.devices and both.networks["wifi"].rtt_ms == 5
    assert both.folders[-2:] == [other, tmp_path]  # env before --profiles: the command line wins


def test_a_catalogue_is_read_once_while_its_files_stay_as_they_are(tmp_path: Path) -> None:
    """A run's checks, its session and its progress reporter each ask for the catalogue: it is read
    once. A file rewritten or added between two asks is read again."""
    office = "networks:\n  - {{name: office, rtt_ms: {rtt}, down_kbps: 20000, up_kbps: 5000}}\n"
    write(tmp_path, "networks.yaml", office.format(rtt=12))
    first = load_catalogue([tmp_path])
    assert load_catalogue([tmp_path]) is first
    write(tmp_path, "networks.yaml", office.format(rtt=120))
    assert load_catalogue([tmp_path]).networks["office"].rtt_ms == 120
    write(tmp_path, "matrices/mine.yaml", "matrices:\n  - {name: mine, probes: [teen_blocked], networks: [office]}\n")
    assert "mine" in load_catalogue([tmp_path]).matrices


def test_playwright_descriptor_fills_a_device(tmp_path: Path) -> None:
    write(tmp_path, "devices.yaml", "devices:\n  - {name: pixel, descriptor: Pixel 7, cpu_slowdown: 3}\n")
    device = load_catalogue([tmp_path]).devices["pixel"]
    assert device.viewport.width == 412 and "Pixel 7" in device.user_agent and device.cpu_slowdown == 3


def test_shipped_descriptors_agree_with_the_installed_playwright() -> None:
    """``profiles/descriptors.json`` is data taken from Playwright's driver; an upgrade that changes
    a descriptor we ship fails here, naming it (regenerate the file from ``p.devices``)."""
    from playwright.sync_api import sync_playwright

    from orderprobe.profiles.catalogue import playwright_devices

    shipped = playwright_devices()
    with sync_playwright() as p:
        live = dict(p.devices)
    differ = [
        name
        for name, fields in shipped.items()
        if name in live and any(live[name].get(key) != value for key, value in fields.items())
    ]
    assert len(shipped) > 100 and not differ, f"descriptors that changed in the installed Playwright: {differ}"
    assert not set(live) - set(shipped), f"descriptors missing from the shipped file: {set(live) - set(shipped)}"


def test_reading_a_catalogue_starts_no_playwright_driver(tmp_path: Path) -> None:
    import subprocess
    import sys

    write(tmp_path, "devices.yaml", "devices:\n  - {name: pixel, descriptor: Pixel 7}\n")
    code = (
        "import sys; from orderprobe.profiles.catalogue import load_catalogue; "
        f"assert load_catalogue([{str(tmp_path)!r}]).devices['pixel'].viewport.width == 412; "
        "print(sorted(m for m in sys.modules if m.startswith('playwright')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
