"""Offer lookup (issue #12): from pasted 1688 links to the right SKUs in the cart.

A buyer pastes links or ids; `start_lookup` stores a batch with one row per offer and,
after commit, sends it to the workers by task name. `execute_batch` looks every waiting
offer up through the gateway's Product details, several at once in a thread pool
(`PRODUCT_LOOKUP_MAX_PARALLEL_CALLS`), and stores each answer as the offer's
`ProductSnapshot` (public data: a snapshot younger than `PRODUCT_LOOKUP_MAX_AGE_SECONDS`
is reused for every buyer, with no gateway call) or why there is none, in words, per
offer: the rest of the batch goes on. `add_picks_to_cart` turns picked SKUs into cart
lines under the supplier found by the offer's `sellerOpenId`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import traceback
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import failures, gateway, limits
from .cart import add_cart_line
from .dispatch import send_once
from .imports import parse_offer_id
from .limits import LOOKUP_MAX_OFFERS, shorten_for_column
from .models import OfferLookup, OfferLookupBatch, ProductSnapshot, Supplier
from .runs import Heartbeat, abandoned_since

logger = logging.getLogger(__name__)

EXECUTE_LOOKUP_TASK = "previews.execute_lookup_batch"

# A 1688 link as a browser copies it (desktop, mobile, with a query string), possibly
# glued to Chinese text or a list around it: its path and query take ASCII URL characters
# but "," and ";" (full-width ones once folded), so the link ends where the text starts.
# And a bare offer id among other words.
LINK = re.compile(r"(?:https?://)?[A-Za-z0-9.-]*1688\.com/[A-Za-z0-9\-._~:/?#@!$&*+=%]*", re.I)
BARE_ID = r"(?<![0-9A-Za-z])[0-9]{6,19}(?![0-9A-Za-z])"
LINK_OR_ID = re.compile(f"{LINK.pattern}|{BARE_ID}", re.I)


# --------------------------------------------------------------------------- parsing


def offer_ids_in(text: str) -> list[int]:
    """The offer ids in pasted text, in the order first seen, each once: 1688 offer links
    (detail.1688.com/offer/<id>.html, m.1688.com, with query strings, full-width
    punctuation) and bare ids of 6 to 19 digits, mixed with any other text."""
    text = unicodedata.normalize("NFKC", text or "")
    found: dict[int, None] = {}
    for match in LINK_OR_ID.finditer(text):
        offer_id = parse_offer_id(match.group(0).rstrip(".,;:!?"))
        if offer_id is not None:
            found.setdefault(offer_id)
    return list(found)


# --------------------------------------------------------------------------- starting


def start_lookup(*, owner, text: str) -> OfferLookupBatch:
    """A batch for the offers in pasted `text`, sent to the workers after commit.

    Raises ValidationError (nothing stored) when the text holds no offer or more than
    LOOKUP_MAX_OFFERS different ones.
    """
    offer_ids = offer_ids_in(text)
    if not offer_ids:
        raise ValidationError(
            _("No 1688 offer link or offer id found in the text."), code="no_offer"
        )
    if len(offer_ids) > LOOKUP_MAX_OFFERS:
        raise ValidationError(
            _(
                "The text holds %(count)s different offers; at most %(max)s can be looked up "
                "at once. Paste them in several parts."
            ),
            code="too_many",
            params={"count": len(offer_ids), "max": LOOKUP_MAX_OFFERS},
        )
    return start_lookup_of_offers(owner=owner, offer_ids=offer_ids)


@dataclass(frozen=True)
class Wanted:
    """An offer an import asks for: its quantity, and its spec id when the row had one."""

    offer_id: int
    quantity: int | None = None
    spec_id: str = ""


def start_lookup_of_offers(*, owner, offer_ids: Sequence[int]) -> OfferLookupBatch:
    """A batch for these offers (deduplicated, at most LOOKUP_MAX_OFFERS); see
    `start_lookup_of_wanted`."""
    return start_lookup_of_wanted(owner=owner, wanted=[Wanted(o) for o in offer_ids])


@transaction.atomic
def start_lookup_of_wanted(*, owner, wanted: Sequence[Wanted]) -> OfferLookupBatch:
    """A batch for these offers (the first of each offer kept, at most LOOKUP_MAX_OFFERS).

    Offers with a fresh snapshot are answered at once from it; the others wait for a
    worker. An offer wanted with a quantity that needs no picking (no SKUs, one SKU, or
    the spec id given) goes to the cart by itself once looked up.
    """
    by_offer = {}
    for item in wanted:
        by_offer.setdefault(item.offer_id, item)
    items = list(by_offer.values())[:LOOKUP_MAX_OFFERS]
    batch = OfferLookupBatch.objects.create(owner=owner)
    fresh = {s.offer_id: s for s in fresh_snapshots(by_offer)}
    now = timezone.now()
    lookups = []
    for position, item in enumerate(items):
        lookup = OfferLookup(
            batch=batch,
            position=position,
            offer_id=item.offer_id,
            requested_quantity=item.quantity,
            requested_spec_id=item.spec_id,
        )
        snapshot = fresh.get(item.offer_id)
        if snapshot is not None:
            _settle_from_snapshot(lookup, snapshot, now)
        lookups.append(lookup)
    OfferLookup.objects.bulk_create(lookups)
    for lookup in lookups:
        if lookup.status == OfferLookup.Status.OK and lookup.requested_quantity:
            add_without_picking(lookup_id=lookup.pk)
    if all(lookup.status != OfferLookup.Status.WAITING for lookup in lookups):
        batch.finished_at = now
        batch.save(update_fields=["finished_at"])
    else:
        transaction.on_commit(lambda: dispatch_batch(batch_id=batch.pk))
    return batch


def dispatch_batch(*, batch_id: int) -> bool:
    """Send a batch to the workers by task name, once however many callers try (the send
    is claimed by a conditional update first). When the broker is away the claim is given
    back, so the workers' recovery schedule sends it later (`dispatch_waiting_batches`);
    returns False only then."""
    return send_once(
        waiting=OfferLookupBatch.objects.filter(finished_at__isnull=True),
        job_id=batch_id,
        task=EXECUTE_LOOKUP_TASK,
    )


def dispatch_waiting_batches(*, older_than: timedelta = timedelta(seconds=3)) -> int:
    """Send the batches saved while the broker was down (run by the workers' recovery
    schedule); younger ones are left to the request that saved them. Returns how many."""
    waiting = OfferLookupBatch.objects.filter(
        dispatched_at__isnull=True,
        finished_at__isnull=True,
        created_at__lte=timezone.now() - older_than,
        created_at__gte=timezone.now() - timedelta(days=1),
    ).order_by("created_at", "pk")
    sent = 0
    for batch_id in waiting.values_list("pk", flat=True):
        if not dispatch_batch(batch_id=batch_id):
            break
        sent += 1
    return sent


# --------------------------------------------------------------------------- executing


def max_age() -> timedelta:
    """How long a snapshot is reused without asking the gateway again."""
    return timedelta(seconds=settings.PRODUCT_LOOKUP_MAX_AGE_SECONDS)


def fresh_snapshots(offer_ids: Iterable[int]):
    """The snapshots of these offers younger than the maximum age (one query)."""
    return ProductSnapshot.objects.filter(
        offer_id__in=list(offer_ids), fetched_at__gte=timezone.now() - max_age()
    )


def execute_batch(*, batch_id: int, config: gateway.GatewayConfig | None = None) -> None:
    """Look up every waiting offer of a batch, several at once, and mark it finished.

    Safe to deliver twice: an offer already settled is not asked again (each result is
    stored by a conditional update of a waiting row).
    """
    from .execution import gateway_config

    token = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"
    if not claim_batch(batch_id=batch_id, token=token):
        logger.info("lookup batch %s: finished or being looked up by a live worker", batch_id)
        return
    with BatchHeartbeat(run_id=batch_id, token=token):
        _look_up_waiting(batch_id, config or gateway_config())
    OfferLookupBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
        finished_at=timezone.now(), worker_token=""
    )


def claim_batch(*, batch_id: int, token: str) -> bool:
    """Take a batch for the execution named `token` (as `runs.claim_run`): an unfinished
    batch no execution holds, or one whose execution died (no heartbeat for
    PREVIEW_WORKER_LOST_AFTER_SECONDS) fewer than PREVIEW_MAX_EXECUTIONS times."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    claimable = Q(worker_token="") | Q(
        abandoned_since(lost), executions__lt=settings.PREVIEW_MAX_EXECUTIONS
    )
    claimed = OfferLookupBatch.objects.filter(
        claimable, pk=batch_id, finished_at__isnull=True
    ).update(
        worker_token=token,
        started_at=now,
        heartbeat_at=now,
        executions=models.F("executions") + 1,
    )
    return bool(claimed)


class BatchHeartbeat(Heartbeat):
    """While a batch is looked up, touch it every PREVIEW_HEARTBEAT_SECONDS."""

    def touch(self) -> None:
        OfferLookupBatch.objects.filter(
            pk=self.run_id, finished_at__isnull=True, worker_token=self.token
        ).update(heartbeat_at=timezone.now())


def _look_up_waiting(batch_id: int, config: gateway.GatewayConfig) -> None:
    waiting = list(
        OfferLookup.objects.filter(batch_id=batch_id, status=OfferLookup.Status.WAITING)
        .values_list("pk", "offer_id")
        .order_by("position")
    )
    if not connection.in_atomic_block:
        connection.close()
    if waiting:
        workers = min(settings.PRODUCT_LOOKUP_MAX_PARALLEL_CALLS, len(waiting))
        with ThreadPoolExecutor(workers, thread_name_prefix=f"lookup{batch_id}") as pool:
            futures = [pool.submit(_look_up_in_thread, pk, oid, config) for pk, oid in waiting]
        for future in futures:
            future.result()


def recover_batches() -> dict[str, int]:
    """The lookup rules of the workers' recovery pass (recovery.py), as for runs:

    * a batch whose execution died (no heartbeat for PREVIEW_WORKER_LOST_AFTER_SECONDS) is
      given back and sent again, so a live worker looks up only its offers still waiting
      (a snapshot stored meanwhile is reused, not asked again); once it was started
      PREVIEW_MAX_EXECUTIONS times, its waiting offers fail in words and it ends;
    * a batch sent long ago that no worker ever started is sent again;
    * then the batches never sent are sent (`dispatch_waiting_batches`).
    """
    now = timezone.now()
    dead = abandoned_since(now - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS))
    abandoned = OfferLookupBatch.objects.filter(dead, finished_at__isnull=True).exclude(
        worker_token=""
    )
    resumed = given_up = 0
    for batch_id, token, executions in abandoned.values_list("pk", "worker_token", "executions"):
        if executions >= settings.PREVIEW_MAX_EXECUTIONS:
            given_up += fail_batch(batch_id=batch_id, kind=failures.WORKER_LOST)
            continue
        resumed += OfferLookupBatch.objects.filter(
            dead, pk=batch_id, finished_at__isnull=True, worker_token=token
        ).update(worker_token="", heartbeat_at=None, dispatched_at=None)
    if resumed or given_up:
        logger.warning("lookup batches whose worker died: %d sent again, %d failed",
                       resumed, given_up)  # fmt: skip
    stale = now - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    resent = OfferLookupBatch.objects.filter(
        finished_at__isnull=True, worker_token="", dispatched_at__lt=stale
    ).update(dispatched_at=None)
    return {
        "lookups_resumed": resumed,
        "lookups_failed_worker_lost": given_up,
        "lookups_resent": resent,
        "lookups_sent": dispatch_waiting_batches(),
    }


@transaction.atomic
def fail_batch(*, batch_id: int, kind: str) -> int:
    """End a batch that cannot finish: its waiting offers fail (`kind` of
    failures.LOOKUP_FAILURES; pages say why in words). Returns 1 if it ended now."""
    ended = OfferLookupBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
        finished_at=timezone.now(), worker_token=""
    )
    if ended:
        OfferLookup.objects.filter(batch_id=batch_id, status=OfferLookup.Status.WAITING).update(
            status=OfferLookup.Status.FAILED,
            failure_kind=kind,
            reason=kind.replace("_", " "),
            finished_at=timezone.now(),
        )
    return ended


def _look_up_in_thread(lookup_id: int, offer_id: int, config: gateway.GatewayConfig) -> None:
    try:
        look_up_offer(lookup_id=lookup_id, offer_id=offer_id, config=config)
    finally:
        connection.close()  # the pool's threads are reused: no connection left behind


def look_up_offer(*, lookup_id: int, offer_id: int, config: gateway.GatewayConfig) -> None:
    """One offer of a batch: from a fresh snapshot if there is one, else from the gateway
    (the answer stored as the offer's snapshot); a failure is stored in words."""
    now = timezone.now()
    snapshot = fresh_snapshots([offer_id]).first()
    if snapshot is None:
        try:
            detail = gateway.product_detail(config, offer_id=offer_id)
        except gateway.GatewayError as error:
            _settle(lookup_id, status=OfferLookup.Status.FAILED, kind=str(error.kind),
                    reason=error.reason)  # fmt: skip
            return
        except Exception:  # a bug must not leave the offer waiting
            logger.error(
                "lookup of offer %s crashed in our own code:\n%s",
                offer_id,
                gateway.redact(traceback.format_exc(), config.secrets),
            )
            _settle(lookup_id, status=OfferLookup.Status.FAILED, kind=failures.INTERNAL,
                    reason="internal error")  # fmt: skip
            return
        snapshot = store_snapshot(detail=detail, fetched_at=timezone.now())
    lookup = OfferLookup(pk=lookup_id, offer_id=offer_id)
    _settle_from_snapshot(lookup, snapshot, now)
    _settle(lookup_id, status=lookup.status, kind=lookup.failure_kind, reason=lookup.reason,
            snapshot=snapshot)  # fmt: skip
    if lookup.status == OfferLookup.Status.OK:
        add_without_picking(lookup_id=lookup_id)


def store_snapshot(*, detail: gateway.ProductDetail, fetched_at: datetime) -> ProductSnapshot:
    """Keep a Product details answer as the offer's snapshot (one per offer, replaced)."""
    fields = {
        "fetched_at": fetched_at,
        "status": shorten_for_column(detail.status, 40),
        "subject": shorten_for_column(detail.subject, limits.CART_TITLE_LENGTH),
        "seller_open_id": shorten_for_column(detail.seller_open_id, 64),
        "company_name": shorten_for_column(detail.company_name, limits.SUPPLIER_NAME_LENGTH),
        "raw_body": detail.raw_body,
    }
    for _attempt in range(2):  # two lookups of one offer at once: the second updates
        try:
            snapshot, _created = ProductSnapshot.objects.update_or_create(
                offer_id=detail.offer_id, defaults=fields
            )
            return snapshot
        except IntegrityError:
            continue
    raise AssertionError("unreachable")


def _settle_from_snapshot(lookup: OfferLookup, snapshot: ProductSnapshot, now: datetime) -> None:
    lookup.snapshot = snapshot
    lookup.finished_at = now
    if snapshot.status == "published":
        lookup.status = OfferLookup.Status.OK
    else:
        lookup.status = OfferLookup.Status.FAILED
        lookup.failure_kind = failures.UNAVAILABLE
        lookup.reason = f"status {snapshot.status!r}"


def _settle(lookup_id: int, *, status: str, kind: str = "", reason: str = "", snapshot=None):
    OfferLookup.objects.filter(pk=lookup_id, status=OfferLookup.Status.WAITING).update(
        status=status,
        failure_kind=kind[:20],
        reason=reason,
        snapshot=snapshot,
        finished_at=timezone.now(),
    )


# --------------------------------------------------------------------------- reading


def cached_products(offer_ids: Iterable[int]) -> dict[int, tuple[gateway.ProductDetail, datetime]]:
    """The stored snapshots (any age) of these offers as (detail, looked up at), in ONE
    query and with no gateway call. An offer never looked up is absent."""
    products = {}
    for snapshot in ProductSnapshot.objects.filter(offer_id__in=list(offer_ids)):
        try:
            products[snapshot.offer_id] = (snapshot.detail(), snapshot.fetched_at)
        except gateway.GatewayError:
            logger.warning("snapshot of offer %s cannot be read again", snapshot.offer_id)
    return products


# --------------------------------------------------------------------------- to the cart


@dataclass(frozen=True)
class Pick:
    """A quantity of one SKU (spec_id "" for an offer without SKUs) of a looked-up offer."""

    offer_id: int
    spec_id: str
    quantity: int


@dataclass(frozen=True)
class PickResult:
    created: int
    updated: int
    suppliers: tuple[Supplier, ...]


def supplier_for_seller(*, owner, seller_open_id: str | None, company_name: str | None,
                        offer_id: int) -> Supplier:  # fmt: skip
    """The owner's supplier of this seller: found by `sellerOpenId`; else a hand-made
    supplier of the same name without a seller id, which is given it; else a new one named
    after the shop's company."""
    name = shorten_for_column(
        (company_name or "").strip() or _("1688 seller of offer %(offer)s") % {"offer": offer_id},
        limits.SUPPLIER_NAME_LENGTH,
    )
    if not seller_open_id:
        supplier, _created = Supplier.objects.get_or_create(owner=owner, name=name)
        return supplier
    supplier = Supplier.objects.filter(owner=owner, seller_open_id=seller_open_id).first()
    if supplier is not None:
        return supplier
    same_name = Supplier.objects.select_for_update().filter(owner=owner, name=name).first()
    if same_name is not None and not same_name.seller_open_id:
        same_name.seller_open_id = seller_open_id
        same_name.save(update_fields=["seller_open_id"])
        return same_name
    if same_name is not None:  # the name is taken by another seller's supplier
        name = shorten_for_column(f"{name} ({seller_open_id[:12]})", limits.SUPPLIER_NAME_LENGTH)
    try:
        with transaction.atomic():
            return Supplier.objects.create(owner=owner, name=name, seller_open_id=seller_open_id)
    except IntegrityError:  # created by a concurrent pick of the same seller
        return Supplier.objects.get(owner=owner, seller_open_id=seller_open_id)


def picking_problems(detail: gateway.ProductDetail | None, picks: Sequence[Pick]) -> dict[str, str]:
    """Why these picks of one offer cannot go to the cart, by spec id ("" for the offer as
    a whole); empty when they can."""
    if detail is None:
        return {"": _("This offer has not been looked up successfully: nothing can be added.")}
    if not detail.is_published:
        return {"": failures.lookup_failure(failures.UNAVAILABLE)}
    problems = {}
    for pick in picks:
        if detail.skus and detail.sku(pick.spec_id) is None:
            problems[pick.spec_id] = _("Pick one of the offer's SKUs.")
        elif not detail.skus and pick.spec_id:
            problems[pick.spec_id] = _("This offer has no SKUs to pick.")
    return problems


@transaction.atomic
def add_picks_to_cart(*, owner, offer_id: int, picks: Sequence[Pick]) -> PickResult:
    """Add picked SKUs of one looked-up, published offer to the owner's cart, all or
    nothing, under the supplier of its seller.

    Lines carry the exact spec id, the title, the SKU's attribute text and picture. Raises
    ValidationError with a dict of problems by spec id when any pick cannot be added
    (offer not looked up, withdrawn, unknown spec, quantity over the limit once merged).
    """
    picks = [p for p in picks if p.offer_id == offer_id and p.quantity]
    if not picks:
        raise ValidationError({"": _("Enter a quantity for at least one SKU.")})
    detail = cached_products([offer_id]).get(offer_id, (None, None))[0]
    problems = picking_problems(detail, picks)
    if problems:
        raise ValidationError(problems)
    supplier = supplier_for_seller(
        owner=owner,
        seller_open_id=detail.seller_open_id,
        company_name=detail.company_name,
        offer_id=offer_id,
    )
    title = shorten_for_column(detail.subject, limits.CART_TITLE_LENGTH)
    created = updated = 0
    for pick in picks:
        sku = detail.sku(pick.spec_id) if pick.spec_id else None
        image = (sku.image_url if sku else None) or (detail.images[0] if detail.images else "")
        try:
            _line, was_created = add_cart_line(
                owner=owner,
                supplier=supplier,
                offer_id=offer_id,
                spec_id=pick.spec_id,
                quantity=pick.quantity,
                title=title,
                attributes_text=shorten_for_column(
                    sku.attribute_text if sku else "", limits.CART_ATTRIBUTES_LENGTH
                ),
                image_url=image if len(image or "") <= limits.IMAGE_URL_LENGTH else "",
            )
        except ValidationError as error:
            raise ValidationError({pick.spec_id: error.messages[0]}) from None
        created += was_created
        updated += not was_created
    return PickResult(created, updated, (supplier,))


def add_without_picking(*, lookup_id: int) -> bool:
    """Put a looked-up offer that an import asked for into the cart when it needs no
    picking: no SKUs, a single SKU, or the spec id the row gave. Returns whether it was
    added; a problem (such as a spec id that is not the offer's) is kept in words."""
    lookup = OfferLookup.objects.select_related("batch").get(pk=lookup_id)
    if not lookup.requested_quantity or lookup.added_at or lookup.status != "ok":
        return False
    detail = cached_products([lookup.offer_id]).get(lookup.offer_id, (None,))[0]
    if detail is None:
        return False
    spec_id = lookup.requested_spec_id
    if not spec_id:
        if len(detail.skus) > 1:
            return False  # the buyer picks on the batch page
        spec_id = detail.skus[0].spec_id if detail.skus else ""
    try:
        add_picks_to_cart(
            owner=lookup.batch.owner,
            offer_id=lookup.offer_id,
            picks=[Pick(lookup.offer_id, spec_id, lookup.requested_quantity)],
        )
    except ValidationError as error:
        OfferLookup.objects.filter(pk=lookup_id).update(add_problem=" ".join(error.messages))
        return False
    OfferLookup.objects.filter(pk=lookup_id).update(added_at=timezone.now(), add_problem="")
    return True
