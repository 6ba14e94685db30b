"""What a new browser context is created with: the device's screen and UA, the region's
locale, time zone, position and exit proxy."""

from __future__ import annotations

from orderprobe.probes.emulation.device import client_hints
from orderprobe.profiles.models import Profile


def context_options(profile: Profile) -> dict[str, object]:
    """Keyword arguments for ``browser.new_context()``."""
    d, r = profile.device, profile.region
    options: dict[str, object] = {
        "viewport": d.viewport.model_dump(),
        "device_scale_factor": d.device_scale_factor,
        "is_mobile": d.is_mobile,
        "has_touch": d.has_touch,
        "user_agent": d.user_agent,
        "locale": r.locale,
        "timezone_id": r.timezone,
        "geolocation": r.geolocation.model_dump(),
        "permissions": ["geolocation"],
        "extra_http_headers": {"Accept-Language": r.languages, **client_hints(d)},
    }
    if d.screen:
        options["screen"] = d.screen.model_dump()
    if r.proxy:
        options["proxy"] = {"server": r.proxy}
    return options
