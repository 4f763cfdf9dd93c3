"""HTTP calls with a total deadline: the socket level under transport.py.

requests' timeouts are per socket operation: `read_timeout` bounds the wait for *each*
read, so a gateway (or a proxy in front of it) that sends its answer one byte every few
seconds never trips it and keeps the call open for as long as it likes. Celery's time
limits do not help everywhere either: the threads pool of the embedded broker has none.

So every call here has a deadline of its own, enforced on its socket: the process's
watchdog thread shuts the socket down when the deadline passes, which makes a read
blocked in any thread return at once (no signal is needed, so it holds in every worker
pool), and the call ends with
`DeadlinePassed`. Connecting, the TLS handshake, the head and the body all count.
Knows nothing of Django or of the gateway's answers.
"""

from __future__ import annotations

import codecs
import contextlib
import heapq
import http.cookiejar
import os
import socket
import threading
import time
from dataclasses import dataclass

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

_READ_SIZE = 64 * 1024
TIMER_THREAD_NAME = "gateway-deadline"  # a per-call timer thread (none any more)
WATCHDOG_THREAD_NAME = "gateway-deadlines"  # the one thread of a process that expires them


class DeadlinePassed(Exception):
    """The call was cut off: its answer was not complete within the deadline."""


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer."""

    status: int
    headers: requests.structures.CaseInsensitiveDict
    text: str


# --------------------------------------------------------------------------- the deadline

# The deadline of the call the current thread is making: urllib3 opens and uses the
# connection in the calling thread, so this is where its socket finds its deadline.
_current = threading.local()


class _Watchdog:
    """One thread per process that expires the deadlines of every call in flight, in the
    order they fall due (a heap), instead of a timer thread started and joined per call."""

    def __init__(self):
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._counter = 0

    def add(self, deadline: _Deadline) -> None:
        with self._condition:
            if self._thread is None or self._pid != os.getpid():  # first use, or forked
                self._heap.clear()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=WATCHDOG_THREAD_NAME)
                self._thread.daemon = True
                self._thread.start()
            self._counter += 1
            heapq.heappush(self._heap, (deadline.ends_at, self._counter, deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap:
                    self._condition.wait()
                ends_at, _n, deadline = self._heap[0]
                delay = ends_at - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_watchdog = _Watchdog()


class _Deadline:
    """Shuts down the sockets of one call when its time is up (the process's watchdog
    thread calls `expire`); a context manager whose exit makes sure nothing is shut down
    after the call, so nothing outlives it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._sockets: list[tuple[socket.socket, object]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        _watchdog.add(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _current.deadline = None
        with self._lock:  # an expiry in progress finishes first; none comes after
            self.finished = True
            self._sockets = []

    def watch(self, sock: socket.socket, connection: object = None) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append((sock, connection))
                return
        _cut_off(sock, connection)  # opened after the deadline (a slow connect): end it at once

    def check(self) -> None:
        if self.expired or time.monotonic() >= self.ends_at:
            raise DeadlinePassed

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            for sock, connection in self._sockets:
                _cut_off(sock, connection)
            self._sockets = []


def _cut_off(sock: socket.socket, connection: object) -> None:
    # A pooled keep-alive connection whose socket was shut down must never carry another
    # call: it is marked, and the pool closes it before handing it out again (_Pool).
    if connection is not None:
        connection.cut_off = True
    _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    # shutdown(), not close(): it wakes a read blocked in another thread (close() would
    # not), sends the peer a FIN, and leaves closing the descriptor to its owner.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watch(sock: socket.socket | None, connection: object = None) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock, connection)


class _WatchedSocket:
    """urllib3 connections whose socket is put under the current call's deadline."""

    cut_off = False  # set when a deadline shut its socket down: never reused

    def _new_conn(self):
        sock = super()._new_conn()
        _watch(sock, self)
        return sock

    def request(self, *args, **kwargs):
        _watch(self.sock, self)  # a kept-alive connection: its socket exists already
        return super().request(*args, **kwargs)


class _HTTPConnection(_WatchedSocket, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedSocket, HTTPSConnection):
    pass


class _Pool:
    """A connection pool that closes a connection cut off by a deadline before handing it
    out again: a kept-alive connection whose socket was shut down is discarded, and the
    next call on it opens a fresh one (urllib3's own "dropped" check would usually catch
    it too, but only by polling the socket; this does not depend on timing)."""

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        if connection is not None and getattr(connection, "cut_off", False):
            connection.close()
            connection.cut_off = False
            self.cut_off_discarded = getattr(self, "cut_off_discarded", 0) + 1
        return connection


class _HTTPPool(_Pool, urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_Pool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager


def new_session(*, pool_size: int = 10) -> requests.Session:
    """A session whose calls through `post_json` can be cut off at their deadline.

    It keeps up to `pool_size` connections alive per host (calls beyond that at once open
    connections of their own, closed after use), and keeps no cookies: one session is
    shared by every thread of a worker process and by every buyer's calls.
    """
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    for prefix in ("http://", "https://"):
        session.mount(
            prefix, _DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size, pool_block=False)
        )
    return session


# --------------------------------------------------------------------------- the call


def post_json(
    session: requests.Session,
    url: str,
    body: dict,
    *,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
) -> Reply:
    """POST `body` as JSON and read the whole answer, all within `deadline` seconds.

    Raises `DeadlinePassed` when the answer is not complete in time (its connection is
    shut down and closed), otherwise what requests raises (a broken read of the body is
    reported as requests' `ConnectionError`, a read that timed out as `ReadTimeout`).
    The session should come from `new_session()`; with another one only the reads of
    the body are checked against the deadline.
    """
    return send(
        session, "POST", url, json_body=body,
        connect_timeout=connect_timeout, read_timeout=read_timeout, deadline=deadline,
    )  # fmt: skip


def get(
    session: requests.Session,
    url: str,
    params: dict,
    *,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
) -> Reply:
    """GET `url` with the query `params` and read the whole answer, as `post_json` does."""
    return send(
        session, "GET", url, params=params,
        connect_timeout=connect_timeout, read_timeout=read_timeout, deadline=deadline,
    )  # fmt: skip


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    json_body: dict | None = None,
    params: dict | None = None,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
) -> Reply:
    """One request (a JSON body or query parameters), its whole answer read within `deadline`."""
    with _Deadline(deadline) as watch:
        try:
            response = session.request(
                method,
                url,
                json=json_body,
                params=params,
                timeout=(min(connect_timeout, deadline), min(read_timeout, deadline)),
                headers={"Accept": "application/json"},
                stream=True,
            )
            try:
                content = _read_all(response, watch)
            finally:
                response.close()  # releases a completed connection, closes a broken one
        except (requests.exceptions.RequestException, DeadlinePassed):
            if watch.expired:
                raise DeadlinePassed from None
            raise
        if watch.expired:  # shut down while the last bytes came: the body may be cut
            raise DeadlinePassed
    return Reply(response.status_code, response.headers, _decode(content, response.encoding))


def _read_all(response: requests.Response, deadline: _Deadline) -> bytes:
    chunks = []
    try:
        while chunk := response.raw.read1(_READ_SIZE, decode_content=True):
            chunks.append(chunk)
            deadline.check()
    except urllib3.exceptions.ReadTimeoutError as problem:
        raise requests.exceptions.ReadTimeout(problem) from None
    except (urllib3.exceptions.HTTPError, OSError) as problem:
        raise requests.exceptions.ConnectionError(problem) from None
    return b"".join(chunks)


def _decode(content: bytes, encoding: str | None) -> str:
    """As requests' `Response.text` would, without guessing: JSON is UTF-8 (RFC 8259)."""
    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        encoding = None
    return content.decode(encoding or "utf-8", errors="replace")
