"""50 buyers at once, as issue #14 describes them: each polls the status of a run of
theirs that is working every second and opens a finished run's page every 5 s, for 60 s,
while their previews run (each buyer starts a new one when the last has finished).

Serves the app as production does (gunicorn 2 workers × 8 threads, DJANGO_DEBUG=false,
persistent database connections as configured), with a real worker (concurrency 4) and
the sandbox answering each call in --latency seconds. Each buyer is a thread with its own
session and keep-alive connection, keeping to its timetable (a late answer delays
nothing else). Prints requests per second, p50/p95/p99 latency and errors, overall and per
kind, where the CPU went (cores used by each role) and the p95 of each 5 s. Meant for
PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL).

A buyer's finished run was on their screen when it ended, and its page reloaded itself
then (the progress script): that first view, which renders the page into the cache, is
made once per buyer before the minute. `--cold` leaves it out, so the minute starts with
50 first views at once.

Usage: .venv/bin/python bench/load_buyers.py [--buyers 50] [--seconds 60] [--latency 2] [--cold]
Loopback only: every address used is 127.0.0.1.
"""

import argparse
import statistics
import threading
import time
import uuid
from pathlib import Path

from common import (
    buyer_with_address,
    cpu_seconds_by_role,
    cpu_used,
    machine_load,
    setup_django,
)

# gunicorn must read the sessions this script makes: one secret key for both.
SECRET_KEY = "bench-buyers-" + uuid.uuid4().hex * 2
VAR = setup_django("bench-buyers-", DJANGO_SECRET_KEY=SECRET_KEY)

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from previews import runs  # noqa: E402
from previews.models import CartLine, PreviewRun, Supplier  # noqa: E402
from tests.factories import finished_run  # noqa: E402
from tests.processes import (  # noqa: E402
    celery_worker,
    child_database_url,
    child_env,
    sandbox_process,
    web_server,
)

WARM_UP_SECONDS = 10


def make_buyer(n: int) -> dict:
    """A buyer with a finished run of 20 suppliers × 10 lines, a cart of 3 suppliers and
    a session cookie."""
    user, address = buyer_with_address(f"buyer{n:02d}-{uuid.uuid4().hex[:6]}")
    lines = []
    for s in range(3):
        supplier = Supplier.objects.create(owner=user, name=f"Supplier {s}")
        for k in range(2):
            offer = (650000 + n * 10 + s) * 1_000_000 + 1100 + k * 100
            lines.append(CartLine.objects.create(owner=user, supplier=supplier, offer_id=offer,
                                                 quantity=5 + k))  # fmt: skip
    finished = finished_run(user, address, suppliers=20, lines=10)
    client = Client()
    client.force_login(user)
    return {"user": user, "address": address, "lines": lines, "finished": finished.pk,
            "cookie": client.cookies["sessionid"].value}  # fmt: skip


def start_preview(buyer: dict) -> int:
    run, _created = runs.start_preview(
        owner=buyer["user"], address=buyer["address"], lines=buyer["lines"], flow="general",
        submission_token=uuid.uuid4(),
    )  # fmt: skip
    return run.pk


class Buyer(threading.Thread):
    """One buyer's timetable: the status every second, the finished page every 5 s."""

    def __init__(self, buyer: dict, base: str, until: float, offset: float, results: list):
        super().__init__(daemon=True)
        self.buyer, self.base, self.until, self.offset, self.results = (
            buyer, base, until, offset, results)  # fmt: skip

    def run(self):
        session = requests.Session()
        session.cookies.set("sessionid", self.buyer["cookie"], domain="127.0.0.1")
        working = start_preview(self.buyer)
        started = time.monotonic() + self.offset
        tick = 0
        try:
            while True:
                due = started + tick
                if due >= self.until:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                state = self.get(session, "status", f"/runs/{working}/status/")
                if state is not None and state.json().get("finished"):
                    working = start_preview(self.buyer)  # the next preview of this buyer
                if tick % 5 == 0:
                    self.get(session, "page", f"/runs/{self.buyer['finished']}/")
                tick += 1
        finally:
            connection.close()

    def get(self, session, kind: str, path: str):
        began = time.monotonic()
        try:
            response = session.get(self.base + path, timeout=10)
            ok = response.status_code == 200
        except requests.RequestException:
            response, ok = None, False
        self.results.append((kind, (time.monotonic() - began) * 1000, ok, began))
        return response if ok else None


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def report(name: str, results: list, seconds: float) -> str:
    timings = [ms for _kind, ms, _ok, _at in results]
    errors = sum(not ok for _kind, _ms, ok, _at in results)
    return (
        f"{name}: {len(results)} requests ({len(results) / seconds:.0f}/s), "
        f"p50 {statistics.median(timings):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms, "
        f"p99 {percentile(timings, 0.99):.0f} ms, max {max(timings):.0f} ms, {errors} errors"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument(
        "--cold", action="store_true", help="the finished pages never shown before the minute"
    )
    args = parser.parse_args()
    import subprocess
    import sys

    from common import ROOT

    web_env = child_env(
        DATABASE_URL=child_database_url(), DJANGO_DEBUG="false", DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_STATIC_ROOT=str(Path(VAR) / "static"), DJANGO_LOG_LEVEL="WARNING",
    )  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=ROOT, env=web_env, check=True)  # fmt: skip
    buyers = [make_buyer(n) for n in range(args.buyers)]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    with sandbox_process(latency=args.latency) as sandbox_url:
        worker_env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=sandbox_url,
                               DJANGO_LOG_LEVEL="WARNING")  # fmt: skip
        with (
            celery_worker(worker_env, concurrency=4, log=Path(VAR) / "worker.log"),
            web_server(
                web_env, log=Path(VAR) / "web.log", workers=2, threads=8, access_log=False
            ) as base,  # fmt: skip
        ):
            if not args.cold:
                # A buyer's finished run was on their screen when it ended: its page reloads
                # then (the progress script), which renders it once into the cache.
                warm = requests.Session()
                for buyer in buyers:
                    warm.cookies.set("sessionid", buyer["cookie"], domain="127.0.0.1")
                    assert warm.get(f"{base}/runs/{buyer['finished']}/", timeout=30).ok
            load_before = machine_load()
            cpu_before = cpu_seconds_by_role()
            results: list = []
            began = time.monotonic()
            until = began + args.seconds
            threads = [Buyer(buyer, base, until, offset=n / args.buyers, results=results)
                       for n, buyer in enumerate(buyers)]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
            load_after = machine_load()
            cpu_after = cpu_seconds_by_role()
    mine = [buyer["user"] for buyer in buyers]
    done = PreviewRun.objects.filter(owner__in=mine, status="done").count() - len(buyers)
    print(
        f"{args.buyers} buyers for {args.seconds} s on {engine} + {broker} (gunicorn 2×8, "
        f"CONN_MAX_AGE {getattr(settings, 'WEB_CONN_MAX_AGE', 0)} s in the web processes, sandbox "
        f"{args.latency} s per call), {done} previews done meanwhile [{load_before} → {load_after}]"
    )
    print("  " + report("all", results, elapsed))
    for kind in ("status", "page"):
        print("  " + report(kind, [r for r in results if r[0] == kind], elapsed))
    # Each buyer's finished page is rendered on its first view, all in the first seconds;
    # then it comes from the cache. The rest of the minute, apart:
    later = [r for r in results if r[3] >= began + WARM_UP_SECONDS]
    print("  " + report(f"after the first {WARM_UP_SECONDS} s", later,
                        elapsed - WARM_UP_SECONDS))  # fmt: skip
    print("  CPU: " + cpu_used(cpu_before, cpu_after, elapsed))
    # Where in the minute the slow answers were: p95 of each 5 s.
    buckets: dict[int, list[float]] = {}
    for _kind, ms, _ok, at in results:
        buckets.setdefault(int((at - began) // 5), []).append(ms)
    print(
        "  p95 by 5 s: "
        + " ".join(f"{percentile(v, 0.95):.0f}" for _k, v in sorted(buckets.items()))
    )


if __name__ == "__main__":
    main()
