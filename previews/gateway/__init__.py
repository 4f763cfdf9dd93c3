"""The gateway client: the only code that talks to the gateway (../shared/upstream/).

Nothing Django-specific: callers pass a `GatewayConfig` and typed requests, and get
typed answers or a `GatewayError`. Where things are:

* `transport`: config, one `call` (deadline, retries, HTTP errors, redacted logs);
  `deadline`: the total deadline of a call, on its socket;
* `envelope`: the `{code, message, data, traceId}` envelope and its error shapes;
* `errors`: error kinds, `GatewayError`, the temporary-vs-permanent rule;
* `fields`: typed conversion of values, with their paths; `redaction`: credentials out;
* one module per endpoint: `preview` (Preview order). A new endpoint is a module here
  (request dataclasses, a body parser built on `envelope.parse_body`, a function that
  calls `transport.call` with `retry=` saying whether it is safe to send twice) and one
  in previews/sandbox/.

Callers import from the package: `from previews import gateway; gateway.preview_order(...)`.
"""

from .deadline import TIMER_THREAD_NAME
from .errors import (
    ErrorKind,
    GatewayError,
    is_temporary_failure,
    normalize_code,
)
from .fields import MAX_FEN, ONE_FEN
from .preview import (
    MAX_LINES_PER_CALL,
    PREVIEW_PATH,
    Address,
    Cargo,
    PayChannel,
    PreviewAnswer,
    Promotion,
    QuotedLine,
    QuotedOrder,
    TradeMode,
    build_body,
    combine_answers,
    parse_preview_body,
    preview_order,
)
from .products import (
    PRODUCT_DETAIL_PATH,
    MixBatchRule,
    PriceTier,
    ProductDetail,
    ProductSku,
    SkuAttribute,
    parse_product_body,
    product_detail,
)
from .redaction import REDACTED, printable, redact, redacted_body
from .transport import GatewayConfig, new_session

__all__ = [
    "MAX_FEN",
    "MAX_LINES_PER_CALL",
    "ONE_FEN",
    "PREVIEW_PATH",
    "PRODUCT_DETAIL_PATH",
    "REDACTED",
    "TIMER_THREAD_NAME",
    "Address",
    "Cargo",
    "ErrorKind",
    "GatewayConfig",
    "GatewayError",
    "MixBatchRule",
    "PayChannel",
    "PreviewAnswer",
    "PriceTier",
    "ProductDetail",
    "ProductSku",
    "Promotion",
    "QuotedLine",
    "QuotedOrder",
    "SkuAttribute",
    "TradeMode",
    "build_body",
    "combine_answers",
    "is_temporary_failure",
    "new_session",
    "normalize_code",
    "parse_preview_body",
    "parse_product_body",
    "preview_order",
    "printable",
    "product_detail",
    "redact",
    "redacted_body",
]
