"""Credentials out of everything we keep, and third-party text made printable.

Used on every body, message and reason before it is stored, logged or raised: a gateway
or proxy that echoes the request must not make a credential appear anywhere.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

REDACTED = "[redacted]"
_CREDENTIAL_KEYS = {"appkey", "appsecret", "sign", "access_token"}
_RAW_BODY_LIMIT = 200_000


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove credential values from any text (bodies, messages) before it is kept.

    A gateway or proxy that echoes the request shows a credential the way it was
    encoded there, not as we hold it: JSON-escaped (`\\"`, `\\\\`, `\\u5bc6`, with or
    without `ensure_ascii`), URL-encoded (`%22`, `+` for a space), escaped as Python or
    JavaScript write strings, or escaped twice (a JSON body quoted inside another JSON
    string), in any mix. Each is removed.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = _secret_pattern(secret).sub(REDACTED, text)
    return text


# A backslash as an answer may spell it inside an escape: itself, doubled by a second
# JSON encoding, or URL-encoded.
_BACKSLASHES = r"(?:\\|(?i:%5c))+"
# Short escapes: JSON's, and `\\'` as JavaScript and Python's repr() write a quote.
_JSON_SHORT_ESCAPES = {
    '"': '"', "'": "'", "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r",
    "\t": "t",
}  # fmt: skip


def _percent(char: str) -> str:
    """`char` URL-encoded (any hex case, possibly encoded twice: %25XX)."""
    return "".join(f"%(?:25)*(?i:{byte:02x})" for byte in char.encode())


def _plain_forms(char: str) -> list[str]:
    """`char` URL-encoded or as itself: the longer form first, as the regex takes the
    first alternative that fits (`%` before `%25` would leave `25` behind)."""
    forms = [_percent(char)]
    if char == " ":
        forms.append(r"\+")  # quote_plus
    return [*forms, re.escape(char)]


@functools.lru_cache(maxsize=32)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """A pattern matching `secret` in every encoding, mixed character by character (some
    encoders escape only some characters: Go escapes `<`, `>` and `&` as `\\u003c`...)."""
    parts = []
    for char in secret:
        utf16 = char.encode("utf-16-be")
        units = [utf16[i : i + 2].hex() for i in range(0, len(utf16), 2)]
        forms = ["".join(f"{_BACKSLASHES}u(?i:{unit})" for unit in units)]
        if ord(char) < 0x100:  # Python's repr() and JavaScript write some characters so
            forms.append(f"{_BACKSLASHES}x(?i:{ord(char):02x})")
        elif ord(char) > 0xFFFF:  # and Python's ascii() so
            forms.append(f"{_BACKSLASHES}U(?i:{ord(char):08x})")
        if char in _JSON_SHORT_ESCAPES:
            short = "|".join(_plain_forms(_JSON_SHORT_ESCAPES[char]))
            forms.append(f"{_BACKSLASHES}(?:{short})")
        forms += _plain_forms(char)
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


def _redact_json(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in _CREDENTIAL_KEYS else _redact_json(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


# C0 and C1 controls but tab and line breaks: PostgreSQL refuses a NUL in text, and an
# escape sequence from a third party has no business in a page, a log or a spreadsheet.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Upstream text as it may be stored and shown: control characters become U+FFFD."""
    return _CONTROL_CHARACTERS.sub("\ufffd", text)


def redacted_body(text: str, secrets: Iterable[str]) -> str:
    """The body as it may be stored: credential fields blanked and credential values removed
    (inside each JSON string first, so the stored body stays valid JSON, then as text)."""
    secrets = tuple(secrets)
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError:
        cleaned = printable(text)
    else:
        # json.dumps writes control characters as \u00XX escapes, so the stored text holds none.
        cleaned = json.dumps(_redact_json(document, secrets), ensure_ascii=False, default=str)
    return redact(cleaned, secrets)[:_RAW_BODY_LIMIT]


def snippet(text: str, limit: int = 160) -> str:
    """A short, single-line excerpt of a body for a reason; markup reduced to its text."""
    if "<" in text and ">" in text:
        text = re.sub(r"<[^>]*>", " ", text)
    flat = " ".join(printable(text).split())
    return flat[:limit] + ("…" if len(flat) > limit else "")
