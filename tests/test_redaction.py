"""A credential is removed from a text in every encoding an echoing answer gives it."""

import json
import re
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from previews.gateway import redact, redacted_body

SECRET = "k\"e'y\\ 密钥/<&>😀\x01"


def go_json(text: str) -> str:
    """Go's encoding/json: also escapes <, > and & (and writes the rest as UTF-8)."""
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    return escaped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


ENCODINGS = {
    "raw": lambda s: s,
    "json ascii": lambda s: json.dumps(s)[1:-1],
    "json utf-8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json upper-case hex": lambda s: re.sub(
        r"\\u[0-9a-f]{4}", lambda m: m[0][:2] + m[0][2:].upper(), json.dumps(s)[1:-1]
    ),
    "json twice": lambda s: json.dumps(json.dumps(s)[1:-1])[1:-1],
    "json twice, utf-8": lambda s: json.dumps(json.dumps(s)[1:-1], ensure_ascii=False)[1:-1],
    "go json": go_json,
    "quote": quote,
    "quote, nothing safe": lambda s: quote(s, safe=""),
    "quote_plus": quote_plus,
    "quote, lower-case hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s)),
    "quote twice": lambda s: quote(quote(s)),
    "json, then quote": lambda s: quote(json.dumps(s)[1:-1]),
    "python repr": lambda s: repr(s)[1:-1],
    "python repr, ascii": lambda s: ascii(s)[1:-1],
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_of_a_credential_is_removed(encoding):
    encoded = ENCODINGS[encoding](SECRET)
    assert redact(f"before «{encoded}» after", [SECRET]) == "before «[redacted]» after"


def test_a_stored_body_stays_json_without_the_credential():
    echo = json.dumps({"appKey": SECRET, "note": "x"})  # what a proxy logged, as a string
    body = json.dumps({"code": 500, "message": f"请求内容: {echo}"}, ensure_ascii=False)
    stored = redacted_body(body, [SECRET])
    assert "密钥" not in stored and "k\\" not in stored
    assert json.loads(stored)["message"] == '请求内容: {"appKey": "[redacted]", "note": "x"}'


@given(secret=st.text(min_size=4, max_size=20), encoding=st.sampled_from(sorted(ENCODINGS)))
def test_any_credential_in_any_encoding(secret, encoding):
    encoded = ENCODINGS[encoding](secret)
    assert redact(f"«{encoded}»", [secret]) == "«[redacted]»"
