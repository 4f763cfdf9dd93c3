"""A gateway that trickles its answer (a byte every 0.5 s) never trips a per-read timeout;
each call's total deadline (DAJI_CALL_DEADLINE) cuts it off, its socket closed and no
thread left behind: directly, and through a real worker while other buyers are served."""

import os
import select
import socket
import threading
import time

import pytest

from previews.gateway import (
    TIMER_THREAD_NAME,
    ErrorKind,
    GatewayConfig,
    GatewayError,
    preview_order,
)
from previews.models import SupplierPreview

from .conftest import start_run, wait_for_status
from .processes import celery_worker, wait_until
from .test_gateway import ADDRESS, EXAMPLE


class TricklingServer:
    """A tiny HTTP server that answers every request with the head of an answer (or, with
    `head_too`, only its status line) and then one more byte every `interval` seconds, for
    at most `limit` seconds. It records when each client closed its connection."""

    def __init__(self, *, head_too: bool = False, interval: float = 0.5, limit: float = 20.0):
        self.head_too, self.interval, self.limit = head_too, interval, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed_after: list[float] = []  # seconds from accepting to the client's close
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket):
        started = time.monotonic()
        with connection:
            _read_request(connection)
            if self.head_too:
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                rest = b"X-Padding: " + b"x" * 10_000 + b"\r\n\r\n"
            else:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 10000\r\n\r\n"
                )
                rest = b'{"code": 200, "message": "' + b"x" * 9_000
            for byte in rest:
                if time.monotonic() - started > self.limit:
                    return
                try:
                    connection.sendall(bytes((byte,)))
                    readable, _, _ = select.select([connection], [], [], self.interval)
                    if readable and connection.recv(1024) == b"":
                        break  # the client's FIN
                except OSError:
                    break  # the client reset the connection
            self.closed_after.append(time.monotonic() - started)

    def close(self):
        self.listener.close()


def _read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        body += connection.recv(4096)


def client_sockets_to(port: int) -> int:
    """How many sockets this process still holds open to 127.0.0.1:`port` (Linux /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    count += 1
    return count


@pytest.mark.parametrize("head_too", [False, True], ids=["trickled-body", "trickled-head"])
def test_a_trickled_answer_is_cut_off_at_the_deadline_and_its_socket_closed(head_too):
    server = TricklingServer(head_too=head_too)
    deadline = 2.0
    config = GatewayConfig(
        base_url=server.url, connect_timeout=1.0, read_timeout=5.0, call_deadline=deadline,
        max_attempts=1,
    )  # fmt: skip
    started = time.monotonic()
    try:
        with pytest.raises(GatewayError) as caught:
            preview_order(config, address=ADDRESS, cargo=[EXAMPLE])
        elapsed = time.monotonic() - started
        wait_until(lambda: server.closed_after, timeout=10, what="the server to see the close")
    finally:
        server.close()
    error = caught.value
    assert error.kind is ErrorKind.TIMEOUT and error.retryable
    assert "did not finish answering within 2 s" in error.reason
    # The server would trickle for 20 s; the read timeout (5 s) is never reached.
    assert elapsed < deadline + 3
    assert server.closed_after[0] < deadline + 3
    assert client_sockets_to(server.port) == 0
    assert not [t for t in threading.enumerate() if t.name == TIMER_THREAD_NAME]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_trickling_supplier_fails_as_a_timeout_within_the_bound_and_others_are_served(
    buyer, other_buyer, stocked_cart, worker_env, tmp_path
):
    """The sandbox's offer ending 962 trickles a byte every 0.5 s; before the deadline the
    call stayed open for the whole answer (about 20 minutes), holding a worker slot."""
    deadline, budget, attempts = 2, 3, 2
    worker_env.update(
        DAJI_CALL_DEADLINE=str(deadline), DAJI_RETRY_BUDGET=str(budget),
        DAJI_MAX_ATTEMPTS=str(attempts), DAJI_READ_TIMEOUT="10",
    )  # fmt: skip
    address, lines = stocked_cart(
        buyer, {"trickles": [(615555001962, "", 1)], "fine": [(670291644950, "", 1)]}
    )
    log = tmp_path / "worker.log"
    with celery_worker(worker_env, concurrency=2, log=log):
        first = start_run(buyer, address, lines)
        wait_for_status(first.pk)
        other_address, other_lines = stocked_cart(other_buyer, {"quick": [(612345001100, "", 1)]})
        second = start_run(other_buyer, other_address, other_lines)
        second = wait_for_status(second.pk, finished=True, timeout=60)
        first = wait_for_status(first.pk, finished=True, timeout=60)
    assert second.status == "done", log.read_text()[-3000:]
    assert first.status == "done", log.read_text()[-3000:]
    assert SupplierPreview.objects.get(run=first, supplier_name="fine").status == "ok"
    trickled = SupplierPreview.objects.get(run=first, supplier_name="trickles")
    assert (trickled.status, trickled.error_kind) == ("failed", "timeout")
    assert f"did not finish answering within {deadline} s" in trickled.reason
    assert trickled.attempts >= 2  # retried within the budget
    # README: a supplier of up to 50 lines is given up within budget + deadline.
    assert trickled.duration_ms < (budget + deadline + 10) * 1000
