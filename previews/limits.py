"""The limits and formats of what is stored, each written once.

Models (columns and check constraints), validators, forms, the import and the messages
read them from here, so a limit cannot be 99,999 in one place and something else in
another. Pure Python: no ORM, no translations.
"""

from __future__ import annotations

import re

# A cart line's quantity: what the gateway accepts for one offer and spec.
MIN_QUANTITY = 1
MAX_QUANTITY = 99_999

# An offer id is a positive number that fits a signed 64-bit column (the gateway's long).
MAX_OFFER_ID = 2**63 - 1

# A spec id is 32 hexadecimal characters, stored in lower case.
SPEC_ID_LENGTH = 32
SPEC_ID = re.compile(rf"^[0-9a-f]{{{SPEC_ID_LENGTH}}}$")

# Text a buyer types or imports: longer is refused with its length, never cut.
SUPPLIER_NAME_LENGTH = 120
CART_TITLE_LENGTH = 200
CART_NOTE_LENGTH = 200
# Columns a lookup fills (CartLine.attributes_text, image_url): cut with "…" if longer.
CART_ATTRIBUTES_LENGTH = 300
IMAGE_URL_LENGTH = 500

# How many offers one paste may look up at once.
LOOKUP_MAX_OFFERS = 200

# A run page lists every line of a run up to this many lines; a bigger run shows each
# supplier's totals and loads its lines on demand (run_pages.py), so the page stays
# under 1 MB of HTML (a 200 × 50 run's is about half of that).
RUN_PAGE_MAX_LINES_SHOWN = 1_000

# Text the gateway sends into columns of ours: longer is cut with a visible "…"
# (`shorten_for_column`), as we do not choose it and a failed insert would lose the answer.
RESULT_CODE_LENGTH = 60  # PreviewRecord.result_code, PreviewLine.result_code
ERROR_CODE_LENGTH = 60  # SupplierPreview.error_code
FLOW_FLAG_LENGTH = 30  # PreviewRecord.flow_flag
TRACE_ID_LENGTH = 200  # SupplierPreview.trace_id
PROMOTION_ID_LENGTH = 200  # PreviewPromotion.promotion_id
PROMOTION_TEXT_LENGTH = 500  # PreviewPromotion.text
ANSWER_SPEC_ID_LENGTH = 64  # PreviewLine.spec_id, as the gateway echoes it


def grouped(number: int) -> str:
    """A limit as messages show it, in either language: 99,999."""
    return f"{number:,}"


def shorten_for_column(text: str | None, limit: int) -> str:
    """`text` cut to `limit` characters with a visible “…”, for text we do not choose
    (the gateway's): it must fit its column, and a cut must show."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
