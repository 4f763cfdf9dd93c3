"""One pooled keep-alive session per worker process (transport.shared_session): calls
reuse its connections, a connection cut off at its deadline is discarded rather than
reused, and a forked child makes its own. Over real HTTP to the sandbox."""

import os
import threading

import pytest

from previews import gateway
from previews.gateway import deadline, transport

from .processes import sandbox_process
from .quota_load import ADDRESS

EXAMPLE = gateway.Cargo(offer_id=670291644950, spec_id="", quantity=1)
TRICKLING = gateway.Cargo(offer_id=615555001962, spec_id="", quantity=1)


def pool_of(session, url):
    """The session's connection pool to the host of `url` (the one requests made)."""
    manager = session.get_adapter(url).poolmanager
    port = int(url.rsplit(":", 1)[1])
    keys = manager.pools.keys()  # urllib3's container cannot be iterated itself
    (pool,) = [manager.pools[key] for key in keys if key.key_port == port]
    return pool


def test_calls_reuse_one_kept_alive_connection(sandbox_url):
    config = gateway.GatewayConfig(base_url=sandbox_url, max_attempts=1)
    gateway.preview_order(config, address=ADDRESS, cargo=[EXAMPLE])
    pool = pool_of(transport.shared_session(), sandbox_url)
    opened = pool.num_connections  # 1, or more if earlier tests called at once
    for _ in range(5):
        gateway.preview_order(config, address=ADDRESS, cargo=[EXAMPLE])
    assert pool.num_connections == opened  # five more calls, no new TCP connection
    assert transport.shared_session() is transport.shared_session()
    # No thread per call: one watchdog thread expires every call's deadline.
    watchdogs = [t for t in threading.enumerate() if t.name == deadline.WATCHDOG_THREAD_NAME]
    assert len(watchdogs) == 1


def test_a_connection_cut_off_at_its_deadline_is_discarded_not_reused():
    with sandbox_process("--trickle", "0.5") as url:
        config = gateway.GatewayConfig(base_url=url, call_deadline=1.0, max_attempts=1)
        gateway.preview_order(config, address=ADDRESS, cargo=[EXAMPLE])
        pool = pool_of(transport.shared_session(), url)
        try:
            gateway.preview_order(config, address=ADDRESS, cargo=[TRICKLING])
        except gateway.GatewayError as error:
            assert error.kind == gateway.ErrorKind.TIMEOUT
        else:
            raise AssertionError("the trickled answer was not cut off")
        answer = gateway.preview_order(config, address=ADDRESS, cargo=[EXAMPLE])
    assert answer.records and answer.attempts == 1
    assert getattr(pool, "cut_off_discarded", 0) == 1


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_session():
    parent = transport.shared_session()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        same = transport.shared_session() is parent
        os.write(writing, b"same" if same else b"own")
        os._exit(0)
    os.close(writing)
    answer = os.read(reading, 10)
    os.waitpid(child, 0)
    assert answer == b"own"
    assert transport.shared_session() is parent
