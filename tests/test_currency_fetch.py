"""The daily fetch of the ECB's reference rates, from a local HTTP server serving the real
file format (no network): one worker a day, a failure tried again later, a manual rate
still winning, and the workers' timer that runs it."""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from previews import rates
from previews.models import ExchangeRate, RateFetch
from previews.recovery import RecoveryTimer

pytestmark = pytest.mark.django_db(transaction=True)

ECB_DAILY = (Path(__file__).parent / "data" / "eurofxref-daily.xml").read_bytes()


class RatesServer:
    """A local stand-in for the ECB: serves `body` with `status`, counting requests."""

    def __init__(self):
        self.body, self.status, self.requests = ECB_DAILY, 200, 0
        self.release = threading.Event()
        self.release.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                server.release.wait(10)
                self.send_response(server.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/stats/eurofxref/eurofxref-daily.xml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def ecb(settings):
    server = RatesServer()
    settings.CURRENCY_RATES_URL = server.url
    yield server
    server.stop()


def test_the_daily_fetch_stores_rates_to_cny(ecb):
    assert rates.fetch_rates_if_due() == 30
    usd = ExchangeRate.objects.get(currency="USD")
    assert (usd.rate, usd.source, usd.as_of.isoformat()) == (
        Decimal("7.236777017"), "ecb", "2026-11-20",
    )  # fmt: skip
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("7.6073")
    assert not ExchangeRate.objects.filter(currency="CNY").exists()
    fetch = RateFetch.objects.get()
    assert (fetch.rate_count, fetch.rates_as_of.isoformat(), fetch.error) == (30, "2026-11-20", "")
    # the same day again: nothing asked
    assert rates.fetch_rates_if_due() == 0
    assert ecb.requests == 1


def test_the_next_day_fetches_again_and_updates_in_place(ecb):
    rates.fetch_rates_if_due()
    ecb.body = ECB_DAILY.replace(b"rate='1.0512'", b"rate='1.0600'")
    assert rates.fetch_rates_if_due(now=timezone.now() + timedelta(days=1)) == 30
    # the ECB file still says 2026-11-20 (a holiday): its rates are updated, not doubled
    assert ExchangeRate.objects.filter(currency="USD").count() == 1
    assert ExchangeRate.objects.get(currency="USD").rate == Decimal("7.176698113")
    assert RateFetch.objects.count() == 2 and ecb.requests == 2


def test_a_failed_fetch_is_kept_and_tried_again_an_hour_later(ecb, settings):
    morning = timezone.make_aware(datetime.combine(timezone.localdate(), time(9, 0)))
    retry = timedelta(seconds=settings.CURRENCY_RATES_RETRY_SECONDS)
    ecb.status, ecb.body = 503, b"<html>maintenance</html>"
    assert rates.fetch_rates_if_due(now=morning) == 0
    fetch = RateFetch.objects.get()
    assert fetch.error == "HTTP 503" and fetch.succeeded_at is None
    assert not ExchangeRate.objects.exists()
    assert rates.fetch_rates_if_due(now=morning + retry / 2) == 0 and ecb.requests == 1
    ecb.status, ecb.body = 200, ECB_DAILY
    assert rates.fetch_rates_if_due(now=morning + retry + timedelta(seconds=1)) == 30
    fetch.refresh_from_db()
    assert (fetch.attempts, fetch.error, fetch.rate_count) == (2, "", 30)
    assert rates.fetch_rates_if_due(now=morning + 3 * retry) == 0  # done for the day
    assert ecb.requests == 2


def test_a_body_that_is_not_the_ecb_file_stores_nothing(ecb):
    ecb.body = b"<html><body>Captive portal: please log in</body></html>"
    assert rates.fetch_rates_if_due() == 0
    assert "not XML" in RateFetch.objects.get().error or "Cube" in RateFetch.objects.get().error
    assert not ExchangeRate.objects.exists()


def test_an_unreachable_server_is_a_recorded_failure(settings):
    server = RatesServer()
    url = server.url
    server.stop()  # nothing listens there any more
    settings.CURRENCY_RATES_URL = url
    assert rates.fetch_rates_if_due() == 0
    assert "could not be fetched" in RateFetch.objects.get().error


def test_no_url_no_fetch(settings):
    settings.CURRENCY_RATES_URL = ""
    assert rates.fetch_rates_if_due() == 0
    assert not RateFetch.objects.exists()


def test_workers_at_once_fetch_once(ecb):
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers: proven on PostgreSQL")
    ecb.release.clear()  # the first fetch hangs until released: the others arrive meanwhile
    results = []

    def worker():
        try:
            results.append(rates.fetch_rates_if_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while ecb.requests == 0 and timezone.now() < deadline:
            threading.Event().wait(0.05)
    finally:
        ecb.release.set()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [0, 0, 0, 30]
    assert ecb.requests == 1


def test_a_manual_rate_still_wins_over_the_fetched_ones(ecb):
    ExchangeRate.objects.create(
        currency="USD", rate=Decimal("7.1"), as_of=timezone.localdate() - timedelta(days=30)
    )
    rates.fetch_rates_if_due()
    assert rates.current_rate("USD").rate == Decimal("7.1")
    assert rates.current_rate("JPY").rate == Decimal("0.04682856263")


def test_the_workers_timer_fetches(ecb):
    counts = RecoveryTimer.tick()
    assert counts["rates_fetched"] == 30
    assert RecoveryTimer.tick()["rates_fetched"] == 0  # once a day


def test_a_failing_fetch_never_stops_the_recovery(ecb, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(rates, "fetch_rates_if_due", broken)
    counts = RecoveryTimer.tick()
    assert counts is not None and counts["rates_fetched"] == 0


def test_the_fetch_rates_command(ecb, capsys):
    call_command("fetch_rates")
    assert "30 rates to CNY of 2026-11-20 stored" in capsys.readouterr().out
    ecb.status = 404
    with pytest.raises(CommandError, match="HTTP 404"):
        call_command("fetch_rates", url=ecb.url)


def test_the_sandbox_serves_the_demo_rates(sandbox_url, settings):
    """`make run` fetches from the sandbox: the ECB's format, dated the last weekday."""
    settings.CURRENCY_RATES_URL = f"{sandbox_url}/ecb/eurofxref-daily.xml"
    assert rates.fetch_rates_if_due() == 15
    usd = ExchangeRate.objects.get(currency="USD")
    assert usd.rate == Decimal("7.236777017") and usd.as_of.weekday() < 5
    assert (timezone.localdate() - usd.as_of).days <= 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CURRENCY_RATES_URL", "file:///etc/passwd"), ("CURRENCY_RATE_MAX_AGE_DAYS", "a week")],
)
def test_a_malformed_currency_setting_stops_start_up(tmp_path, variable, value):
    from .test_settings import start_up_error

    error = start_up_error(tmp_path, **{variable: value})
    assert "ImproperlyConfigured" in error and variable in error.strip().splitlines()[-1]


def test_currency_settings_default_to_no_fetch_and_seven_days(tmp_path):
    from .test_settings import run_python

    code = (
        "import django; django.setup(); from django.conf import settings;"
        "print(repr(settings.CURRENCY_RATES_URL), settings.CURRENCY_RATE_MAX_AGE_DAYS)"
    )
    default = run_python(code, {}, tmp_path)
    assert default.stdout.split() == ["''", "7"], default.stderr
    configured = run_python(
        code,
        {"CURRENCY_RATES_URL": "http://127.0.0.1:9/x.xml", "CURRENCY_RATE_MAX_AGE_DAYS": "3"},
        tmp_path,
    )
    assert configured.stdout.split() == ["'http://127.0.0.1:9/x.xml'", "3"], configured.stderr
