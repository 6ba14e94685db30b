"""Every command and code block of the READMEs works as written (issue 12: a new user follows
them line by line). Blocks are extracted from the files; each one is run, or checked as far as
this machine allows, and a block no test claims fails ``test_every_block_is_claimed`` — so a
README cannot grow an untested command.

Commands run as a user types them, from a fresh folder (not the repo): ``orderprobe`` and
``.venv/bin/orderprobe`` are this interpreter's ``-m orderprobe`` — through its entry point in this
process (``in_process``) where a process of its own would test nothing more, else as a process.
Hosts that only exist on the user's network (``m.example.com``, ``db``, ``grid``) are replaced by
local ones, or the line is planned with ``--list`` (every up-front check, no browser) instead of run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orderprobe.probes.fixtures import DEMO_SECRETS
from orderprobe.shop.server import DemoShop
from tests.support.in_process import orderprobe as entry_point
from tests.support.in_process import pytest as in_process_pytest
from tests.support.receivers import wait_until

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "profiles/README.md", "scheduler/README.md", "shop/README.md", "reports/README.md")
ORDERPROBE = [sys.executable, "-m", "orderprobe"]


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    text: str

    @property
    def key(self) -> str:
        """The file and first line (without its comment): stable when text is added above the block."""
        first = next(ln for ln in self.text.splitlines() if ln.strip())
        command = " ".join(re.sub(r"\s+#.*$", "", first).split())
        return f"{self.doc}: {command}"

    def exits(self) -> dict[str, int]:
        """The exit code each line's comment documents ("… exit 1"): a line that says what it does
        when it fails is run and held to it."""
        out = {}
        for raw in self.text.splitlines():
            words = shlex.split(raw, comments=True)
            said = re.search(r"#.*\bexit (\d+)", raw)
            if words and said:
                out[shlex.join(words)] = int(said[1])
        return out

    def commands(self) -> list[str]:
        """Shell lines without comments, as the user would paste them."""
        out = []
        for raw in self.text.splitlines():
            words = shlex.split(raw, comments=True)
            if words:
                out.append(shlex.join(words))
        return out


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^```(\w+)\s*$", lines[i])
            if m and m[1] in ("sh", "python", "yaml"):
                end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
                found.append(Block(doc, i + 1, m[1], "\n".join(lines[i + 1 : end])))
                i = end
            i += 1
    return found


def block(key: str) -> Block:
    """The block whose key is ``key``, else the one block whose key starts with it."""
    found = [b for b in blocks() if b.key == key] or [b for b in blocks() if b.key.startswith(key)]
    assert len(found) == 1, f"{key!r} names {len(found)} blocks"
    return found[0]


def argv(command: str, **replace: str) -> list[str]:
    for old, new in replace.items():
        command = command.replace(old, new)
    words = shlex.split(command)
    if words[0] in ("orderprobe", ".venv/bin/orderprobe"):
        return [*ORDERPROBE, *words[1:]]
    if words[0] == ".venv/bin/python":
        return [sys.executable, *words[1:]]
    return words


def run(words: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        words, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env, "COLUMNS": "160"}
    )
    assert "Traceback (most recent call last)" not in done.stderr, done.stderr
    return done


def ok(words: list[str], cwd: Path, **env: str) -> str:
    if words[: len(ORDERPROBE) + 1] == [*ORDERPROBE, "run"] and "--list" in words and not env:
        return planned(words[len(ORDERPROBE) :], cwd)
    done = attempt(words, cwd, **env)
    assert done.returncode == 0, f"{shlex.join(words)} → exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr}"
    return done.stdout


def attempt(words: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``words`` run, as ``run`` does; ``orderprobe report …``, ``profiles …``, ``run …`` and the shop's
    client lines (``shop fault``, ``state``, …) in this process (``in_process``): they read files or a
    store and write one file, or make one request to a served shop; a run (and ``python -m pytest``)
    starts its browser, shop and workers as the command does — only the command's own Python
    start-up (~0.7 s CPU) is saved."""
    command = words[len(ORDERPROBE) : len(ORDERPROBE) + 2] if words[: len(ORDERPROBE)] == ORDERPROBE else []
    client = command[:1] == ["shop"] and len(command) == 2 and not command[1].startswith("-")  # not the server
    if command[:1] in (["report"], ["profiles"], ["run"]) or client:
        return in_process(words[len(ORDERPROBE) :], cwd, **env)
    if words[:3] == [sys.executable, "-m", "pytest"]:  # plain pytest: the plugin from its entry point
        return in_process_pytest(words[3:], cwd, **env)
    return run(words, cwd, **env)


def planned(words: list[str], cwd: Path) -> str:
    """``orderprobe run … --list`` in this process (``in_process``): the same plan, refusals and
    exit code — a plan starts no browser, no shop and no worker."""
    done = in_process(words, cwd)
    assert done.returncode == 0, (
        f"orderprobe {shlex.join(words)} → exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr}"
    )
    return done.stdout


def in_process(
    words: list[str], cwd: Path, environ: dict[str, str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``orderprobe WORDS`` through the console script's own entry point, in this process
    (tests/support/in_process.py): its output and exit code without a Python start-up per line."""
    return entry_point(words, cwd, environ, **env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the ledger: which test exercises which block --------------------------------------------

CLAIMED = {
    "README.md: make run": "test_make_targets_exist_and_run_what_they_say",
    "README.md: .venv/bin/orderprobe run": "test_quickstart_runs_plans_and_reports",  # and test_lines_that_say_…
    "README.md: .venv/bin/orderprobe report run": "test_quickstart_runs_plans_and_reports",
    "README.md: .venv/bin/orderprobe schedule --config": "test_the_example_schedule_runs_as_shipped",
    "README.md: import pytest": "test_the_example_probe_passes_from_any_folder",
    "README.md: import httpx": "test_api_sketches_name_what_exists",
    "README.md: .venv/bin/orderprobe run my_probes": "test_the_example_probe_passes_from_any_folder",
    "README.md: # one sweep split over three machines": "test_the_scaling_out_lines_plan_one_sweep",
    "README.md: # at each site, the same schedule file": "test_the_location_lines_say_where_they_run",
    "README.md: jobs:": "test_the_ci_and_kubernetes_examples_plan_the_same_sweep",
    "README.md: apiVersion: batch/v1": "test_the_ci_and_kubernetes_examples_plan_the_same_sweep",
    "profiles/README.md: orderprobe profiles list": "test_profile_commands_and_yaml_blocks",
    "profiles/README.md: networks:": "test_profile_commands_and_yaml_blocks",
    "profiles/README.md: regions:": "test_profile_commands_and_yaml_blocks",
    "profiles/README.md: switches:": "test_profile_commands_and_yaml_blocks",
    "profiles/README.md: from orderprobe.probes.emulation import": "test_api_sketches_name_what_exists",
    "scheduler/README.md: orderprobe schedule": "test_the_example_schedule_runs_as_shipped",
    "shop/README.md: from orderprobe.shop.server import DemoShop": "test_the_shop_python_block_runs",
    "shop/README.md: orderprobe shop --port": "test_shop_commands_against_a_served_shop",
    "reports/README.md: from orderprobe.store.store import": "test_api_sketches_name_what_exists",
    "reports/README.md: run_report.render": "test_api_sketches_name_what_exists",
}


def test_every_block_is_claimed() -> None:
    found = blocks()
    assert len(found) >= 15, [b.key for b in found]
    unclaimed = [b.key for b in found if not any(b.key.startswith(k) for k in CLAIMED)]
    assert not unclaimed, f"README blocks no test runs: {unclaimed}"
    names = set(globals())
    assert set(CLAIMED.values()) <= names
    stale = [k for k in CLAIMED if not any(b.key.startswith(k) for b in found)]
    assert not stale, f"claimed blocks that are gone from the READMEs: {stale}"


def test_make_targets_exist_and_run_what_they_say() -> None:
    for target in [c.split()[1] for c in block("README.md: make run").commands()]:
        dry = ok(["make", "-n", target], ROOT)
        assert {"run": "orderprobe run", "test": "-m pytest"}[target] in dry
        assert "doctor --install" in dry  # Chromium is installed by the command itself


def passed(out: str, journeys: str) -> None:
    """One verdict line, under the table; the last line is the run report's path (`make run` ends with it)."""
    lines = out.rstrip().splitlines()
    verdicts = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == 1 and verdicts[0].startswith(f"PASS: {journeys} "), out[-2000:]
    assert lines[-1].startswith("report ") and lines[-1].endswith(".html"), out[-2000:]


def test_quickstart_runs_plans_and_reports(tmp_path: Path) -> None:
    running = block("README.md: .venv/bin/orderprobe run")
    runs, exits = running.commands(), running.exits()
    assert runs[0] == ".venv/bin/orderprobe run"
    # The smoke matrix, for real, on the embedded demo shop — at the location the report lines name.
    out = ok(argv(runs[0]), tmp_path, ORDERPROBE_LOCATION="sh")
    passed(out, "3 journeys")
    assert (tmp_path / "var" / "orderprobe.db").exists()
    assert exits, "the README says what the old-Android line does"
    with DemoShop(port=0, payment_port=0) as shop:
        for command in runs[1:]:
            if "--target" in command:
                continue  # run for real by test_the_example_probe_passes_from_any_folder
            if command in exits:
                continue  # says how it fails: run for real by test_lines_that_say_how_they_fail_do
            planned = ok([*argv(command), "--list"], tmp_path)
            assert re.search(r"^[1-9]\d* journeys?$", planned, re.MULTILINE), planned
        (external,) = [c for c in runs if "--target" in c]
        probes = tmp_path / "my_probes"
        probes.mkdir()
        (probes / "test_my_checkout.py").write_text(block("README.md: import pytest").text, encoding="utf-8")
        words = argv(external, **{"https://m.example.com": shop.url, "https://pay.example.com": shop.payment_url})
        out = ok([*words, "--no-progress"], tmp_path, **DEMO_SECRETS)
        assert "PASS" in out, out[-2000:]
    reading = block("README.md: .venv/bin/orderprobe report run")
    for command in reading.commands():
        out = ok(argv(command), tmp_path)
        written = Path(out.strip().splitlines()[-1].split()[-1])
        assert written.is_file() and written.suffix == ".html", out


def test_lines_that_say_how_they_fail_do(tmp_path: Path) -> None:
    """A README line whose comment gives an exit code ("… exit 1") is run as written, in a fresh
    folder, and held to it: old Android gets the upgrade page (exit 1); a trend selection with no
    journeys in the window is refused, naming what there is (exit 2)."""
    lines = {
        **block("README.md: .venv/bin/orderprobe run").exits(),
        **block("README.md: .venv/bin/orderprobe report run").exits(),
    }
    assert sorted(lines.values()) == [1, 2], lines
    for command, code in lines.items():
        done = attempt([*argv(command), *(["--no-progress"] if " run " in command else [])], tmp_path)
        assert done.returncode == code, f"{command} → exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr}"
        if code == 1:
            assert "compatibility" in done.stdout, done.stdout[-2000:]  # the cause, in the summary table
        else:
            assert "no journeys with " in done.stderr, done.stderr


def test_the_example_probe_passes_from_any_folder(tmp_path: Path) -> None:
    probe = tmp_path / "my_probes" / "test_my_checkout.py"
    probe.parent.mkdir()
    probe.write_text(block("README.md: import pytest").text, encoding="utf-8")
    orderprobe_run, plain_pytest = block("README.md: .venv/bin/orderprobe run my_probes").commands()
    out = ok(argv(orderprobe_run), tmp_path)  # as written, from the folder that holds my_probes/
    passed(out, "1 journey")
    assert "my_checkout" in out and (tmp_path / "var" / "orderprobe.db").is_file()  # its own name, this folder's store
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = ok(argv(orderprobe_run, **{"my_probes/": f"{probe.parent}/"}), elsewhere)  # from another folder
    passed(out, "1 journey")
    assert (elsewhere / "var" / "orderprobe.db").is_file()  # a separate store, as the README says
    out = ok(argv(plain_pytest), tmp_path)
    assert re.search(r"\b1 passed\b", out), out[-2000:]


def test_the_scaling_out_lines_plan_one_sweep(tmp_path: Path) -> None:
    """The shard lines need a shared database and three machines: planned here with --list (a
    SQLite file for ``db``); together they plan the whole matrix, each journey once. A sharded run
    and its report are run for real in tests/test_sharding.py, a remote browser in
    tests/test_remote_browser.py."""
    commands = block("README.md: # one sweep split over three machines").commands()
    local = {"postgresql+psycopg://op@db/orderprobe": f"sqlite:///{tmp_path / 'r.db'}"}
    shards = [c for c in commands if "--shard" in c]
    assert len(shards) == 3
    planned = [ok([*argv(c, **local), "--list"], tmp_path).splitlines()[:-1] for c in shards]
    whole = ok([*ORDERPROBE, "run", "--matrix", "presale", "--list"], tmp_path).splitlines()[:-1]
    assert sorted(sum(planned, [])) == sorted(whole) and all(planned)
    assert any(c.startswith("orderprobe report run presale-42") for c in commands)
    assert sum("--browser-endpoint" in c for c in commands) == 2


def test_the_location_lines_say_where_they_run(tmp_path: Path) -> None:
    """Agents at several sites need a shared database and several machines: here a SQLite file for
    ``db``, each agent's line with ``list`` (its name and location, instead of the foreground
    service), the run planned with --list, the trend written. Two real agents on one real
    PostgreSQL: tests/test_scheduler_locations.py."""
    commands = block("README.md: # at each site, the same schedule file").commands()
    local = {"postgresql+psycopg://op@db/orderprobe": f"sqlite:///{tmp_path / 'r.db'}"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORDERPROBE_")}
    agents = [c for c in commands if " schedule " in f" {c} "]
    assert len(agents) == 2
    for command in agents:
        env, words = dict(clean), shlex.split(command)
        while "=" in words[0]:  # VAR=value orderprobe …: the variable is the agent's
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        words = argv(shlex.join(words), **local)
        where = env.get("ORDERPROBE_LOCATION") or words[words.index("--location") + 1]
        done = in_process([*words[len(ORDERPROBE) :], "list"], tmp_path, environ=env, COLUMNS="200")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"agent {where} · location {where}" in " ".join(done.stdout.split()), done.stdout
    (run,) = [c for c in commands if c.startswith("orderprobe run")]
    planned = ok([*argv(run, **local), "--list"], tmp_path)
    assert re.search(r"^[1-9]\d* journeys$", planned, re.MULTILINE), planned
    (trend,) = [c for c in commands if c.startswith("orderprobe report trend")]
    written = Path(ok(argv(trend, **local), tmp_path).strip().splitlines()[-1])
    assert (tmp_path / written).is_file() and "trend" in written.name


def test_the_ci_and_kubernetes_examples_plan_the_same_sweep(tmp_path: Path) -> None:
    """The GitHub Actions matrix and the Kubernetes indexed Job are valid YAML of their kind, and
    the command each shard runs (its variables put in) plans one slice of the whole sweep."""
    actions = yaml.safe_load(block("README.md: jobs:").text)["jobs"]["presale"]
    shards = actions["strategy"]["matrix"]["shard"]
    (command,) = [s["run"] for s in actions["steps"] if "orderprobe run" in s.get("run", "")]
    job = yaml.safe_load(block("README.md: apiVersion: batch/v1").text)
    assert (job["kind"], job["spec"]["completionMode"], job["spec"]["completions"]) == ("Job", "Indexed", len(shards))
    (k8s,) = job["spec"]["template"]["spec"]["containers"][0]["args"]
    local = {'"$ORDERPROBE_RESULTS"': f"sqlite:///{tmp_path / 'r.db'}", ".venv/bin/orderprobe": "orderprobe"}
    whole = sorted(ok([*ORDERPROBE, "run", "--matrix", "presale", "--list"], tmp_path).splitlines()[:-1])
    for template, variable in ((command, "${{ matrix.shard }}"), (k8s, "$((JOB_COMPLETION_INDEX + 1))")):
        template = template.replace("${{ github.run_id }}", "42")
        planned = [
            ok([*argv(template, **local, **{variable: str(shard)}), "--list"], tmp_path).splitlines()[:-1]
            for shard in shards
        ]
        assert sorted(sum(planned, [])) == whole and all(planned), template


def test_profile_commands_and_yaml_blocks(tmp_path: Path) -> None:
    mine = tmp_path / "my_profiles"
    mine.mkdir()
    (mine / "networks.yaml").write_text(block("profiles/README.md: networks:").text, encoding="utf-8")
    (mine / "regions.yaml").write_text(block("profiles/README.md: regions:").text, encoding="utf-8")
    switches = yaml.safe_load(block("profiles/README.md: switches:").text)["switches"]
    # As the README places them: a rules-free matrix of the user's own.
    commute = {"matrices": [{"name": "commute", "probes": ["subsidy_checkout"], "switches": switches}]}
    (mine / "matrices.yaml").write_text(yaml.safe_dump(commute), encoding="utf-8")
    for command in block("profiles/README.md: orderprobe profiles list").commands():
        out = ok(argv(command), tmp_path)
        assert out.strip(), command
    listed = ok([*ORDERPROBE, "profiles", "--profiles", "my_profiles", "list", "networks"], tmp_path)
    assert "office-wifi" in listed
    sf = ok([*ORDERPROBE, "profiles", "--profiles", "my_profiles", "show", "sf"], tmp_path)
    assert "Doe" in sf and "US" in sf
    plan = ok([*ORDERPROBE, "run", "--profiles", "my_profiles", "--matrix", "commute", "--list"], tmp_path)
    assert plan.splitlines()[-1] == "1 journey" and "subsidy_checkout" in plan


def test_the_matrix_table_counts_what_each_matrix_plans() -> None:
    from orderprobe.profiles.catalogue import load_catalogue

    text = (ROOT / "profiles" / "README.md").read_text(encoding="utf-8")
    stated = {m[1]: int(m[2]) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|.*\| (\d+) \|$", text, re.MULTILINE)}
    assert {"smoke", "presale", "paths", "regions"} <= set(stated)
    catalogue = load_catalogue()
    assert {name: len(catalogue.expand(name)) for name in stated} == stated


def test_api_sketches_name_what_exists() -> None:
    """Blocks that sketch an API (they hold ``...``) cannot run as they stand: their imports run and
    every ``name.attribute`` they use on an imported module or class exists."""
    from orderprobe.probes.emulation import Emulation
    from orderprobe.probes.journey import Journey
    from orderprobe.profiles.models import Profile
    from orderprobe.reports import compare, run_report, trend
    from orderprobe.store.store import Store

    bound = {"emulation": Emulation, "profile": Profile, "journey": Journey, "store": Store,
             "run_report": run_report, "compare": compare, "trend": trend}  # fmt: skip
    for key in ("profiles/README.md: from orderprobe.probes.emulation",
                "reports/README.md: from orderprobe.store.store",
                "reports/README.md: run_report.render", "README.md: import httpx"):  # fmt: skip
        text = block(key).text
        for line in text.splitlines():
            if line.startswith(("from ", "import ")):
                exec(line, {})
        used = {(name, attr) for name, attr in re.findall(r"\b(\w+)\.(\w+)\b", text) if name in bound}
        assert used, key
        missing = [f"{n}.{a}" for n, a in used if not _has(bound[n], a)]
        assert not missing, f"{key}: {missing}"
    assert hasattr(run_report, "write")


def _has(owner: object, attr: str) -> bool:
    """A class's attribute, or an instance attribute it declares (annotation or ``self.attr =``)."""
    import inspect

    if hasattr(owner, attr) or attr in getattr(owner, "__annotations__", {}):
        return True
    return isinstance(owner, type) and re.search(rf"self\.{attr}\b[^=]*=", inspect.getsource(owner)) is not None


def test_the_shop_python_block_runs() -> None:
    code = block("shop/README.md: from orderprobe.shop.server import DemoShop").text
    scope = {"my_monotonic": time.monotonic, "my_epoch": time.time}
    exec(compile(code, "shop/README.md", "exec"), scope)
    assert isinstance(scope["shop"], DemoShop)


def test_shop_commands_against_a_served_shop(tmp_path: Path) -> None:
    commands = block("shop/README.md: orderprobe shop --port").commands()
    port, payment = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    serve = argv(commands[0], **{"8800": str(port), "8801": str(payment)})
    server = subprocess.Popen(serve, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: _answers(url), "the shop to answer", timeout=120)
        for command in commands[1:]:
            ok(argv(command, **{"http://127.0.0.1:8800": url}), tmp_path, ORDERPROBE_SHOP_URL=url)
        state = json.loads(ok([*ORDERPROBE, "shop", "state"], tmp_path, ORDERPROBE_SHOP_URL=url))
        assert state["orders"] == [] or state["orders"] == {}  # `shop reset` came before `state`
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) is not None


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def test_the_example_schedule_runs_as_shipped(tmp_path: Path) -> None:
    """No channel secret is set: each channel is disabled with one warning, ``list`` works, and
    ``--once smoke`` runs the job and prints the report path; the service starts and stops. The
    suite's CPU-slowdown choice (tests/conftest.py) is kept: it is no setting of the schedule."""
    kept = ("ORDERPROBE_CPU_SLOWDOWN",)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERPROBE_") or k in kept}
    (tmp_path / "scheduler").symlink_to(ROOT / "scheduler")
    service, listing, once = block("README.md: .venv/bin/orderprobe schedule --config").commands()
    assert block("scheduler/README.md: orderprobe schedule").commands()[1:] == [
        c.replace(".venv/bin/", "") for c in (listing, once)
    ]
    done = in_process(argv(listing)[len(ORDERPROBE) :], tmp_path, environ=env)
    assert done.returncode == 0 and "smoke" in done.stdout, done.stdout + done.stderr
    done = subprocess.run(argv(once), cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = re.search(r"(\S+\.html)\s*$", done.stdout.strip())
    assert report and (tmp_path / report[1]).resolve().is_file(), done.stdout[-2000:]
    for channel in ("oncall-feishu", "oncall-dingtalk", "qa-wecom"):
        assert (done.stdout + done.stderr).count(f"channels.{channel}: disabled") == 1, done.stderr
    # The service itself, as written (the metrics port moved if this machine already uses it).
    words = argv(service) + ([] if _free(9464) else ["--metrics-port", str(free_port())])
    proc = subprocess.Popen(words, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        seen: list[str] = []
        wait_until(lambda: _line(proc, seen, "metrics on http"), "the service to start", timeout=300)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, "".join(seen) + rest


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _line(proc: subprocess.Popen[str], seen: list[str], text: str) -> bool:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    seen.append(line)
    if not line and proc.poll() is not None:
        pytest.fail(f"the service exited {proc.returncode}: {''.join(seen)}")
    return text in line
