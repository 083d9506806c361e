"""The product page and the API's product detail for a product with options and variants."""

import json
import re
from decimal import Decimal

import pytest

from catalog.models import ProductVariant
from catalog.services.summary import product_summary_refresh
from tests.catalog.variant_helpers import image, kurta, variant, variant_product
from tests.factories import ProductFactory, only_variant, variant_update

pytestmark = pytest.mark.django_db


def page(client, slug: str = "kurta", **params) -> str:
    response = client.get(f"/products/{slug}/", params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def posted_variant_id(html: str) -> str:
    return re.search(r'name="variant_id" value="([^"]*)"', html).group(1)


def buy_form_visible(html: str) -> bool:
    form = re.search(r"<form[^>]*data-buy-form[^>]*>", html)
    return form is not None and " hidden" not in form.group(0)


def option_labels(html: str, param: str) -> dict[str, str]:
    """The picker's options of one select: value -> label as shown."""
    select = re.search(rf'<select id="pick-{param}".*?</select>', html, re.S).group(0)
    return {value: label for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)}


class TestChosenVariant:
    def test_default_is_the_cheapest_active_variant_in_stock(self, client):
        product = kurta()
        html = page(client)
        assert posted_variant_id(html) == str(variant(product, "S", "Blue").pk)
        assert "₹899.00" in html and "MRP ₹1,000.00" in html and "10% off" in html
        assert "Only 4 left" in html and "K-S-BLUE" in html
        assert buy_form_visible(html)

    def test_a_variants_url_shows_its_price_mrp_discount_stock_and_sku(self, client):
        product = kurta()
        large_red = variant(product, "L", "Red")
        html = page(client, variant=large_red.pk)
        assert posted_variant_id(html) == str(large_red.pk)
        assert "₹1,299.00" in html and "MRP ₹2,598.00" in html and "50% off" in html
        assert "Only 2 left" in html and "K-L-RED" in html
        # The cart form brings the shopper back to this variant.
        assert f'name="next" value="/products/kurta/?variant={large_red.pk}"' in html

    def test_a_sold_out_variant_says_so_and_offers_no_visible_cart_form(self, client):
        product = kurta()
        html = page(client, variant=variant(product, "M", "Blue").pk)
        assert 'data-testid="stock-status" data-variant-stock>Out of stock' in html
        assert not buy_form_visible(html)
        assert "Not available in this option" in html

    def test_the_main_image_follows_the_variant(self, client):
        product = kurta()
        image(product, "front")
        blue = image(product, "blue")
        variant_update(variant(product, "S", "Blue"), image=blue)
        main = re.compile(r'<img src="([^"]+)" alt="[^"]*" class="main-image"')
        assert main.search(page(client)).group(1).endswith("/blue.jpg")
        assert main.search(page(client, variant=variant(product, "M", "Red").pk)).group(1).endswith("/front.jpg")

    @pytest.mark.parametrize("junk", ["999999", "abc", "-1", "1e3", "99999999999999999999999", ""])
    def test_an_unknown_or_malformed_variant_shows_the_default(self, client, junk):
        product = kurta()
        assert posted_variant_id(page(client, variant=junk)) == str(variant(product, "S", "Blue").pk)

    def test_an_inactive_or_another_products_variant_shows_the_default(self, client):
        product = kurta()
        other = ProductFactory(slug="other")
        default = str(variant(product, "S", "Blue").pk)
        assert posted_variant_id(page(client, variant=variant(product, "S", "Red").pk)) == default
        assert posted_variant_id(page(client, variant=only_variant(other).pk)) == default

    def test_with_every_variant_sold_out_there_is_no_cart_form(self, client):
        product = kurta()
        ProductVariant.objects.filter(product=product).update(stock=0)
        product_summary_refresh(product_ids=[product.pk])
        html = page(client)
        assert 'data-testid="add-to-cart"' not in html
        assert "Out of stock" in html

    def test_a_product_without_options_has_no_picker_and_still_posts_its_variant(self, client):
        product = ProductFactory(slug="plain")
        html = page(client, "plain")
        assert 'data-testid="variant-picker"' not in html and 'id="variant-data"' not in html
        assert posted_variant_id(html) == str(only_variant(product).pk)
        assert 'name="next" value="/products/plain/"' in html


class TestPickerWithoutJavaScript:
    def test_option_values_redirect_to_their_variants_url(self, client):
        product = kurta()
        response = client.get("/products/kurta/", {"option1": "M", "option2": "Red"})
        assert response.status_code == 302
        assert response["Location"] == f"/products/kurta/?variant={variant(product, 'M', 'Red').pk}"

    def test_a_sold_out_combination_redirects_to_it_too(self, client):
        product = kurta()
        response = client.get("/products/kurta/", {"option1": "M", "option2": "Blue"})
        assert response["Location"] == f"/products/kurta/?variant={variant(product, 'M', 'Blue').pk}"

    @pytest.mark.parametrize(("size", "colour"), [("L", "Blue"), ("S", "Red"), ("XXL", "Red"), ("M", "")])
    def test_a_combination_not_for_sale_is_shown_as_such(self, client, size, colour):
        # (L, Blue) was never made, (S, Red) is inactive, XXL is no size, and a half choice is no variant.
        kurta()
        html = page(client, option1=size, option2=colour)
        assert "This combination is not available" in html
        assert not buy_form_visible(html)
        assert posted_variant_id(html) == ""

    def test_each_value_is_labelled_with_what_picking_it_would_give(self, client):
        product = kurta()
        html = page(client, variant=variant(product, "M", "Red").pk)
        # Keeping Red: S Red is inactive, L Red is in stock.
        assert option_labels(html, "option1") == {"S": "S (unavailable)", "M": "M", "L": "L"}
        # Keeping M: M Blue is sold out.
        assert option_labels(html, "option2") == {"Red": "Red", "Blue": "Blue (sold out)"}
        assert re.search(r'<option value="M" selected', html) and re.search(r'<option value="Red" selected', html)

    def test_a_value_no_active_variant_has_is_disabled(self, client):
        variant_product(
            slug="tee",
            options={"Size": ["S", "M", "XL"]},
            variants=[{"sku": "T-S", "option1": "S"}, {"sku": "T-XL", "option1": "XL", "is_active": False}],
        )
        html = page(client, "tee")
        assert re.search(r'<option value="XL"[^>]* disabled', html)
        assert not re.search(r'<option value="S"[^>]* disabled', html)


class TestProgressiveEnhancement:
    def test_variants_travel_as_json_for_the_script(self, client):
        product = kurta()
        large_red = variant(product, "L", "Red")
        html = page(client)
        blob = json.loads(re.search(r'<script id="variant-data" type="application/json">(.*?)</script>', html).group(1))
        by_id = {row["id"]: row for row in blob["variants"]}
        assert set(by_id) == set(product.variants.filter(is_active=True).values_list("pk", flat=True))
        assert by_id[large_red.pk] == {
            "id": large_red.pk, "sku": "K-L-RED", "options": ["L", "Red"], "price": "₹1,299.00",
            "mrp": "₹2,598.00", "discount_percent": 50, "stock": 2, "low_stock": True, "image": "", "image_alt": "",
        }  # fmt: skip

    def test_no_inline_script_runs_under_the_content_security_policy(self, client):
        kurta()
        response = client.get("/products/kurta/")
        assert "script-src 'self'" in response["Content-Security-Policy"]
        scripts = re.findall(r"<script([^>]*)>", response.content.decode())
        assert scripts and all('src="/static/' in attrs or 'type="application/json"' in attrs for attrs in scripts)
        assert any("js/variant-picker.js" in attrs for attrs in scripts)

    def test_user_text_in_option_values_is_escaped(self, client):
        variant_product(
            slug="xss",
            options={"Size": ["<b>M</b>", "</script><script>bad()</script>"]},
            variants=[
                {"sku": "X-1", "option1": "<b>M</b>"},
                {"sku": "X-2", "option1": "</script><script>bad()</script>"},
            ],
        )
        html = page(client, "xss")
        assert "<script>bad()" not in html and "<b>M</b>" not in html


class TestApiDetail:
    def test_options_and_active_variants(self, client):
        product = kurta()
        blue = image(product, "blue")
        variant_update(variant(product, "S", "Blue"), image=blue)
        data = client.get(f"/api/v1/products/{product.pk}/").json()
        assert data["options"] == [
            {"name": "Size", "values": ["S", "M", "L"]},
            {"name": "Colour", "values": ["Red", "Blue"]},
        ]
        by_sku = {row["sku"]: row for row in data["variants"]}
        assert set(by_sku) == {"K-S-BLUE", "K-M-RED", "K-M-BLUE", "K-L-RED"}  # not the inactive K-S-RED
        assert by_sku["K-L-RED"] | {"id": None} == {
            "id": None, "sku": "K-L-RED", "options": ["L", "Red"], "price": "1299.00", "mrp": "2598.00",
            "discount_percent": 50, "in_stock": True, "stock": 2, "image": None,
        }  # fmt: skip
        assert by_sku["K-M-BLUE"]["in_stock"] is False
        assert by_sku["K-S-BLUE"]["image"]["url"].endswith("/blue.jpg")
        assert data["price"] == "899.00" and data["price_max"] == "1299.00" and data["variant_count"] == 4
        assert data["stock"] == 4 + 12 + 2 and data["mrp"] == "1000.00" and data["discount_percent"] == 10
        assert "sku" not in data

    def test_a_product_without_options(self, client):
        product = ProductFactory(sku="ONE-1", price=Decimal("250.00"))
        data = client.get(f"/api/v1/products/{product.pk}/").json()
        assert data["options"] == []
        assert [(row["sku"], row["options"], row["price"]) for row in data["variants"]] == [("ONE-1", [], "250.00")]
        assert data["variant_count"] == 1 and data["price_max"] == data["price"] == "250.00"


class TestQueryBudget:
    def test_product_page_and_api_detail_stay_flat_as_variants_grow(self, client, assert_flat_query_count):
        product = kurta()
        sizes = [f"W{n}" for n in range(30)]

        def add_variants():
            product.options.filter(position=1).update(values=["S", "M", "L", *sizes])
            for size in sizes:
                for colour in ("Red", "Blue"):
                    ProductVariant.objects.create(
                        product=product, sku=f"K-{size}-{colour}", option1=size, option2=colour, price=Decimal("999")
                    )

        for path in (f"/products/{product.slug}/", f"/api/v1/products/{product.pk}/"):
            assert_flat_query_count(lambda path=path: client.get(path), add_variants, max_queries=8)
            ProductVariant.objects.filter(option1__in=sizes).delete()
