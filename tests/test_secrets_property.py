"""The scrubber, property-style: random passwords over printable ASCII and a few non-ASCII
letters, written in every encoding a browser or serializer uses (tests/support/encodings.py,
written independently of the scrubber), inside random text, in strings and in bytes, are
masked — and text without them is left exactly as it was."""

from __future__ import annotations

import random

from orderprobe.probes.secrets import MASK, hide_url_passwords, scrub_bytes, scrub_text, scrub_value
from tests.support.encodings import ALPHABET, encodings, hits, random_passwords


def test_every_encoding_of_a_random_password_is_masked_in_text_and_bytes():
    rng = random.Random(26)
    checked = 0
    for secret in random_passwords(seed=26, count=150):
        for name, form in encodings(secret).items():
            left, right = ("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))) for _ in "lr")
            text = f"{left}{form}{right}"
            assert hits(scrub_text(text, [secret]).encode(), [secret]) == {}, (secret, name, text)
            assert hits(scrub_bytes(text.encode(), [secret]), [secret]) == {}, (secret, name, text)
            checked += 1
    assert checked > 150 * 20


def test_text_without_the_secret_is_untouched():
    rng = random.Random(7)
    for secret in random_passwords(seed=7, count=100):
        other = "".join(rng.choice(ALPHABET) for _ in range(200))
        if secret not in other:
            assert scrub_text(other, [secret]) == other


def test_a_result_dump_is_scrubbed_string_by_string_and_keeps_its_shape():
    secret = 'pä"ss~w*rd'
    value = {"url": "/login?password=p%C3%A4%22ss%7Ew*rd", "steps": [{"text": 'typed "pä\\"ss~w*rd"'}], "n": 3}
    assert scrub_value(value, [secret]) == {
        "url": f"/login?password={MASK}",
        "steps": [{"text": f'typed "{MASK}"'}],
        "n": 3,
    }


def test_a_password_in_a_database_url_is_hidden_wherever_it_is_written():
    line = "orderprobe run --results postgresql+psycopg://probe:p@ss:w0rd@db.internal:5432/results -n 2"
    assert (
        hide_url_passwords(line)
        == "orderprobe run --results postgresql+psycopg://probe:***@db.internal:5432/results -n 2"
    )
    assert (
        hide_url_passwords("sqlite:///var/orderprobe.db http://host:8080/x")
        == "sqlite:///var/orderprobe.db http://host:8080/x"
    )
