"""A device as Chromium presents it: client hints and navigator fields that agree with its UA.

Chromium-based UAs get brands, platform and model; Safari and the pre-Chromium Android 4.x
WebView get none, as on the real devices.
"""

from __future__ import annotations

import re
from typing import Any

from orderprobe.profiles.models import Device

NAVIGATOR_PLATFORM = {"iOS": "iPhone", "Android": "Linux armv8l", "Windows": "Win32", "macOS": "MacIntel"}


def brands(device: Device) -> list[dict[str, str]]:
    major = device.chrome_major
    if major is None:
        return []
    ua = device.user_agent
    vendor = "Android WebView" if "; wv)" in ua else "Microsoft Edge" if "Edg/" in ua else "Google Chrome"
    return [{"brand": vendor, "version": major}, {"brand": "Chromium", "version": major},
            {"brand": "Not-A.Brand", "version": "99"}]  # fmt: skip


def client_hints(device: Device) -> dict[str, str]:
    """Sec-CH-UA headers consistent with the UA. Safari and old WebViews send none."""
    found = brands(device)
    if not found:
        return {}
    return {
        "Sec-CH-UA": ", ".join(f'"{b["brand"]}";v="{b["version"]}"' for b in found),
        "Sec-CH-UA-Mobile": "?1" if device.is_mobile else "?0",
        "Sec-CH-UA-Platform": f'"{device.platform}"',
    }


def user_agent_metadata(device: Device) -> dict[str, Any] | None:
    """``navigator.userAgentData`` as the real device would report it (None: it has none)."""
    found = brands(device)
    if not found:
        return None
    version = re.search(r"(?:Android|Windows NT|Mac OS X) ([\d._]+)", device.user_agent)
    model = re.search(r"Android [\d.]+; ([^;)]+?)(?: Build/[^;)]*)?[;)]", device.user_agent)
    return {
        "brands": found,
        "fullVersionList": found,
        "platform": device.platform,
        "platformVersion": version.group(1).replace("_", ".") if version else "",
        "architecture": "" if device.is_mobile else "x86",
        "model": model.group(1) if model and model.group(1) != "K" else "",
        "mobile": device.is_mobile,
    }


def user_agent_override(device: Device, accept_language: str) -> dict[str, Any]:
    """Parameters for CDP ``Emulation.setUserAgentOverride``."""
    params: dict[str, Any] = {
        "userAgent": device.user_agent,
        "acceptLanguage": ",".join(part.split(";")[0].strip() for part in accept_language.split(",")),
        "platform": NAVIGATOR_PLATFORM.get(device.platform, "Linux x86_64"),
    }
    metadata = user_agent_metadata(device)
    if metadata:
        params["userAgentMetadata"] = metadata
    return params
