"""The gateway quota: one rate limit per app key, shared by every worker process on
every machine.

The gateway allows an app key so many calls per second and answers the excess with HTTP
429 or `gw.QosAppFrequencyLimit`. However many workers call it, together they stay under
`rate` calls per second: every attempt first takes a turn here (`Quota.acquire`, which
sleeps until the turn comes). The turns are a GCRA token bucket (a "theoretical arrival
time" moved on by 1/rate per call, up to `burst` calls at once after a quiet spell),
kept where every worker sees it:

* in Redis when the broker is Redis (`redis://…`): one atomic Lua script, the clock of
  the Redis server (so machines whose clocks differ agree), under a key named by a hash
  of the app key, never the key itself;
* in a file under a folder, behind an exclusive `flock`, on the embedded default (one
  machine: SQLite and the filesystem broker are local anyway).

When the gateway says we call too often anyway (another client on the same key, a quota
lower than configured), `slow_down` halves the rate for everyone (at most once a second)
and pauses the turns for the `Retry-After` the gateway asked; the rate then grows back
by a tenth of the configured rate per second (AIMD). Knows nothing of Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

BURST_SECONDS = 0.5  # up to half a second of calls at once after a quiet spell
# How far ahead a turn may be booked: an ordinary call books at most BULK_HORIZON ahead
# and otherwise waits and asks again, so the queue of booked turns stays short; an urgent
# call (a small run's) books up to URGENT_HORIZON ahead, i.e. goes before the waiting
# bulk, and is not stuck behind a big run's many calls in flight.
BULK_HORIZON = 0.25
URGENT_HORIZON = 5.0
MIN_FACTOR = 0.05  # slowed down at most to 5% of the configured rate
RECOVERY_PER_SECOND = 0.1  # the rate grows back by 10% of the configured rate a second
SLOW_DOWN_FACTOR = 0.5
SLOW_DOWN_AT_MOST_EVERY = 1.0  # seconds: many calls refused at once halve the rate once


class _Config(Protocol):
    app_key: str
    rate_limit: float
    quota_store: str


def key_name(app_key: str) -> str:
    """The name the quota of `app_key` is kept under: a hash, never the key itself."""
    return hashlib.sha256(("daji-quota:" + app_key).encode()).hexdigest()[:24]


def burst_of(rate: float) -> float:
    """How many calls may go at once after a quiet spell (at least one)."""
    return max(1.0, rate * BURST_SECONDS)


class Quota:
    """A shared rate limit: `acquire` waits for this call's turn, `slow_down` after the
    gateway said we call too often."""

    def __init__(self, rate: float):
        self.rate = rate
        self.burst = burst_of(rate)

    def acquire(
        self, *, urgent: bool = False, sleep: Callable[[float], None] = time.sleep
    ) -> float:
        """Take the next turn and sleep until it comes; returns the seconds waited.

        A turn is booked at most BULK_HORIZON ahead (URGENT_HORIZON when `urgent`); when
        the next free turn is further, wait until it is near and ask again."""
        horizon = URGENT_HORIZON if urgent else BULK_HORIZON
        waited = 0.0
        while True:
            wait, granted = self.book(horizon)
            # Not booked: wait until the turn is near, spread out so the waiting callers
            # do not all ask again at the same moment.
            spread = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
            pause = wait if granted else min(1.0, max(0.05, wait - BULK_HORIZON) * spread)
            if pause > 0:
                sleep(pause)
                waited += pause
            if granted:
                return waited

    def reserve(self) -> float:
        """Take the next turn whenever it comes; the seconds until it comes."""
        return self.book(float("inf"))[0]

    def book(self, horizon: float) -> tuple[float, bool]:
        """Take the next turn if it comes within `horizon` seconds: (seconds until the
        next turn, whether it was taken)."""
        raise NotImplementedError

    def slow_down(self, *, pause: float = 0.0) -> None:
        """The gateway said we call too often: halve the rate and hold every turn for
        `pause` seconds (its `Retry-After`)."""
        raise NotImplementedError

    def state(self) -> dict:
        """The stored state (`tat`, `factor`, `since`, `slowed_at`), for tests and checks."""
        raise NotImplementedError


def _step(
    state: dict, now: float, rate: float, burst: float, horizon: float
) -> tuple[dict, float, bool]:
    """GCRA with a slow-down factor: the new state, the wait of the next turn at `now`,
    and whether it was taken (only within `horizon`). The Lua script's rule, for files."""
    factor = _recovered(state, now)
    interval = 1.0 / (rate * factor)
    tolerance = (burst - 1) * interval if factor >= 1.0 else 0.0
    tat = max(state.get("tat", now), now)
    wait = max(0.0, tat - tolerance - now)
    if wait > horizon:
        return state, wait, False
    return {**state, "tat": tat + interval, "factor": factor, "since": now}, wait, True


def _recovered(state: dict, now: float) -> float:
    since = state.get("since", now)
    return min(1.0, state.get("factor", 1.0) + (now - since) * RECOVERY_PER_SECOND)


def _slowed(state: dict, now: float, rate: float, pause: float) -> dict:
    factor = _recovered(state, now)
    if now - state.get("slowed_at", 0.0) >= SLOW_DOWN_AT_MOST_EVERY:
        factor = max(MIN_FACTOR, factor * SLOW_DOWN_FACTOR)
        slowed_at = now
    else:
        slowed_at = state.get("slowed_at", 0.0)
    tat = max(state.get("tat", now), now + max(pause, 1.0 / (rate * factor)))
    return {"tat": tat, "factor": factor, "since": now, "slowed_at": slowed_at}


class FileQuota(Quota):
    """The quota in a small JSON file, changed under an exclusive `flock`: shared by every
    process of one machine (the embedded default)."""

    def __init__(self, rate: float, folder: str | Path, app_key: str):
        super().__init__(rate)
        self.path = Path(folder) / f"quota-{key_name(app_key)}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 4096, 0)
            try:
                state = json.loads(raw) if raw else {}
            except ValueError:
                state = {}
            box = [state]
            yield box
            data = json.dumps(box[0]).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)  # releases the lock

    def book(self, horizon: float) -> tuple[float, bool]:
        with self._locked() as box:
            box[0], wait, granted = _step(box[0], time.time(), self.rate, self.burst, horizon)
        return wait, granted

    def slow_down(self, *, pause: float = 0.0) -> None:
        with self._locked() as box:
            box[0] = _slowed(box[0], time.time(), self.rate, pause)

    def state(self) -> dict:
        with self._locked() as box:
            return dict(box[0])


# KEYS[1]: the quota's hash. ARGV: rate, burst, mode ("take" or "slow"), pause, then the
# constants recovery per second, slow down at most every, min factor, slow-down factor,
# then the horizon of a "take" (-1: none). Returns "wait granted".
# The Redis server's clock (TIME) is the one clock of every machine. The rule is _step's.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local recovery = tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'since', 'slowed_at')
local tat = tonumber(s[1]) or now
local factor = tonumber(s[2]) or 1
local since = tonumber(s[3]) or now
local slowed_at = tonumber(s[4]) or 0
factor = math.min(1, factor + (now - since) * recovery)
local wait = 0
local granted = 1
if ARGV[3] == 'slow' then
  if now - slowed_at >= tonumber(ARGV[6]) then
    factor = math.max(tonumber(ARGV[7]), factor * tonumber(ARGV[8]))
    slowed_at = now
  end
  tat = math.max(tat, now + math.max(tonumber(ARGV[4]), 1 / (rate * factor)))
else
  local interval = 1 / (rate * factor)
  local tolerance = 0
  if factor >= 1 then tolerance = (burst - 1) * interval end
  if tat < now then tat = now end
  wait = math.max(0, tat - tolerance - now)
  local horizon = tonumber(ARGV[9])
  if horizon >= 0 and wait > horizon then
    return string.format('%.6f 0', wait)
  end
  tat = tat + interval
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', tat),
  'factor', string.format('%.6f', factor), 'since', string.format('%.6f', now),
  'slowed_at', string.format('%.6f', slowed_at))
local ttl = (tat - now) + (1 - factor) / recovery + 5
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))
return string.format('%.6f %d', wait, granted)
"""


class RedisQuota(Quota):
    """The quota in Redis: one atomic script per turn, shared by every machine."""

    def __init__(self, rate: float, url: str, app_key: str):
        import redis  # only where the broker is Redis

        super().__init__(rate)
        self.key = f"previews:quota:{key_name(app_key)}"
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self._script = self._client.register_script(_LUA)

    def _run(self, mode: str, pause: float = 0.0, horizon: float = -1.0) -> tuple[float, bool]:
        constants = (
            RECOVERY_PER_SECOND, SLOW_DOWN_AT_MOST_EVERY, MIN_FACTOR, SLOW_DOWN_FACTOR
        )  # fmt: skip
        args = [self.rate, self.burst, mode, pause, *constants, horizon]
        wait, granted = self._script(keys=[self.key], args=args).split()
        return float(wait), granted == b"1"

    def book(self, horizon: float) -> tuple[float, bool]:
        return self._run("take", horizon=-1.0 if horizon == float("inf") else horizon)

    def slow_down(self, *, pause: float = 0.0) -> None:
        self._run("slow", pause)

    def state(self) -> dict:
        values = self._client.hgetall(self.key)
        return {name.decode(): float(value) for name, value in values.items()}


_quotas: dict[tuple, Quota] = {}
_quotas_lock = threading.Lock()


def for_config(config: _Config) -> Quota | None:
    """The quota of `config`'s app key in its store, or None when there is no limit
    (`rate_limit` 0). One object per process and store: a Redis client is reused."""
    if config.rate_limit <= 0 or not config.quota_store:
        return None
    identity = (config.quota_store, key_name(config.app_key), config.rate_limit)
    found = _quotas.get(identity)
    if found is None:
        with _quotas_lock:
            found = _quotas.get(identity)
            if found is None:
                found = _quotas[identity] = make(
                    rate=config.rate_limit, store=config.quota_store, app_key=config.app_key
                )
    return found


def make(*, rate: float, store: str, app_key: str) -> Quota:
    """A quota of `rate` calls per second for `app_key`, kept in `store`: a `redis://` or
    `rediss://` URL, or a folder."""
    if store.startswith(("redis://", "rediss://", "unix://")):
        return RedisQuota(rate, store, app_key)
    return FileQuota(rate, store, app_key)
