"""Exchange rates: the rate a new run stores, the buyer's display currency, and the daily
fetch of the European Central Bank's reference rates.

Which rate counts: for a currency, the latest *manual* rate (by its as-of date) whenever
there is one, even when a fetched rate is newer; otherwise the latest fetched one. An
administrator who wants the fetched rates back for a currency deletes its manual rates.
A run stores the rate it used when it is created (`run_rate_fields`), so changing the
rates later never changes an old run. The arithmetic is in currency.py.

The fetch: every worker's recovery timer (recovery.py) calls `fetch_rates_if_due`. The
first worker of the day to insert that day's `RateFetch` row (a unique date) fetches;
the others see the row and do nothing. A failed fetch is tried again by whoever claims
it first CURRENCY_RATES_RETRY_SECONDS later (a conditional UPDATE). With
CURRENCY_RATES_URL empty nothing is fetched.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import failures
from .currency import (
    ECB_MAX_BYTES,
    Conversion,
    RateError,
    ReferenceRates,
    cny_rates,
    parse_ecb_daily,
)
from .models import BuyerPreferences, ExchangeRate, PreviewRun, RateFetch

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = (3.05, 10)  # connect, read (seconds): the recovery timer waits on it


# --------------------------------------------------------------------------- reads


def current_rate(code: str) -> ExchangeRate | None:
    """The rate a new run uses for `code`: the latest manual one, else the latest fetched;
    never one dated after today (the admin refuses those, and one that slipped in must not
    win for ever)."""
    rates = ExchangeRate.objects.filter(currency=code, as_of__lte=timezone.localdate()).order_by(
        "-as_of", "-pk"
    )
    return (
        rates.filter(source=ExchangeRate.Source.MANUAL).first()
        or rates.filter(source=ExchangeRate.Source.ECB).first()
    )


def display_currency(*, owner: AbstractBaseUser) -> str:
    """The buyer's second currency ("" for none)."""
    code = (
        BuyerPreferences.objects.filter(owner=owner)
        .values_list("display_currency", flat=True)
        .first()
    )
    return code or ""


def run_rate_fields(*, owner: AbstractBaseUser) -> dict:
    """What a new run stores of the buyer's second currency: the code, and the rate in
    force now with its date and source (no rate: the code alone, so the page can say
    there was none)."""
    code = display_currency(owner=owner)
    if not code:
        return {}
    fields = {"display_currency": code}
    rate = current_rate(code)
    if rate is not None:
        fields.update(
            display_rate=rate.rate, display_rate_as_of=rate.as_of, display_rate_source=rate.source
        )
    return fields


# --------------------------------------------------------------------------- writes


def set_display_currency(*, owner: AbstractBaseUser, code: str) -> BuyerPreferences:
    """Choose the buyer's second currency ("" for none); new runs use it."""
    preferences, _created = BuyerPreferences.objects.update_or_create(
        owner=owner, defaults={"display_currency": code}
    )
    return preferences


def fetch_reference_rates(url: str) -> ReferenceRates:
    """GET an eurofxref-daily.xml and parse it; RateError says what went wrong."""
    try:
        with requests.get(url, timeout=FETCH_TIMEOUT, stream=True) as response:
            if response.status_code != 200:
                raise RateError(f"HTTP {response.status_code}")
            body = response.raw.read(ECB_MAX_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise RateError(f"could not be fetched ({type(error).__name__})") from error
    return parse_ecb_daily(body)


@transaction.atomic
def store_reference_rates(reference: ReferenceRates) -> int:
    """Store a day of ECB rates as rates to CNY (source ECB); the same day again updates
    them in place. Returns how many rates were stored."""
    rates = cny_rates(reference)
    for code, rate in rates.items():
        ExchangeRate.objects.update_or_create(
            currency=code,
            source=ExchangeRate.Source.ECB,
            as_of=reference.as_of,
            defaults={"rate": rate},
        )
    return len(rates)


def fetch_and_store(url: str) -> tuple[ReferenceRates, int]:
    """Fetch the reference rates from `url` and store them, at once (the `fetch_rates`
    command); RateError when they cannot be had."""
    reference = fetch_reference_rates(url)
    return reference, store_reference_rates(reference)


def fetch_rates_if_due(*, now: datetime | None = None) -> int:
    """The daily fetch, by whichever worker claims it first; the number of rates stored
    (0 when not due, not configured, claimed by another worker, or failed)."""
    url = settings.CURRENCY_RATES_URL
    if not url:
        return 0
    now = now or timezone.now()
    fetch, created = RateFetch.objects.get_or_create(
        day=timezone.localdate(now), defaults={"claimed_at": now}
    )
    if not created:
        retry_before = now - timedelta(seconds=settings.CURRENCY_RATES_RETRY_SECONDS)
        claimed = RateFetch.objects.filter(
            pk=fetch.pk, succeeded_at__isnull=True, claimed_at__lt=retry_before
        ).update(claimed_at=now, attempts=F("attempts") + 1)
        if not claimed:
            return 0
    try:
        reference, count = fetch_and_store(url)
    except RateError as error:
        logger.warning("reference rates: %s", error)
        RateFetch.objects.filter(pk=fetch.pk).update(error=str(error)[:1000])
        return 0
    RateFetch.objects.filter(pk=fetch.pk).update(
        succeeded_at=timezone.now(), rates_as_of=reference.as_of, rate_count=count, error=""
    )
    logger.info("reference rates of %s: %s stored", reference.as_of, count)
    return count


# --------------------------------------------------------------------------- words


def rate_note(conversion: Conversion) -> str:
    """The rate a run's converted figures use, said beside them (page and exports)."""
    params = {
        "code": conversion.code,
        "rate": conversion.rate_text,
        "date": conversion.as_of.isoformat(),
    }
    if conversion.source == ExchangeRate.Source.ECB:
        return (
            _(
                "Figures in %(code)s at 1 %(code)s = %(rate)s CNY, ECB rate of %(date)s, "
                "as stored when this run was created."
            )
            % params
        )
    return (
        _(
            "Figures in %(code)s at 1 %(code)s = %(rate)s CNY, manual rate of %(date)s, "
            "as stored when this run was created."
        )
        % params
    )


def stale_note(conversion: Conversion) -> str:
    """Why the converted figures are marked: the rate was old when the run was created."""
    return ngettext(
        "This rate was %(days)s day old when the run was created (more than %(max)s): "
        "figures converted with it are marked “old rate”.",
        "This rate was %(days)s days old when the run was created (more than %(max)s): "
        "figures converted with it are marked “old rate”.",
        conversion.age_days,
    ) % {"days": conversion.age_days, "max": settings.CURRENCY_RATE_MAX_AGE_DAYS}


def run_rate_notes(run: PreviewRun) -> list[str]:
    """What a run says of its second currency: the rate and whether it was old, or why
    there is none; nothing when the buyer chose none."""
    conversion = run.conversion
    if conversion is not None:
        return [rate_note(conversion)] + ([stale_note(conversion)] if conversion.stale else [])
    if run.display_rate_missing:
        return [failures.no_rate(run.display_currency)]
    return []
