"""The gateway quota (previews/gateway/quota.py): one rate limit per app key, shared by
every worker process, in Redis or in a file lock, slowing down by itself when the gateway
says we call too often. Proven against the sandbox enforcing the same limit (`--rate-limit`),
over real HTTP, from several processes at once."""

import json
import subprocess
import sys
import time
import uuid

import pytest

from previews import gateway
from previews.gateway import quota

from .processes import ROOT, child_env, redis_url, sandbox_calls, sandbox_process
from .quota_load import ADDRESS

RATE = 20  # calls per second, the sandbox's limit and the product's


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path):
    """Where the quota is kept: a folder (the embedded default) or Redis."""
    return str(tmp_path / "quota") if request.param == "file" else redis_url()


def load_from_processes(url: str, store: str, rate: float, *, processes=2, calls=30) -> list:
    """`processes` processes, each sending `calls` preview calls from 6 threads, starting
    together, under one app key; returns what each process counted."""
    key = f"key-{uuid.uuid4().hex}"
    start_at = time.time() + 2.0
    command = [sys.executable, "-m", "tests.quota_load", url, store, str(rate), str(calls)]
    command += ["6", key, str(start_at)]
    children = [
        subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    return [json.loads(child.communicate(timeout=120)[0]) for child in children]


def test_processes_sharing_the_quota_are_never_refused(store):
    with sandbox_process("--rate-limit", str(RATE)) as url:
        counted = load_from_processes(url, store, RATE)
        calls = sandbox_calls(url)
    assert counted == [{"ok": 30}, {"ok": 30}], counted
    assert calls["rate_limited"] == 0 and calls["total"] == 60, calls
    # Never more in a second than the bucket of one second plus the second's own calls.
    assert max(calls["accepted_per_second"].values()) <= 2 * RATE, calls["accepted_per_second"]


def test_without_the_quota_the_same_load_is_refused(store):
    """The control: the same two processes with no limit of ours exceed the sandbox's."""
    with sandbox_process("--rate-limit", str(RATE)) as url:
        counted = load_from_processes(url, store, 0)
        calls = sandbox_calls(url)
    assert calls["rate_limited"] > 0, calls
    assert sum(c.get("rate_limited", 0) for c in counted) == calls["rate_limited"]


@pytest.mark.parametrize("offer_id", [667788001951, 667788001957], ids=["http-429", "qos-limit"])
def test_a_rate_limit_answer_slows_the_quota_down_for_everyone(store, sandbox_url, offer_id):
    """HTTP 429 (scenario 951) or 1688's gw.QosAppFrequencyLimit (957): the quota's rate
    is halved and the next turns are spaced by the slower rate, in every process."""
    config = gateway.GatewayConfig(
        base_url=sandbox_url, app_key=f"key-{uuid.uuid4().hex}", rate_limit=1.0,
        quota_store=store, max_attempts=1,
    )  # fmt: skip
    with pytest.raises(gateway.GatewayError) as refused:
        gateway.preview_order(
            config,
            address=ADDRESS,
            cargo=[gateway.Cargo(offer_id=offer_id, spec_id="", quantity=1)],
        )
    assert refused.value.kind == gateway.ErrorKind.RATE_LIMITED
    # Another process's view of the same quota (a fresh object on the same store).
    other = quota.make(rate=1.0, store=store, app_key=config.app_key)
    assert other.state()["factor"] == pytest.approx(0.5, abs=0.05)
    first, second = other.reserve(), other.reserve()
    # At half of 1 call/s a turn comes every 2 s, and no burst is allowed while slowed.
    assert second - first > 1.5


def test_a_rate_limit_answer_is_asked_again_within_the_budget(store):
    """Our quota set twice as high as the gateway's: the second call is refused, the
    quota slows down to half and holds the next turn, and the call asked again is answered."""
    with sandbox_process("--rate-limit", "1") as url:
        config = gateway.GatewayConfig(
            base_url=url, app_key=f"key-{uuid.uuid4().hex}", rate_limit=2,
            quota_store=store, max_attempts=3, backoff_base=0.01,
        )  # fmt: skip
        cargo = [gateway.Cargo(offer_id=670291644950, spec_id="", quantity=1)]
        gateway.preview_order(config, address=ADDRESS, cargo=cargo)  # the bucket's one token
        answer = gateway.preview_order(config, address=ADDRESS, cargo=cargo)
        calls = sandbox_calls(url)
    assert answer.attempts == 2 and calls["rate_limited"] == 1, calls
    assert quota.for_config(config).state()["factor"] < 1


def test_the_quota_is_kept_under_a_hash_of_the_app_key(store, tmp_path):
    secret_key = "app-key-that-must-not-be-written"
    kept = quota.make(rate=5, store=store, app_key=secret_key)
    kept.reserve()
    if isinstance(kept, quota.FileQuota):
        names = [p.name + p.read_text() for p in kept.path.parent.iterdir()]
        assert not any(secret_key in name for name in names)
    else:
        assert secret_key not in kept.key
        assert kept._client.exists(kept.key)


def test_a_small_runs_call_books_its_turn_before_the_waiting_bulk(store):
    """Ordinary calls book turns at most BULK_HORIZON ahead and wait for the rest; an
    urgent one (a small run's) books the next free turn at once, ahead of them."""
    kept = quota.make(rate=10, store=store, app_key=f"key-{uuid.uuid4().hex}")
    booked = 0
    while kept.book(quota.BULK_HORIZON)[1]:
        booked += 1
    wait, granted = kept.book(quota.BULK_HORIZON)
    assert not granted and wait > quota.BULK_HORIZON
    assert booked < 20  # the bulk did not book far ahead
    urgent_wait, urgent_granted = kept.book(quota.URGENT_HORIZON)
    assert urgent_granted and urgent_wait <= wait
