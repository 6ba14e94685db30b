"""Escalation and acknowledgement: an incident nobody acknowledged within ``escalate_after`` goes
to the job's ``escalate_to`` channels, once.

Acknowledging stops that: ``orderprobe schedule ack INCIDENT`` (against the database), or the
signed link in the message. The link carries the incident, an expiry and an HMAC-SHA256 of
both under the service's ``ack.secret_env`` key; opening it shows a page whose button POSTs
the same query (a chat app previewing the link must not acknowledge it).
"""

from __future__ import annotations

import hashlib
import hmac
import html
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode

from orderprobe.scheduler.config import AlertRule
from orderprobe.scheduler.records import Incident, Records


def due(incident: Incident, rule: AlertRule, now: datetime) -> bool:
    """Open, announced, unacknowledged, not yet escalated, and open longer than ``escalate_after``."""
    return (
        rule.escalate_after is not None
        and bool(rule.escalate_to)
        and incident.resolved_at is None
        and incident.announced
        and incident.acknowledged_at is None
        and incident.escalated_at is None
        and now - incident.opened_at >= timedelta(seconds=rule.escalate_after)
    )


def signature(secret: str, incident_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"{incident_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def link(base: str, secret: str, incident_id: int, now: datetime, valid_for: float) -> str:
    expires = int(now.timestamp() + valid_for)
    query = urlencode({"incident": incident_id, "expires": expires, "sig": signature(secret, incident_id, expires)})
    return f"{base.rstrip('/')}/ack?{query}"


def verify(secret: str, query: str, now: datetime) -> int:
    """The incident id a signed query names; ValueError saying why not (bad, forged, expired)."""
    fields = {k: v[0] for k, v in parse_qs(query).items()}
    try:
        incident_id, expires, sig = int(fields["incident"]), int(fields["expires"]), fields["sig"]
    except (KeyError, ValueError):
        raise ValueError("not an acknowledgement link (incident, expires and sig are needed)") from None
    if not secret or not hmac.compare_digest(signature(secret, incident_id, expires), sig):
        raise ValueError("the link's signature does not match")
    if now.timestamp() > expires:
        raise ValueError("the link has expired; acknowledge with `orderprobe schedule ack`")
    return incident_id


def acknowledge(records: Records, incident_id: int, by: str, now: datetime) -> Incident:
    """Record the acknowledgement (the first one stands); LookupError if there is no such open incident."""
    found = records.incident(incident_id)
    if found is None or found.resolved_at is not None:
        raise LookupError(f"no open incident {incident_id}")
    with records.claim(found.job, found.kind) as session:
        incident = records.incident(incident_id, session)
        assert incident is not None
        if incident.acknowledged_at is None:
            incident.acknowledged_at, incident.acknowledged_by = now, by[:100]
        return incident


def page(incident_id: int, query: str, message: str = "") -> bytes:
    """The confirmation page behind a link (GET), or the answer after the button (POST)."""
    body = (
        f"<p>{html.escape(message)}</p>"
        if message
        else f'<form method="post" action="/ack?{html.escape(query)}"><button>确认 Acknowledge incident '
        f"#{incident_id}</button></form>"
    )
    return f'<!doctype html><meta charset="utf-8"><title>orderprobe ack</title>{body}'.encode()
