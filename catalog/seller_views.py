"""The seller portal's product pages. They check who asks and call the same services as the API.

Every page works on the seller's own store only: another seller's product or image answers
404 (so its existence does not leak) before the method is even looked at, so GET and POST reveal nothing.
"""

import csv
from collections.abc import Iterable, Iterator
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import seller_required
from catalog.errors import CsvImportFailed, InvalidImage, ProductHasOpenOrders, StockConflict, VariantRequired
from catalog.forms import (
    ImageUploadForm,
    OptionFormSet,
    ProductCreateForm,
    ProductForm,
    ProductImportForm,
    SellerProductFilterForm,
    StockAdjustForm,
    StockSetForm,
    VariantCreateForm,
    VariantFormSet,
)
from catalog.models import Product, ProductVariant
from catalog.selectors import seller_image_get, seller_product_get, seller_products, seller_variant_get
from catalog.services.images import (
    MAX_IMAGES_PER_PRODUCT,
    product_image_add,
    product_image_delete,
    product_image_move,
)
from catalog.services.imports import (
    MAX_ROWS,
    ImportSummary,
    products_export_csv_rows,
    products_import_csv,
)
from catalog.services.products import product_create, product_delete, product_set_active, product_update
from catalog.services.stock import product_stock_adjust, product_stock_set, variant_stock_adjust, variant_stock_set
from catalog.services.variants import (
    VariantRefused,
    product_options_set,
    variant_create,
    variants_update,
)
from catalog.validators import MAX_PRICE, MAX_STOCK
from joycart.errors import DomainError
from joycart.money import format_inr

PRODUCTS_PER_PAGE = 25
IMPORT_ERRORS_SHOWN = 200


def _with_own_product(view):
    """Turn the URL's `product_id` into the seller's own product, or 404."""

    @wraps(view)
    def wrapped(request, product_id: int):
        return view(request, seller_product_get(store=request.user.active_store, product_id=product_id))

    return wrapped


def _with_own_image(view):
    """Turn the URL's `product_id` and `image_id` into the seller's own image, or 404."""

    @wraps(view)
    def wrapped(request, product_id: int, image_id: int):
        image = seller_image_get(store=request.user.active_store, product_id=product_id, image_id=image_id)
        return view(request, image)

    return wrapped


def _back_to_edit(product: Product, section: str = ""):
    url = reverse("seller:product_edit", kwargs={"product_id": product.pk})
    return redirect(f"{url}#{section}" if section else url)


def _first_error(form) -> str:
    name, errors = next(iter(form.errors.items()))
    label = form.fields[name].label if name in form.fields else ""
    return f"{label}: {errors[0]}" if label else errors[0]


# --- The product list -------------------------------------------------------------------


@seller_required
def product_list(request):
    filters = SellerProductFilterForm(request.GET)
    search = status = ""
    if filters.is_valid():
        search, status = filters.cleaned_data["q"].strip(), filters.cleaned_data["status"]
    products = seller_products(store=request.user.active_store, search=search, status=status)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "products": page.object_list,
        "filtered": bool(search or status),
        # What the pagination links keep besides the page number.
        "query": urlencode([(name, value) for name, value in (("q", search), ("status", status)) if value]),
    }
    return render(request, "seller/product_list.html", context)


# --- Creating and editing ---------------------------------------------------------------


@seller_required
def product_new(request):
    form = ProductCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        details = dict(form.cleaned_data)
        image, alt = details.pop("image"), details.pop("image_alt")
        try:
            product = product_create(store=request.user.active_store, **details)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if image:
                _first_image_add(product=product, image=image, alt=alt)
            messages.success(request, f"“{product.title}” is saved. Add more images or adjust its stock below.")
            return _back_to_edit(product)
    return render(request, "seller/product_new.html", {"form": form})


def _first_image_add(*, product: Product, image, alt: str) -> None:
    """The form already checked the image; if storing it still fails (storage down), undo the product.

    The seller then sees an error page with nothing saved, and retrying with the same SKU works.
    """
    try:
        product_image_add(product=product, upload=image, alt=alt)
    except Exception:
        product_delete(product=product)
        raise


@seller_required
@_with_own_product
def product_edit(request, product: Product):
    form = ProductForm(request.POST or None, initial=ProductForm.initial_for(product), product=product)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_details(product)
        try:
            if changes:
                product_update(product=product, **changes)
        except DomainError as exc:
            form.add_domain_error(exc)
            # The service set the rejected values on this object; show the stored ones.
            product = seller_product_get(store=request.user.active_store, product_id=product.pk)
        else:
            messages.success(request, "Changes saved." if changes else "Nothing changed.")
            return _back_to_edit(product)
    return _edit_page(request, product, form=form)


def _edit_page(request, product: Product, **bound_forms):
    """The edit page, with the forms just posted (and their errors) in place of fresh ones."""
    return render(request, "seller/product_edit.html", _edit_context(product, **bound_forms))


def _edit_context(product: Product, *, form=None, options_formset=None, variants_formset=None, variant_form=None):
    images = list(product.images.all())
    variants = list(product.variants.all())
    options = list(product.options.all())
    variants_formset = variants_formset or VariantFormSet(variants=variants, prefix="variants")
    rows = [(variant, _variant_row_form(variants_formset, variant)) for variant in variants]
    return {
        "product": product,
        "form": form or ProductForm(initial=ProductForm.initial_for(product), product=product),
        "images": images,
        "can_add_image": len(images) < MAX_IMAGES_PER_PRODUCT,
        "max_images": MAX_IMAGES_PER_PRODUCT,
        "adjust_form": StockAdjustForm(),
        "set_form": StockSetForm(initial={"value": product.stock, "expected": product.stock}),
        "upload_form": ImageUploadForm(),
        "options": options,
        "options_formset": options_formset
        or OptionFormSet(initial=OptionFormSet.initial_for(product), prefix="options"),
        "several_variants": len(variants) > 1,
        "variants_formset": variants_formset,
        "variant_rows": [
            {
                "variant": variant,
                "form": row_form,
                "values": variant.option_values,
                "stock_form": StockSetForm(
                    initial={"value": variant.stock, "expected": variant.stock}, prefix=f"stock-{variant.pk}"
                ),
            }
            for variant, row_form in rows
        ],
        "variant_form": variant_form or (VariantCreateForm(product=product) if options else None),
    }


def _variant_row_form(formset, variant: ProductVariant):
    """The grid's row of `variant`: the posted one when the grid was just refused, else a fresh one."""
    for row_form in formset.forms:
        if row_form.is_bound and row_form.data.get(row_form.add_prefix("id")) == str(variant.pk):
            return row_form
        if not row_form.is_bound and row_form.initial.get("id") == variant.pk:
            return row_form
    return None


# --- Options and variants ------------------------------------------------------------------


@seller_required
@_with_own_product
@require_POST
def product_options(request, product: Product):
    formset = OptionFormSet(request.POST, prefix="options")
    if formset.is_valid():
        try:
            product_options_set(product=product, options=formset.options())
        except DomainError as exc:
            formset.non_form_errors().append(exc.message)
        else:
            messages.success(request, "Options saved.")
            return _back_to_edit(product, "options")
    product = seller_product_get(store=request.user.active_store, product_id=product.pk)
    return _edit_page(request, product, options_formset=formset)


@seller_required
@_with_own_product
@require_POST
def product_variants(request, product: Product):
    """Save the variants grid: SKU, prices and the active flag of each row, all or none."""
    formset = VariantFormSet(request.POST, variants=list(product.variants.all()), prefix="variants")
    if formset.is_valid():
        changes = formset.changes()
        try:
            variants_update(product=product, changes=changes)
        except VariantRefused as refusal:
            formset.form_for(refusal.variant_id).add_domain_error(refusal.error)
        else:
            messages.success(request, "Variants saved." if changes else "Nothing changed.")
            return _back_to_edit(product, "variants")
        product = seller_product_get(store=request.user.active_store, product_id=product.pk)
    return _edit_page(request, product, variants_formset=formset)


@seller_required
@_with_own_product
@require_POST
def product_variant_add(request, product: Product):
    form = VariantCreateForm(request.POST, product=product)
    if form.is_valid():
        try:
            variant = variant_create(product=product, **form.details())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"Variant {', '.join(variant.option_values)} added.")
            return _back_to_edit(product, "variants")
    return _edit_page(request, product, variant_form=form)


@seller_required
@require_POST
def variant_stock(request, product_id: int, variant_id: int):
    """Set one variant's stock, only if it is still what the page showed: a sale in between is never lost."""
    variant = seller_variant_get(store=request.user.active_store, product_id=product_id, variant_id=variant_id)
    setting = request.POST.get("mode") != "adjust"
    prefix = f"stock-{variant.pk}"
    form = StockSetForm(request.POST, prefix=prefix) if setting else StockAdjustForm(request.POST, prefix=prefix)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _back_to_edit(variant.product, "variants")
    try:
        if setting:
            stock = variant_stock_set(
                variant=variant, value=form.cleaned_data["value"], expected=form.cleaned_data["expected"]
            )
        else:
            stock = variant_stock_adjust(variant=variant, delta=form.cleaned_data["delta"])
    except StockConflict as exc:
        messages.error(request, f"Stock not changed. {exc.message}")
    else:
        messages.success(request, f"Stock of {', '.join(variant.option_values) or variant.sku} is now {stock}.")
    return _back_to_edit(variant.product, "variants")


# --- Stock, visibility, deletion ------------------------------------------------------------


@seller_required
@_with_own_product
@require_POST
def product_stock(request, product: Product):
    """Either a delta ("add or remove") or a set that only applies if the stock is still what the page showed."""
    setting = request.POST.get("mode") == "set"
    form = StockSetForm(request.POST) if setting else StockAdjustForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _back_to_edit(product, "stock")
    try:
        if setting:
            stock = product_stock_set(
                product=product, value=form.cleaned_data["value"], expected=form.cleaned_data["expected"]
            )
        else:
            stock = product_stock_adjust(product=product, delta=form.cleaned_data["delta"])
    except (StockConflict, VariantRequired) as exc:
        messages.error(request, f"Stock not changed. {exc.message}")
    else:
        messages.success(request, f"Stock is now {stock}.")
    return _back_to_edit(product, "stock")


@seller_required
@_with_own_product
@require_POST
def product_toggle_active(request, product: Product):
    product_set_active(product=product, is_active=not product.is_active)
    if product.is_active:
        messages.success(request, f"“{product.title}” is active: shoppers can find and buy it.")
    else:
        messages.success(request, f"“{product.title}” is inactive: shoppers no longer see it.")
    return _back_to_edit(product)


@seller_required
@_with_own_product
def product_delete_view(request, product: Product):
    if request.method == "POST":
        title = product.title
        try:
            deleted = product_delete(product=product)
        except ProductHasOpenOrders as exc:
            messages.error(request, f"“{title}” was not deleted. {exc.message}")
            return _back_to_edit(product, "visibility")
        if deleted:
            messages.success(request, f"“{title}” has been deleted.")
        else:
            messages.warning(
                request, f"“{title}” has sales, so it was deactivated instead of deleted: its orders still need it."
            )
        return redirect("seller:products")
    return render(request, "seller/product_confirm_delete.html", {"product": product})


# --- Images ---------------------------------------------------------------------------------


@seller_required
@_with_own_product
@require_POST
def product_image_upload(request, product: Product):
    form = ImageUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _back_to_edit(product, "images")
    try:
        product_image_add(product=product, upload=form.cleaned_data["image"], alt=form.cleaned_data["alt"])
    except InvalidImage as exc:
        messages.error(request, f"Image not added. {exc.message}")
    else:
        messages.success(request, "Image added.")
    return _back_to_edit(product, "images")


@seller_required
@_with_own_image
@require_POST
def product_image_move_view(request, image):
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        messages.error(request, "Move the image up or down.")
    else:
        try:
            product_image_move(image=image, offset=offset)
        except InvalidImage:
            # An image was added or deleted at the same moment (another tab): the order read is stale.
            messages.error(request, "The images changed meanwhile. Check the order below and try again.")
        else:
            messages.success(request, "Image order saved. The first image is the one shoppers see in listings.")
    return _back_to_edit(image.product, "images")


@seller_required
@_with_own_image
@require_POST
def product_image_delete_view(request, image):
    product_image_delete(image=image)
    messages.success(request, "Image deleted.")
    return _back_to_edit(image.product, "images")


# --- CSV import and export ---------------------------------------------------------------


class _Echo:
    """A file-like object whose `write` hands back the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8 (₹, Devanagari); the import skips it.
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


@seller_required
@never_cache
def products_export(request):
    store = request.user.active_store
    response = StreamingHttpResponse(
        _csv_stream(products_export_csv_rows(store=store)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{store.slug}-products.csv"'
    return response


@seller_required
def products_import(request):
    form = ProductImportForm(request.POST or None, request.FILES or None)
    errors: list[tuple[int, str]] = []
    if request.method == "POST" and form.is_valid():
        try:
            summary = products_import_csv(store=request.user.active_store, file=form.cleaned_data["file"])
        except CsvImportFailed as exc:
            errors = exc.errors
        else:
            _flash_import_summary(request, summary)
            return redirect("seller:products")
    context = {
        "form": form,
        "errors": errors[:IMPORT_ERRORS_SHOWN],
        "error_count": len(errors),
        "errors_not_shown": max(len(errors) - IMPORT_ERRORS_SHOWN, 0),
        "max_rows": MAX_ROWS,
        "max_price": format_inr(MAX_PRICE),
        "max_stock": MAX_STOCK,
    }
    return render(request, "seller/products_import.html", context)


def _flash_import_summary(request, summary: ImportSummary) -> None:
    messages.success(
        request,
        f"Import finished: {summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged.",
    )
    if summary.stock_ignored:
        messages.info(
            request,
            f"The stock column was ignored for {summary.stock_ignored} existing variant(s): sales may have changed "
            "their stock since the export. Use add_stock to add or remove stock.",
        )
