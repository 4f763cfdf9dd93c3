"""Render time and query count of the run page for 50 suppliers × 20 lines.

Usage: .venv/bin/python bench/run_page_render.py [--suppliers 50] [--lines 20] [--repeat 15]
"""

import argparse
import statistics
import time

from common import buyer_with_address, setup_django

setup_django("bench-page-")

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.factories import finished_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=50)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    user, address = buyer_with_address(f"bench-{time.time_ns()}")
    run = finished_run(user, address, suppliers=args.suppliers, lines=args.lines)
    client = Client()
    client.force_login(user)
    url = f"/runs/{run.pk}/"
    client.get(url)  # warm-up
    timings = []
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(
        f"run page, {args.suppliers} suppliers × {args.lines} lines: "
        f"{len(queries)} queries, median render {statistics.median(timings) * 1000:.0f} ms "
        f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}, {args.repeat} requests, "
        f"{len(response.content) / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
