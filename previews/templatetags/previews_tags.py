import nh3
from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from previews.money import format_fen, format_yuan

register = template.Library()

# Enough for the promotion descriptions 1688 writes (<ul><li>…</li></ul>, <p><b>…</b></p>);
# no attributes at all, so no handlers, styles or links survive.
PROMOTION_TAGS = {"ul", "ol", "li", "p", "br", "b", "strong", "em", "i", "span", "small"}


@register.filter
def fen(value):
    """Integer fen as ¥1,234.56; an em dash when unknown (a template's missing value is "")."""
    return format_fen(None if value == "" else value)


@register.filter
def yuan(value):
    """A Decimal in yuan as ¥1,234.56."""
    return format_yuan(value)


@register.filter
def sanitize_html(value):
    """Third-party HTML reduced to a few harmless tags without attributes."""
    return mark_safe(nh3.clean(value or "", tags=PROMOTION_TAGS, attributes={}))  # noqa: S308


@register.filter
def minutes(value):
    """A timedelta in whole minutes."""
    return int(value.total_seconds() // 60) if value else 0


@register.filter
def http_url(value):
    """An upstream picture URL if it is http(s), else "" (never javascript:, data:, ...)."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else ""


# --------------------------------------------------------------------------- ordering

# 1688's order statuses (`baseInfo.status` of order detail), in words.
ORDER_STATUSES = {
    "waitbuyerpay": _("Waiting for payment"),
    "waitsellersend": _("Paid: waiting for the seller to ship"),
    "waitbuyerreceive": _("Shipped: waiting for delivery"),
    "confirm_goods": _("Goods received"),
    "success": _("Completed"),
    "cancel": _("Cancelled"),
    "terminated": _("Closed"),
}

_REQUEST_COLOURS = {
    "awaiting_approval": "warning",
    "approved": "info",
    "placing": "info",
    "finished": "success",
    "rejected": "secondary",
    "withdrawn": "secondary",
}
_PART_COLOURS = {
    "awaiting_approval": "warning",
    "repriced": "warning",
    "approved": "info",
    "sending": "info",
    "placed": "success",
    "partly_placed": "warning",
    "refused": "danger",
    "outcome_unknown": "danger",
    "not_placed": "secondary",
    "rejected": "secondary",
    "withdrawn": "secondary",
    # an attempt's states
    "claimed": "info",
    "sent": "info",
    "created": "success",
    "resolved_placed": "success",
    "resolved_not_placed": "secondary",
}


@register.filter
def order_status(value):
    """A 1688 order status in words; the status itself when it is not a known one."""
    if not value:
        return _("Not read yet")
    return ORDER_STATUSES.get(value, value)


@register.filter
def order_request_colour(state):
    """The Bootstrap colour of an order request's state badge."""
    return _REQUEST_COLOURS.get(state, "secondary")


@register.filter
def order_part_colour(state):
    """The Bootstrap colour of a supplier order's (or an attempt's) state badge."""
    return _PART_COLOURS.get(state, "secondary")


@register.filter
def signed_fen(value):
    """A difference in fen with its sign: +¥5.00, −¥1.00."""
    if value is None or value == "":
        return "—"
    return ("+" if value > 0 else "") + format_fen(value)
