"""One quota for all: a run of 1,000 suppliers on 4 worker processes with the gateway's
limit at 50 calls/s, against a sandbox enforcing that limit (`--rate-limit 50`).

Starts its own sandbox (--latency 0.1, --rate-limit RATE) and WORKERS real Celery worker
nodes (CONCURRENCY slots each) on the configured broker and database (SQLite + embedded
broker by default; DATABASE_URL / CELERY_BROKER_URL for PostgreSQL and Redis), with
DAJI_RATE_LIMIT=RATE (`--no-quota`: 0, the product as it was). Submits one run and times
it to done; the ideal is suppliers / rate (20 s). The sandbox's `GET /calls` says how many
calls it refused for the limit (the figure: 0).

Usage: .venv/bin/python bench/quota_1000.py [--suppliers 1000] [--rate 50] [--workers 4]
       [--concurrency 1] [--lines 1] [--latency 0.1] [--no-quota]
"""

import argparse
import contextlib
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

setup_django("bench-quota-")

from django.conf import settings  # noqa: E402

from previews.models import PreviewRun  # noqa: E402
from tests.processes import (  # noqa: E402
    child_database_url,
    child_env,
    sandbox_calls,
    sandbox_process,
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--lines", type=int, default=1, help="lines per supplier")
    parser.add_argument("--no-quota", action="store_true")
    args = parser.parse_args()
    user, address = buyer_with_address(f"bench-{time.time_ns()}")
    lines = stock_suppliers(user, args.suppliers, lines=args.lines)
    warm_user, warm_address = buyer_with_address(f"bench-warm-{time.time_ns()}")
    warm_lines = stock_suppliers(warm_user, 2, first_seller=690000)
    quota = "0" if args.no_quota else f"{args.rate:g}"
    sandbox = ("--rate-limit", f"{args.rate:g}")
    with sandbox_process(*sandbox, latency=args.latency) as url, contextlib.ExitStack() as stack:
        env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url, DAJI_RATE_LIMIT=quota)
        started_workers(
            stack, env, count=args.workers, concurrency=args.concurrency,
            log_dir=Path(settings.VAR_DIR),
        )  # fmt: skip
        warm = [submit_run(warm_user, warm_address, warm_lines) for _ in range(args.workers)]
        wait_finished(warm)  # every worker started
        time.sleep(1.5)  # the sandbox's bucket full again
        before = sandbox_calls(url)
        started = time.perf_counter()
        run_id = submit_run(user, address, lines)
        elapsed = wait_finished([run_id])[run_id] - started
        calls = sandbox_calls(url)
    load = load_average()
    run = PreviewRun.objects.get(pk=run_id)
    statuses = {}
    for status in run.suppliers.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    ideal = args.suppliers / args.rate
    print(
        f"{args.suppliers} suppliers × {args.lines} lines, gateway limit {args.rate:g} calls/s, "
        f"quota "
        f"{'off' if args.no_quota else quota + ' calls/s'}, {args.workers} workers × "
        f"{args.concurrency}, {configuration()}: submit to done {elapsed:.1f} s = "
        f"{elapsed / ideal:.2f}× the ideal {ideal:.0f} s; rate-limit answers "
        f"{calls['rate_limited'] - before['rate_limited']}; calls "
        f"{calls['total'] - before['total']}; suppliers {statuses} (load {load})"
    )


if __name__ == "__main__":
    main()
