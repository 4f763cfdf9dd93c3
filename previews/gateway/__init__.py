"""The gateway client: the only code that talks to the gateway (../shared/upstream/).

Nothing Django-specific: callers pass a `GatewayConfig` and typed requests, and get
typed answers or a `GatewayError`. Where things are:

* `transport`: config, one `call` (deadline, retries, HTTP errors, redacted logs);
  `deadline`: the total deadline of a call, on its socket;
* `envelope`: the `{code, message, data, traceId}` envelope and its error shapes;
* `errors`: error kinds, `GatewayError`, the temporary-vs-permanent rule;
* `fields`: typed conversion of values, with their paths; `redaction`: credentials out;
* one module per endpoint: `preview` (Preview order), `products` (Product details,
  the offer lookup: a GET, signed), `orders` (create order, sent once; order detail,
  the buyer's order list, payment links, cancel). A new endpoint is a module here
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
from .orders import (
    CANCEL_ORDER_PATH,
    CANCEL_REASONS,
    CLOSE_ORDER_TOO_FAST,
    CREATE_ORDER_PATH,
    MAX_PAYMENT_ORDERS,
    ORDER_DETAIL_PATH,
    PAYMENT_URL_PATH,
    BuyerOrders,
    CreateAnswer,
    CreatedOrder,
    FailedLine,
    OrderDetail,
    PaymentUrl,
    buyer_orders,
    cancel_body,
    cancel_order,
    create_body,
    create_order,
    find_orders_by_marker,
    order_detail,
    order_marker,
    order_message,
    outcome_unknown,
    parse_buyer_orders_body,
    parse_cancel_body,
    parse_create_body,
    parse_detail_body,
    parse_payment_body,
    payment_query,
    payment_url,
)
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
    product_query,
    sign_params,
)
from .redaction import REDACTED, printable, redact, redacted_body
from .transport import GatewayConfig, new_session

__all__ = [
    "CANCEL_ORDER_PATH",
    "CANCEL_REASONS",
    "CLOSE_ORDER_TOO_FAST",
    "CREATE_ORDER_PATH",
    "MAX_FEN",
    "MAX_LINES_PER_CALL",
    "MAX_PAYMENT_ORDERS",
    "ONE_FEN",
    "ORDER_DETAIL_PATH",
    "PAYMENT_URL_PATH",
    "PREVIEW_PATH",
    "PRODUCT_DETAIL_PATH",
    "REDACTED",
    "TIMER_THREAD_NAME",
    "Address",
    "BuyerOrders",
    "Cargo",
    "CreateAnswer",
    "CreatedOrder",
    "ErrorKind",
    "FailedLine",
    "GatewayConfig",
    "GatewayError",
    "MixBatchRule",
    "OrderDetail",
    "PayChannel",
    "PaymentUrl",
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
    "buyer_orders",
    "cancel_body",
    "cancel_order",
    "combine_answers",
    "create_body",
    "create_order",
    "find_orders_by_marker",
    "is_temporary_failure",
    "new_session",
    "normalize_code",
    "order_detail",
    "order_marker",
    "order_message",
    "outcome_unknown",
    "parse_buyer_orders_body",
    "parse_cancel_body",
    "parse_create_body",
    "parse_detail_body",
    "parse_payment_body",
    "parse_preview_body",
    "parse_product_body",
    "payment_query",
    "payment_url",
    "preview_order",
    "printable",
    "product_detail",
    "product_query",
    "redact",
    "redacted_body",
    "sign_params",
]
