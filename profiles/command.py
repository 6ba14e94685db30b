"""``orderprobe profiles list | show NAME | validate [DIR]`` — read and check the catalogue.

Exit codes: 0 fine, 2 bad profile data (every problem printed as ``file:line: field: message``)
or an unknown name.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

KIND_TITLES = {
    "devices": "设备 Devices",
    "networks": "网络 Networks",
    "regions": "地区 Regions",
    "accounts": "账号 Accounts",
    "matrices": "矩阵 Matrices",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", action="append", default=[], metavar="DIR",
                        help="extra profile folder (repeatable; later folders override by name)")  # fmt: skip
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the catalogue as tables, one per kind")
    listing.add_argument("kind", nargs="?", choices=list(KIND_TITLES), help="only this kind")
    show = sub.add_parser("show", help="one entry in full (accounts show env var names, never secrets)")
    show.add_argument("name", help="NAME or KIND/NAME, e.g. metro-weak or networks/metro-weak")
    validate = sub.add_parser("validate", help="load and check everything; exit 2 on the first bad file")
    validate.add_argument("dir", nargs="?", type=Path, help="a user profile folder, checked on top of the built-ins")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from orderprobe.profiles.catalogue import ProfileError, load_catalogue

    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    extra = [*args.profiles, *([args.dir] if getattr(args, "dir", None) else [])]
    try:
        catalogue = load_catalogue(extra)
        if args.action == "list":
            for kind in [args.kind] if args.kind else list(KIND_TITLES):
                console.print(_table(catalogue, kind))
        elif args.action == "show":
            _show(console, catalogue, args.name)
        else:
            counts = ", ".join(f"{len(getattr(catalogue, k))} {k}" for k in KIND_TITLES)
            items = sum(len(catalogue.expand(m)) for m in catalogue.matrices)
            console.print(f"[green]✓ 校验通过 valid[/]: {counts}; {items} matrix items")
            for folder in catalogue.folders:
                console.print(f"  {folder}")
    except ProfileError as exc:
        if len(exc.problems) > 1 or exc.file:
            errors.print(f"[red]✗ 配置有误 invalid profile data[/] — {len(exc.problems)} problem(s):")
        for problem in exc.problems:
            errors.print(f"[red]✗[/] {problem}" if len(exc.problems) == 1 and not exc.file else str(problem),
                         markup=not exc.file, soft_wrap=True)  # fmt: skip
        return 2
    return 0


def _table(catalogue: Any, kind: str) -> Any:
    from rich.table import Table

    table = Table(title=KIND_TITLES[kind], title_justify="left", show_lines=False)
    rows: list[tuple[str, ...]] = []
    if kind == "devices":
        _columns(table, "name", "说明", "viewport", "DPR", "CPU ×", "mobile", "browser")
        for d in catalogue.devices.values():
            rows.append((d.name, d.title, f"{d.viewport.width}×{d.viewport.height}", f"{d.device_scale_factor:g}",
                         f"{d.cpu_slowdown:g}", "✓" if d.is_mobile else "·", _browser(d)))  # fmt: skip
    elif kind == "networks":
        _columns(table, "name", "说明", "RTT ms", "↓ kbit/s", "↑ kbit/s", "断网 dropouts", "DNS 污染", "faults")
        for n in catalogue.networks.values():
            drop = f"{_range(n.dropouts.offline_s)} s / {_range(n.dropouts.every_s)} s" if n.dropouts else "—"
            rows.append((n.name, n.title, f"{n.rtt_ms:g}", _kbps(n.down_kbps), _kbps(n.up_kbps), drop,
                         f"{len(n.dns_polluted)} hosts" if n.dns_polluted else "—",
                         f"{len(n.faults)} rules" if n.faults else "—"))  # fmt: skip
    elif kind == "regions":
        _columns(table, "name", "说明", "locale", "timezone", "收货地址 address", "邮编")
        for r in catalogue.regions.values():
            rows.append((r.name, r.title, r.locale, r.timezone, r.address.one_line, r.address.postcode))
    elif kind == "accounts":
        _columns(table, "name", "说明", "username", "secrets (env var names)")
        for a in catalogue.accounts.values():
            rows.append((a.name, a.title, a.username, ", ".join(filter(None, (a.password_env, a.sms_code_env)))))
    else:
        _columns(table, "name", "说明", "items", "probes", "description")
        for m in catalogue.matrices.values():
            items = catalogue.expand(m.name)
            rows.append((m.name, m.title, str(len(items)), str(len({i.probe for i in items})), m.description))
    for row in rows:
        table.add_row(*row)
    return table


def _columns(table: Any, *names: str) -> None:
    for index, name in enumerate(names):
        table.add_column(name, no_wrap=index == 0, overflow="fold")  # names stay whole: they are what you type


def _browser(device: Any) -> str:
    ua = device.user_agent
    if "aweme" in ua:
        return f"抖音 WebView (Chrome {device.chrome_major})"
    if "MicroMessenger" in ua:
        return f"微信 WebView (Chrome {device.chrome_major})"
    if device.chrome_major:
        return f"Chrome {device.chrome_major} · {device.platform}"
    return "Safari · iOS" if device.platform == "iOS" else "旧 WebView (AppleWebKit/534)"


def _range(r: tuple[float, float]) -> str:
    return f"{r[0]:g}" if r[0] == r[1] else f"{r[0]:g}–{r[1]:g}"


def _kbps(value: float | None) -> str:
    return "∞" if value is None else f"{value:g}"


def _show(console: Any, catalogue: Any, wanted: str) -> None:
    import yaml

    from orderprobe.base.source import Problem, ProfileError

    kind, _, name = wanted.rpartition("/")
    kinds = [kind] if kind else list(KIND_TITLES)
    found = [(k, getattr(catalogue, k)[name]) for k in kinds if k in KIND_TITLES and name in getattr(catalogue, k)]
    if not found:
        raise ProfileError([Problem(None, None, "name", f"nothing named {wanted!r} in {', '.join(kinds)}")])
    for k, model in found:
        console.print(f"[bold]{k}/{name}[/]  [dim]({catalogue.origin(k, name)})[/]")
        data = model.model_dump(mode="json", exclude_defaults=True)
        if k == "accounts":  # names of env vars only; say whether they are set, never what they hold
            for key in ("password_env", "sms_code_env"):
                if data.get(key):
                    data[key] += " (set)" if os.environ.get(data[key]) else " (not set)"
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=None)
        console.print(text.rstrip(), markup=False, soft_wrap=True)
        if k == "matrices":
            _show_items(console, catalogue.expand(name))


def _show_items(console: Any, items: list[Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(items)} items", title_justify="left")
    for c in ("probe", "profile", "expect", "switches"):
        table.add_column(c, overflow="fold", no_wrap=c in ("probe", "profile"))
    for item in items:
        e = item.expectation
        expect = e.outcome + (f" ({', '.join(e.causes)})" if e.causes else "")
        table.add_row(item.probe, item.profile.name, expect, "; ".join(s.label for s in item.profile.switches) or "—")
    console.print(table)


if __name__ == "__main__":  # python -m orderprobe.profiles.command …
    parser = argparse.ArgumentParser(prog="orderprobe profiles")
    configure(parser)
    sys.exit(main(parser.parse_args()))
