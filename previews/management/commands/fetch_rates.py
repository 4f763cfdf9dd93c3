"""Fetch the European Central Bank's daily reference rates now and store them."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from previews import rates
from previews.currency import RateError


class Command(BaseCommand):
    help = (
        "Fetch an eurofxref-daily.xml from CURRENCY_RATES_URL (or --url) and store its rates "
        "to CNY (source ECB). The workers do this once a day by themselves when "
        "CURRENCY_RATES_URL is set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", help="where to fetch from (default: CURRENCY_RATES_URL)")

    def handle(self, *args, url=None, **options):
        url = url or settings.CURRENCY_RATES_URL
        if not url:
            raise CommandError("CURRENCY_RATES_URL is empty; set it or pass --url.")
        try:
            reference, count = rates.fetch_and_store(url)
        except RateError as error:
            raise CommandError(f"The reference rates could not be used: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(f"{count} rates to CNY of {reference.as_of} stored (source ECB).")
        )
