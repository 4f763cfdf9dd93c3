"""Thin views: every query is scoped to the signed-in buyer, so another buyer's ids give 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Sum
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import regions, services
from .forms import CartImportForm, CartLineForm, ShippingAddressForm, SupplierForm
from .imports import decode_upload, parse_cart_rows
from .models import CartLine, ShippingAddress, Supplier

IMPORT_ERRORS_SHOWN = 200


def home(request):
    return redirect("previews:cart")


# --------------------------------------------------------------------------- addresses


def address_list(request):
    addresses = ShippingAddress.objects.filter(owner=request.user)
    return render(request, "previews/address_list.html", {"addresses": addresses})


def address_form(request, pk=None):
    address = get_object_or_404(ShippingAddress, pk=pk, owner=request.user) if pk else None
    form = ShippingAddressForm(request.POST or None, instance=address, owner=request.user)
    if request.method == "POST" and form.is_valid():
        services.save_address(address=form.instance)
        messages.success(request, _("Address “%(label)s” saved.") % {"label": form.instance.label})
        return redirect("previews:address-list")
    return render(
        request,
        "previews/address_form.html",
        {"form": form, "address": address, "provinces": regions.provinces()},
    )


def address_delete(request, pk):
    address = get_object_or_404(ShippingAddress, pk=pk, owner=request.user)
    if request.method == "POST":
        services.delete_address(address=address)
        messages.success(request, _("Address “%(label)s” deleted.") % {"label": address.label})
        return redirect("previews:address-list")
    return render(
        request,
        "previews/confirm_delete.html",
        {"object": address, "cancel_url": reverse("previews:address-list")},
    )


@require_POST
def address_make_default(request, pk):
    address = get_object_or_404(ShippingAddress, pk=pk, owner=request.user)
    address.is_default = True
    services.save_address(address=address)
    messages.success(
        request, _("“%(label)s” is now your default address.") % {"label": address.label}
    )
    return redirect("previews:address-list")


@require_GET
def region_children(request, code):
    """The cities of a province, or the districts of a city, for the address pickers."""
    if not code.isdigit() or len(code) not in (2, 4):
        raise Http404
    children = [{"code": r.code, "name": r.name} for r in regions.children(code)]
    return JsonResponse({"children": children})


# --------------------------------------------------------------------------- suppliers


def supplier_list(request):
    suppliers = Supplier.objects.filter(owner=request.user).annotate(
        line_count=Count("lines"), total_quantity=Sum("lines__quantity")
    )
    return render(request, "previews/supplier_list.html", {"suppliers": suppliers})


def supplier_form(request, pk=None):
    supplier = get_object_or_404(Supplier, pk=pk, owner=request.user) if pk else None
    form = SupplierForm(request.POST or None, instance=supplier, owner=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Supplier “%(name)s” saved.") % {"name": form.instance.name})
        return redirect("previews:supplier-list")
    return render(request, "previews/supplier_form.html", {"form": form, "supplier": supplier})


def supplier_delete(request, pk):
    supplier = get_object_or_404(
        Supplier.objects.annotate(line_count=Count("lines")), pk=pk, owner=request.user
    )
    if request.method == "POST":
        supplier.delete()
        messages.success(request, _("Supplier “%(name)s” deleted.") % {"name": supplier.name})
        return redirect("previews:supplier-list")
    return render(
        request,
        "previews/confirm_delete.html",
        {
            "object": supplier,
            "cascade_count": supplier.line_count,
            "cancel_url": reverse("previews:supplier-list"),
        },
    )


# --------------------------------------------------------------------------- cart


def cart(request):
    suppliers = (
        Supplier.objects.filter(owner=request.user)
        .annotate(line_count=Count("lines"), total_quantity=Sum("lines__quantity"))
        .filter(line_count__gt=0)
        .prefetch_related(Prefetch("lines", queryset=CartLine.objects.order_by("offer_id", "pk")))
    )
    return render(request, "previews/cart.html", {"suppliers": suppliers})


def line_form(request, pk=None):
    line = get_object_or_404(CartLine, pk=pk, owner=request.user) if pk else None
    form = CartLineForm(request.POST or None, owner=request.user, line=line)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        supplier = data["supplier"] or services.supplier_named(
            owner=request.user, name=data["new_supplier"]
        )
        fields = {
            "offer_id": data["offer"],
            "spec_id": data["spec_id"],
            "quantity": data["quantity"],
            "title": data["title"],
            "note": data["note"],
        }
        try:
            if line is None:
                line, created = services.add_cart_line(
                    owner=request.user, supplier=supplier, **fields
                )
                if created:
                    messages.success(request, _("Line added to your cart."))
                else:
                    messages.info(
                        request,
                        _("This offer was already in your cart: its quantity is now %(q)s.")
                        % {"q": line.quantity},
                    )
            else:
                services.update_cart_line(line=line, supplier=supplier, **fields)
                messages.success(request, _("Line saved."))
            return redirect("previews:cart")
        except ValidationError as error:
            form.add_error(None, error)
    return render(request, "previews/line_form.html", {"form": form, "line": line})


def line_delete(request, pk):
    line = get_object_or_404(CartLine, pk=pk, owner=request.user)
    if request.method == "POST":
        line.delete()
        messages.success(request, _("Line deleted."))
        return redirect("previews:cart")
    return render(
        request,
        "previews/confirm_delete.html",
        {"object": line, "cancel_url": reverse("previews:cart")},
    )


def cart_import(request):
    form = CartImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            upload = form.cleaned_data.get("file")
            text = decode_upload(upload.read()) if upload else form.cleaned_data["text"]
        except ValidationError as error:
            form.add_error("file", error)
        else:
            rows, errors = parse_cart_rows(text)
            if not rows and not errors:
                form.add_error(None, _("There are no lines to import."))
            else:
                result = services.import_cart_lines(owner=request.user, rows=rows, errors=errors)
                if result.ok:
                    messages.success(
                        request,
                        _(
                            "Imported: %(created)s new line(s), %(updated)s line(s) with a "
                            "higher quantity, %(suppliers)s new supplier(s)."
                        )
                        % {
                            "created": result.created,
                            "updated": result.updated,
                            "suppliers": result.suppliers_created,
                        },
                    )
                    return redirect("previews:cart")
    return render(
        request,
        "previews/cart_import.html",
        {
            "form": form,
            "result": result,
            "errors_shown": result.errors[:IMPORT_ERRORS_SHOWN] if result else (),
        },
    )
