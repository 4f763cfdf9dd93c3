"""The sandbox's HTTP server and what every endpoint it answers shares.

The handler (routing by path and method, the call log `GET /calls`, `GET /` for the
conventions), the options that shape every answer (`--latency`, `--slow`, `--trickle`,
`--app-key`, `--app-secret`, `--rate-limit`),
the envelope, and the strict checks every order-like request goes through (address,
flow, cargo lines, one seller). The answers of each endpoint are in a module of their
own (preview.py). Standard library only, so it starts anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib
import json
import os
import re
import socket
import threading
import time
from collections import deque
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .rates import ECB_DAILY_PATH, ecb_daily

ADDRESS_FIELDS = (
    "fullName", "mobile", "phone", "postCode", "cityText", "provinceText",
    "areaText", "townText", "address", "districtCode",
)  # fmt: skip
FLOWS = {
    "general",
    "fenxiao",
    "paired",
    "repurchase",
    "saleproxy",
    "boutiquefenxiao",
    "boutiquepifa",
}
MAX_LINES = 50


RATE_LIMITED_BODY = {
    "error_code": "gw.QosAppFrequencyLimit",
    "error_message": "App call exceeds limited frequency",
}


class RateLimit:
    """The gateway's quota, as the sandbox enforces it (`--rate-limit N`): per app key, a
    token bucket of N calls a second holding at most one second's worth (N calls). A call
    finding it empty is answered HTTP 429 with 1688's `gw.QosAppFrequencyLimit` body."""

    def __init__(self, rate: float):
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, app_key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(app_key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[app_key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


def seller_of(offer_id: int) -> int:
    return offer_id // 1_000_000


class Trickled(bytes):
    """A body the HTTP handler sends one byte every `delay` seconds (scenario 962)."""

    def __new__(cls, body: bytes, delay: float):
        trickled = super().__new__(cls, body)
        trickled.delay = delay
        return trickled


class Dropped(bytes):
    """No answer: the handler closes the connection without a status line (a create whose
    answer is lost, scenario 971)."""


class Refusal(Exception):
    """A business refusal: answered as `success: false` with this code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def encode(document: dict) -> bytes:
    """JSON with Decimal amounts written as plain numbers (no float on the way)."""

    def default(value):
        if isinstance(value, Decimal):
            return f"__decimal__{value}"
        raise TypeError(type(value).__name__)

    text = json.dumps(document, ensure_ascii=False, default=default)
    return re.sub(r'"__decimal__([-0-9.E+]+)"', r"\1", text).encode()


class Gateway:
    """What every endpoint shares: options, trace ids, the envelope, the checks every
    request passes before its endpoint sees it. `ENDPOINTS` maps a path to the name of
    the method answering it: `(request, raw, trace_id) -> (status, content type, body)`;
    the paths in `GET_ENDPOINTS` are asked with GET, their request being the query."""

    ENDPOINTS: dict[str, str] = {}
    GET_ENDPOINTS: frozenset[str] = frozenset()

    def __init__(
        self,
        *,
        app_key: str = "",
        latency: float = 0.0,
        slow: float = 10.0,
        trickle: float = 0.5,
        app_secret: str = "",
        rate_limit: float = 0.0,
    ):
        self.rate_limit = RateLimit(rate_limit) if rate_limit > 0 else None
        self.app_key = app_key
        self.app_secret = app_secret
        self.latency = latency
        self.slow = slow
        self.trickle = trickle
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._trace_counter = 0

    def trace_id(self, body: bytes) -> str:
        with self._lock:
            self._trace_counter += 1
            counter = self._trace_counter
        return hashlib.sha1(body + str(counter).encode(), usedforsecurity=False).hexdigest()[:12]

    def envelope(self, data, *, code=200, message="操作成功", trace_id: str) -> dict:
        return {
            "code": code,
            "message": message,
            "data": data,
            "timestamp": int(time.time() * 1000),
            "traceId": trace_id,
        }

    def first_time(self, fingerprint: str) -> bool:
        with self._lock:
            count = self._seen.get(fingerprint, 0)
            self._seen[fingerprint] = count + 1
        return count == 0

    @staticmethod
    def fingerprint(raw: bytes) -> str:
        try:
            request = json.loads(raw)
            request.pop("appKey", None)
            request.pop("appSecret", None)
            canonical = json.dumps(request, sort_keys=True)
        except (ValueError, AttributeError):
            canonical = raw.decode(errors="replace")
        return hashlib.sha256(canonical.encode()).hexdigest()

    def answer(self, path: str, raw: bytes) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one request to the endpoint at `path`."""
        trace_id = self.trace_id(raw)
        try:
            request = json.loads(raw)
        except ValueError:
            return (
                400,
                "application/json",
                encode(
                    self.envelope(None, code=400, message="请求体不是合法的JSON", trace_id=trace_id)
                ),
            )
        if not isinstance(request, dict):
            return (
                400,
                "application/json",
                encode(
                    self.envelope(None, code=400, message="请求体必须是对象", trace_id=trace_id)
                ),
            )
        if self.app_key and request.get("appKey") != self.app_key:
            return (
                200,
                "application/json",
                encode(self.envelope(None, code=1001, message="appKey无效", trace_id=trace_id)),
            )
        return getattr(self, self.ENDPOINTS[path])(request, raw, trace_id)

    def answer_query(self, path: str, query: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one GET to the endpoint at `path`: the
        `appKey` check, and with `--app-secret` the `sign` check (`sign_of`), first."""
        trace_id = self.trace_id(query.encode())
        request = dict(parse_qsl(query, keep_blank_values=True))
        if self.app_key and request.get("appKey") != self.app_key:
            refused = self.envelope(None, code=1001, message="appKey无效", trace_id=trace_id)
            return 200, "application/json", encode(refused)
        signed = request.get("sign") == sign_of(request, self.app_secret)
        if self.app_secret and not signed and request.get("appSecret") != self.app_secret:
            refused = self.envelope(None, code=1002, message="签名无效", trace_id=trace_id)
            return 200, "application/json", encode(refused)
        return getattr(self, self.ENDPOINTS[path])(request, query.encode(), trace_id)

    @staticmethod
    def strict_order(request: dict) -> tuple[str, list[tuple[int, str | None, int]]]:
        """The checks of an order-like request (preview, create order): every
        `addressParam` field present and non-empty, a known flow, 1 to 50 lines of
        quantity at least 1, one seller. Returns (flow, [(offer, spec, quantity)])."""
        address = request.get("addressParam")
        if not isinstance(address, dict):
            raise Refusal("ADDRESS_REQUIRED", "缺少收货地址信息 addressParam")
        missing = [f for f in ADDRESS_FIELDS if not str(address.get(f) or "").strip()]
        if missing:
            raise Refusal("ADDRESS_INCOMPLETE", "收货地址信息不完整: " + ", ".join(missing))
        flow = request.get("flow") or ""
        if flow and flow not in FLOWS:
            raise Refusal("FLOW_INVALID", f"不支持的flow: {flow}")
        cargo = request.get("cargoParamList")
        if not isinstance(cargo, list) or not cargo:
            raise Refusal("CARGO_REQUIRED", "缺少商品信息 cargoParamList")
        if len(cargo) > MAX_LINES:
            raise Refusal("CARGO_TOO_MANY", "每次最多50个商品")
        lines = []
        for item in cargo:
            offer_id = item.get("offerId") if isinstance(item, dict) else None
            quantity = item.get("quantity") if isinstance(item, dict) else None
            if not isinstance(offer_id, int) or isinstance(offer_id, bool) or offer_id <= 0:
                raise Refusal("500_002", "商品offerId缺失或无效")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 1:
                raise Refusal("500_005", f"商品{offer_id}的数量必须至少为1")
            lines.append((offer_id, item.get("specId"), int(quantity)))
        if len({seller_of(o) for o, _, _ in lines}) > 1:
            raise Refusal("500_002", "预览订单只允许同一个供应商的商品")
        return flow, lines


def sign_of(params: dict, secret: str) -> str:
    """The sandbox's own reckoning of a request's `sign` (the contract's rule): MD5 of the
    parameters but `sign` sorted by name as k=v joined by &, then &secret=, upper hex."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
    text = f"{canonical}&secret={secret}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()


class CallLog:
    """How many calls the sandbox received, per offer: `GET /calls` answers it, so a test
    can prove how often the product called the gateway. `total`/`by_offer` count preview
    calls, `lookups` the Product details calls, `by_path` every call by its path (the
    order calls: create, detail, order list, payment links, cancel); `urls` holds the
    path and query of the last requests, as the sandbox saw them (a secret must never be
    there). With
    `--rate-limit`, `rate_limited` counts the calls refused for the quota and
    `accepted_per_second` the calls let through in each second since the sandbox started."""

    PATH = "/calls"
    KEPT_URLS = 2000

    def __init__(self):
        self._lock = threading.Lock()
        self.total = 0
        self.by_offer: dict[str, int] = {}
        self.lookups = 0
        self.lookups_by_offer: dict[str, int] = {}
        self.urls: deque[str] = deque(maxlen=self.KEPT_URLS)
        self.by_path: dict[str, int] = {}
        self.rate_limited = 0
        self.accepted_per_second: dict[int, int] = {}
        self._started = time.monotonic()

    def limited(self, refused: bool) -> None:
        with self._lock:
            if refused:
                self.rate_limited += 1
            else:
                second = int(time.monotonic() - self._started)
                self.accepted_per_second[second] = self.accepted_per_second.get(second, 0) + 1

    def seen(self, url: str) -> None:
        path = url.split("?")[0]
        with self._lock:
            self.urls.append(url)
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def count_lookup(self, query: str) -> None:
        offer = dict(parse_qsl(query)).get("offerId", "")
        with self._lock:
            self.lookups += 1
            self.lookups_by_offer[offer] = self.lookups_by_offer.get(offer, 0) + 1

    def count(self, raw: bytes) -> None:
        try:
            offers = {str(c["offerId"]) for c in json.loads(raw)["cargoParamList"]}
        except (ValueError, KeyError, TypeError):
            offers = set()
        with self._lock:
            self.total += 1
            for offer in offers:
                self.by_offer[offer] = self.by_offer.get(offer, 0) + 1

    def as_json(self) -> bytes:
        with self._lock:
            return json.dumps(
                {
                    "total": self.total,
                    "by_offer": self.by_offer,
                    "lookups": self.lookups,
                    "lookups_by_offer": self.lookups_by_offer,
                    "urls": list(self.urls),
                    "rate_limited": self.rate_limited,
                    "accepted_per_second": self.accepted_per_second,
                    "by_path": self.by_path,
                }
            ).encode()


PREVIEW_PATH = "/alibaba/createOrder/preview"
PRODUCT_DETAIL_PATH = "/alibaba/product/queryProductDetail"
ORDERS_PATH = "/orders"


def make_handler(sandbox: Gateway):
    calls = CallLog()
    conventions = (importlib.import_module(__package__).__doc__ or "").encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "daji-sandbox/1"
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?")[0]
            calls.seen(self.path)
            if path not in sandbox.ENDPOINTS or path in sandbox.GET_ENDPOINTS:
                self.send(404, "application/json", b'{"code":404,"message":"not found"}')
                return
            if path == PREVIEW_PATH:
                calls.count(raw)
            if self.over_quota(_app_key_of(raw)):
                return
            if sandbox.latency:
                time.sleep(sandbox.latency)
            self.send(*sandbox.answer(path, raw))

        def do_GET(self):
            if self.path == CallLog.PATH:
                self.send(200, "application/json", calls.as_json())
                return
            url = urlsplit(self.path)
            if self.path == ORDERS_PATH:
                self.send(200, "application/json", sandbox.orders_json())
                return
            if url.path == ECB_DAILY_PATH:  # the demo's reference rates (not the gateway's)
                self.send(200, "text/xml", ecb_daily(datetime.date.today()))
                return
            if url.path in sandbox.GET_ENDPOINTS:
                calls.seen(self.path)
                if url.path == PRODUCT_DETAIL_PATH:
                    calls.count_lookup(url.query)
                if self.over_quota(dict(parse_qsl(url.query)).get("appKey", "")):
                    return
                if sandbox.latency:
                    time.sleep(sandbox.latency)
                self.send(*sandbox.answer_query(url.path, url.query))
                return
            self.send(200, "text/plain; charset=utf-8", conventions)

        def over_quota(self, app_key: str) -> bool:
            """With `--rate-limit`: answer a call over the app key's quota as the gateway
            does (HTTP 429, `gw.QosAppFrequencyLimit`) and say so."""
            if sandbox.rate_limit is None:
                return False
            refused = not sandbox.rate_limit.take(app_key)
            calls.limited(refused)
            if refused:
                self.send(429, "application/json", encode(RATE_LIMITED_BODY))
            return refused

        def send(self, status: int, content_type: str, body: bytes):
            if isinstance(body, Dropped):  # the answer is lost: close, say nothing
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(status)
            self.send_header(
                "Content-Type",
                content_type + ("" if "charset" in content_type else "; charset=utf-8"),
            )
            self.send_header("Content-Length", str(len(body)))
            if status in (429, 503):
                self.send_header("Retry-After", "0")
            self.end_headers()
            if not isinstance(body, Trickled):
                self.wfile.write(body)
                return
            self.wfile.flush()
            self.close_connection = True
            for byte in body:  # until the client gives up and closes the connection
                time.sleep(body.delay)
                try:
                    self.wfile.write(bytes((byte,)))
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, format, *args):  # the request line only: bodies hold credentials
            if os.environ.get("SANDBOX_QUIET") != "1":  # and no query: it may hold appKey, sign
                args = tuple(re.sub(r"\?\S*", "?…", a) if isinstance(a, str) else a for a in args)
                super().log_message(format, *args)

    return Handler


def _app_key_of(raw: bytes) -> str:
    try:
        request = json.loads(raw)
    except ValueError:
        return ""
    return str(request.get("appKey") or "") if isinstance(request, dict) else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a run calls for 20 suppliers at once,
    # and each dropped SYN costs the client a 1 s retransmission.
    request_queue_size = 128


def serve(host: str, port: int, sandbox: Gateway) -> ThreadingHTTPServer:
    return _Server((host, port), make_handler(sandbox))


def main(argv: list[str] | None = None) -> None:
    from . import Sandbox  # the package puts the endpoints together

    parser = argparse.ArgumentParser(
        prog="python -m previews.sandbox", description="The local sandbox of the 1688 gateway."
    )
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8001")))
    parser.add_argument(
        "--latency",
        type=float,
        default=float(os.environ.get("SANDBOX_LATENCY", "0.2")),
        help="seconds every answer waits (default 0.2)",
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=float(os.environ.get("SANDBOX_SLOW_SECONDS", "10")),
        help="seconds a slow scenario (offer ending 952) waits",
    )
    parser.add_argument(
        "--app-key",
        default=os.environ.get("SANDBOX_APP_KEY", ""),
        help="when set, calls must send this appKey",
    )
    parser.add_argument(
        "--app-secret",
        default=os.environ.get("SANDBOX_APP_SECRET", ""),
        help="when set, lookups must be signed with it (or send it as appSecret)",
    )
    parser.add_argument(
        "--trickle",
        type=float,
        default=float(os.environ.get("SANDBOX_TRICKLE_SECONDS", "0.5")),
        help="seconds between the bytes of a trickled answer (offer ending 962)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=float(os.environ.get("SANDBOX_RATE_LIMIT", "0")),
        help="calls per second per app key (a bucket of one second's worth); "
        "beyond: HTTP 429 gw.QosAppFrequencyLimit (default 0: no limit)",
    )
    parser.add_argument(
        "--cancel-too-fast",
        type=float,
        default=float(os.environ.get("SANDBOX_CANCEL_TOO_FAST_SECONDS", "10")),
        help="seconds after creation an order cannot be cancelled (CLOSE_ORDER_TOO_FAST)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    server = serve(
        args.host,
        args.port,
        Sandbox(
            app_key=args.app_key,
            app_secret=args.app_secret,
            latency=args.latency,
            slow=args.slow,
            trickle=args.trickle,
            rate_limit=args.rate_limit,
            cancel_too_fast=args.cancel_too_fast,
        ),
    )
    print(f"Sandbox gateway on http://{args.host}:{server.server_port}{PREVIEW_PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
