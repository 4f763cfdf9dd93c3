"""User-facing failure texts, through gettext: what a failure means to the buyer.

The gateway keeps codes and its own words only; the words of ours are chosen here, by
kind and code, in the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from .gateway import normalize_code

# 1688's documented refusal codes (../shared/upstream/preview-order.md, error codes).
REFUSAL_EXPLANATIONS = {
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
    """What a documented refusal code (however spelt) means, in the active language."""
    explanation = REFUSAL_EXPLANATIONS.get(normalize_code(code) or "")
    return None if explanation is None else str(explanation)
