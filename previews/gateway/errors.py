"""How a gateway call fails: the kinds of failure, the error raised, and the one rule of
temporary (worth asking again) against permanent (a refusal to show as it is).

The error carries codes and the upstream's own words, never an explanation of ours:
what a code means to the buyer is said by previews/failures.py, in the reader's language.
"""

from __future__ import annotations

import enum

# 1688's documented business codes (the reference's error table): refusals, whatever the
# envelope or the message around them say.
REFUSAL_CODES = frozenset(f"500_00{n}" for n in range(1, 10))
FREQUENCY_LIMIT_CODES = frozenset({"gw.QosAppFrequencyLimit", "isv.appCallLimited"})

# How the gateway (or 1688 behind it) says "busy for now": 系统繁忙 = system busy,
# 服务繁忙 = service busy, 稍后再试 / 稍后重试 = try again later. "请核对后重试" ("check, then
# retry") is deliberately not here: that asks the buyer to change something.
BUSY_MARKERS = (
    "系统繁忙", "服务繁忙", "稍后再试", "稍后重试",
    "system busy", "system is busy", "server busy", "service busy", "try again later",
)  # fmt: skip


class ErrorKind(enum.StrEnum):
    """What went wrong, as stored with a failed supplier (`SupplierPreview.error_kind`)."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    HTTP = "http"
    RATE_LIMITED = "rate_limited"
    MALFORMED = "malformed"
    REJECTED = "rejected"
    BUSY = "busy"  # the gateway said "busy, try again later": temporary, not a refusal
    UNAVAILABLE = "unavailable"  # a lookup: the offer does not exist or is withdrawn (permanent)


class GatewayError(Exception):
    """Any failure of a gateway call: its kind, whether to retry it, and what the gateway
    said (`error_code`, `message`: its own words, credentials removed), with a technical
    `reason` for the logs and the stored record."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        *,
        retryable: bool,
        http_status: int | None = None,
        error_code: str | None = None,
        message: str = "",
        trace_id: str | None = None,
        raw_body: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.error_code = normalize_code(error_code)
        self.message = message
        self.trace_id = trace_id
        self.raw_body = raw_body
        self.retry_after = retry_after
        self.attempts = 1
        self.duration = 0.0

    def __str__(self) -> str:
        return self.reason


def normalize_code(code: object) -> str | None:
    """`500_004`, `500004` and 500004 are the same documented code."""
    if code is None or code == "":
        return None
    text = str(code).strip()
    digits = text.replace("_", "")
    if digits.isdigit() and len(digits) == 6 and digits.startswith("500"):
        return f"{digits[:3]}_{digits[3:]}"
    return text


def is_temporary_failure(
    *, envelope_code: int | None = None, error_code: object = None, message: str = ""
) -> bool:
    """Whether a failure the gateway *answered* (not an HTTP error) is temporary.

    The one rule, used for every answer shape: a documented business code (500_001 to
    500_009, however spelt, in the envelope or nested) is a refusal whatever the message
    says, and stays one. Otherwise the failure is temporary, and worth retrying, when the
    envelope `code` is a 5xx (the gateway's own server-side failure, reported as an HTTP
    5xx would be; 500_004 spelt 500004 is not a 5xx) or the message says busy / try again
    later.
    """
    for code in (error_code, envelope_code):
        if normalize_code(code) in REFUSAL_CODES:
            return False
    if envelope_code is not None and 500 <= envelope_code <= 599:
        return True
    lowered = (message or "").lower()
    return any(marker in lowered for marker in BUSY_MARKERS)


def failure_kind(*, envelope_code=None, error_code=None, message="") -> ErrorKind:
    """The kind of a failure the gateway answered: rate limited, busy, or refused."""
    if error_code in FREQUENCY_LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    if is_temporary_failure(envelope_code=envelope_code, error_code=error_code, message=message):
        return ErrorKind.BUSY
    return ErrorKind.REJECTED
