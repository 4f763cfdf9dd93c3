"""Our own notes on an order part (why it is where it is) and on its history events, in
the reader's language.

A note is stored as a kind and its values (`note_kind`, `note_values` on `SupplierOrder`
and `OrderAuditEvent`): figures in fen, 1688's codes and words, order ids, a person's
comment. It is written out when shown (`text`), so a Chinese page reads Chinese. The same
note in English is what `state_reason` / `comment` keep, for the admin and the logs
(`english`). Values are never translated: they are 1688's or a person's own words.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy, ngettext

from . import failures
from .money import format_fen

# 1688's order statuses (`baseInfo.status` of order detail), in words.
ORDER_STATUSES = {
    "waitbuyerpay": gettext_lazy("Waiting for payment"),
    "waitsellersend": gettext_lazy("Paid: waiting for the seller to ship"),
    "waitbuyerreceive": gettext_lazy("Shipped: waiting for delivery"),
    "confirm_goods": gettext_lazy("Goods received"),
    "success": gettext_lazy("Completed"),
    "cancel": gettext_lazy("Cancelled"),
    "terminated": gettext_lazy("Closed"),
}

REPRICED = "repriced"  # approved, now: fen
REPREVIEW_FAILED = "repreview_failed"  # kind, code, http_status, message
REPREVIEW_NOT_ORDERABLE = "repreview_not_orderable"  # code, message
OUTCOME_UNKNOWN = "outcome_unknown"  # kind (failures.WORKER_LOST, ORDER_ID_CLASH_KIND...), ids
REFUSED = "refused"  # code, http_status, message
PLACED = "placed"  # order_ids, failed_lines: [{offer_id, error_code}]
NEVER_SENT = "never_sent"
FOUND_BY_MARKER = "found_by_marker"  # order_ids
SAID_PLACED = "said_placed"  # order_id
SAID_NOT_PLACED = "said_not_placed"
REFRESHED = "refreshed"  # changes: [{what: "status"|"total", before, after}]
PAYMENT_LINK = "payment_link"  # n
CANCELLED = "cancelled"  # reason (PlacedOrder.CancelReason), remark
CANCEL_REFUSED = "cancel_refused"  # kind, code, message

_NEVER_SENT = gettext_lazy("Never sent: the worker stopped before sending it.")
_FOUND_BY_MARKER = gettext_lazy("Found among the buyer's 1688 orders by its marker: %(orders)s")
_SAID_PLACED = gettext_lazy("Said by a person to be placed as %(order_id)s.")
_SAID_NOT_PLACED = gettext_lazy("Said by a person not to be placed.")
_PLACED = gettext_lazy("Orders %(orders)s")
_FAILED_LINES = gettext_lazy("failed lines: %(lines)s")
_STATUS_CHANGED = gettext_lazy("status %(before)s → %(after)s")
_TOTAL_CHANGED = gettext_lazy("total %(before)s → %(after)s")


def status_label(status: str) -> str:
    """A 1688 order status in words; the status itself when it is not a known one."""
    return str(ORDER_STATUSES.get(status, status))


def text(kind: str, values: dict) -> str:
    """The note in the active language, a person's comment (`values["comment"]`) after it."""
    written = _write(kind, values)
    comment = (values.get("comment") or "").strip()
    return f"{written} {comment}".strip() if written else comment


def english(kind: str, values: dict) -> str:
    """The note in English: what `state_reason` and `comment` keep."""
    with translation.override("en"):
        return text(kind, values)


def _write(kind: str, v: dict) -> str:
    if kind == REPRICED:
        difference = v["now"] - v["approved"]
        return str(failures.ORDER_REPRICED) % {
            "approved": format_fen(v["approved"]),
            "now": format_fen(v["now"]),
            "difference": ("+" if difference > 0 else "") + format_fen(difference),
        }
    if kind == REPREVIEW_FAILED:
        return str(failures.ORDER_REPREVIEW_FAILED) % {"reason": _call_failure(v)}
    if kind == REPREVIEW_NOT_ORDERABLE:
        why = failures.order_problem(v.get("code", ""), v.get("message", ""))
        return str(failures.ORDER_REPREVIEW_NOT_ORDERABLE) % {"reason": why}
    if kind == OUTCOME_UNKNOWN:
        if v.get("kind") == failures.WORKER_LOST:
            return str(failures.ORDER_WORKER_LOST)
        if v.get("kind") == failures.ORDER_ID_CLASH_KIND:
            ids = ", ".join(v.get("ids", []))
            return f"{failures.ORDER_CALL_FAILURES[failures.ORDER_ID_CLASH_KIND]} ({ids})"
        why = failures.ORDER_CALL_FAILURES.get(v.get("kind", ""), v.get("kind", ""))
        return str(failures.ORDER_OUTCOME_UNKNOWN) % {"reason": str(why)}
    if kind == REFUSED:
        detail = failures.upstream_detail(
            code=v.get("code", ""), http_status=v.get("http_status"), message=v.get("message", "")
        )
        reason = detail or str(failures.ORDER_CALL_FAILURES["rejected"])
        return str(failures.ORDER_REFUSED) % {"reason": reason}
    if kind == PLACED:
        written = str(_PLACED) % {"orders": ", ".join(v.get("order_ids", []))}
        failed = v.get("failed_lines") or []
        if failed:
            lines = ", ".join(f"{f['offer_id']} ({f['error_code']})" for f in failed)
            written += "; " + str(_FAILED_LINES) % {"lines": lines}
        return written
    if kind == NEVER_SENT:
        return str(_NEVER_SENT)
    if kind == FOUND_BY_MARKER:
        return str(_FOUND_BY_MARKER) % {"orders": ", ".join(v.get("order_ids", []))}
    if kind == SAID_PLACED:
        return str(_SAID_PLACED) % {"order_id": v.get("order_id", "")}
    if kind == SAID_NOT_PLACED:
        return str(_SAID_NOT_PLACED)
    if kind == REFRESHED:
        return "; ".join(_change(change) for change in v.get("changes", []))
    if kind == PAYMENT_LINK:
        n = v.get("n", 0)
        return ngettext(
            "%(n)s order in one payment page", "%(n)s orders in one payment page", n
        ) % {"n": n}
    if kind == CANCELLED:
        from .models import PlacedOrder  # models import this module's users

        reason = v.get("reason", "")
        label = (
            PlacedOrder.CancelReason(reason).label
            if reason in PlacedOrder.CancelReason.values
            else reason
        )
        remark = (v.get("remark") or "").strip()
        return f"{label}: {remark}" if remark else str(label)
    if kind == CANCEL_REFUSED:
        return failures.order_call_failure(
            v.get("kind", ""), code=v.get("code", ""), message=v.get("message", "")
        )
    return ""


def _call_failure(v: dict) -> str:
    summary = failures.failure_summary(kind=v.get("kind", ""), code=v.get("code", "")) or str(
        failures.ORDER_CALL_FAILURES.get(
            v.get("kind", ""), failures.ORDER_CALL_FAILURES["rejected"]
        )
    )
    detail = failures.upstream_detail(
        code=v.get("code", ""), http_status=v.get("http_status"), message=v.get("message", "")
    )
    return f"{summary} ({detail})" if detail else summary


def _change(change: dict) -> str:
    if change.get("what") == "status":
        return str(_STATUS_CHANGED) % {
            "before": status_label(change["before"]),
            "after": status_label(change["after"]),
        }
    return str(_TOTAL_CHANGED) % {
        "before": format_fen(change["before"]),
        "after": format_fen(change["after"]),
    }
