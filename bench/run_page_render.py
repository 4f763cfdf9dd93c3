"""The run page of a finished run against a trivial page (`/addresses/`) measured in the
same run: median time, queries and size, for 50 suppliers × 20 lines and 200 × 50.
The first view (nothing cached yet) is timed apart from the repeated ones, which take turns
with the trivial page's, so a change in the machine's load weighs on both alike.

Usage: .venv/bin/python bench/run_page_render.py [--sizes 50x20,200x50] [--repeat 15]
"""

import argparse
import time

from common import buyer_with_address, machine_load, measure, measure_alternately, setup_django

setup_django("bench-page-")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from tests.factories import finished_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50x20,200x50")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    for size in args.sizes.split(","):
        suppliers, lines = (int(n) for n in size.split("x"))
        user, address = buyer_with_address(f"bench-{time.time_ns()}")
        run = finished_run(user, address, suppliers=suppliers, lines=lines)
        client = Client()
        client.force_login(user)
        url = f"/runs/{run.pk}/"
        first = measure(client, url, 1, warm_up=False)
        trivial, page = measure_alternately(client, "/addresses/", url, args.repeat)
        ratio = page["median_ms"] / trivial["median_ms"]
        print(
            f"run page, {suppliers} suppliers × {lines} lines on {engine}: first view "
            f"{first['median_ms']:.0f} ms, then median {page['median_ms']:.1f} ms "
            f"(min {page['min_ms']:.1f}, max {page['max_ms']:.1f}, {args.repeat} requests), "
            f"{page['queries']} queries, {page['bytes'] / 1024:.0f} KiB; trivial page "
            f"{trivial['median_ms']:.1f} ms, {trivial['queries']} queries, "
            f"{trivial['bytes'] / 1024:.0f} KiB; ratio {ratio:.2f}× "
            f"[{machine_load()}]"
        )


if __name__ == "__main__":
    main()
