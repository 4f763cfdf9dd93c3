"""Previews per second of one worker with the gateway answering at once, against a plain
HTTP client posting the same bodies (the ratio is the figure: the machine is shared).

Starts its own sandbox (--latency 0) and one real Celery worker (CELERY_WORKER_CONCURRENCY
slots, default 4) on the configured broker and database (SQLite + embedded broker by
default; DATABASE_URL / CELERY_BROKER_URL for PostgreSQL and Redis), with the quota off
(DAJI_RATE_LIMIT=0: the gateway's limit is not what is measured). A run of 200 suppliers
× 5 lines is submitted and timed to done; the plain client posts the same 200 request
bodies (gateway.build_body) from PREVIEW_MAX_PARALLEL_CALLS threads over one
keep-alive `requests.Session` and reads each answer, nothing else.

Usage: .venv/bin/python bench/worker_throughput.py [--suppliers 200] [--lines 5] [--repeat 3]
"""

import argparse
import contextlib
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
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

setup_django("bench-throughput-", DAJI_RATE_LIMIT="0")

import requests  # noqa: E402
from django.conf import settings  # noqa: E402

from previews import gateway  # noqa: E402
from previews.execution import address_param  # noqa: E402
from previews.runs import group_lines, snapshot_address  # noqa: E402
from tests.processes import child_database_url, child_env, sandbox_process  # noqa: E402


def cargo_of(group) -> list:
    return [
        gateway.Cargo(offer_id=line["offer_id"], spec_id=line["spec_id"], quantity=line["quantity"])
        for line in group.lines
    ]


def plain_client_rate(url: str, bodies: list[dict]) -> float:
    """Calls per second of a plain client: the same bodies, as many threads as a run."""
    path = url + "/alibaba/createOrder/preview"
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=settings.PREVIEW_MAX_PARALLEL_CALLS)
    session.mount("http://", adapter)

    def post(body):
        response = session.post(path, json=body, timeout=30)
        assert response.status_code == 200 and response.json()["code"] == 200
        return response.content

    started = time.perf_counter()
    with ThreadPoolExecutor(settings.PREVIEW_MAX_PARALLEL_CALLS) as pool:
        list(pool.map(post, bodies))
    return len(bodies) / (time.perf_counter() - started)


def worker_rate(user, address, lines, suppliers: int) -> float:
    started = time.perf_counter()
    run_id = submit_run(user, address, lines)
    ended = wait_finished([run_id])[run_id]
    return suppliers / (ended - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=200)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    user, address = buyer_with_address(f"bench-{time.time_ns()}")
    lines = stock_suppliers(user, args.suppliers, lines=args.lines)
    config = gateway.GatewayConfig(base_url="http://unused")
    snapshot = snapshot_address(address)
    bodies = [
        gateway.build_body(config, address_param(snapshot), cargo_of(group), "general")
        for group in group_lines(lines)
    ]
    concurrency = settings.CELERY_WORKER_CONCURRENCY
    with sandbox_process(latency=0) as url, contextlib.ExitStack() as stack:
        env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url, DAJI_RATE_LIMIT="0")
        started_workers(
            stack, env, count=1, concurrency=concurrency, log_dir=Path(settings.VAR_DIR)
        )
        worker_rate(user, address, lines, args.suppliers)  # warm-up: start, imports, connections
        plain_client_rate(url, bodies)
        plain, worker = [], []
        for _ in range(args.repeat):
            plain.append(plain_client_rate(url, bodies))
            worker.append(worker_rate(user, address, lines, args.suppliers))
            load = load_average()
    ratio = statistics.median(worker) / statistics.median(plain)
    print(
        f"{args.suppliers} suppliers × {args.lines} lines, sandbox answering at once, "
        f"{configuration()}, 1 worker × {concurrency}: worker {statistics.median(worker):.0f} "
        f"previews/s, plain client {statistics.median(plain):.0f} calls/s, "
        f"ratio {ratio:.2f} (medians of {args.repeat}; load {load})"
    )


if __name__ == "__main__":
    main()
