"""Fair to every buyer: (1) 10 runs of 20 suppliers submitted at once, one worker of
concurrency 4, the sandbox answering in 1 s: when each ends against the ideal (all
calls in flight at once as far as PREVIEW_MAX_PARALLEL_CALLS × slots allow); (2) a
3-supplier run submitted 2 s into a 500-supplier run: its submit-to-done against its own
calls' time (1 s) + 2 s.

Starts its own sandbox and real Celery workers on the configured broker and database
(SQLite + embedded broker by default; DATABASE_URL / CELERY_BROKER_URL for PostgreSQL and
Redis). Part 1 runs with the quota off (DAJI_RATE_LIMIT=0: slots, not the gateway's
limit, are measured); part 2 with the quota at its default unless DAJI_RATE_LIMIT is set.

Usage: .venv/bin/python bench/fairness.py [--part 1|2|both] [--latency 1]
"""

import argparse
import contextlib
import math
import os
import time
from pathlib import Path

from common import (
    buyer_with_address,
    configuration,
    load_average,
    setup_django,
    started_workers,
    stock_suppliers,
    submit_run,
    wait_finished,
)

setup_django("bench-fair-")

from django.conf import settings  # noqa: E402

from tests.processes import child_database_url, child_env, sandbox_process  # noqa: E402

CONCURRENCY = 4


def many_at_once(url: str, latency: float, log_dir: Path) -> str:
    runs, suppliers = 10, 20
    buyers = [buyer_with_address(f"bench-{n}-{time.time_ns()}") for n in range(runs)]
    carts = [
        (user, address, stock_suppliers(user, suppliers, first_seller=710000 + n * 100))
        for n, (user, address) in enumerate(buyers)
    ]
    env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url, DAJI_RATE_LIMIT="0")
    with contextlib.ExitStack() as stack:
        started_workers(stack, env, count=1, concurrency=CONCURRENCY, log_dir=log_dir)
        wait_finished([submit_run(*carts[0])])  # warm-up
        started = time.perf_counter()
        run_ids = [submit_run(*cart) for cart in carts]
        ended = wait_finished(run_ids)
    ends = sorted(end - started for end in ended.values())
    in_flight = CONCURRENCY * settings.PREVIEW_MAX_PARALLEL_CALLS
    ideal = math.ceil(runs * suppliers / in_flight) * latency
    return (
        f"{runs} runs × {suppliers} suppliers at once, {latency:g} s per call, 1 worker × "
        f"{CONCURRENCY}, {configuration()}: runs ended at "
        f"{', '.join(f'{end:.1f}' for end in ends)} s; the last at {ends[-1]:.2f} s = "
        f"{ends[-1] / ideal:.2f}× the ideal {ideal:.1f} s (load {load_average()})"
    )


def small_during_big(url: str, latency: float, log_dir: Path) -> str:
    big_user, big_address = buyer_with_address(f"bench-big-{time.time_ns()}")
    big = stock_suppliers(big_user, 500, first_seller=720000)
    small_user, small_address = buyer_with_address(f"bench-small-{time.time_ns()}")
    small = stock_suppliers(small_user, 3, first_seller=730000)
    env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url)
    with contextlib.ExitStack() as stack:
        started_workers(stack, env, count=1, concurrency=CONCURRENCY, log_dir=log_dir)
        wait_finished([submit_run(small_user, small_address, small)])  # warm-up
        big_started = time.perf_counter()
        big_id = submit_run(big_user, big_address, big)
        time.sleep(2.0)
        small_started = time.perf_counter()
        small_id = submit_run(small_user, small_address, small)
        ended = wait_finished([small_id, big_id])
    small_time = ended[small_id] - small_started
    quota = os.environ.get("DAJI_RATE_LIMIT") or f"{getattr(settings, 'DAJI_RATE_LIMIT', 0):g}"
    return (
        f"3-supplier run submitted 2 s into a 500-supplier run, {latency:g} s per call, quota "
        f"{quota} calls/s, 1 worker × {CONCURRENCY}, {configuration()}: small run submit to "
        f"done {small_time:.2f} s (its calls {latency:g} s + 2 s = {latency + 2:g} s); the big "
        f"run {ended[big_id] - big_started:.1f} s (load {load_average()})"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["1", "2", "both"], default="both")
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    log_dir = Path(settings.VAR_DIR)
    with sandbox_process(latency=args.latency) as url:
        if args.part in ("1", "both"):
            print(many_at_once(url, args.latency, log_dir), flush=True)
        if args.part in ("2", "both"):
            print(small_during_big(url, args.latency, log_dir), flush=True)


if __name__ == "__main__":
    main()
