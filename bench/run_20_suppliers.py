"""Submit-to-done time of a run of 20 suppliers against a sandbox answering in 1 s each.

Starts its own sandbox (--latency 1) and a real Celery worker on the configured broker
(embedded by default; CELERY_BROKER_URL=redis://… for Redis) and database (a throw-away
SQLite file by default; DATABASE_URL for PostgreSQL), then posts the preview form like a
buyer and polls the database until the run is done.

Usage: .venv/bin/python bench/run_20_suppliers.py [--suppliers 20] [--latency 1] [--repeat 3]
"""

import argparse
import statistics
import time
import uuid
from pathlib import Path

from common import buyer_with_address, setup_django

setup_django("bench-run-")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from previews.models import CartLine, PreviewRun, Supplier  # noqa: E402
from tests.processes import celery_worker, child_database_url, child_env, sandbox_process  # noqa: E402


def stock_cart(user, suppliers: int) -> list[CartLine]:
    lines = []
    for n in range(suppliers):
        supplier = Supplier.objects.create(owner=user, name=f"Supplier {n:02d}")
        lines.append(
            CartLine.objects.create(
                owner=user, supplier=supplier, offer_id=(700000 + n) * 1_000_000 + 1100, quantity=3
            )
        )
    return lines


def one_run(client, address, lines) -> float:
    started = time.perf_counter()
    response = client.post(
        "/previews/new/",
        {
            "address": address.pk,
            "lines": [line.pk for line in lines],
            "flow": "general",
            "submission_token": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 302, response.status_code
    run = PreviewRun.objects.latest("pk")
    while True:
        run.refresh_from_db(fields=["status"])
        if run.is_finished:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    assert run.status == "done", run.status
    assert run.suppliers.filter(status="ok").count() == len(lines)
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    user, address = buyer_with_address(f"bench-{time.time_ns()}")
    lines = stock_cart(user, args.suppliers)
    client = Client()
    client.force_login(user)
    with sandbox_process(latency=args.latency) as url:
        env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url)
        with celery_worker(env, concurrency=2, log=Path(settings.VAR_DIR) / "bench-worker.log"):
            one_run(client, address, lines)  # warm-up: worker start, imports, connections
            timings = [one_run(client, address, lines) for _ in range(args.repeat)]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"{args.suppliers} suppliers, sandbox {args.latency:g} s per call, {engine} + {broker}: "
        f"submit to done median {statistics.median(timings):.2f} s "
        f"(min {min(timings):.2f}, max {max(timings):.2f}, {args.repeat} runs; "
        f"one after the other would be {args.suppliers * args.latency:.0f} s)"
    )


if __name__ == "__main__":
    main()
