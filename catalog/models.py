from decimal import Decimal

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
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


class Category(models.Model):
    """A shelf of the shop. One level of sub-categories: a parent never has a parent."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=90, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name


class Product(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True, max_length=MAX_DESCRIPTION_LENGTH)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=MAX_BRAND_LENGTH, blank=True, db_index=True)
    sku = models.CharField("SKU", max_length=MAX_SKU_LENGTH, validators=[validate_sku])
    price = models.DecimalField(validators=[validate_price], **MONEY)
    mrp = models.DecimalField("MRP", null=True, blank=True, validators=[validate_mrp], **MONEY)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.00"))
    rating_count = models.PositiveIntegerField(default=0)
    # Filled by the services on PostgreSQL (weighted title > brand > description); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), name="catalog_product_sku_ci_unique"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="catalog_product_price_positive"),
            models.CheckConstraint(
                condition=models.Q(mrp__isnull=True) | models.Q(mrp__gte=models.F("price")),
                name="catalog_product_mrp_at_least_price",
            ),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="catalog_product_stock_not_negative"),
        ]
        indexes = [
            models.Index(fields=["is_active", "category", "price"], name="catalog_prod_active_cat_price"),
            models.Index(fields=["store", "is_active"], name="catalog_prod_store_active"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """The admin's form shows the MRP rule beside the MRP, in the words every other door uses."""
        try:
            validate_mrp_not_below_price(price=self.price, mrp=self.mrp)
        except ValidationError as exc:
            raise ValidationError({"mrp": exc}) from exc

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.stock <= LOW_STOCK_THRESHOLD

    @property
    def discount_percent(self) -> int:
        """Whole percent off the MRP, rounded down so we never overstate a discount."""
        if not self.mrp or self.mrp <= self.price:
            return 0
        return int((self.mrp - self.price) * 100 // self.mrp)


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
