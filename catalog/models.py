from decimal import Decimal

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower

from accounts.models import Store
from catalog.validators import validate_mrp, validate_mrp_not_below_price, validate_price, validate_sku
from joycart.money import PAISA

MONEY = {"max_digits": 12, "decimal_places": 2}
# The largest amount a MONEY column stores (9,999,999,999.99): checkout refuses an order above it.
MAX_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - PAISA
LOW_STOCK_THRESHOLD = 5
# How long a product's texts may be: the columns, and so the seller form, the API and the CSV import.
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000
MAX_BRAND_LENGTH = 80
MAX_SKU_LENGTH = 64
MAX_ALT_LENGTH = 200
DEFAULT_RETURN_WINDOW_DAYS = 7
MAX_RETURN_WINDOW_DAYS = 90
MAX_OPTIONS = 3
MAX_OPTION_NAME_LENGTH = 40
MAX_OPTION_VALUE_LENGTH = 60
# Enough for 10 sizes x 10 colours; keeps the product page's picker and the seller's grid one screen.
MAX_VARIANTS = 100


class Category(models.Model):
    """A shelf of the shop. One level of sub-categories: a parent never has a parent."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=90, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    # Days after delivery a buyer may return an item; 0 is not returnable; blank inherits the parent's
    # (and a top-level category's blank is DEFAULT_RETURN_WINDOW_DAYS).
    return_window_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_RETURN_WINDOW_DAYS)]
    )

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name

    def save(self, *args, **kwargs) -> None:
        # A re-parented category moves its products to its new parent's page in the same transaction.
        with transaction.atomic():
            super().save(*args, **kwargs)
            Product.objects.filter(category_id=self.pk).exclude(top_category_id=self.top_category_id).update(
                top_category_id=self.top_category_id
            )

    def clean(self) -> None:
        super().clean()
        if self.parent_id is None:
            return
        if self.parent_id == self.pk or (self.parent is not None and self.parent.parent_id is not None):
            raise ValidationError({"parent": "Choose a top-level category: sub-categories have no sub-categories."})
        if self.pk is not None and Category.objects.filter(parent_id=self.pk).exists():
            raise ValidationError({"parent": "This category has sub-categories, so it must stay top-level."})

    @property
    def top_category_id(self) -> int:
        """The top-level category whose page lists this one's products: its parent, else itself."""
        return self.parent_id or self.pk

    @property
    def effective_return_window_days(self) -> int:
        """Its own window, else its parent's, else the default (the parent must be loaded)."""
        if self.return_window_days is not None:
            return self.return_window_days
        if self.parent_id and self.parent.return_window_days is not None:
            return self.parent.return_window_days
        return DEFAULT_RETURN_WINDOW_DAYS


class StockAndPrice:
    """What a product's summary and a variant both say of their `stock`, `price` and `mrp`."""

    stock: int
    price: Decimal
    mrp: Decimal | None

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.stock <= LOW_STOCK_THRESHOLD

    @property
    def discount_percent(self) -> int:
        """Whole percent off the MRP, rounded down so we never overstate a discount."""
        return discount_percent(price=self.price, mrp=self.mrp)


class ProductQuerySet(models.QuerySet):
    """Writes in bulk keep `top_category` with `category`, as `Product.save` does."""

    @staticmethod
    def _top_categories_set(products: list["Product"]) -> None:
        categories = Category.objects.only("parent_id").in_bulk({product.category_id for product in products})
        for product in products:
            product.top_category_id = categories[product.category_id].top_category_id

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        self._top_categories_set(objs)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if "category" in fields or "category_id" in fields:
            self._top_categories_set(objs)
            fields = [*fields, "top_category"]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        moves = {"category", "category_id"} & set(kwargs)
        if moves and not {"top_category", "top_category_id"} & set(kwargs):
            category = kwargs.pop(moves.pop())
            if not isinstance(category, Category | int):
                raise ValueError("an update that moves products to a category computed in SQL sets top_category too")
            if not isinstance(category, Category):
                category = Category.objects.get(pk=category)
            kwargs.update(category=category, top_category_id=category.top_category_id)
        return super().update(**kwargs)

    update.alters_data = True


class Product(StockAndPrice, models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True, max_length=MAX_DESCRIPTION_LENGTH)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    # Kept equal to `category.top_category_id` by every write (`save`, `ProductQuerySet`, `Category.save`), so a
    # top-level category's page walks one index in price order where its shelves' rows would all be read and sorted.
    top_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    brand = models.CharField(max_length=MAX_BRAND_LENGTH, blank=True, db_index=True)
    # A summary of the variants, written only by `catalog.services.variants.product_summary_refresh`,
    # so the listing filters, sorts and indexes on one row per product: the cheapest active
    # variant's price and MRP, the dearest's price, and the stock of all active variants.
    price = models.DecimalField("from price", editable=False, **MONEY)
    price_max = models.DecimalField("up to price", editable=False, **MONEY)
    mrp = models.DecimalField("MRP", null=True, blank=True, editable=False, **MONEY)
    stock = models.PositiveIntegerField("stock of all variants", default=0, editable=False)
    is_active = models.BooleanField(default=True)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.00"))
    rating_count = models.PositiveIntegerField(default=0)
    # Filled by the services on PostgreSQL (weighted title > brand > description); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="catalog_product_price_positive"),
            models.CheckConstraint(
                condition=models.Q(price_max__gte=models.F("price")), name="catalog_product_price_range"
            ),
            models.CheckConstraint(
                condition=models.Q(mrp__isnull=True) | models.Q(mrp__gte=models.F("price")),
                name="catalog_product_mrp_at_least_price",
            ),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="catalog_product_stock_not_negative"),
        ]
        # Each shopper listing walks an index in its sort order and stops after a page (newest first walks
        # `created_at`'s). Shoppers see only active products: the partial indexes leave the others out.
        # The search's GIN indexes (full text; trigrams of titles and SKUs) are made on PostgreSQL only,
        # by migrations.
        indexes = [
            models.Index(fields=["is_active", "category", "price"], name="catalog_prod_active_cat_price"),
            models.Index(fields=["store", "is_active"], name="catalog_prod_store_active"),
            models.Index(fields=["price", "id"], condition=models.Q(is_active=True), name="catalog_prod_by_price"),
            # The brands filter reads this index alone, in brand order, never the table.
            models.Index(
                fields=["brand", "store"], condition=models.Q(is_active=True), name="catalog_prod_brand_store"
            ),
            # The seller's list: their products, last edited first.
            models.Index(fields=["store", "updated_at", "id"], name="catalog_prod_store_updated"),
            # A top-level category's page by price, and with a search, the shelf side of its bitmap.
            models.Index(
                fields=["top_category", "price", "id"],
                condition=models.Q(is_active=True),
                name="catalog_prod_top_price",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "category" in update_fields or "category_id" in update_fields:
            self.top_category_id = self.category.top_category_id
            if update_fields is not None:
                kwargs["update_fields"] = [*update_fields, "top_category"]
        super().save(*args, **kwargs)

    @property
    def has_price_range(self) -> bool:
        """Whether the listing says "from ₹price": the active variants do not all cost the same."""
        return self.price_max > self.price


def discount_percent(*, price: Decimal, mrp: Decimal | None) -> int:
    """Whole percent off the MRP, rounded down so we never overstate a discount."""
    if not mrp or mrp <= price:
        return 0
    return int((mrp - price) * 100 // mrp)


class ProductOption(models.Model):
    """One of a product's up to three options ("Size", "Colour"), with its values in the order shown.

    Variant `n` holds its value of the option at `position` n in `ProductVariant.option<n>`.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=MAX_OPTION_NAME_LENGTH)
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["product", "position"], name="catalog_option_one_per_position"),
            models.UniqueConstraint("product", Lower("name"), name="catalog_option_name_unique"),
            models.CheckConstraint(
                condition=models.Q(position__gte=1, position__lte=MAX_OPTIONS), name="catalog_option_position_1_to_3"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductVariant(StockAndPrice, models.Model):
    """What a shopper buys: one combination of a product's option values, with its own SKU, price and stock.

    A product without options has exactly one variant, whose option values are all blank.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=MAX_SKU_LENGTH, validators=[validate_sku])
    option1 = models.CharField(max_length=MAX_OPTION_VALUE_LENGTH, blank=True, default="")
    option2 = models.CharField(max_length=MAX_OPTION_VALUE_LENGTH, blank=True, default="")
    option3 = models.CharField(max_length=MAX_OPTION_VALUE_LENGTH, blank=True, default="")
    price = models.DecimalField(validators=[validate_price], **MONEY)
    mrp = models.DecimalField("MRP", null=True, blank=True, validators=[validate_mrp], **MONEY)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    image = models.ForeignKey("ProductImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), name="catalog_variant_sku_ci_unique"),
            models.UniqueConstraint(
                fields=["product", "option1", "option2", "option3"], name="catalog_variant_one_per_combination"
            ),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="catalog_variant_price_positive"),
            models.CheckConstraint(
                condition=models.Q(mrp__isnull=True) | models.Q(mrp__gte=models.F("price")),
                name="catalog_variant_mrp_at_least_price",
            ),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="catalog_variant_stock_not_negative"),
        ]
        indexes = [models.Index(fields=["product", "is_active", "price"], name="catalog_variant_prod_act_price")]

    def __str__(self) -> str:
        values = self.option_values
        return f"{self.product.title} ({', '.join(values)})" if values else self.product.title

    def clean(self) -> None:
        """The admin's form shows the MRP rule beside the MRP, in the words every other door uses."""
        try:
            validate_mrp_not_below_price(price=self.price, mrp=self.mrp)
        except ValidationError as exc:
            raise ValidationError({"mrp": exc}) from exc

    @property
    def option_values(self) -> tuple[str, ...]:
        """This variant's values, in the product's option order; empty for a product without options."""
        return tuple(value for value in (self.option1, self.option2, self.option3) if value)


def variant_label(*, option_names: list[str], variant: ProductVariant) -> str:
    """ "Size: XL, Colour: Blue": what an order item keeps of its variant; blank without options."""
    return ", ".join(f"{name}: {value}" for name, value in zip(option_names, variant.option_values, strict=False))


def product_image_path(instance: "ProductImage", filename: str) -> str:
    return f"products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=product_image_path, max_length=255)
    thumbnail = models.ImageField(upload_to=product_image_path, max_length=255)
    alt = models.CharField(max_length=MAX_ALT_LENGTH, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt or f"Image {self.position} of {self.product}"
