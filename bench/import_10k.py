"""Time a 10,000-row CSV import through the real view, in one request.

Usage: .venv/bin/python bench/import_10k.py [--rows 10000] [--repeat 3]
"""

import argparse
import statistics
import time

from common import setup_django

setup_django("bench-import-")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.test import Client  # noqa: E402

from previews.models import CartLine  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    content = "\n".join(
        f"https://detail.1688.com/offer/{612345000000 + n}.html,,{1 + n % 50},供应商 {n % 40}"
        for n in range(args.rows)
    ).encode("gbk")
    timings = []
    for attempt in range(args.repeat):
        user = get_user_model().objects.create_user(f"bench-{attempt}-{time.time_ns()}")
        client = Client()
        client.force_login(user)
        started = time.perf_counter()
        response = client.post(
            "/cart/import/", {"file": SimpleUploadedFile("lines.csv", content, "text/csv")}
        )
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        assert CartLine.objects.filter(owner=user).count() == args.rows
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"{args.rows} rows ({len(content) / 1024:.0f} KiB, GBK) on {engine}: "
        f"median {statistics.median(timings):.2f} s, "
        f"min {min(timings):.2f} s, max {max(timings):.2f} s over {args.repeat} requests"
    )


if __name__ == "__main__":
    main()
