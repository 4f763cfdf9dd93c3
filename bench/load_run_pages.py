"""Load on loopback: 50 buyers browsing their run pages while previews run, then the
worker's memory over 1,000 previews.

Serves the app with gunicorn (production settings), runs a real worker and the sandbox,
drives 50 concurrent connections with wrk (Debian's `wrk`; each connection a buyer with
their own session) for --seconds while a thread keeps submitting previews, and prints
requests per second, p95 latency and errors. Then submits --previews runs and samples
the worker's resident memory (all its processes) as they complete.

Usage: .venv/bin/python bench/load_run_pages.py [--seconds 30] [--previews 1000]
Loopback only: every address used is 127.0.0.1.
"""

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from common import ROOT, buyer_with_address, setup_django

# gunicorn must read the sessions this script makes: one secret key for both.
SECRET_KEY = "bench-load-" + uuid.uuid4().hex * 2
VAR = setup_django("bench-load-", DJANGO_SECRET_KEY=SECRET_KEY)

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from previews import runs  # noqa: E402
from previews.models import CartLine, PreviewRun, Supplier  # noqa: E402
from tests.processes import (  # noqa: E402
    celery_worker,
    child_database_url,
    child_env,
    free_port,
    sandbox_process,
    stop_process_group,
    wait_until,
)

WRK_SCRIPT = """
local pairs = {PAIRS}
local counter = 0
not_ok = 0  -- global: done() reads it from each thread
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
request = function()
  counter = counter + 1
  local pair = pairs[(counter %% #pairs) + 1]
  wrk.headers["Cookie"] = "sessionid=" .. pair[1]
  return wrk.format("GET", pair[2])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.timeout
  for _, thread in ipairs(threads) do errors = errors + thread:get("not_ok") end
  io.write(string.format('{"requests": %%d, "seconds": %%.3f, ', summary.requests,
                         summary.duration / 1e6))
  io.write(string.format('"p50_ms": %%.1f, "p95_ms": %%.1f, "p99_ms": %%.1f, "errors": %%d}\\n',
                         latency:percentile(50) / 1000, latency:percentile(95) / 1000,
                         latency:percentile(99) / 1000, errors))
end
"""


def make_buyer(n: int):
    user, address = buyer_with_address(f"buyer{n:02d}")
    lines = []
    for s in range(3):
        supplier = Supplier.objects.create(owner=user, name=f"Supplier {s}")
        for k in range(4):
            offer = (640000 + n * 10 + s) * 1_000_000 + 1100 + k * 100
            lines.append(CartLine.objects.create(owner=user, supplier=supplier, offer_id=offer,
                                                 quantity=5 + k))  # fmt: skip
    client = Client()
    client.force_login(user)
    return user, address, lines, client.cookies["sessionid"].value


def start(user, address, lines) -> PreviewRun:
    run, _ = runs.start_preview(
        owner=user, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    return run


def worker_rss_mib(worker: subprocess.Popen) -> float:
    out = subprocess.run(["ps", "-o", "rss=", "-s", str(worker.pid)], capture_output=True,
                         text=True).stdout  # fmt: skip
    return sum(int(x) for x in out.split()) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--previews", type=int, default=1000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    static_root = Path(VAR) / "static"
    port = free_port()
    web_env = child_env(
        DATABASE_URL=child_database_url(), DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET_KEY, DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_STATIC_ROOT=str(static_root),
        DJANGO_LOG_LEVEL="WARNING",
    )  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=ROOT, env=web_env, check=True)  # fmt: skip
    buyers = [make_buyer(n) for n in range(args.buyers)]
    with sandbox_process(latency=0.2) as sandbox_url:
        worker_env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=sandbox_url,
                               DJANGO_LOG_LEVEL="WARNING")  # fmt: skip
        with celery_worker(worker_env, concurrency=4, log=Path(VAR) / "worker.log") as worker:
            runs = [start(user, address, lines) for user, address, lines, _ in buyers]
            for run in runs:
                wait_until(lambda run=run: PreviewRun.objects.get(pk=run.pk).is_finished,
                           timeout=120)  # fmt: skip
            pairs = []
            for (_u, _a, _l, cookie), run in zip(buyers, runs, strict=True):
                pairs += [(cookie, f"/runs/{run.pk}/"), (cookie, f"/runs/{run.pk}/status/"),
                          (cookie, "/runs/")]  # fmt: skip
            script = Path(VAR) / "browse.lua"
            lua_pairs = "{" + ",".join(f'{{"{c}", "{p}"}}' for c, p in pairs) + "}"
            script.write_text(WRK_SCRIPT.replace("{PAIRS}", lua_pairs).replace("%%", "%"))
            web = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "procurement.wsgi",
                 "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{port}",
                 "--log-level", "warning"],
                cwd=ROOT, env=web_env, start_new_session=True,
            )  # fmt: skip
            try:
                wait_until(lambda: _answers(port), timeout=30, what="gunicorn")
                submitted, stop = [], threading.Event()

                def keep_previewing():
                    n = 0
                    while not stop.is_set():
                        user, address, lines, _cookie = buyers[n % len(buyers)]
                        submitted.append(start(user, address, lines).pk)
                        n += 1
                        time.sleep(0.5)

                feeder = threading.Thread(target=keep_previewing, daemon=True)
                feeder.start()
                result = subprocess.run(
                    ["wrk", "-t", "2", "-c", str(args.buyers), "-d", f"{args.seconds}s",
                     "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
                    capture_output=True, text=True,
                )  # fmt: skip
                if result.returncode:
                    sys.exit(f"wrk failed: {result.stderr or result.stdout}")
                stop.set()
                feeder.join()
            finally:
                stop_process_group(web)
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            for run_id in submitted:
                wait_until(lambda run_id=run_id: PreviewRun.objects.get(pk=run_id).is_finished,
                           timeout=120)  # fmt: skip
            done = PreviewRun.objects.filter(pk__in=submitted, status="done").count()
            print(
                f"{args.buyers} buyers browsing run pages for {args.seconds} s (gunicorn 2×8, "
                f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}): "
                f"{figures['requests'] / figures['seconds']:.0f} requests/s, "
                f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                f"p99 {figures['p99_ms']:.0f} ms, {figures['errors']} errors; "
                f"{len(submitted)} previews submitted meanwhile, {done} done"
            )
            user, address, lines, _cookie = buyers[0]
            samples = [(0, worker_rss_mib(worker))]
            batch = max(1, args.previews // 4)
            for completed in range(batch, args.previews + 1, batch):
                last = [start(user, address, lines[:3]) for _ in range(batch)][-1]
                wait_until(lambda last=last: PreviewRun.objects.get(pk=last.pk).is_finished,
                           timeout=600)  # fmt: skip
                time.sleep(1)
                samples.append((completed, worker_rss_mib(worker)))
            print(
                "worker memory (all processes, MiB) after N previews: "
                + ", ".join(f"{n}: {mib:.0f}" for n, mib in samples)
            )


def _answers(port) -> bool:
    import requests

    try:
        return (
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1).status_code == 200
        )
    except requests.ConnectionError:
        return False


if __name__ == "__main__":
    main()
