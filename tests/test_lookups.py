"""Offer lookup (issue #12): batches over real HTTP, snapshots reused, failures per offer,
suppliers found by sellerOpenId, picks to the cart.

`product_gateway` is the real sandbox's Product details (scenarios 700-713, README).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from previews import gateway, lookups
from previews.models import CartLine, OfferLookup, OfferLookupBatch, ProductSnapshot, Supplier

from .product_gateway import offer


@pytest.fixture
def gateway_calls(monkeypatch):
    """Counts the Product details calls this process makes, per offer."""
    counted: dict[int, int] = {}
    real = gateway.product_detail

    def counting(config, *, offer_id, **kwargs):
        counted[offer_id] = counted.get(offer_id, 0) + 1
        return real(config, offer_id=offer_id, **kwargs)

    monkeypatch.setattr(gateway, "product_detail", counting)
    return counted


@pytest.fixture
def no_dispatch(monkeypatch):
    """Batches execute in-process; the worker path has its own test."""
    monkeypatch.setattr(lookups, "dispatch_batch", lambda *, batch_id: False)


def run_batch(owner, text, product_gateway, **config):
    batch = lookups.start_lookup(owner=owner, text=text)
    lookups.execute_batch(batch_id=batch.pk, config=product_gateway.config(**config))
    return OfferLookupBatch.objects.get(pk=batch.pk)


# --------------------------------------------------------------------------- parsing


def test_offer_ids_in_links_of_every_form_mixed_with_text():
    text = (
        "看这个 https://detail.1688.com/offer/612345000701.html?spm=a26352.13672862&sk=x好的\n"
        "m.1688.com/offer/612345000702.html\n"
        "http://detail.m.1688.com/page/index.html?offerId=612345000703\n"
        "bare 612345000704, again https://detail.1688.com/offer/612345000701.html\n"
        "ｈｔｔｐｓ：／／detail.1688.com／offer／612345000705.html\n"
        "quantity 5 and 612345000706"
    )
    assert lookups.offer_ids_in(text) == [offer(n) for n in range(701, 707)]


def test_no_offer_and_more_than_200_offers_are_refused_with_reasons(buyer):
    with pytest.raises(ValidationError, match="No 1688 offer"):
        lookups.start_lookup(owner=buyer, text="hello 12 world")
    text = "\n".join(str(100_000_000 + n) for n in range(201))
    with pytest.raises(ValidationError) as refused:
        lookups.start_lookup(owner=buyer, text=text)
    assert "201" in refused.value.messages[0] and "200" in refused.value.messages[0]
    assert not OfferLookupBatch.objects.exists()


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(100_000, 2**63 - 1), min_size=1, max_size=8),
    forms=st.lists(st.sampled_from(range(6)), min_size=8, max_size=8),
    junk=st.lists(st.sampled_from(["", " ", "\n", "看看 ", "，", "; ", "\t", " 好的 "]),
                  min_size=9, max_size=9),
)  # fmt: skip
def test_offer_ids_property_every_link_form_gives_its_id_once_in_order(ids, forms, junk):
    templates = [
        "{}",
        "https://detail.1688.com/offer/{}.html",
        "https://detail.1688.com/offer/{}.html?spm=a2615.2177701&sk=consign",
        "http://m.1688.com/offer/{}.html",
        "detail.1688.com/offer/{}.html#desc",
        "https://detail.m.1688.com/page/index.html?offerId={}&x=1",
    ]
    pieces = [junk[0]]
    for i, number in enumerate(ids):
        pieces += [templates[forms[i]].format(number), junk[i + 1] or " "]
    assert lookups.offer_ids_in("".join(pieces) + " ") == list(dict.fromkeys(ids))


# --------------------------------------------------------------------------- executing


@pytest.mark.django_db(transaction=True)
def test_a_batch_looks_up_every_offer_and_failures_are_per_offer(
    buyer, product_gateway, no_dispatch
):
    scenarios = [700, 701, 702, 703, 704, 709, 710, 711, 712, 713]
    text = " ".join(f"https://detail.1688.com/offer/{offer(n)}.html" for n in scenarios)
    batch = run_batch(buyer, text, product_gateway)
    assert batch.finished_at is not None
    found = {lookup.offer_id % 1000: lookup for lookup in batch.lookups.all()}
    assert [found[n].status for n in (700, 701, 702, 713)] == ["ok"] * 4
    expected = {703: "unavailable", 704: "unavailable", 709: "timeout", 710: "http",
                711: "rate_limited", 712: "malformed"}  # fmt: skip
    assert {n: (found[n].status, found[n].failure_kind) for n in expected} == {
        n: ("failed", kind) for n, kind in expected.items()
    }
    detail = found[701].snapshot.detail()
    assert detail.offer_id == offer(701) and len(detail.skus) == 6
    assert all(len(sku.spec_id) == 32 for sku in detail.skus)
    assert detail.seller_open_id and detail.company_name
    assert found[703].snapshot is not None  # withdrawn: kept, still not available
    assert found[704].snapshot is None
    assert ProductSnapshot.objects.filter(offer_id=offer(700)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_fresh_snapshot_is_reused_for_every_buyer_and_an_old_one_fetched_again(
    buyer, other_buyer, product_gateway, no_dispatch, gateway_calls
):
    text = f"{offer(701)} {offer(700)}"
    run_batch(buyer, text, product_gateway)
    assert gateway_calls == {offer(701): 1, offer(700): 1}
    second = lookups.start_lookup(owner=other_buyer, text=text)
    # Answered at once from the snapshots: nothing waits, nothing is sent.
    assert second.finished_at is not None
    assert set(second.lookups.values_list("status", flat=True)) == {"ok"}
    lookups.execute_batch(batch_id=second.pk, config=product_gateway.config())
    assert gateway_calls == {offer(701): 1, offer(700): 1}

    ProductSnapshot.objects.filter(offer_id=offer(700)).update(
        fetched_at=timezone.now() - timedelta(seconds=301)
    )
    run_batch(buyer, text, product_gateway)
    assert gateway_calls == {offer(701): 1, offer(700): 2}


@pytest.mark.django_db(transaction=True)
def test_max_age_is_a_setting(buyer, product_gateway, no_dispatch, gateway_calls, settings):
    settings.PRODUCT_LOOKUP_MAX_AGE_SECONDS = 1
    run_batch(buyer, str(offer(700)), product_gateway)
    ProductSnapshot.objects.update(fetched_at=timezone.now() - timedelta(seconds=2))
    run_batch(buyer, str(offer(700)), product_gateway)
    assert gateway_calls == {offer(700): 2}


@pytest.mark.django_db(transaction=True)
def test_cached_products_is_one_query_and_no_gateway_call(
    buyer, product_gateway, no_dispatch, django_assert_num_queries, gateway_calls
):
    lookups.execute_batch(
        batch_id=lookups.start_lookup(owner=buyer, text=f"{offer(700)} {offer(702)}").pk,
        config=product_gateway.config(),
    )
    calls = dict(gateway_calls)
    with django_assert_num_queries(1):
        cached = lookups.cached_products([offer(700), offer(702), offer(799)])
    assert set(cached) == {offer(700), offer(702)}
    detail, looked_up_at = cached[offer(702)]
    assert detail.quote_type == 2 and detail.price_tiers and looked_up_at <= timezone.now()
    assert gateway_calls == calls


# --------------------------------------------------------------------------- to the cart


def looked_up(buyer, product_gateway, *scenarios):
    text = " ".join(str(offer(n)) for n in scenarios)
    lookups.execute_batch(
        batch_id=lookups.start_lookup(owner=buyer, text=text).pk, config=product_gateway.config()
    )
    return {n: lookups.cached_products([offer(n)]).get(offer(n), (None,))[0] for n in scenarios}


@pytest.mark.django_db(transaction=True)
def test_picks_land_in_the_cart_under_the_found_supplier_reused_after(
    buyer, product_gateway, no_dispatch
):
    details = looked_up(buyer, product_gateway, 701, 700, 713)
    skus = details[701].skus
    lookups.add_picks_to_cart(
        owner=buyer,
        offer_id=offer(701),
        picks=[lookups.Pick(offer(701), skus[0].spec_id, 3),
               lookups.Pick(offer(701), skus[4].spec_id, 2)],
    )  # fmt: skip
    lookups.add_picks_to_cart(
        owner=buyer, offer_id=offer(700), picks=[lookups.Pick(offer(700), "", 5)]
    )
    supplier = Supplier.objects.get(owner=buyer)
    assert supplier.seller_open_id == details[701].seller_open_id
    assert supplier.name == details[701].company_name
    lines = {line.spec_id: line for line in CartLine.objects.filter(owner=buyer)}
    assert set(lines) == {skus[0].spec_id, skus[4].spec_id, ""}
    first = lines[skus[0].spec_id]
    assert (first.quantity, first.title, first.supplier) == (3, details[701].subject, supplier)
    assert first.attributes_text == skus[0].attribute_text and first.attributes_text
    assert first.image_url == (skus[0].image_url or details[701].images[0])
    assert lines[""].attributes_text == "" and lines[""].quantity == 5

    # Same seller, an offer with one SKU: the same supplier, reused.
    only = details[713].skus[0]
    lookups.add_picks_to_cart(
        owner=buyer, offer_id=offer(713), picks=[lookups.Pick(offer(713), only.spec_id, 1)]
    )
    assert Supplier.objects.filter(owner=buyer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hand_made_supplier_of_the_same_name_is_matched(buyer, product_gateway, no_dispatch):
    details = looked_up(buyer, product_gateway, 700)
    hand_made = Supplier.objects.create(owner=buyer, name=details[700].company_name)
    lookups.add_picks_to_cart(
        owner=buyer, offer_id=offer(700), picks=[lookups.Pick(offer(700), "", 1)]
    )
    hand_made.refresh_from_db()
    assert hand_made.seller_open_id == details[700].seller_open_id
    assert CartLine.objects.get(owner=buyer).supplier == hand_made


@pytest.mark.django_db(transaction=True)
def test_nothing_is_added_from_a_failed_or_withdrawn_lookup_or_a_bad_pick(
    buyer, product_gateway, no_dispatch
):
    details = looked_up(buyer, product_gateway, 701, 703, 704)
    for scenario in (703, 704):
        with pytest.raises(ValidationError) as refused:
            lookups.add_picks_to_cart(
                owner=buyer, offer_id=offer(scenario), picks=[lookups.Pick(offer(scenario), "", 1)]
            )
        assert refused.value.message_dict[""]
    good = details[701].skus[0].spec_id
    with pytest.raises(ValidationError) as refused:
        lookups.add_picks_to_cart(
            owner=buyer,
            offer_id=offer(701),
            picks=[lookups.Pick(offer(701), good, 1), lookups.Pick(offer(701), "f" * 32, 1)],
        )
    assert "f" * 32 in refused.value.message_dict
    assert not CartLine.objects.exists() and not Supplier.objects.exists()


# --------------------------------------------------------------------------- a real worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_batch_through_a_real_worker(buyer, product_gateway, worker_env, tmp_path):
    from .processes import celery_worker, wait_until

    env = {**worker_env, "DAJI_API_URL": product_gateway.url}
    with celery_worker(env, log=tmp_path / "worker.log"):
        batch = lookups.start_lookup(owner=buyer, text=f"{offer(700)} {offer(704)} {offer(701)}")
        assert OfferLookupBatch.objects.get(pk=batch.pk).dispatched_at is not None

        def finished():
            return OfferLookupBatch.objects.get(pk=batch.pk).finished_at is not None

        wait_until(finished, timeout=60, what="the lookup batch to finish")
    statuses = dict(OfferLookup.objects.filter(batch=batch).values_list("offer_id", "status"))
    assert statuses == {offer(700): "ok", offer(704): "failed", offer(701): "ok"}


@pytest.mark.django_db(transaction=True)
def test_a_batch_saved_while_the_broker_is_down_is_sent_by_the_recovery(buyer, monkeypatch):
    from celery import current_app

    sent = []

    def broker_down(name, args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(current_app, "send_task", broker_down)
    batch = lookups.start_lookup(owner=buyer, text=str(offer(700, seller=99)))
    assert OfferLookupBatch.objects.get(pk=batch.pk).dispatched_at is None

    monkeypatch.setattr(current_app, "send_task", lambda name, args, **kw: sent.append(args))
    assert lookups.dispatch_waiting_batches(older_than=timedelta(0)) == 1
    assert sent == [[batch.pk]]
    assert lookups.dispatch_waiting_batches(older_than=timedelta(0)) == 0  # sent once


# --------------------------------------------------------------------------- a worker dies


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_worker_is_killed_is_finished_by_the_recovery(buyer, worker_env, tmp_path):
    """The whole worker is killed (SIGKILL of its process group) while slow lookups (709)
    are in flight; another worker starts. Within 30 s, with no page view, the recovery
    sends the batch again and every offer is found; the offer whose snapshot was stored
    before the kill is not asked again."""
    import signal
    import time

    from .processes import (
        celery_worker,
        sandbox_calls,
        sandbox_process,
        stop_process_group,
        wait_until,
    )

    slow = [offer(709, seller=s) for s in (501, 502, 503)]
    fast = offer(700, seller=504)
    with sandbox_process(slow=4.0) as url:
        env = {**worker_env, "DAJI_API_URL": url}
        with celery_worker(env, log=tmp_path / "worker.log") as worker:
            batch = lookups.start_lookup(owner=buyer, text=" ".join(map(str, [fast, *slow])))

            def in_flight():
                by_offer = sandbox_calls(url)["lookups_by_offer"]
                fast_done = OfferLookup.objects.filter(batch=batch, offer_id=fast, status="ok")
                return fast_done.exists() and all(by_offer.get(str(o)) for o in slow)

            wait_until(in_flight, timeout=60, what="the slow lookups to be in flight")
            stop_process_group(worker, sig=signal.SIGKILL)
        assert OfferLookup.objects.filter(batch=batch, status="waiting").count() == 3
        killed_at = time.monotonic()
        with celery_worker(env, log=tmp_path / "worker2.log"):
            wait_until(
                lambda: OfferLookupBatch.objects.get(pk=batch.pk).finished_at is not None,
                timeout=30,
                what="the recovery to finish the batch",
            )
        took = time.monotonic() - killed_at
        calls = sandbox_calls(url)["lookups_by_offer"]
    statuses = dict(OfferLookup.objects.filter(batch=batch).values_list("offer_id", "status"))
    assert statuses == {o: "ok" for o in [fast, *slow]}, statuses
    assert OfferLookupBatch.objects.get(pk=batch.pk).executions == 2
    assert calls[str(fast)] == 1  # its snapshot was stored: not asked again
    assert all(calls[str(o)] == 2 for o in slow), calls
    assert took < 30


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_worker_died_too_often_fails_its_waiting_offers_in_words(
    buyer, no_dispatch, settings
):
    from previews import failures

    batch = lookups.start_lookup(owner=buyer, text=f"{offer(709)} {offer(700, seller=77)}")
    OfferLookup.objects.filter(batch=batch, offer_id=offer(700, seller=77)).update(status="ok")
    long_ago = timezone.now() - timedelta(minutes=5)
    OfferLookupBatch.objects.filter(pk=batch.pk).update(
        dispatched_at=long_ago,
        started_at=long_ago,
        heartbeat_at=long_ago,
        worker_token="dead",
        executions=settings.PREVIEW_MAX_EXECUTIONS,
    )
    counts = lookups.recover_batches()
    assert counts["lookups_failed_worker_lost"] == 1
    batch.refresh_from_db()
    assert batch.finished_at is not None and batch.worker_token == ""
    failed = OfferLookup.objects.get(batch=batch, offer_id=offer(709))
    assert failed.status == "failed" and failed.failure_kind == failures.WORKER_LOST
    assert "worker stopped" in failures.lookup_failure(failed.failure_kind)
    assert OfferLookup.objects.get(batch=batch, offer_id=offer(700, seller=77)).status == "ok"
    # a later delivery of the ended batch asks nothing
    assert not lookups.claim_batch(batch_id=batch.pk, token="late")
