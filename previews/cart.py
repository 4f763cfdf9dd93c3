"""Use cases of the buyer's data: addresses, suppliers, cart lines and their bulk import."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .imports import CartRow, RowError
from .limits import MAX_QUANTITY
from .models import CartLine, ShippingAddress, Supplier
from .validators import QUANTITY_RANGE, normalize_spec_id


@transaction.atomic
def save_address(*, address: ShippingAddress) -> ShippingAddress:
    """Save an address; making it the default clears the owner's other default in the same step.

    An owner's first address becomes the default.
    """
    others = ShippingAddress.objects.filter(owner=address.owner).exclude(pk=address.pk)
    if not others.filter(is_default=True).exists():
        address.is_default = True
    if address.is_default:
        others.filter(is_default=True).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def delete_address(*, address: ShippingAddress) -> None:
    """Delete an address; when it was the default, the owner's next address becomes default."""
    was_default = address.is_default
    owner = address.owner
    address.delete()
    if was_default:
        successor = ShippingAddress.objects.filter(owner=owner).order_by("label", "pk").first()
        if successor:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


def add_cart_line(
    *,
    owner,
    supplier: Supplier,
    offer_id: int,
    spec_id: str = "",
    quantity: int,
    title: str = "",
    note: str = "",
    attributes_text: str = "",
    image_url: str = "",
) -> tuple[CartLine, bool]:
    """Add an offer to the cart; if the same offer and spec is there, raise its quantity.

    Returns the line and whether it was created. Raises ValidationError when the merged
    quantity would pass MAX_QUANTITY.
    """
    spec_id = normalize_spec_id(spec_id)
    for _attempt in range(2):  # a concurrent insert of the same line: retry as an update
        try:
            with transaction.atomic():
                existing = (
                    CartLine.objects.select_for_update()
                    .filter(owner=owner, offer_id=offer_id, spec_id=spec_id)
                    .first()
                )
                if existing is None:
                    line = CartLine.objects.create(
                        owner=owner,
                        supplier=supplier,
                        offer_id=offer_id,
                        spec_id=spec_id,
                        quantity=quantity,
                        title=title,
                        note=note,
                        attributes_text=attributes_text,
                        image_url=image_url,
                    )
                    return line, True
                if existing.quantity + quantity > MAX_QUANTITY:
                    raise ValidationError(
                        _(
                            "This offer is already in your cart with quantity %(have)s; "
                            "adding %(add)s would pass %(max)s."
                        )
                        % {**QUANTITY_RANGE, "have": existing.quantity, "add": quantity}
                    )
                CartLine.objects.filter(pk=existing.pk).update(quantity=F("quantity") + quantity)
                existing.refresh_from_db()
                return existing, False
        except IntegrityError:
            continue
    raise ValidationError(_("The cart changed while adding this line; please try again."))


@transaction.atomic
def supplier_named(*, owner, name: str) -> Supplier:
    """The owner's supplier of this name, created if new."""
    supplier, _created = Supplier.objects.get_or_create(owner=owner, name=name.strip())
    return supplier


def update_cart_line(*, line: CartLine, supplier: Supplier, **fields) -> CartLine:
    """Change a line's offer, spec, quantity, title or note, and its supplier."""
    for name, value in fields.items():
        setattr(line, name, value)
    line.supplier = supplier
    line.full_clean()
    line.save()
    return line


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    suppliers_created: int
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def import_cart_lines(*, owner, rows: list[CartRow], errors: list[RowError]) -> ImportResult:
    """Store parsed rows, all or nothing: if any row is bad, nothing is imported.

    Rows for the same offer and spec are added up; an offer already in the cart has its
    quantity raised, as when it is added by hand. A row whose supplier disagrees with the
    line already in the cart (or with an earlier row) is a bad row.
    """
    problems = list(errors)
    existing = {
        (line.offer_id, line.spec_id): line
        for line in CartLine.objects.filter(owner=owner).select_related("supplier")
    }
    merged: dict[tuple[int, str], dict] = {}
    for row in rows:
        key = (row.offer_id, row.spec_id)
        line = existing.get(key)
        if line is not None and line.supplier.name != row.supplier:
            problems.append(
                RowError(
                    row.row_number,
                    _("offer %(offer)s is already in your cart under supplier “%(supplier)s”")
                    % {"offer": row.offer_id, "supplier": line.supplier.name},
                )
            )
            continue
        entry = merged.get(key)
        if entry is None:
            merged[key] = {"row": row, "quantity": row.quantity}
            continue
        if entry["row"].supplier != row.supplier:
            problems.append(
                RowError(
                    row.row_number,
                    _("offer %(offer)s appears in row %(first)s with another supplier")
                    % {"offer": row.offer_id, "first": entry["row"].row_number},
                )
            )
            continue
        entry["quantity"] += row.quantity
    for key, entry in merged.items():
        have = existing[key].quantity if key in existing else 0
        if have + entry["quantity"] > MAX_QUANTITY:
            problems.append(
                RowError(
                    entry["row"].row_number,
                    _("the quantity of offer %(offer)s would reach %(total)s, above %(max)s")
                    % {**QUANTITY_RANGE, "offer": key[0], "total": have + entry["quantity"]},
                )
            )
    if problems:
        return ImportResult(0, 0, 0, tuple(sorted(problems, key=lambda e: e.row_number)))
    return _store(owner, merged, existing)


@transaction.atomic
def _store(owner, merged: dict, existing: dict) -> ImportResult:
    suppliers = {s.name: s for s in Supplier.objects.filter(owner=owner)}
    missing = sorted({e["row"].supplier for e in merged.values()} - suppliers.keys())
    for supplier in Supplier.objects.bulk_create(
        [Supplier(owner=owner, name=name) for name in missing]
    ):
        suppliers[supplier.name] = supplier
    new_lines, changed = [], []
    for key, entry in merged.items():
        row = entry["row"]
        if key in existing:
            line = existing[key]
            line.quantity += entry["quantity"]
            line.updated_at = timezone.now()
            changed.append(line)
        else:
            new_lines.append(
                CartLine(
                    owner=owner,
                    supplier=suppliers[row.supplier],
                    offer_id=row.offer_id,
                    spec_id=row.spec_id,
                    quantity=entry["quantity"],
                    title=row.title,
                    note=row.note,
                )
            )
    CartLine.objects.bulk_create(new_lines, batch_size=1000)
    CartLine.objects.bulk_update(changed, ["quantity", "updated_at"], batch_size=1000)
    return ImportResult(len(new_lines), len(changed), len(missing), ())
