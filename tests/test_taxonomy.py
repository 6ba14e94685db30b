"""The one category table: every category has both labels and its own colour, and every reader
(the classifier's rules, the results model, the reports' labels and charts, the docs) agrees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from orderprobe.base.result import Cause
from orderprobe.base.taxonomy import LOOK, RULE_CATEGORIES, Category
from orderprobe.probes.classify import rules
from orderprobe.reports import charts, i18n

CJK = re.compile(r"[\u4e00-\u9fff]")
DOCS = Path(__file__).parents[1] / "docs" / "ARCHITECTURE.md"


@pytest.mark.parametrize("category", list(Category))
def test_every_category_reads_and_shows(category: Category) -> None:
    look = LOOK[category]
    assert CJK.search(look.zh) and look.en and not CJK.search(look.en)
    assert re.fullmatch(r"#[0-9a-f]{6}", look.colour)
    assert i18n.cause_label("zh", category) == look.zh and i18n.cause_label("en", category) == look.en
    assert charts.CAUSE_COLOURS[category] == look.colour
    assert Cause(category=category.value).category is category


def test_one_row_per_category_and_no_two_alike() -> None:
    assert list(LOOK) == list(Category)
    for attribute in ("zh", "en", "colour"):
        values = [getattr(look, attribute) for look in LOOK.values()]
        assert len(set(values)) == len(values), attribute
    assert i18n.CAUSE["zh"].keys() == i18n.CAUSE["en"].keys() == {c.value for c in Category}


def test_a_cause_names_a_known_category() -> None:
    with pytest.raises(ValidationError, match="category"):
        Cause(category="weather")


def test_no_rule_may_claim_the_verdicts_category() -> None:
    assert Category.EXPECTATION not in RULE_CATEGORIES
    assert {r.category for r in rules.assemble(rules.read_rules(rules.BUILTIN), [])} <= set(RULE_CATEGORIES)
    with pytest.raises(ValidationError, match="the verdict's category, not a rule's"):
        rules.Rule.model_validate({"id": "x", "category": "expectation", "when": {"url": "*"}})


def test_the_docs_table_is_the_taxonomy() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \| `(#\w+)` \|$", DOCS.read_text(), re.M)
    assert rows == [(c.value, look.zh, look.en, look.colour) for c, look in LOOK.items()]
