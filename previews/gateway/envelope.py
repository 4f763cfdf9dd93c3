"""The envelope every gateway answer comes in, and the failures it reports.

`{code, message, data, traceId}`, with `code` 200 (or 0) for an answer. A failure comes
in one of three shapes, each turned into a `GatewayError` here, the same for every
endpoint: another envelope `code` (the error possibly nested in `data` or
`data.result`), `data.success: false` with `errorCode`/`errorMsg`, or the platform's
own `{error_code, error_message}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from .errors import ErrorKind, GatewayError, failure_kind
from .fields import Malformed, expect_dict, to_int, to_text
from .redaction import redact, redacted_body, snippet


def parse_body[T](
    text: str,
    parse_data: Callable[[dict, str | None, str], T],
    *,
    secrets: Sequence[str] = (),
    http_status: int = 200,
    what: str = "call",
) -> T:
    """Open the envelope of one answer body and hand its `data` to `parse_data`.

    `parse_data(data, trace_id, stored_body)` returns the endpoint's typed answer; a
    `Malformed` it raises becomes a non-retryable MALFORMED `GatewayError`, as does a body
    that is not JSON. Failures the gateway answered raise `GatewayError`: REJECTED (not
    retryable), BUSY or RATE_LIMITED (retryable). `what` names the call in reasons
    ("The gateway refused the preview").
    """
    stored = redacted_body(text, secrets)
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise GatewayError(
            ErrorKind.MALFORMED,
            f"The gateway answered with something that is not JSON (HTTP {http_status}): "
            f"{snippet(redact(text, secrets))}",
            retryable=False,
            http_status=http_status,
            message=snippet(redact(text, secrets)),
            raw_body=stored,
        ) from None
    trace_id = None
    try:
        envelope = expect_dict(document, "the answer")
        trace_id = to_text(envelope.get("traceId"), "traceId")
        code = envelope.get("code")
        if code is None and "error_code" in envelope:
            raise platform_error(envelope, trace_id, stored, http_status, secrets)
        code_number = to_int(code, "code")
        if code_number not in (200, 0):
            raise _refused_envelope(envelope, code_number, trace_id, stored, http_status, secrets)
        data = expect_dict(envelope.get("data"), "data")
        if data.get("success") is False or data.get("errorCode"):
            error_code = to_text(data.get("errorCode"), "data.errorCode")
            message = to_text(data.get("errorMsg"), "data.errorMsg") or ""
            if data.get("success") is False and not error_code and not message:
                # Create order's shape: `{success: false, code: "400", message: "..."}`.
                error_code = to_text(data.get("code"), "data.code")
                message = to_text(data.get("message"), "data.message") or ""
            kind = failure_kind(error_code=error_code, message=message)
            prefix = (
                "The gateway is busy for now; try again later"
                if kind is ErrorKind.BUSY
                else f"The gateway refused the {what}"
            )
            raise GatewayError(
                kind,
                redact(_reason(prefix, error_code, message), secrets),
                retryable=kind is not ErrorKind.REJECTED,
                http_status=http_status,
                error_code=error_code,
                message=redact(message, secrets),
                trace_id=trace_id,
                raw_body=stored,
            )
        return parse_data(data, trace_id, stored)
    except Malformed as problem:
        raise GatewayError(
            ErrorKind.MALFORMED,
            "The gateway's answer does not have the documented shape: "
            + redact(str(problem), secrets),
            retryable=False,
            http_status=http_status,
            trace_id=trace_id,
            raw_body=stored,
        ) from None


def _reason(prefix: str, code: str | None, message: str) -> str:
    """`prefix (code): message`: our words for what happened, then the gateway's own."""
    text = f"{prefix} ({code})" if code else prefix
    return f"{text}: {message}" if message else text


def _refused_envelope(envelope, code, trace_id, stored, http_status, secrets) -> GatewayError:
    message = to_text(envelope.get("message"), "message") or ""
    nested_code, nested_message = _nested_error(envelope.get("data"))
    if nested_message:
        message = f"{message}: {nested_message}" if message else nested_message
    error_code = nested_code or str(code)
    kind = failure_kind(envelope_code=code, error_code=nested_code, message=message)
    prefix = f"The gateway answered code {code}"
    if kind is ErrorKind.BUSY:
        prefix += " (busy for now; try again later)"
    return GatewayError(
        kind,
        redact(_reason(prefix, nested_code, message), secrets),
        retryable=kind is not ErrorKind.REJECTED,
        http_status=http_status,
        error_code=error_code,
        message=redact(message, secrets),
        trace_id=trace_id,
        raw_body=stored,
    )


def _nested_error(data: Any) -> tuple[str | None, str | None]:
    """Find `errorCode`/`errorInfo`/`errorMsg` wherever the gateway nested them in `data`."""
    if not isinstance(data, dict):
        return None, None
    for candidate in (data, data.get("result")):
        if isinstance(candidate, dict):
            code = candidate.get("errorCode")
            message = (
                candidate.get("errorInfo") or candidate.get("errorMsg") or candidate.get("message")
            )
            if code or message:
                return (str(code) if code else None), (str(message) if message else None)
    return None, None


def platform_error(envelope: dict, trace_id, stored, http_status, secrets) -> GatewayError:
    """The platform's own `{error_code, error_message}` (a rate limit, say), in an answer
    or in the body of an HTTP error."""
    code = str(envelope.get("error_code"))
    message = str(envelope.get("error_message") or "")
    kind = failure_kind(error_code=code, message=message)
    prefix = {
        ErrorKind.RATE_LIMITED: "The gateway is limiting how often we call it; try again later",
        ErrorKind.BUSY: "The gateway is busy for now; try again later",
    }.get(kind, "The gateway refused the call")
    return GatewayError(
        kind,
        redact(f"{prefix} ({code}): {message}", secrets),
        retryable=kind is not ErrorKind.REJECTED,
        http_status=http_status,
        error_code=code,
        message=redact(message, secrets),
        trace_id=trace_id,
        raw_body=stored,
    )  # fmt: skip
