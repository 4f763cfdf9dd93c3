"""Thin views: validate with a form, call a use case (cart, runs), read through selectors.

Every read is scoped to the signed-in buyer (selectors.py), so another buyer's ids give 404.
"""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import (
    cart,
    failures,
    lookups,
    order_notes,
    orders,
    rates,
    regions,
    run_pages,
    runs,
    selectors,
)
from .breakdown import supplier_badge
from .forms import (
    AddressComparisonForm,
    CancelOrderForm,
    CartImportForm,
    CartLineForm,
    OfferPasteForm,
    OrderDecisionForm,
    OrderRequestForm,
    PreferencesForm,
    PreviewForm,
    ResolveAttemptForm,
    ShippingAddressForm,
    SupplierForm,
)
from .imports import TooManyRows, decode_upload, parse_cart_rows, parse_offer_id
from .models import OfferLookup, PreviewRun
from .picker import build_picker
from .validators import parse_quantity

IMPORT_ERRORS_SHOWN = 200


def home(request):
    return redirect("previews:cart")


# --------------------------------------------------------------------------- addresses


def address_list(request):
    addresses = selectors.addresses(owner=request.user)
    return render(request, "previews/address_list.html", {"addresses": addresses})


def address_form(request, pk=None):
    address = selectors.owned_address(owner=request.user, pk=pk) if pk else None
    form = ShippingAddressForm(request.POST or None, instance=address, owner=request.user)
    if request.method == "POST" and form.is_valid():
        cart.save_address(address=form.instance)
        messages.success(request, _("Address “%(label)s” saved.") % {"label": form.instance.label})
        return redirect("previews:address-list")
    return render(
        request,
        "previews/address_form.html",
        {"form": form, "address": address, "provinces": regions.provinces()},
    )


def address_delete(request, pk):
    address = selectors.owned_address(owner=request.user, pk=pk)
    if request.method == "POST":
        cart.delete_address(address=address)
        messages.success(request, _("Address “%(label)s” deleted.") % {"label": address.label})
        return redirect("previews:address-list")
    return render(
        request,
        "previews/confirm_delete.html",
        {"object": address, "cancel_url": reverse("previews:address-list")},
    )


@require_POST
def address_make_default(request, pk):
    address = selectors.owned_address(owner=request.user, pk=pk)
    address.is_default = True
    cart.save_address(address=address)
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
    suppliers = selectors.suppliers_with_totals(owner=request.user)
    return render(request, "previews/supplier_list.html", {"suppliers": suppliers})


def supplier_form(request, pk=None):
    supplier = selectors.owned_supplier(owner=request.user, pk=pk) if pk else None
    form = SupplierForm(request.POST or None, instance=supplier, owner=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Supplier “%(name)s” saved.") % {"name": form.instance.name})
        return redirect("previews:supplier-list")
    return render(request, "previews/supplier_form.html", {"form": form, "supplier": supplier})


def supplier_delete(request, pk):
    supplier = selectors.owned_supplier(owner=request.user, pk=pk)
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


def cart_lines(request):
    shown = selectors.cart_page(owner=request.user, page_number=request.GET.get("page"))
    return render(
        request,
        "previews/cart.html",
        {
            "page": shown.page,
            "page_range": shown.page.paginator.get_elided_page_range(shown.page.number),
            "suppliers": shown.suppliers,
            "totals": shown.totals,
            "advice": shown.advice,
        },
    )


def line_form(request, pk=None):
    line = selectors.owned_line(owner=request.user, pk=pk) if pk else None
    form = CartLineForm(request.POST or None, owner=request.user, line=line)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        supplier = data["supplier"] or cart.supplier_named(
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
                line, created = cart.add_cart_line(owner=request.user, supplier=supplier, **fields)
                if created:
                    messages.success(request, _("Line added to your cart."))
                else:
                    messages.info(
                        request,
                        _("This offer was already in your cart: its quantity is now %(q)s.")
                        % {"q": line.quantity},
                    )
            else:
                cart.update_cart_line(line=line, supplier=supplier, **fields)
                messages.success(request, _("Line saved."))
            return redirect("previews:cart")
        except ValidationError as error:
            form.add_error(None, error)
    return render(request, "previews/line_form.html", {"form": form, "line": line})


def line_delete(request, pk):
    line = selectors.owned_line(owner=request.user, pk=pk)
    if request.method == "POST":
        line.delete()
        messages.success(request, _("Line deleted."))
        return redirect("previews:cart")
    return render(
        request,
        "previews/confirm_delete.html",
        {"object": line, "cancel_url": reverse("previews:cart")},
    )


def import_summary(result) -> str:
    """What an import did, each count with its own plural (Chinese has a single form)."""
    return _("Imported: %(lines)s, %(raised)s, %(suppliers)s.") % {
        "lines": ngettext("%(n)s new line", "%(n)s new lines", result.created)
        % {"n": result.created},
        "raised": ngettext(
            "%(n)s line with a higher quantity",
            "%(n)s lines with a higher quantity",
            result.updated,
        )
        % {"n": result.updated},
        "suppliers": ngettext("%(n)s new supplier", "%(n)s new suppliers", result.suppliers_created)
        % {"n": result.suppliers_created},
    }


def cart_import(request):
    form = CartImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid() and "look_up" in request.POST:
        parsed = _parse_import(form, supplier_required=False)
        if parsed is not None:
            rows, errors = parsed
            if errors or not rows:
                result = cart.ImportResult(0, 0, 0, tuple(errors))
                if not rows and not errors:
                    form.add_error(None, _("There are no lines to import."))
            else:
                batch = lookups.start_lookup_of_wanted(
                    owner=request.user,
                    wanted=[lookups.Wanted(r.offer_id, r.quantity, r.spec_id) for r in rows],
                )
                return redirect(batch)
    elif request.method == "POST" and form.is_valid():
        parsed = _parse_import(form)
        if parsed is not None:
            rows, errors = parsed
            if not rows and not errors:
                form.add_error(None, _("There are no lines to import."))
            else:
                result = cart.import_cart_lines(owner=request.user, rows=rows, errors=errors)
                if result.ok:
                    messages.success(request, import_summary(result))
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


def _parse_import(form, *, supplier_required: bool = True):
    """The rows and row errors of a valid import form, or None (its error added to the
    form, which keeps what was typed)."""
    try:
        upload = form.cleaned_data.get("file")
        text = decode_upload(upload.read()) if upload else form.cleaned_data["text"]
    except ValidationError as error:
        form.add_error("file", error)
        return None
    try:
        return parse_cart_rows(
            text, max_rows=settings.IMPORT_MAX_ROWS, supplier_required=supplier_required
        )
    except TooManyRows as too_many:
        form.add_error(None, too_many_rows_message(too_many.limit))
        return None


def too_many_rows_message(limit: int) -> str:
    return ngettext(
        "This list has more than %(limit)s row, the most one import takes (the "
        "IMPORT_MAX_ROWS setting), so nothing was imported. Split it into parts of at most "
        "%(limit)s row and import them one after the other.",
        "This list has more than %(limit)s rows, the most one import takes (the "
        "IMPORT_MAX_ROWS setting), so nothing was imported. Split it into parts of at most "
        "%(limit)s rows and import them one after the other.",
        limit,
    ) % {"limit": f"{limit:,}"}


# --------------------------------------------------------------------------- preview runs


def preview_create(request):
    form = PreviewForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        run, _created = runs.start_preview(
            owner=request.user,
            address=data["address"],
            lines=list(data["lines"].select_related("supplier")),
            flow=data["flow"],
            submission_token=data["submission_token"],
        )
        return redirect(run)
    return render(request, "previews/preview_form.html", {"form": form})


def run_list(request):
    page = selectors.runs_page(owner=request.user, page_number=request.GET.get("page"))
    for run in page.object_list:
        run.rerun_token = uuid.uuid4()  # one token per rendered button: a double click runs once
    return render(request, "previews/run_list.html", {"page": page, "runs": page.object_list})


def run_detail(request, pk, *, ordering_form=None, status=200):
    run = selectors.owned_run(owner=request.user, pk=pk)
    # The live parts (header, progress, ordering) are rendered here; the breakdown of a
    # finished run comes from the cache (run_pages.py).
    breakdown = run_pages.breakdown_part(request, run)
    return run_pages.render_with_parts(
        request,
        "previews/run_detail.html",
        {
            "run": run,
            "breakdown": breakdown.breakdown,
            "rerun_token": uuid.uuid4(),
            "run_failure": failures.run_failure(run.failure_kind),
            # Live, outside the (cacheable) breakdown: previews/_run_ordering.html
            "ordering": selectors.run_ordering(run=run, user=request.user),
            "ordering_form": ordering_form or OrderRequestForm(),
        },
        {"breakdown_html": breakdown},
        status=status,
    )


def run_supplier(request, pk, position):
    """One supplier of a run: its own page (the "show its lines" link without
    JavaScript), or with `?part=lines` only its lines, which the run page's script puts
    in place."""
    run = selectors.owned_run(owner=request.user, pk=pk)
    lines_only = request.GET.get("part") == "lines"
    part = run_pages.supplier_part(request, run, position, lines_only=lines_only)
    if lines_only:
        return HttpResponse(part.html)
    return run_pages.render_with_parts(
        request,
        "previews/run_supplier.html",
        {"run": run, "supplier_name": part.title},
        {"supplier_html": part},
    )


def run_status(request, pk):
    """Progress of a run for the page's polling script. Looking changes nothing, so eight
    polls at once send nothing."""
    run = selectors.run_progress(owner=request.user, pk=pk)
    suppliers = []
    for supplier in run.progress_suppliers:
        label, colour = supplier_badge(supplier)  # the page's own badge, by the one rule
        suppliers.append(
            {"id": supplier.pk, "status": supplier.status, "label": label, "colour": colour}
        )
    return JsonResponse(
        {
            "status": run.status,
            "finished": run.is_finished,
            "waiting_for_broker": run.dispatched_at is None and not run.is_finished,
            "suppliers": suppliers,
        }
    )


@require_POST
def run_rerun(request, pk):
    run = selectors.owned_run(owner=request.user, pk=pk)
    try:
        token = uuid.UUID(request.POST.get("submission_token", ""))
    except ValueError:  # without its button's token a repeated post would run twice
        messages.error(request, _("This page was out of date: press “Run again” once more."))
        return redirect(run)
    new_run, _created = runs.rerun(run=run, submission_token=token)
    return redirect(new_run)


@require_POST
def run_dispatch(request, pk):
    run = selectors.owned_run(owner=request.user, pk=pk)
    if run.status == PreviewRun.Status.QUEUED:
        if runs.dispatch_run(run_id=run.pk):
            messages.success(request, _("The run was sent to the workers."))
        else:
            messages.error(
                request,
                _("The job queue is still unreachable; the run is kept and sent when it is back."),
            )
    return redirect(run)


def run_export(request, pk, file_format):
    """The run as CSV or XLSX, streamed as it is written (or from the cache: run_pages)."""
    run = selectors.owned_run(owner=request.user, pk=pk)
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if file_format == "xlsx"
        else "text/csv; charset=utf-8"
    )
    response = StreamingHttpResponse(
        run_pages.export_file(request, run, file_format), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="preview-run-{run.pk}.{file_format}"'
    return response


def run_compare(request, pk):
    """This run against the previous run of the same lines to the same address."""
    run = selectors.owned_run(owner=request.user, pk=pk)
    previous, comparison = selectors.comparison_with_previous(run)
    return render(
        request,
        "previews/run_compare.html",
        {"run": run, "previous": previous, "comparison": comparison},
    )


def address_comparison_create(request):
    form = AddressComparisonForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        group = runs.start_address_comparison(
            owner=request.user,
            addresses=list(data["addresses"]),
            lines=list(data["lines"].select_related("supplier")),
            flow=data["flow"],
            submission_token=data["submission_token"],
        )
        return redirect("previews:address-comparison", group=group)
    return render(request, "previews/address_comparison_form.html", {"form": form})


def address_comparison(request, group):
    shown = selectors.address_comparison(owner=request.user, group=group)
    return render(
        request,
        "previews/address_comparison.html",
        {
            "columns": shown.columns,
            "rows": shown.rows,
            "finished": all(run.is_finished for run in shown.runs),
            "status_urls": [reverse("previews:run-status", args=[run.pk]) for run in shown.runs],
            "conversions": [run.conversion for run in shown.runs],  # the second currency
        },
    )


# --------------------------------------------------------------------------- offer lookup


def lookup_start(request):
    """ "Add from 1688": paste links or ids; the lookup runs in the background."""
    form = OfferPasteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = lookups.start_lookup(owner=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error("text", error)
        else:
            return redirect(batch)
    return render(request, "previews/lookup_start.html", {"form": form})


@require_POST
def lookup_offer(request):
    """The line form's "look up": the same lookup for a single offer (a batch of one)."""
    offer_id = parse_offer_id(request.POST.get("offer", ""))
    if offer_id is None:  # the form again, with what was typed and why
        typed = {name: request.POST.get(name, "") for name in CartLineForm.base_fields}
        form = CartLineForm(owner=request.user, initial=typed)
        messages.error(request, _("Enter an offer id or a 1688 offer link to look it up."))
        return render(request, "previews/line_form.html", {"form": form, "line": None})
    batch = lookups.start_lookup_of_offers(owner=request.user, offer_ids=[offer_id])
    try:  # the quantity typed is pre-filled in the picker where it has one obvious place
        quantity = CartLineForm.base_fields["quantity"].clean(request.POST.get("quantity", ""))
    except ValidationError:
        quantity = None
    url = batch.get_absolute_url()
    return redirect(f"{url}?{urlencode({'quantity': quantity})}" if quantity else url)


def lookup_detail(request, pk, *, typed=None, errors=None, offer_id=None, status=200):
    batch = selectors.owned_lookup_batch(owner=request.user, pk=pk)
    entries = selectors.lookup_batch_entries(batch=batch)
    asked = request.GET.get("quantity", "")  # from the line form's look-up
    asked = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 10 else None
    for entry in entries:
        if entry.lookup.added_at and entry.lookup.offer_id != offer_id:
            continue  # added by the import: shown as added, no second "Add to cart"
        if entry.detail is not None and entry.lookup.status == OfferLookup.Status.OK:
            mine = entry.lookup.offer_id == offer_id
            entry.picker = build_picker(
                entry.detail,
                typed if mine else None,
                errors if mine else None,
                suggested_quantity=(
                    None if entry.lookup.added_at else entry.lookup.requested_quantity
                )
                or asked,
                suggested_spec_id=entry.lookup.requested_spec_id,
            )
    return render(
        request,
        "previews/lookup_detail.html",
        {
            "batch": batch,
            "entries": entries,
            "finished": batch.finished_at is not None,
            "waiting": sum(e.lookup.status == OfferLookup.Status.WAITING for e in entries),
        },
        status=status,
    )


def lookup_status(request, pk):
    """Progress of a batch for the page's polling script (reads only)."""
    batch = selectors.owned_lookup_batch(owner=request.user, pk=pk)
    return JsonResponse(
        {
            "finished": batch.finished_at is not None,
            "lookups": [
                {"id": lk.pk, "status": lk.status, "label": lk.get_status_display()}
                for lk in batch.lookups.order_by("position", "pk")
            ],
        }
    )


@require_POST
def lookup_add(request, pk, offer_id):
    """Quantities for several SKUs of one offer in one submit: all go to the cart, or
    none and the page shows why, keeping what was typed."""
    batch = selectors.owned_lookup_batch(owner=request.user, pk=pk)
    lookup = get_object_or_404(OfferLookup, batch=batch, offer_id=offer_id)
    typed = {k: v for k, v in request.POST.items() if k.startswith("q-")}
    picks, errors = [], {}
    for name, value in typed.items():
        if not value.strip():
            continue
        spec_id = name.removeprefix("q-")
        try:
            picks.append(lookups.Pick(offer_id, spec_id, parse_quantity(value)))
        except ValidationError as error:
            errors[spec_id] = " ".join(error.messages)
    if not errors:
        if lookup.status != OfferLookup.Status.OK:
            errors[""] = _("This offer was not looked up successfully: nothing can be added.")
        else:
            try:
                result = lookups.add_picks_to_cart(
                    owner=request.user, offer_id=offer_id, picks=picks
                )
            except ValidationError as error:
                errors = {k: " ".join(v) for k, v in error.message_dict.items()}
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(n)s line added to your cart under %(supplier)s.",
                        "%(n)s lines added to your cart under %(supplier)s.",
                        result.created + result.updated,
                    )
                    % {"n": result.created + result.updated, "supplier": result.suppliers[0]},
                )
                return redirect(f"{batch.get_absolute_url()}#offer-{offer_id}")
    return lookup_detail(request, pk, typed=typed, errors=errors, offer_id=offer_id)


# --------------------------------------------------------------------------- ordering
#
# Every button here is a POST answered by a redirect; the use cases' claims are the real
# guard against a double click (a second approval is refused, a second request with the
# same submission token is the first one). A refusal shows the page again with its reason
# and what was typed.


@require_POST
def order_request_create(request, pk):
    """Request ordering of one supplier of a run, or of all its orderable suppliers."""
    run = selectors.owned_run(owner=request.user, pk=pk)
    form = OrderRequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            order_request = orders.request_ordering(
                run=run,
                requested_by=request.user,
                submission_token=data["submission_token"],
                supplier_preview_ids=[data["supplier"]] if data["supplier"] else None,
                comment=data["comment"],
            )
        except orders.OrderingRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("Ordering requested: it waits for an approver's decision.")
                if order_request.state == order_request.State.AWAITING_APPROVAL
                else _("This request was already made."),
            )
            return redirect(order_request)
    return run_detail(request, pk, ordering_form=form)


def order_request_list(request):
    """The buyer's own order requests."""
    page = selectors.order_requests_page(user=request.user, page_number=request.GET.get("page"))
    return render(
        request,
        "previews/order_request_list.html",
        {"page": page, "order_requests": page.object_list},
    )


def order_request_detail(request, pk, *, form=None, status=200):
    """Exactly what will be ordered, its state and history; approve or reject."""
    order_request = selectors.visible_order_request(user=request.user, pk=pk)
    shown = selectors.order_request_view(order_request)
    awaiting = any(view.part.state in orders.AWAITING_STATES for view in shown.parts)
    return render(
        request,
        "previews/order_request_detail.html",
        {
            "order_request": order_request,
            "shown": shown,
            "awaiting": awaiting,
            "can_decide": awaiting
            and orders.can_approve(user=request.user, order_request=order_request),
            "is_owner": order_request.requested_by_id == request.user.pk,
            "decision_form": form or OrderDecisionForm(),
        },
        status=status,
    )


@require_POST
def order_request_decide(request, pk, decision):
    """Approve or reject (`decision`) with a comment."""
    order_request = selectors.decidable_order_request(user=request.user, pk=pk)
    form = OrderDecisionForm(request.POST)
    if form.is_valid():
        decide = orders.approve_request if decision == "approve" else orders.reject_request
        try:
            decide(
                order_request=order_request,
                approver=request.user,
                comment=form.cleaned_data["comment"],
            )
        except orders.OrderingRefused as refused:
            if not selectors.can_see_order_request(user=request.user, pk=pk):
                # Decided already (a second click): nothing to show but the queue.
                messages.info(request, refused.message)
                return redirect("previews:order-approvals")
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("Approved: the orders are being placed.")
                if decision == "approve"
                else _(
                    "Rejected: what awaited approval will not be ordered; "
                    "what was placed stays placed."
                )
                if selectors.has_placed_parts(order_request)
                else _("Rejected: nothing will be ordered."),
            )
            if selectors.can_see_order_request(user=request.user, pk=pk):
                return redirect(order_request)
            return redirect("previews:order-approvals")
    return order_request_detail(request, pk, form=form)


@require_POST
def order_request_withdraw(request, pk):
    """The buyer takes back what still awaits approval."""
    order_request = selectors.owned_order_request(user=request.user, pk=pk)
    form = OrderDecisionForm(request.POST)
    if form.is_valid():
        try:
            orders.withdraw_request(
                order_request=order_request,
                person=request.user,
                comment=form.cleaned_data["comment"],
            )
        except orders.OrderingRefused as refused:
            messages.info(request, refused.message)
        else:
            messages.success(
                request,
                _(
                    "Withdrawn: what awaited approval will not be ordered; "
                    "what was placed stays placed."
                )
                if selectors.has_placed_parts(order_request)
                else _("Withdrawn: nothing of it will be ordered."),
            )
        return redirect(order_request)
    return order_request_detail(request, pk, form=form)


def order_approvals(request):
    """What waits for this approver: requests to decide and attempts to settle."""
    queue = selectors.approvals_queue(user=request.user)
    return render(
        request,
        "previews/order_approvals.html",
        {"queue": queue, "is_approver": selectors.is_approver(request.user)},
    )


def order_list(request):
    """Every order created for the buyer, with status, amounts and what to do next."""
    return render(
        request,
        "previews/order_list.html",
        {
            "orders": selectors.placed_orders(user=request.user),
            "unknown": selectors.unknown_attempts(user=request.user),
            "payment_links": request.session.pop("payment_links", None),
        },
    )


@require_POST
def order_payment_links(request):
    """Payment pages for the selected orders (≤30 per call, split beyond by the use case)."""
    chosen = selectors.owned_placed_orders(user=request.user, pks=request.POST.getlist("order"))
    try:
        links = orders.payment_links(orders=chosen, actor=request.user)
    except orders.OrderingRefused as refused:
        messages.error(request, refused.message)
    else:
        request.session["payment_links"] = [
            {"order_ids": list(link.order_ids), "url": link.url} for link in links
        ]
        left_out = len(chosen) - sum(len(link.order_ids) for link in links)
        if left_out:
            messages.info(
                request,
                ngettext(
                    "%(n)s selected order was left out: it is paid, cancelled or closed.",
                    "%(n)s selected orders were left out: they are paid, cancelled or closed.",
                    left_out,
                )
                % {"n": left_out},
            )
    return redirect("previews:order-list")


@require_POST
def order_refresh(request):
    """Read order detail now for the selected orders (all when none is selected)."""
    picked = request.POST.getlist("order")
    chosen = (
        selectors.owned_placed_orders(user=request.user, pks=picked)
        if picked
        else selectors.placed_orders(user=request.user)
    )
    read = orders.refresh_orders(orders=chosen, actor=request.user) if chosen else 0
    if read == len(chosen):
        messages.success(
            request,
            ngettext("Status read for %(n)s order.", "Status read for %(n)s orders.", read)
            % {"n": read},
        )
    else:
        messages.warning(
            request,
            _("Status read for %(read)s of %(n)s orders; the others say why beside them.")
            % {"read": read, "n": len(chosen)},
        )
    return redirect("previews:order-list")


def order_cancel(request, pk):
    """Cancel an unpaid order with 1688's reason and a remark."""
    order = selectors.owned_placed_order(user=request.user, pk=pk)
    if not order.is_unpaid:  # cancelled (maybe from another tab), paid or closed
        messages.info(
            request, failures.ORDER_NOT_UNPAID % {"status": order_notes.status_label(order.status)}
        )
        return redirect("previews:order-list")
    form = CancelOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            orders.cancel_order(
                placed_order=order,
                person=request.user,
                reason=form.cleaned_data["reason"],
                remark=form.cleaned_data["remark"],
            )
        except orders.OrderingRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request, _("Order %(order_id)s is cancelled.") % {"order_id": order.order_id}
            )
            return redirect("previews:order-list")
    return render(request, "previews/order_cancel.html", {"order": order, "form": form})


def _after_attempt(request, attempt):
    """Back where the person came from: their orders, or the approver's queue."""
    if attempt.supplier_order.request.requested_by_id == request.user.pk:
        return redirect("previews:order-list")
    return redirect("previews:order-approvals")


@require_POST
def order_attempt_check(request, pk):
    """Look for an outcome-unknown attempt's order in the buyer's 1688 orders now."""
    attempt = selectors.visible_attempt(user=request.user, pk=pk)
    state = orders.resolve_attempt(attempt_id=attempt.pk, actor=request.user)
    if state == orders.OrderAttempt.State.OUTCOME_UNKNOWN:
        messages.warning(
            request,
            _(
                "Order attempt %(id)s was not found among the buyer's 1688 orders (yet). "
                "Check again later, or say what happened if you know."
            )
            % {"id": attempt.third_order_id},
        )
    else:
        messages.success(
            request,
            _("Order attempt %(id)s: %(state)s.")
            % {"id": attempt.third_order_id, "state": orders.OrderAttempt.State(state).label},
        )
    return _after_attempt(request, attempt)


def order_attempt_resolve(request, pk):
    """A person says whether an outcome-unknown attempt created an order."""
    attempt = selectors.visible_attempt(user=request.user, pk=pk)
    form = ResolveAttemptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["outcome"] == ResolveAttemptForm.PLACED:
                orders.mark_attempt_placed(
                    attempt=attempt,
                    person=request.user,
                    order_id=data["order_id"],
                    comment=data["comment"],
                )
            else:
                orders.mark_attempt_not_placed(
                    attempt=attempt, person=request.user, comment=data["comment"]
                )
        except orders.OrderingRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("Order attempt %(id)s is settled.") % {"id": attempt.third_order_id},
            )
            return _after_attempt(request, attempt)
    return render(
        request, "previews/order_attempt_resolve.html", {"attempt": attempt, "form": form}
    )


def order_audit_export(request, pk=None):
    """The audit as CSV: of one request the user may open, else of the user's own requests
    (or of every request, with the admin-granted permission to read the audit)."""
    order_request = selectors.visible_order_request(user=request.user, pk=pk) if pk else None
    events = selectors.audit_events(user=request.user, order_request=order_request)
    name = f"order-audit-{pk}" if pk else "order-audit"
    response = HttpResponse(orders.audit_csv(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# --------------------------------------------------------------------------- settings


def preferences(request):
    """The buyer's settings: the second currency of new runs."""
    current = rates.display_currency(owner=request.user)
    form = PreferencesForm(
        request.POST or None, initial={"display_currency": current}, language=get_language()
    )
    if request.method == "POST" and form.is_valid():
        rates.set_display_currency(owner=request.user, code=form.cleaned_data["display_currency"])
        messages.success(request, _("Settings saved; runs started from now on use them."))
        return redirect("previews:preferences")
    return render(
        request,
        "previews/preferences.html",
        {
            "form": form,
            "code": current,
            "rate": rates.current_rate(current) if current else None,
            "max_age_days": settings.CURRENCY_RATE_MAX_AGE_DAYS,
        },
    )
