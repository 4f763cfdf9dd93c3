"""XLSX and CSV export of a finished run of 200 suppliers × 50 lines through the real
view: time of the first and of repeated downloads, and the Python memory the first one
takes at its peak (tracemalloc, in a separate download so tracing does not slow the
timed ones), beside the process's maximum resident size.

Usage: .venv/bin/python bench/export_run.py [--suppliers 200] [--lines 50] [--repeat 3]
"""

import argparse
import resource
import time
import tracemalloc

from common import _read, buyer_with_address, machine_load, measure, setup_django

setup_django("bench-export-")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from tests.factories import finished_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=200)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    for file_format in ("xlsx", "csv"):
        user, address = buyer_with_address(f"bench-{time.time_ns()}")
        traced = finished_run(user, address, suppliers=args.suppliers, lines=args.lines)
        timed = finished_run(user, address, suppliers=args.suppliers, lines=args.lines)
        client = Client()
        client.force_login(user)
        tracemalloc.start()
        size = _read(client.get(f"/runs/{traced.pk}/export.{file_format}"))
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        url = f"/runs/{timed.pk}/export.{file_format}"
        first = measure(client, url, 1, warm_up=False)
        again = measure(client, url, args.repeat, warm_up=False)
        print(
            f"{file_format.upper()} export, {args.suppliers} suppliers × {args.lines} lines on "
            f"{engine}: first {first['median_ms'] / 1000:.2f} s, again median "
            f"{again['median_ms'] / 1000:.2f} s; {size / 1024:.0f} KiB; peak traced memory "
            f"{peak / 2**20:.0f} MiB; max RSS so far "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
            f"[{machine_load()}]"
        )


if __name__ == "__main__":
    main()
