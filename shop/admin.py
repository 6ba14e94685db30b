"""The admin endpoint on the shop origin: state, reset and faults, for loopback clients only.

``POST /__admin/faults`` takes ``{"name": ..., "params": {...}, "seconds": N}``; errors are
JSON ``{"code", "message"}`` with status 400 (UNKNOWN_FAULT, BAD_PARAMS, BAD_JSON), 403 (a client
that is not loopback, a Host that is not a loopback name, an Origin that is not the shop's own)
or 415 (a body that is not ``application/json``: what cross-site forms and ``no-cors`` fetches send).
"""

from __future__ import annotations

import ipaddress
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderprobe.shop.faults import FAULTS, FaultError
from orderprobe.shop.web import api_error, ctx


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8 and ::1 (also IPv4-mapped); anything else, or unknown, is refused."""
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _local_name(host_header: str) -> bool:
    """The Host a loopback client uses for this shop: a loopback IP or (*.)localhost. Any other
    name is a page that rebound its own DNS name to 127.0.0.1 (DNS rebinding)."""
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    name = name.strip("[]").lower()
    return name == "localhost" or name.endswith(".localhost") or is_loopback(name)


def _refused(request: Request) -> Response | None:
    host = request.client.host if request.client else None
    if not is_loopback(host):
        detail = f"admin endpoint is loopback-only, not {host}"
        return api_error(403, "ADMIN_LOOPBACK_ONLY", "管理接口仅限本机访问", detail)
    host_header = request.headers.get("host", "")
    if not _local_name(host_header):
        return api_error(
            403, "ADMIN_BAD_HOST", "管理接口仅接受本机地址", f"admin endpoint refuses Host {host_header!r}"
        )
    # Browsers send Origin with every POST/DELETE; a page of any other origin (another port,
    # another site, a sandboxed "null") must not switch this shop's faults.
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{host_header}":
        return api_error(403, "ADMIN_CROSS_ORIGIN", "管理接口拒绝跨站请求", f"admin endpoint refuses Origin {origin!r}")
    if request.method != "GET":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = int(request.headers.get("content-length") or 0) > 0 or "transfer-encoding" in request.headers
        # text/plain and form posts are what a cross-site page can send without asking first
        if (kind or has_body) and kind != "application/json":
            detail = f"admin endpoint takes application/json, not {kind or 'an untyped body'}"
            return api_error(415, "ADMIN_JSON_ONLY", "管理接口只接受 JSON", detail)
    return None


async def state(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    c = ctx(request)
    body = {
        **c.state.snapshot(),
        "faults": c.faults.snapshot(),
        "shop_url": c.shop_url,
        "payment_url": c.payment_url,
        "known_faults": {k: v.summary for k, v in FAULTS.items()},
    }
    return JSONResponse(body)


async def reset(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    c = ctx(request)
    c.state.reset()
    c.faults.clear()
    return JSONResponse({"ok": True})


async def set_fault(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return api_error(400, "BAD_JSON", "请求体不是合法 JSON", "body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        expected = 'expected {"name": ..., "params": {...}, "seconds": N}'
        return api_error(400, "BAD_PARAMS", f"请求格式错误 / {expected}", expected)
    try:
        fault = ctx(request).set_fault(body["name"], body.get("params") or {}, body.get("seconds"))
    except FaultError as exc:
        return api_error(400, exc.code, str(exc), str(exc))
    return JSONResponse({"ok": True, "fault": fault})


async def clear_faults(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    name = request.path_params.get("name")
    if name is not None and name not in FAULTS:
        return api_error(404, "UNKNOWN_FAULT", f"未知故障 / unknown fault {name!r}", f"unknown fault {name!r}")
    return JSONResponse({"ok": True, "cleared": ctx(request).faults.clear(name)})


routes = [
    Route("/__admin/state", state, methods=["GET"]),
    Route("/__admin/reset", reset, methods=["POST"]),
    Route("/__admin/faults", set_fault, methods=["POST"]),
    Route("/__admin/faults", clear_faults, methods=["DELETE"]),
    Route("/__admin/faults/{name}", clear_faults, methods=["DELETE"]),
]
