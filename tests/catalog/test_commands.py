"""`manage.py import_products`: the same service as the seller portal's import page."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Product
from tests.factories import CategoryFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    CategoryFactory(name="Sarees", slug="sarees")
    return StoreFactory(name="Kanchi Looms", slug="kanchi-looms")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_products", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_and_prints_the_summary(store, tmp_path):
    ProductFactory(store=store, slug="silk", sku="SILK-1", category__slug="sarees", stock=4)
    path = tmp_path / "products.csv"
    path.write_text(
        "handle,sku,title,category,price,stock,add_stock\nsilk,SILK-1,Silk,sarees,999,,2\nnew,NEW-1,New,sarees,10,5,\n"
    )

    out, _ = run("--store", "kanchi-looms", str(path))

    assert "Kanchi Looms: created 1, updated 1, unchanged 0." in out
    assert dict(Product.objects.values_list("slug", "stock")) == {"silk": 6, "new": 5}


def test_a_bad_file_prints_each_line_and_fails_without_importing(store, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "handle,sku,title,category,price\nok,OK-1,Fine,sarees,10\nb1,BAD-1,,sarees,10\nb2,BAD-2,Bad,shoes,0\n"
    )
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 3 problem") as failed:
        call_command("import_products", "--store", "kanchi-looms", str(path), stdout=StringIO(), stderr=err)

    assert failed.value.returncode == 1  # manage.py exits with it
    assert err.getvalue().splitlines() == [
        "line 3: title: required.",
        "line 4: category: no category has the slug “shoes”.",
        "line 4: price: the price must be above ₹0.",
    ]
    assert not Product.objects.exists()


def test_an_unknown_store_or_missing_file_is_a_command_error(store, tmp_path):
    with pytest.raises(CommandError, match="No store has the slug 'nope'"):
        run("--store", "nope", str(tmp_path / "products.csv"))
    with pytest.raises(CommandError, match="Cannot read"):
        run("--store", "kanchi-looms", str(tmp_path / "missing.csv"))
