"""Every user-facing failure text, in one catalogue, through gettext.

A text is chosen by code (the refusal codes the gateway documents) or by kind (how a call
or a run failed). The gateway keeps codes and the upstream's own words only; pages show
the text of this catalogue in the reader's language, with the upstream's words as detail.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy

from .gateway import normalize_code

_REFUSALS = {
    "500_001": gettext_lazy(
        "This offer cannot be bought online: it can only be ordered on the 1688 site, if at all."
    ),
    "500_002": gettext_lazy(
        "The lines come from more than one seller, or a spec id is missing: preview one supplier "
        "at a time and give the spec of every offer that has specs."
    ),
    "500_003": gettext_lazy(
        "A spec id does not belong to its offer (or the lines come from several sellers): check "
        "the spec ids."
    ),
    "500_004": gettext_lazy("Not enough stock: lower the quantity or pick another spec."),
    "500_005": gettext_lazy(
        "The quantity is below the offer's minimum order quantity: raise the quantity."
    ),
    "500_006": gettext_lazy(
        "The order is below the shop's mixed-batch condition: add more goods from this shop."
    ),
    "500_007": gettext_lazy(
        "There is no consignment relationship with this seller, so the saleproxy flow cannot be "
        "used: choose another flow."
    ),
    "500_008": gettext_lazy(
        "The price of this spec is 0, so it cannot be ordered: check the spec."
    ),
    "500_009": gettext_lazy("The quantity is below the wholesale minimum: raise the quantity."),
}


def refusal_explanation(code: object) -> str | None:
    """What a documented refusal code (500_001 to 500_009, however spelt) means and what to
    do about it, in the active language; None for any other code."""
    text = _REFUSALS.get(normalize_code(code) or "")
    return None if text is None else str(text)


# --------------------------------------------------------------------------- by kind

# Kinds of failure of our own, stored in `error_kind` / `failure_kind` beside the
# gateway's kinds (gateway.ErrorKind).
WORKER_LOST = "worker_lost"
TIME_LIMIT = "time_limit"
INTERNAL = "internal"

# How a call to the gateway failed (gateway.ErrorKind).
GATEWAY_FAILURES = {
    "connection": gettext_lazy("The gateway could not be reached."),
    "timeout": gettext_lazy("The gateway did not answer in time."),
    "http": gettext_lazy("The gateway failed with an error page."),
    "rate_limited": gettext_lazy(
        "The gateway is limiting how often we call it: run this again in a minute."
    ),
    "malformed": gettext_lazy("The gateway answered something that is not a valid preview."),
    "rejected": gettext_lazy("The gateway refused this order."),
    "busy": gettext_lazy(
        "The gateway was busy (a temporary failure, not a refusal): run this again in a minute."
    ),
}

# Why a whole run ended without finishing: its unanswered suppliers fail the same way.
RUN_FAILURES = {
    WORKER_LOST: gettext_lazy(
        "The worker stopped while previewing this run (it was restarted or killed). "
        "Nothing was lost: run it again."
    ),
    TIME_LIMIT: gettext_lazy("The preview took longer than the time limit; run it again."),
}

# Failures of our own: the text is the whole story (the stored reason is English, for the
# admin and the logs, and is not shown as detail).
OWN_FAILURES = {
    **RUN_FAILURES,
    INTERNAL: gettext_lazy(
        "An error in this product, not in the gateway, stopped this preview; the team has "
        "been told. Run it again later."
    ),
}

FAILURES = {**GATEWAY_FAILURES, **OWN_FAILURES}

TEMPORARY_FAILURE = gettext_lazy("Temporary failure: try again")

NOT_THROUGH_API = gettext_lazy(
    "This order cannot be placed through the API (no trade mode): only on the 1688 site."
)

NOT_ORDERABLE = gettext_lazy("The gateway marked this as not orderable.")


def failure_summary(*, kind: str, code: str = "") -> str | None:
    """The text for a supplier that got no answer: its refusal code's explanation if it has
    a documented one, else the text of its kind of failure; None for an unknown kind."""
    summary = refusal_explanation(code) if code else None
    if summary is None and kind in FAILURES:
        summary = str(FAILURES[kind])
    return summary


def run_failure(kind: str) -> str | None:
    """Why a run ended without finishing (`kind` of RUN_FAILURES), or None."""
    text = RUN_FAILURES.get(kind)
    return None if text is None else str(text)


def is_own_failure(kind: str) -> bool:
    """A failure of ours, not the gateway's: pages show its text and no upstream detail."""
    return kind in OWN_FAILURES


def stored_reason(kind: str) -> str:
    """The reason stored with a failure of our own: its text in English, for the admin and
    the logs (pages translate the kind)."""
    with translation.override("en"):
        return str(OWN_FAILURES[kind])


def upstream_detail(*, code: str = "", http_status: int | None = None, message: str = "") -> str:
    """The detail of a failure shown under the catalogue's text: only what is not ours
    (the HTTP status, the upstream's code and its own words), never an English sentence
    of ours; empty when the upstream said nothing (a timeout, a refused connection)."""
    parts = []
    if http_status is not None and http_status != 200:  # 200 tells the reader nothing
        parts.append(f"HTTP {http_status}")
    if code:
        parts.append(code)
    if message:
        parts.append(message)
    return " · ".join(parts)


def order_problem(code: str, message: str) -> str:
    """Why the gateway will not place an order or a line: the explanation of its code (or
    the bare code when it is not documented), then the upstream's own words."""
    explanation = refusal_explanation(code) if code else None
    parts = [p for p in (explanation, message) if p]
    if code and not explanation:
        parts.insert(0, code)
    return " — ".join(parts) if parts else str(NOT_ORDERABLE)


# --------------------------------------------------------------------------- offer lookup

# Why an offer could not be looked up (gateway.ErrorKind, plus "unavailable": the offer
# does not exist, is withdrawn or is not on sale). Nothing is added to the cart from these.
UNAVAILABLE = "unavailable"

LOOKUP_FAILURES = {
    UNAVAILABLE: gettext_lazy(
        "This offer is not available: it does not exist, was withdrawn or is not on sale."
    ),
    "rate_limited": gettext_lazy(
        "The gateway is limiting how often we call it: look this offer up again in a minute."
    ),
    "timeout": gettext_lazy("The gateway did not answer this lookup in time: try again."),
    "malformed": gettext_lazy(
        "The gateway answered this lookup with something that is not product details (not "
        "JSON or not the documented shape)."
    ),
    "http": gettext_lazy("The gateway failed with an error page for this lookup: try again."),
    "connection": gettext_lazy("The gateway could not be reached for this lookup: try again."),
    "busy": gettext_lazy("The gateway was busy (a temporary failure): try again in a minute."),
    "rejected": gettext_lazy("The gateway refused to look up this offer."),
    WORKER_LOST: gettext_lazy(
        "The worker stopped while looking up this offer, several times (it was restarted "
        "or killed). Look it up again."
    ),
    INTERNAL: gettext_lazy(
        "An error in this product, not in the gateway, stopped this lookup; the team has "
        "been told. Try again later."
    ),
}


def lookup_failure(kind: str) -> str:
    """Why an offer could not be looked up, in the active language (any kind has a text)."""
    return str(LOOKUP_FAILURES.get(kind, LOOKUP_FAILURES[INTERNAL]))


# --------------------------------------------------------------------------- ordering

ORDERING_OFF = gettext_lazy(
    "Placing orders is turned off: the product talks to the production gateway and "
    "DAJI_ORDERING_ENABLED is not true."
)
ORDER_RUN_NOT_DONE = gettext_lazy("This preview has not finished: wait for it, then request.")
ORDER_RUN_STALE = gettext_lazy(
    "This preview is too old to order from (prices and stock move): run it again, then "
    "request ordering from the new run."
)
ORDER_NOT_ORDERABLE = gettext_lazy("“%(supplier)s” cannot be ordered from this preview.")
ORDER_NOTHING_ORDERABLE = gettext_lazy("No supplier of this preview can be ordered.")
ORDER_ALREADY_REQUESTED = gettext_lazy(
    "“%(supplier)s” is already requested for ordering from this preview."
)
ORDER_NOT_APPROVER = gettext_lazy("You may not approve or reject this request.")
ORDER_SELF_APPROVAL_OFF = gettext_lazy(
    "You cannot approve your own request: another approver must decide."
)
ORDER_SELF_APPROVAL_OVER_LIMIT = gettext_lazy(
    "You can approve your own requests up to %(limit)s; this one is %(total)s: another "
    "approver must decide."
)
ORDER_NOTHING_AWAITING = gettext_lazy(
    "Nothing in this request is waiting for a decision (it was decided already)."
)
ORDER_COMMENT_REQUIRED = gettext_lazy("Say why in the comment.")
ORDER_NOT_YOURS = gettext_lazy("Only the buyer who requested it or an approver can do this.")
ORDER_NOT_UNKNOWN = gettext_lazy(
    "This order attempt's outcome is already known: there is nothing to resolve."
)
ORDER_ID_INVALID = gettext_lazy(
    "A 1688 order id is digits only, e.g. 4012345678901234567 (up to 32 digits)."
)
ORDER_ID_TAKEN = gettext_lazy("Order %(order_id)s is already recorded.")
ORDER_NOT_UNPAID = gettext_lazy(
    "Only an order waiting for payment can be cancelled; this one is “%(status)s”."
)
ORDER_CANCEL_REASON = gettext_lazy("Choose a reason for cancelling.")
ORDER_CANCEL_IN_FLIGHT = gettext_lazy(
    "A cancel of this order is being sent already: look at the orders page in a moment."
)
ORDER_CANCEL_TOO_FAST = gettext_lazy(
    "1688 does not let an order be cancelled within 10 seconds of its creation: try again "
    "in a few seconds."
)
ORDER_NONE_UNPAID = gettext_lazy("None of the selected orders is waiting for payment.")
ORDER_NONE_SELECTED = gettext_lazy("Select at least one order.")

# Why a part was not placed or went back for approval (shown with its state).
ORDER_REPRICED = gettext_lazy(
    "The total changed from %(approved)s to %(now)s (%(difference)s) since it was approved: "
    "approve it again at the new total, or reject it."
)
ORDER_REPREVIEW_FAILED = gettext_lazy(
    "The preview just before ordering failed, so nothing was ordered: %(reason)s"
)
ORDER_REPREVIEW_NOT_ORDERABLE = gettext_lazy(
    "The preview just before ordering says this can no longer be ordered, so nothing was "
    "ordered: %(reason)s"
)
ORDER_OUTCOME_UNKNOWN = gettext_lazy(
    "The gateway's answer to the order was lost (%(reason)s): the order may or may not "
    "exist. It is never sent again; the product looks for it in the buyer's 1688 orders, "
    "or a person can say whether it was placed."
)
ORDER_WORKER_LOST = gettext_lazy(
    "The worker stopped while sending this order: whether 1688 created it is unknown."
)
ORDER_REFUSED = gettext_lazy("1688 refused the order: %(reason)s")

ORDER_ID_CLASH_KIND = "id_clash"
ORDER_CALL_FAILURES = {
    ORDER_ID_CLASH_KIND: gettext_lazy(
        "1688 answered with an order id already recorded for another order: check the "
        "order on 1688 and say what happened."
    ),
    "connection": gettext_lazy("The gateway could not be reached: try again later."),
    "timeout": gettext_lazy("The gateway did not answer in time: try again later."),
    "http": gettext_lazy("The gateway failed with an error page: try again later."),
    "rate_limited": gettext_lazy(
        "The gateway is limiting how often we call it: try again in a minute."
    ),
    "malformed": gettext_lazy("The gateway's answer could not be read."),
    "rejected": gettext_lazy("The gateway refused it."),
    "busy": gettext_lazy("The gateway was busy: try again in a minute."),
}


def order_call_failure(kind: str, *, code: str = "", message: str = "") -> str:
    """Why an order call (detail, payment link, cancel) failed, in the active language,
    with the upstream's code and words as detail."""
    if code == "CLOSE_ORDER_TOO_FAST":
        return str(ORDER_CANCEL_TOO_FAST)
    text = str(ORDER_CALL_FAILURES.get(kind, ORDER_CALL_FAILURES["rejected"]))
    detail = upstream_detail(code=code, message=message)
    return f"{text} ({detail})" if detail else text


def english(text, **values) -> str:
    """A catalogue text in English (stored reasons: the admin and the logs read them)."""
    with translation.override("en"):
        return str(text) % values if values else str(text)


# --------------------------------------------------------------------------- currencies


def no_rate(code: str) -> str:
    """Why a run shows no figures in the buyer's second currency (never a silent fallback)."""
    return translation.gettext(
        "No figures in %(code)s: there was no %(code)s rate when this run was created. "
        "Once an administrator adds one, new runs show it."
    ) % {"code": code}
