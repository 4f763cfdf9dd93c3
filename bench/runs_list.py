"""`/runs/` (the history) against the size of the runs it lists: one finished run of
25, 50, 100 and 200 suppliers (5 lines each), then the four together, each beside a
trivial page (`/addresses/`) measured in the same run; time, queries and the ratio.

Usage: .venv/bin/python bench/runs_list.py [--sizes 25,50,100,200] [--lines 5] [--repeat 15]
"""

import argparse
import time

from common import buyer_with_address, machine_load, measure_alternately, setup_django

setup_django("bench-runs-")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from tests.factories import finished_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    everything, _address = buyer_with_address(f"bench-all-{time.time_ns()}")
    cases = []
    for size in sizes:
        user, address = buyer_with_address(f"bench-{size}-{time.time_ns()}")
        finished_run(user, address, suppliers=size, lines=args.lines)
        finished_run(everything, address, suppliers=size, lines=args.lines)
        cases.append((f"1 run of {size} suppliers", user))
    cases.append((f"{len(sizes)} runs ({args.sizes} suppliers)", everything))
    for name, user in cases:
        client = Client()
        client.force_login(user)
        trivial, history = measure_alternately(client, "/addresses/", "/runs/", args.repeat)
        ratio = history["median_ms"] / trivial["median_ms"]
        print(
            f"/runs/ with {name}, {args.lines} lines each, on {engine}: "
            f"median {history['median_ms']:.1f} ms (min {history['min_ms']:.1f}), "
            f"{history['queries']} queries; trivial page {trivial['median_ms']:.1f} ms, "
            f"{trivial['queries']} queries; ratio {ratio:.2f}× "
            f"[{machine_load()}]"
        )


if __name__ == "__main__":
    main()
