"""``orderprobe shop``: serve the demo shop, or switch a running shop's faults.

    orderprobe shop [--host 127.0.0.1] [--port 8800] [--payment-port 8801]
    orderprobe shop fault NAME [--param k=v ...] [--seconds N] [--url URL]
    orderprobe shop fault --clear [NAME]
    orderprobe shop outage NAME [--compress 60] [--url URL]   # a seed incident, time compressed
    orderprobe shop reset | state [--url URL]

Exit codes: 0 ok, 1 shop unreachable, 2 bad input (unknown fault, bad params).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8800"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="shop port (0 = any free port; default 8800)")
    parser.add_argument("--payment-port", type=int, default=8801, help="payment origin port (default 8801)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    fault = actions.add_parser("fault", help="switch a fault on (or --clear) in a running shop")
    fault.add_argument("name", nargs="?", help="fault name, e.g. payment_down, api_5xx, slow_route")
    fault.add_argument("--param", action="append", default=[], metavar="K=V", help="fault parameter (repeatable)")
    fault.add_argument("--seconds", type=float, help="outage window: switch off again after N seconds")
    fault.add_argument("--clear", action="store_true", help="switch faults off (all, or only NAME)")
    replay = actions.add_parser(
        "outage", help="replay a seed incident (double11-2023, gateway-crash, …), time compressed"
    )
    replay.add_argument("name", help="double11-2023 | gateway-crash | north-china-cable-cut | stock-sync-peak")
    replay.add_argument("--compress", type=float, default=60.0, help="seed minutes per … seconds: 60 = 1 min → 1 s")
    for name, text in (("reset", "restore stock, orders, sessions; clear faults"), ("state", "print state as JSON")):
        actions.add_parser(name, help=text)
    for sub in actions.choices.values():
        sub.add_argument(
            "--url",
            default=os.environ.get("ORDERPROBE_SHOP_URL", DEFAULT_URL),
            help=f"the running shop (default $ORDERPROBE_SHOP_URL or {DEFAULT_URL})",
        )


def main(args: argparse.Namespace) -> int:
    if args.action is None:
        return serve(args.host, args.port, args.payment_port)
    try:
        if args.action == "fault":
            return fault(args)
        if args.action == "outage":
            return replay(args)
        return show(_call(args.url, "POST" if args.action == "reset" else "GET", f"/__admin/{args.action}"))
    except _Unreachable as exc:
        print(f"orderprobe shop: {exc}", file=sys.stderr)
        return 1


def serve(host: str, port: int, payment_port: int) -> int:
    import threading

    from orderprobe.shop.server import DemoShop

    try:
        shop = DemoShop(host=host, port=port, payment_port=payment_port).start()
    except OSError as exc:
        print(f"orderprobe shop: {exc}", file=sys.stderr)
        return 2
    print(f"演示商店 shop:    {shop.url}", flush=True)
    print(f"支付 payment:     {shop.payment_url}", flush=True)
    print("Ctrl-C 停止 / to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        shop.stop()
    return 0


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` strings; JSON values where they parse ("0.5", "true"), else the plain string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param {pair!r}: expected K=V, e.g. --param ms=1500")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def fault(args: argparse.Namespace) -> int:
    from orderprobe.shop.faults import FaultError, validate

    if args.clear:
        path = "/__admin/faults" + (f"/{args.name}" if args.name else "")
        return show(_call(args.url, "DELETE", path))
    if not args.name:
        print("orderprobe shop fault: give a fault NAME, or --clear", file=sys.stderr)
        return 2
    try:
        params = parse_params(args.param)
        validate(args.name, params, args.seconds)  # refuse bad input before touching the shop
    except (ValueError, FaultError) as exc:
        print(f"orderprobe shop fault: {exc}", file=sys.stderr)
        return 2
    body = {"name": args.name, "params": params, "seconds": args.seconds}
    return show(_call(args.url, "POST", "/__admin/faults", body))


def replay(args: argparse.Namespace) -> int:
    from orderprobe.shop.faults import FaultError, outage

    try:
        found, seconds = outage(args.name, args.compress)
    except FaultError as exc:
        print(f"orderprobe shop outage: {exc}", file=sys.stderr)
        return 2
    body = {"name": found.fault, "params": found.params, "seconds": seconds}
    return show(_call(args.url, "POST", "/__admin/faults", body))


class _Unreachable(Exception):
    pass


def _call(url: str, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
    import httpx

    try:
        response = httpx.request(method, url.rstrip("/") + path, json=body, timeout=10)
    except httpx.HTTPError as exc:
        raise _Unreachable(f"cannot reach the demo shop at {url} ({exc}); is `orderprobe shop` running?") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        raise _Unreachable(f"{url} answered HTTP {response.status_code}, not the demo shop admin API") from None


def show(result: tuple[int, Any]) -> int:
    status, data = result
    if status >= 400:
        print(f"orderprobe shop: {data.get('message', data)} [{data.get('code', status)}]", file=sys.stderr)
        return 2
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0
