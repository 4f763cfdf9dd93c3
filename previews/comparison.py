"""Two breakdowns side by side: what changed per supplier and per line since the last run."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .breakdown import LineView, RunBreakdown, SupplierView
from .models import SupplierPreview


@dataclass
class LineChange:
    offer_id: int | None
    spec_id: str
    title: str
    before: LineView | None
    now: LineView | None
    available_before: bool | None  # None: not known yet (the supplier is still waiting)
    available_now: bool | None

    @property
    def unit_price_delta_fen(self) -> int | None:
        if self.before is None or self.now is None:
            return None
        if self.before.unit_price_fen is None or self.now.unit_price_fen is None:
            return None
        return self.now.unit_price_fen - self.before.unit_price_fen

    @property
    def promotions_before(self) -> list[str]:
        return sorted(p.text for p in self.before.promotions) if self.before else []

    @property
    def promotions_now(self) -> list[str]:
        return sorted(p.text for p in self.now.promotions) if self.now else []

    @property
    def changed(self) -> bool:
        return (
            bool(self.unit_price_delta_fen)
            or self.promotions_before != self.promotions_now
            or self._availability_changed
            or (self.before is None) != (self.now is None)
        )

    @property
    def _availability_changed(self) -> bool:
        if self.available_before is None or self.available_now is None:
            return False
        return self.available_before != self.available_now


@dataclass
class FigureChange:
    label: str
    field: str
    before_fen: int | None
    now_fen: int | None

    @property
    def delta_fen(self) -> int | None:
        if self.before_fen is None or self.now_fen is None:
            return None
        return self.now_fen - self.before_fen


def _figure(supplier: SupplierView | None, attribute: str) -> int | None:
    if supplier is None or not supplier.records:
        return None
    return getattr(supplier, attribute)


@dataclass
class SupplierChange:
    name: str
    before: SupplierView | None
    now: SupplierView | None
    lines: list[LineChange] = field(default_factory=list)

    def _delta(self, attribute: str) -> int | None:
        if not self.both_known:
            return None
        before, now = getattr(self.before, attribute), getattr(self.now, attribute)
        return None if before is None or now is None else now - before

    @property
    def figures(self) -> list[FigureChange]:
        """The totals block of each side, row by row (each side adds up to its total)."""
        rows = [
            (_("Goods (after line promotions)"), "goods_fen"),
            (_("Order discounts"), "order_discount_fen"),
            (_("Carriage"), "carriage_fen"),
            (_("Other fees"), "other_fees_fen"),
            (_("Unexplained difference (gateway)"), "unexplained_fen"),
            (_("Total payable"), "total_fen"),
        ]
        sides = [side for side in (self.before, self.now) if side is not None and side.records]
        shown = []
        for label, attribute in rows:
            optional = attribute in ("other_fees_fen", "unexplained_fen")
            if optional and not any(getattr(side, attribute) for side in sides):
                continue
            shown.append(
                FigureChange(
                    label=label,
                    field=attribute.removesuffix("_fen").replace("_", "-"),
                    before_fen=_figure(self.before, attribute),
                    now_fen=_figure(self.now, attribute),
                )
            )
        return shown

    @property
    def total_delta_fen(self) -> int | None:
        return self._delta("total_fen")

    @property
    def carriage_delta_fen(self) -> int | None:
        return self._delta("carriage_fen")

    @property
    def sides(self) -> tuple[SupplierView | None, SupplierView | None]:
        return self.before, self.now

    @property
    def figures_known(self) -> bool:
        """Some side answered with orders: the totals block is worth a table."""
        return any(side is not None and side.records for side in self.sides)

    @property
    def both_known(self) -> bool:
        """Both sides answered with orders, so their figures can be set against each other."""
        return all(side is not None and side.records for side in (self.before, self.now))

    @property
    def availability_changed(self) -> bool:
        """Whether the one rule (`SupplierPreview.can_be_ordered`) says otherwise now; never
        while a side is still waiting for the gateway."""
        if any(_waiting(side) for side in (self.before, self.now)):
            return False
        return (self.before is not None and self.before.orderable) != (
            self.now is not None and self.now.orderable
        )

    @property
    def changed(self) -> bool:
        return (
            bool(self.total_delta_fen)
            or bool(self.carriage_delta_fen)
            or self.availability_changed
            or any(line.changed for line in self.lines)
        )


@dataclass
class RunComparison:
    before: RunBreakdown
    now: RunBreakdown
    suppliers: list[SupplierChange]
    finished: bool = True  # both runs finished: until then the grand totals are not known

    @property
    def grand_total_before_fen(self) -> int | None:
        return self.before.grand_total_fen if self.finished else None

    @property
    def grand_total_now_fen(self) -> int | None:
        return self.now.grand_total_fen if self.finished else None

    @property
    def grand_total_delta_fen(self) -> int | None:
        if not self.finished:
            return None
        return self.now.grand_total_fen - self.before.grand_total_fen


def _lines_by_key(supplier: SupplierView | None) -> dict[tuple, LineView]:
    if supplier is None:
        return {}
    return {
        (line.offer_id, line.spec_id): line for record in supplier.records for line in record.lines
    }


def _waiting(supplier: SupplierView | None) -> bool:
    return supplier is not None and supplier.status == SupplierPreview.Status.PENDING


def _available(supplier: SupplierView | None, line: LineView | None) -> bool | None:
    """The one rule (`SupplierPreview.can_be_ordered`) for the line's supplier, and the line
    itself without a problem; None while the supplier waits for the gateway."""
    if _waiting(supplier):
        return None
    return supplier is not None and supplier.orderable and line is not None and not line.problems


def compare(before: RunBreakdown, now: RunBreakdown, *, finished: bool = True) -> RunComparison:
    """Match suppliers by name and lines by offer and spec; keep the order of the newer run."""
    before_by_name = {s.name: s for s in before.suppliers}
    now_by_name = {s.name: s for s in now.suppliers}
    names = list(now_by_name) + [n for n in before_by_name if n not in now_by_name]
    suppliers = []
    for name in names:
        old, new = before_by_name.get(name), now_by_name.get(name)
        old_lines, new_lines = _lines_by_key(old), _lines_by_key(new)
        keys = list(new_lines) + [k for k in old_lines if k not in new_lines]
        change = SupplierChange(name=name, before=old, now=new)
        for key in keys:
            line_before, line_now = old_lines.get(key), new_lines.get(key)
            change.lines.append(
                LineChange(
                    offer_id=key[0],
                    spec_id=key[1],
                    title=(line_now or line_before).title,
                    before=line_before,
                    now=line_now,
                    available_before=_available(old, line_before),
                    available_now=_available(new, line_now),
                )
            )
        suppliers.append(change)
    return RunComparison(before=before, now=now, suppliers=suppliers, finished=finished)
