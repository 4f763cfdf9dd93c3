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


# --------------------------------------------------------------------------- currencies


def no_rate(code: str) -> str:
    """Why a run shows no figures in the buyer's second currency (never a silent fallback)."""
    return translation.gettext(
        "No figures in %(code)s: there was no %(code)s rate when this run was created. "
        "Once an administrator adds one, new runs show it."
    ) % {"code": code}
