"""STAND-IN (branch work/lookwarn): only `cached_products` of the agreed interface, with
no snapshots to read (the ProductSnapshot model belongs to the lookup engineer's branch).
The real module replaces this file whole at merge; until then the cart shows no lookup
warnings (a line with no lookup gets none).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gateway.products import ProductDetail


def cached_products(offer_ids: Iterable[int]) -> dict[int, tuple[ProductDetail, datetime]]:
    """The stored lookups (any age) of those offers, by offer id: none in this stand-in."""
    return {}
