"""Sending a request to the gateway: one `call` for every endpoint.

A call posts a JSON body to an endpoint's path (or, `method="GET"`, sends it as query
parameters: Product details) within a total deadline (deadline.py),
turns HTTP errors into `GatewayError`, hands a 200 answer to the endpoint's parser, and
retries what is safe to retry (`retry=True`: read-only calls such as preview and lookup)
with exponential backoff and full jitter, within `max_attempts` and `retry_budget`,
honouring `Retry-After`. A call that spends money (create order) passes `retry=False`:
it is sent once, and a lost answer is the caller's to resolve. Every log line and error
is redacted of the credentials; a URL is logged without its query string (a GET carries
`appKey` and `sign` there), here and in urllib3's own debug lines.

Every call of a worker process goes through one pooled keep-alive session
(`shared_session`, made again in a forked child), so a worker opens a TCP (and TLS)
connection per call in flight, not per call; a connection cut off at its deadline is
discarded (deadline.py). And every attempt first takes its turn in the gateway quota
(quota.py), shared by every worker process on every machine; an answer saying we call too
often (HTTP 429, `gw.QosAppFrequencyLimit`) slows the quota down for everyone and is asked
again within the retry budget.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import requests

from . import deadline, quota
from .envelope import platform_error
from .errors import FREQUENCY_LIMIT_CODES, ErrorKind, GatewayError
from .redaction import redact, redacted_body, snippet

logger = logging.getLogger(__name__)


class _WithoutQuery(logging.Filter):
    """Takes query strings out of urllib3's request lines (`"GET /path?appKey=... HTTP/1.1"`):
    a query may carry credentials, and a log line must never hold one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _drop_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def _drop_query(text: str) -> str:
    return text.split("?", 1)[0] + "?[query omitted]" if "?" in text else text


logging.getLogger("urllib3.connectionpool").addFilter(_WithoutQuery())


@dataclass(frozen=True)
class GatewayConfig:
    """Where and how to call the gateway. Credentials live here, never in arguments of tasks."""

    base_url: str
    app_key: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    connect_timeout: float = 3.05
    read_timeout: float = 15.0  # per read of the answer: a trickle never trips it...
    call_deadline: float = 20.0  # ...so each call (connect to last byte) has a total one
    max_attempts: int = 3
    retry_budget: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    # How Product details authenticates. ../shared/upstream/product-detail.md ("Request"):
    # most public clients send `sign` (products.sign_params) and never the secret; one
    # sends `appSecret` as a query parameter. The gateway's own page is not available, so
    # this is the one place to switch: "sign" (default) or "secret" (a secret in a URL:
    # only if the gateway turns out to require it).
    product_auth: str = "sign"
    # The gateway quota (quota.py): calls per second per app key, shared by every worker
    # process through `quota_store` (redis://… or a folder for a file lock); 0 = no limit.
    rate_limit: float = 0.0
    quota_store: str = ""
    # Keep-alive connections the worker's shared session keeps: the calls in flight.
    pool_size: int = 100
    # Create order's `isvBizType` ("cross" in the gateway's example) and the buyer order
    # list's path (assumed: the gateway's page does not name it; see gateway/orders.py).
    isv_biz_type: str = "cross"
    buyer_order_list_path: str = "/alibaba/trade/getBuyerOrderList"

    def url(self, path: str) -> str:
        """The address of an endpoint: `base_url` and its documented path."""
        return self.base_url.rstrip("/") + path

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credential values to redact from everything kept or logged."""
        return tuple(s for s in (self.app_key, self.app_secret) if s)

    def credentials(self) -> dict[str, str]:
        """The `appKey`/`appSecret` every request body starts with."""
        return {"appKey": self.app_key, "appSecret": self.app_secret}


class Parser[T](Protocol):
    """An endpoint's parser: one 200 answer body to its typed answer, or `GatewayError`."""

    def __call__(self, text: str, *, secrets: Sequence[str], http_status: int) -> T: ...


def new_session(*, pool_size: int = 10) -> requests.Session:
    """A session whose calls can be cut off at their deadline (close it when done);
    `call` uses the process's `shared_session` when given none."""
    return deadline.new_session(pool_size=pool_size)


_shared: dict[str, requests.Session] = {}
_shared_lock = threading.Lock()


def shared_session(*, pool_size: int = 100) -> requests.Session:
    """The one pooled keep-alive session of this process, made on first use (its pool as
    large as `pool_size` of the first caller: the calls in flight). Thread-safe; a child
    forked from this process makes its own (sockets must not be shared across a fork)."""
    session = _shared.get("session")
    if session is None:
        with _shared_lock:
            session = _shared.get("session")
            if session is None:
                session = _shared["session"] = deadline.new_session(pool_size=pool_size)
    return session


def _forget_shared_session() -> None:
    # In a forked child: the parent's pooled sockets are the parent's; start afresh
    # (not closing them, which would close the parent's connections too).
    global _shared_lock
    _shared.clear()
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_shared_session)


def call[T](
    config: GatewayConfig,
    path: str,
    body: dict,
    parse: Parser[T],
    *,
    retry: bool,
    session: requests.Session | None = None,
    method: str = "POST",
    started: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    urgent: bool = False,
) -> tuple[T, int]:
    """POST `body` to `path` (with `method="GET"`: send `body` as query parameters) and
    parse the answer; returns (answer, attempts made).

    With `retry`, a retryable failure is asked again after a backoff, while attempts are
    left and the retry would start within `retry_budget` of `started` (default: now; pass
    the start of the whole piece of work when it makes several calls). Raises
    `GatewayError` with `attempts` set when the call fails for good. Without `session`,
    the process's `shared_session`. Each attempt waits for its turn in the quota first;
    a rate-limit answer slows the quota down before the retry. `urgent` (a small run's
    call) books its turn ahead of the waiting bulk (quota.py).
    """
    started = time.monotonic() if started is None else started
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    session = session or shared_session(pool_size=config.pool_size)
    limiter = quota.for_config(config)
    attempt = 0
    while True:
        attempt += 1
        try:
            if limiter is not None:
                limiter.acquire(urgent=urgent, sleep=sleep)
            answer = _send_once(session, config, method, path, body, parse)
            logger.debug("gateway %s ok: attempt %d", path, attempt)
            return answer, attempt
        except GatewayError as error:
            if error.kind is ErrorKind.RATE_LIMITED and limiter is not None:
                limiter.slow_down(pause=error.retry_after or 0.0)
            elapsed = time.monotonic() - started
            pause = max(_backoff(attempt, config, rng), error.retry_after or 0.0)
            give_up = (
                not retry
                or not error.retryable
                or attempt >= config.max_attempts
                or elapsed + pause > config.retry_budget
            )
            logger.warning(
                "gateway %s failed (%s, attempt %d%s, trace %s): %s",
                path, error.kind, attempt, ", giving up" if give_up else "",
                error.trace_id or "-", error.reason,
            )  # fmt: skip
            if give_up:
                error.attempts = attempt
                raise
            sleep(pause)


def _send_once[T](
    session, config: GatewayConfig, method: str, path: str, body: dict, parse: Parser[T]
) -> T:
    secrets = config.secrets
    try:
        response = deadline.send(
            session,
            method,
            config.url(path),
            json_body=None if method == "GET" else body,
            params=body if method == "GET" else None,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            deadline=config.call_deadline,
        )
    except deadline.DeadlinePassed:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"The gateway did not finish answering within {config.call_deadline:g} s "
            "(the deadline of a call); the call was cut off.",
            retryable=True,
        ) from None
    except requests.exceptions.ConnectTimeout:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"Could not connect to the gateway within {config.connect_timeout:g} s.",
            retryable=True,
        ) from None
    except requests.exceptions.ReadTimeout:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"The gateway did not answer within {config.read_timeout:g} s.",
            retryable=True,
        ) from None
    except requests.exceptions.ConnectionError as problem:
        raise GatewayError(
            ErrorKind.CONNECTION,
            f"Could not reach the gateway at {config.base_url}: {_connection_reason(problem)}",
            retryable=True,
        ) from None
    except requests.exceptions.RequestException as problem:
        raise GatewayError(
            ErrorKind.CONNECTION,
            f"The call to the gateway failed: {type(problem).__name__}",
            retryable=True,
        ) from None
    if response.status != 200:
        raise _http_error(response, secrets)
    return parse(response.text, secrets=secrets, http_status=response.status)


def _http_error(response: deadline.Reply, secrets: Sequence[str]) -> GatewayError:
    status = response.status
    stored = redacted_body(response.text, secrets)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    try:
        document = json.loads(response.text, parse_float=Decimal)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("error_code") in FREQUENCY_LIMIT_CODES:
        error = platform_error(document, document.get("traceId"), stored, status, secrets)
        error.retry_after = retry_after
        return error
    if status == 429:
        return GatewayError(
            ErrorKind.RATE_LIMITED,
            "The gateway is limiting how often we call it (HTTP 429); try again later.",
            retryable=True,
            http_status=status,
            raw_body=stored,
            retry_after=retry_after,
        )
    detail = snippet(redact(response.text, secrets))
    if status >= 500:
        return GatewayError(
            ErrorKind.HTTP,
            f"The gateway had a server error (HTTP {status}): {detail}",
            retryable=True,
            http_status=status,
            message=detail,
            raw_body=stored,
            retry_after=retry_after,
        )
    return GatewayError(
        ErrorKind.HTTP,
        f"The gateway refused the request (HTTP {status}): {detail}",
        retryable=False,
        http_status=status,
        message=detail,
        raw_body=stored,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _connection_reason(problem: Exception) -> str:
    text = str(problem)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "the gateway closed the connection without answering"),
        ("Name or service not known", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
    ):
        if needle in text:
            return reason
    return type(problem).__name__


def _backoff(attempt: int, config: GatewayConfig, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0, min(config.backoff_cap, config.backoff_base * 2 ** (attempt - 1)))
