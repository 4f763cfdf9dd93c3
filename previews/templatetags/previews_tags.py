import nh3
from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from previews import failures, order_notes, rates
from previews.currency import format_money, format_rate
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
    return order_notes.status_label(value)


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


@register.inclusion_tag("previews/_converted.html")
def converted(conversion, fen, quantity=None):
    """A CNY figure (fen) in the run's second currency, beside it: nothing without a
    conversion (`PreviewRun.conversion`) or a figure. With `quantity`, per unit."""
    if conversion is None or fen is None or fen == "":
        return {"text": ""}
    if quantity is None:
        amount = conversion.from_fen(fen)
    else:
        amount = conversion.unit_from_fen(fen, quantity)
    if amount is None:
        return {"text": ""}
    return {
        "text": format_money(amount, conversion.code, get_language()),
        "conversion": conversion,
    }


@register.filter
def rate_text(value):
    """A rate to CNY as typed, without trailing zeros: 7.1234."""
    return format_rate(value)


@register.filter
def rate_note(conversion):
    """The rate a run's converted figures use (rates.rate_note)."""
    return rates.rate_note(conversion)


@register.filter
def stale_note(conversion):
    return rates.stale_note(conversion)


@register.filter
def no_rate(code):
    """Why there are no figures in the buyer's second currency."""
    return failures.no_rate(code)


@register.filter
def at(sequence, index):
    """The item of a list at an index (None past its end): `conversions|at:forloop.counter0`."""
    try:
        return sequence[index]
    except (IndexError, TypeError, KeyError):
        return None
