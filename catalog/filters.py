"""Listing filters, shared by the shop pages and the API (django-filter)."""

import django_filters
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from catalog.models import Category, Product, ProductVariant

ORDERING_CHOICES = [
    ("relevance", "Relevance"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("-created_at", "Newest first"),
    ("-rating_avg", "Customer rating"),
]
MAX_SEARCH_LENGTH = 100
# pg_trgm indexes runs of three characters.
TRIGRAM_LENGTH = 3


def _has_variant_like(value: str) -> Exists:
    """A search for "XL", "Peacock Blue" or a SKU finds the products with an active variant of that option
    value or SKU (SQLite; PostgreSQL finds them in the search document)."""
    return Exists(
        ProductVariant.objects.filter(
            Q(option1__icontains=value) | Q(option2__icontains=value) | Q(option3__icontains=value)
            | Q(sku__icontains=value),
            product_id=OuterRef("pk"),
            is_active=True,
        )
    )  # fmt: skip


class StrictBooleanField(forms.NullBooleanField):
    """true or false (1 or 0), or blank for unset: anything else is refused, where Django's field would
    quietly read it as unset."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}
    widget = forms.TextInput  # hands the raw value over; Django's select would turn "null" into None

    def to_python(self, value):
        if value in (None, "") or isinstance(value, bool):
            return value if isinstance(value, bool) else None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Choose true or false.", code="invalid") from None

    def validate(self, value):
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=MAX_SEARCH_LENGTH, label="Search")
    category = django_filters.CharFilter(method="filter_category", label="Category (slug)")
    brand = django_filters.CharFilter(field_name="brand", lookup_expr="iexact")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", min_value=0, label="Min price")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", min_value=0, label="Max price")
    in_stock = StrictBooleanFilter(method="filter_in_stock", label="In stock only")
    store = django_filters.CharFilter(field_name="store__slug", label="Store (slug)")
    # Applied last (declaration order), so relevance can use the rank that `search` annotated.
    ordering = django_filters.ChoiceFilter(choices=ORDERING_CHOICES, method="filter_ordering", label="Sort by")

    class Meta:
        model = Product
        fields = ["search", "category", "brand", "min_price", "max_price", "in_stock", "store", "ordering"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if connection.vendor == "postgresql":
            return self._search_postgres(queryset, value)
        return queryset.filter(
            Q(title__icontains=value)
            | Q(brand__icontains=value)
            | Q(description__icontains=value)
            | _has_variant_like(value)
        )

    @staticmethod
    def _search_postgres(queryset, value):
        """Full text (the GIN index on `search_vector`), or part of a title (the GIN trigram index on it).

        The document holds option values and SKUs word for word (`simple`), so the query is tried under
        both configurations: "S" is a stop word in english. A term shorter than a trigram cannot be looked
        up in the title's trigrams, and one or two letters are inside nearly every title: such a term
        matches the words that start with it instead ("s" finds "Silk" and a size "S", not "Glass").
        """
        query = SearchQuery(value, search_type="websearch", config="english") | SearchQuery(
            value, search_type="websearch", config="simple"
        )
        prefix = "".join(character for character in value if character.isalnum())
        if len(value) >= TRIGRAM_LENGTH or not prefix:
            found = Q(search_vector=query) | Q(title__icontains=value)
        else:
            query |= SearchQuery(f"{prefix}:*", search_type="raw", config="simple")
            found = Q(search_vector=query)
        return queryset.filter(found).annotate(rank=SearchRank(F("search_vector"), query))

    def filter_category(self, queryset, name, value):
        """A top-level category lists its sub-categories' products too: those whose `top_category` it is, one
        index range in price order. The category's id is read first, so the planner knows how many rows that is
        (with a search, it then intersects that range with the search's indexes)."""
        category = Category.objects.filter(slug=value).values("pk", "parent_id").first()
        if category is None:
            return queryset.none()
        if category["parent_id"] is None:
            return queryset.filter(top_category_id=category["pk"])
        # A sub-category's products are found through `category_id` and its indexes.
        shelves = Category.objects.filter(Q(pk=category["pk"]) | Q(parent_id=category["pk"])).values("pk")
        return queryset.filter(category__in=shelves)

    def filter_in_stock(self, queryset, name, value):
        return queryset.filter(stock__gt=0) if value else queryset

    def filter_ordering(self, queryset, name, value):
        if value == "relevance":
            if "rank" in queryset.query.annotations:
                return queryset.order_by("-rank", "-id")
            return queryset.order_by("-created_at", "-id")
        return queryset.order_by(value, "-id")

    @property
    def qs(self):
        products = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("ordering"):
            # No explicit sort: searches by relevance, browsing newest first.
            products = self.filter_ordering(products, "ordering", "relevance")
        return products
