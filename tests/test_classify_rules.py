"""User rule files: override, placement, disabling, dependencies; bad files name file, line, field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orderprobe.base.result import FailurePoint, RequestRecord
from orderprobe.probes.classify import Classifier, RulesError, main

SHOP = "http://127.0.0.1:41731"


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def locator_timeout(text: str, *failed: RequestRecord) -> FailurePoint:
    return FailurePoint(
        step="submit", action="Locator.click", locator='get_by_role("button", name="提交订单")',
        error_type="TimeoutError", message="Locator.click: Timeout 10000ms exceeded.", url=f"{SHOP}/checkout",
        document_status=200, page_text=text, failed_requests=list(failed), requests=list(failed),
    )  # fmt: skip


PRESALE = """
rules:
  - id: myshop.presale
    category: inventory
    detail: presale_not_started
    when:
      text: '预售(尚)?未开始'
    summary: "预售未开始 at step '{step}' — presale has not started"
"""


def test_user_rule_added_and_tried_first(tmp_path: Path) -> None:
    failure = locator_timeout("预售未开始，敬请期待")
    assert Classifier.load().classify(failure).rule == "probe.selector_drift"  # healthy page, no built-in wording
    cause = Classifier.load([write(tmp_path, PRESALE)]).classify(failure)
    assert (cause.rule, cause.category, cause.detail) == ("myshop.presale", "inventory", "presale_not_started")
    assert "预售未开始" in cause.evidence and cause.summary.startswith("预售未开始 at step 'submit'")


def test_rules_are_read_once_while_their_files_stay_as_they_are(tmp_path: Path) -> None:
    """A run's checks and its session both load the rules: they are read once. A rewritten file is read again."""
    path = write(tmp_path, PRESALE)
    first = Classifier.load([path])
    assert Classifier.load([path]) is first and Classifier.load() is Classifier.load()
    write(tmp_path, PRESALE.replace("presale_not_started", "presale_later"))
    assert Classifier.load([path]).rules[0].detail == "presale_later"


def test_user_rule_with_builtin_id_replaces_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - id: inventory.sold_out
            category: inventory
            detail: gone
            when: {text: '没货啦'}
    """,
    )
    classifier = Classifier.load([path])
    assert [r.id for r in classifier.rules].count("inventory.sold_out") == 1
    assert classifier.classify(locator_timeout("没货啦")).detail == "gone"
    # The built-in wording is gone with the built-in rule.
    assert classifier.classify(locator_timeout("已售罄")).rule != "inventory.sold_out"


def test_after_places_rule_behind_another(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - id: myshop.waiting_room
            category: system
            detail: queue
            after: probe.selector_drift
            when: {text: '排队中'}
    """,
    )
    classifier = Classifier.load([path])
    ids = [r.id for r in classifier.rules]
    assert ids.index("myshop.waiting_room") == ids.index("probe.selector_drift") + 1
    assert classifier.classify(locator_timeout("排队中")).rule == "probe.selector_drift"  # healthy page wins
    broken = locator_timeout("排队中", RequestRecord(method="POST", url=f"{SHOP}/api/orders", status=429))
    assert classifier.classify(broken).rule == "myshop.waiting_room"


def test_disable_and_files_in_order(tmp_path: Path) -> None:
    first = write(tmp_path, PRESALE, "first.yaml")
    second = write(tmp_path, """
        disable: [inventory.restock]
        rules:
          - id: other.presale
            category: ux_path
            when: {text: '预售'}
    """, "second.yaml")  # fmt: skip
    classifier = Classifier.load([first, second])
    assert "inventory.restock" not in [r.id for r in classifier.rules]
    assert classifier.classify(locator_timeout("已售罄，预计次日补货")).rule == "inventory.sold_out"
    assert classifier.classify(locator_timeout("预售未开始")).rule == "myshop.presale"  # earlier file first


def test_dependency_precedence(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        dependencies:
          "*.alipay.com": alipay-cn
          "sms.example.test": sms
    """,
    )
    classifier = Classifier.load([path])
    failed = RequestRecord(method="POST", url="https://openapi.alipay.com/gateway.do", status=502)
    failure = locator_timeout("", failed)
    assert Classifier.load().classify(failure).dependency == "alipay"  # built-in default
    assert classifier.classify(failure).dependency == "alipay-cn"  # user file over default
    assert classifier.classify(failure, dependencies={"openapi.*": "ali"}).dependency == "ali"  # run time over all


def test_error_text_override(tmp_path: Path) -> None:
    failure = locator_timeout("糟糕，页面走丢了")
    assert Classifier.load().classify(failure).rule == "probe.selector_drift"
    path = write(tmp_path, "error_text: '走丢了'\n")
    assert Classifier.load([path]).classify(failure).rule == "unknown"  # not healthy any more


BAD = [
    ("category", "rules:\n  - id: a\n    category: inventroy\n    when: {text: x}\n", 3, "rules[0].category"),
    ("regex", "rules:\n  - id: a\n    category: inventory\n    when:\n      text: '(库存'\n", 5, "rules[0].when.text"),
    (
        "status",
        "rules:\n  - id: a\n    category: system\n    when:\n      request:\n        status: 6xx\n",
        6,
        "rules[0].when.request.status",
    ),
    (
        "placeholder",
        "rules:\n  - id: a\n    category: system\n    when: {text: x}\n    summary: '{sku} at {step}'\n",
        5,
        "rules[0].summary",
    ),
    ("unknown-field", "rules:\n  - id: a\n    category: system\n    when:\n      txt: x\n", 5, "rules[0].when.txt"),
    (
        "nested-any",
        "rules:\n  - id: a\n    category: system\n    when:\n      any:\n        - {wat: 1}\n",
        6,
        "rules[0].when.any[0].wat",
    ),  # fmt: skip
    ("missing-when", "rules:\n  - id: a\n    category: system\n", 2, "rules[0].when"),
    ("bad-id", "rules:\n  - id: 'has space'\n    category: system\n    when: {}\n", 2, "rules[0].id"),
    ("yaml-syntax", "rules:\n  - id: a\n    when: {text: [x\n", 4, "invalid YAML"),
    ("not-a-mapping", "- just\n- a list\n", 1, "a rules file is a mapping"),
    ("disable-unknown", "disable: [no.such.rule]\n", 1, "disable[0]"),
    ("after-unknown", "rules:\n  - id: a\n    category: system\n    after: nope\n    when: {}\n", 4, "rules[0].after"),
]


@pytest.mark.parametrize(("text", "line", "where"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_names_file_line_field(tmp_path: Path, text: str, line: int, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as err:
        Classifier.load([path])
    message = str(err.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert where in message
    assert "Traceback" not in message


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, PRESALE, "first.yaml")
    second = write(tmp_path, PRESALE, "second.yaml")
    with pytest.raises(RulesError, match=rf"^{second}:2: rules\[0\]\.id: .*already defined in {first}"):
        Classifier.load([first, second])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read rules file"):
        Classifier.load([tmp_path / "nope.yaml"])


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failure = tmp_path / "failure.json"
    failure.write_text(locator_timeout("预售未开始").model_dump_json(), encoding="utf-8")
    assert main(["--rules", str(write(tmp_path, PRESALE)), str(failure)]) == 0
    assert '"rule": "myshop.presale"' in capsys.readouterr().out
    bad = write(tmp_path, "rules: 3\n", "bad.yaml")
    assert main(["--rules", str(bad)]) == 2
    assert f"{bad}:1: rules:" in capsys.readouterr().err


BASE = FailurePoint(
    step="pay", action="Locator.click", locator='get_by_test_id("pay-submit")', error_type="TimeoutError",
    message="Locator.click: Timeout 10000ms exceeded.", url="https://m.shop.test/pay/1", document_status=200,
    page_title="收银台", page_text="请选择支付方式", console_errors=["Uncaught TypeError: x is undefined"],
    failed_requests=[RequestRecord(method="POST", url="https://api.shop.test/v1/pay", resource_type="fetch",
                                   status=409, body_excerpt='{"code": "PAY_LOCKED"}')],
    requests=[RequestRecord(method="GET", url="https://sms.vendor.test/send", resource_type="fetch", status=200)],
)  # fmt: skip

CONDITIONS = [
    ("step", "step: '^pay$'", "step: '^submit$'"),
    ("action", "action: 'click'", "action: 'fill'"),
    ("locator", "locator: 'pay-submit'", "locator: 'buy-now'"),
    ("error_type", "error_type: [Timeout*]", "error_type: [ValueError]"),
    ("message", "message: '10000ms'", "message: 'strict mode'"),
    ("console", "console: 'TypeError'", "console: 'SyntaxError'"),
    ("page url", "url: ['https://m.shop.test/pay/*']", "url: ['*/cart']"),
    ("document_status", "document_status: 2xx", "document_status: [404, 500-599]"),
    ("text", "text: '支付方式'", "text: '售罄'"),
    ("request status", "request: {status: 409}", "request: {status: 5xx}"),
    ("request body", "request: {body: 'PAY_LOCKED'}", "request: {body: 'SOLD_OUT'}"),
    ("request method+type", "request: {method: POST, resource_type: fetch}", "request: {method: GET}"),
    ("same site", "request: {same_site: true}", "request: {same_site: false}"),
    ("include_ok", "request: {include_ok: true, url: ['*sms*']}", "request: {url: ['*sms*']}"),
    ("dependency by name", "request: {dependency: ['*pay*']}", "request: {dependency: ['*sms*']}"),
    ("healthy", "healthy: false", "healthy: true"),  # a 409 API answer: not a healthy page
    ("any", "any: [{text: 'nope'}, {step: pay}]", "any: [{text: 'nope'}, {step: nope}]"),
    ("not", "not: {text: '售罄'}", "not: {text: '支付'}"),
]


@pytest.mark.parametrize(("yes", "no"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_each_condition_matches_and_refuses(tmp_path: Path, yes: str, no: str) -> None:
    deps = {"api.shop.test": "my-pay"}
    for when, expected in ((yes, "t.rule"), (no, "unknown")):
        path = write(tmp_path, f"error_text: 'x^'\ndisable: [{', '.join(BUILTINS)}]\nrules:\n"
                               f"  - id: t.rule\n    category: system\n    when: {{{when}}}\n")  # fmt: skip
        assert Classifier.load([path]).classify(BASE, dependencies=deps).rule == expected, when


BUILTINS = [r.id for r in Classifier.load().rules]
