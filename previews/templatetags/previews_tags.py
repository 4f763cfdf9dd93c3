import nh3
from django import template
from django.utils.safestring import mark_safe

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
