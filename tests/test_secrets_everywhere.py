"""No secret in any file a run writes, in any encoding: random passwords (printable ASCII and a
few non-ASCII letters, always with ``"``, ``~`` and ``*``) are typed into a real shop's forms in
real Chromium and sent as a GET form, a POST form, multipart, JSON and HTTP basic auth; the
shop echoes them back (HTML-escaped, percent-encoded in a link, JSON-escaped). The journey then
fails on a locator naming the password. Every file the run writes — traces unzipped, SQLite
store, spool, JUnit, events, HTML report — and the terminal hold 0 copies in every encoding of
tests/support/encodings.py. And a PostgreSQL password in ``--results`` is never printed,
spooled or stored."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orderprobe.store.store import Store
from tests.support.encodings import hits, hits_in_files, random_passwords

PASSWORDS = random_passwords(seed=2026, count=3)

FORM = """<!doctype html><meta charset="utf-8"><title>sign in</title>
<form id="get" action="/echo" method="get"><input name="user" value="shopper">
  <input name="password" type="password" data-testid="get-pw"><button data-testid="get-go">go</button></form>
<form id="post" action="/echo" method="post"><input name="password" type="password" data-testid="post-pw">
  <button data-testid="post-go">go</button></form>
<form id="multi" action="/echo" method="post" enctype="multipart/form-data">
  <input name="password" type="password" data-testid="multi-pw"><button data-testid="multi-go">go</button></form>
"""


class EchoShop(BaseHTTPRequestHandler):
    """A login that echoes what it got, as careless shops do: in the page, in a link, in JSON."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: str, kind: str = "text/html; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _echo(self, received: str) -> None:
        link = urllib.parse.quote(received, safe="")
        self._answer(
            200,
            f"<!doctype html><meta charset='utf-8'><p>you sent {html.escape(received)}</p>"
            f"<a href='/login?again={link}'>again</a><script>var sent = {json.dumps(received)};</script>",
        )

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/echo":
            self._echo(url.query)
        else:
            self._answer(200, FORM)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
        if self.path == "/api/login":
            self._answer(401, json.dumps({"error": "bad password", "got": json.loads(body)}), "application/json")
        else:
            self._echo(body + " " + self.headers.get("Authorization", ""))


@pytest.fixture
def echo_shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoShop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _probe(index: int) -> str:
    return f'''
@pytest.mark.profile(account="leaky{index}")
def test_leaky{index}(journey, page, target, profile):
    secret = profile.account.password()
    with journey.step("sign in"):
        for form in ("get", "post", "multi"):
            page.goto(target.url("/login"))
            page.get_by_test_id(form + "-pw").fill(secret)
            page.get_by_test_id(form + "-go").click()
            page.wait_for_load_state()
        page.evaluate("""async s => {{
            await fetch("/api/login", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                        body: JSON.stringify({{user: "shopper", password: s}})}});
            await fetch("/echo/basic", {{method: "POST", headers: {{Authorization: "Basic " +
                btoa(String.fromCharCode(...new TextEncoder().encode("shopper:" + s)))}}}});
        }}""", secret)
    with journey.step("orders"):
        page.get_by_test_id("order-of-" + secret).click(timeout=1500)  # not there: the error names it
'''


def _orderprobe(tmp: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", *args, "--artefacts", str(tmp / "art"),
         "--reports", str(tmp / "rep"), "--no-progress", "-n", "0"],
        capture_output=True, text=True, cwd=tmp, env={**os.environ, "COLUMNS": "200", **env},
    )  # fmt: skip


def test_random_passwords_leave_no_copy_in_any_encoding_in_any_file(echo_shop: str, tmp_path: Path):
    accounts = "accounts:\n" + "".join(
        f"  - name: leaky{i}\n    title: types and sends its password\n    username: shopper\n"
        f"    password_env: ORDERPROBE_LEAKY_{i}\n    age: 30\n"
        for i in range(len(PASSWORDS))
    )
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "accounts.yaml").write_text(accounts)
    (tmp_path / "test_leaky.py").write_text("import pytest\n" + "".join(_probe(i) for i in range(len(PASSWORDS))))
    env = {f"ORDERPROBE_LEAKY_{i}": pw for i, pw in enumerate(PASSWORDS)}
    db = tmp_path / "results.db"
    done = _orderprobe(
        tmp_path, str(tmp_path / "test_leaky.py"), "--target", echo_shop, "--profiles", str(tmp_path / "profiles"),
        "--results", f"sqlite:///{db}", "--tracing", "retain-on-failure", env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    store = Store(f"sqlite:///{db}")
    journeys = store.journeys(store.latest_run_id())
    store.close()
    # The refused JSON login (401) broke the path in "sign in"; it surfaced at "orders".
    assert [j.failure.surfaced_at for j in journeys] == ["orders"] * len(PASSWORDS), [j.failure for j in journeys]
    assert all({"trace", "screenshot"} <= {a.kind for a in j.artefacts} for j in journeys)
    art = tmp_path / "art"
    written = [
        p for p in [*art.rglob("*"), *tmp_path.glob("results.db*"), *(tmp_path / "rep").rglob("*")] if p.is_file()
    ]
    names = {p.name for p in written}
    assert {"junit.xml", "events.jsonl", "trace.zip"} <= names and any(n.endswith(".html") for n in names), names
    assert any("spool" in str(p) for p in written), names
    found, entries = hits_in_files(written, PASSWORDS)
    assert entries > 3 * len(PASSWORDS)  # the traces were really opened
    assert found == {}
    assert hits((done.stdout + done.stderr).encode(), PASSWORDS) == {}
    # The journeys really carried them: the mask stands where the passwords were.
    assert all("***" in j.failure.model_dump_json() for j in journeys)


def test_a_postgresql_password_in_results_is_never_printed_spooled_or_stored(postgres_server: str, tmp_path: Path):
    password = "Pg-s3cret~pass"
    url = postgres_server.replace("postgres@", f"postgres:{password}@") + "/postgres"  # trust auth: any password
    (tmp_path / "test_quick.py").write_text(
        "def test_quick(journey):\n    with journey.step('nothing'):\n        pass\n"
    )
    done = _orderprobe(tmp_path, str(tmp_path / "test_quick.py"), "--results", url, env={})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "postgres:***@" in done.stdout + done.stderr  # the store is still named, without its password
    store = Store(url)
    run = store.run(store.latest_run_id())
    store.close()
    assert "--results" in run.command and "postgres:***@" in run.command, run.command
    written = [p for p in (tmp_path / "art").rglob("*") if p.is_file()]
    assert any("spool" in str(p) for p in written)
    assert hits_in_files(written, [password]) == ({}, 0)
    assert hits((done.stdout + done.stderr + run.command).encode(), [password]) == {}
