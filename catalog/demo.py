"""The demo catalog that `seed_demo` loads: categories, about 120 products in the two demo
stores, and a drawn placeholder picture for each (Pillow only, no downloads).

Products go through `product_create` and `product_image_add`, exactly as a seller's would, so
slugs, search vectors, thumbnails and the listing cache follow the same rules as real data.
Everything is derived from `random.Random(2026)`, so every machine gets the same shop.
"""

import random
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from accounts.models import Store
from catalog.models import Category, Product, ProductImage
from catalog.services.images import product_image_add
from catalog.services.products import product_create

DEMO_SEED = 2026
OUT_OF_STOCK_COUNT = 8
LOW_STOCK_COUNT = 6
IMAGE_SIZE = 600


@dataclass(frozen=True)
class DemoCategory:
    name: str
    slug: str
    colour: str  # the background of its products' placeholder pictures
    description: str
    parent: str = ""  # the parent's slug; a parent never has a parent


DEMO_CATEGORIES = [
    DemoCategory("Clothing", "clothing", "#8e3b46", "Handloom sarees, kurtas and everyday wear."),
    DemoCategory("Sarees", "sarees", "#a4343a", "Silk and cotton sarees from India's weaving towns.", "clothing"),
    DemoCategory("Kurtas", "kurtas", "#b5654a", "Cotton, linen and silk kurtas for every day.", "clothing"),
    DemoCategory("Electronics", "electronics", "#2f4b7c", "Gadgets and accessories for work and play."),
    DemoCategory(
        "Mobile accessories", "mobile-accessories", "#3b6ea5", "Chargers, cables, cases and power banks.", "electronics"
    ),
    DemoCategory("Audio", "audio", "#4a4e9c", "Earbuds, headphones and speakers.", "electronics"),
    DemoCategory("Home & Kitchen", "home-kitchen", "#2e7d6b", "Cookware, copper and brass, and bedding."),
    DemoCategory("Books", "books", "#6b4f2a", "Fiction, cookery and children's books from Indian writers."),
    DemoCategory("Handicrafts", "handicrafts", "#b07d1f", "Hand-made craft from artisans across India."),
    DemoCategory("Beauty", "beauty", "#a8467d", "Ayurvedic skin, hair and body care."),
    DemoCategory("Toys", "toys", "#d1603d", "Wooden toys, board games and puzzles."),
    DemoCategory("Grocery", "grocery", "#5f7f2c", "Spices, tea, rice and pantry staples."),
]
CATEGORY_COLOURS = {category.slug: category.colour for category in DEMO_CATEGORIES}


@dataclass(frozen=True)
class ProductLine:
    """One kind of product; a shelf's variants (colours, sizes) turn it into several products."""

    noun: str
    low: int  # price range, whole rupees
    high: int
    blurb: str


@dataclass(frozen=True)
class DemoShelf:
    """The products of one category in one demo store."""

    category: str
    seller: str  # the demo seller's username
    code: str  # the category part of the SKU, e.g. PH-SAR-001
    brands: tuple[str, ...]
    variants: tuple[str, ...]
    lines: tuple[ProductLine, ...]
    count: int
    brand_in_title: bool = True


PRIYA = "priya_crafts"
RAVI = "ravi_gadgets"
SKU_PREFIX = {PRIYA: "PH", RAVI: "RG"}

DEMO_SHELVES = [
    DemoShelf(
        "sarees",
        PRIYA,
        "SAR",
        ("Kanchi Weaves", "Varanasi Looms", "Desi Drape"),
        ("Maroon", "Mustard Yellow", "Peacock Blue", "Bottle Green", "Rani Pink", "Off-White"),
        (
            ProductLine(
                "Kanjeevaram Pure Silk Saree with Zari Border",
                8999,
                24999,
                "Woven on a pit loom in Kanchipuram with a contrast pallu and temple border.",
            ),
            ProductLine(
                "Banarasi Silk Saree with Blouse Piece",
                4999,
                14999,
                "Fine brocade buttas in antique zari, woven in Varanasi.",
            ),
            ProductLine(
                "Chanderi Cotton Silk Saree",
                1999,
                4499,
                "Light and sheer, with small coin buttas: an easy drape for summer.",
            ),
            ProductLine(
                "Pochampally Ikat Cotton Saree",
                1799,
                3999,
                "Double ikat from Telangana, dyed thread by thread before weaving.",
            ),
            ProductLine(
                "Mysore Crepe Silk Saree",
                3499,
                7999,
                "Soft crepe silk with a gold zari border that falls beautifully.",
            ),
            ProductLine(
                "Bengal Tant Handloom Saree",
                899,
                2499,
                "Crisp cotton tant from Shantipur, cool for everyday wear.",
            ),
        ),
        14,
    ),
    DemoShelf(
        "kurtas",
        PRIYA,
        "KUR",
        ("Jaipur Threads", "Khadi Gram", "Desi Drape"),
        ("S", "M", "L", "XL", "XXL"),
        (
            ProductLine(
                "Men's Khadi Cotton Kurta, Indigo",
                799,
                1999,
                "Hand-spun khadi that gets softer with every wash.",
            ),
            ProductLine(
                "Women's Block Print Anarkali Kurta",
                999,
                2999,
                "Hand block printed in Sanganer with natural dyes.",
            ),
            ProductLine(
                "Men's Linen Blend Short Kurta, Sage",
                899,
                1799,
                "A breathable linen blend with a mandarin collar.",
            ),
            ProductLine(
                "Women's Chikankari Straight Kurta, White",
                1299,
                3499,
                "Lucknowi shadow-work embroidery on soft mulmul cotton.",
            ),
            ProductLine(
                "Women's Kalamkari A-line Kurta",
                899,
                2299,
                "Pen-drawn Kalamkari motifs from Srikalahasti.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "handicrafts",
        PRIYA,
        "HND",
        ("Kala Haat", "Desi Karigar", "Shilpi Crafts"),
        ("Small", "Medium", "Large"),
        (
            ProductLine(
                "Dhokra Brass Tribal Figurine",
                699,
                3499,
                "Lost-wax cast by Bastar artisans; no two pieces are alike.",
            ),
            ProductLine(
                "Madhubani Painting on Handmade Paper",
                999,
                5999,
                "Painted by hand in Mithila with natural pigments.",
            ),
            ProductLine(
                "Blue Pottery Flower Vase",
                599,
                1999,
                "Quartz-based Jaipur blue pottery, glazed and kiln-fired.",
            ),
            ProductLine(
                "Kutch Mirror Work Wall Hanging",
                449,
                1499,
                "Colourful thread and mirror embroidery from Kutch.",
            ),
            ProductLine(
                "Sheesham Wood Carved Elephant",
                549,
                2499,
                "Hand-carved from seasoned sheesham and hand-polished.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "home-kitchen",
        PRIYA,
        "HOM",
        ("Rasoi Ghar", "Tamra Living", "Sutra Home"),
        ("Classic", "Hammered", "Festive", "Everyday"),
        (
            ProductLine(
                "Pure Copper Water Bottle, 1 L",
                499,
                1299,
                "Leak-proof pure copper; store water overnight the traditional way.",
            ),
            ProductLine(
                "Cast Iron Dosa Tawa, 12 inch",
                899,
                1999,
                "Pre-seasoned cast iron that only gets better with use.",
            ),
            ProductLine(
                "Brass Pooja Thali Set",
                799,
                2999,
                "A thali with diya, bell and kumkum holder in polished brass.",
            ),
            ProductLine(
                "Jaipuri Cotton Double Bedsheet with 2 Pillow Covers",
                699,
                1799,
                "Hand block printed 180 thread count cotton.",
            ),
            ProductLine(
                "Stainless Steel Masala Dabba",
                449,
                1199,
                "Seven spice bowls and a spoon under a see-through lid.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "beauty",
        PRIYA,
        "BEA",
        ("Ayurveda Gram", "Kumkumadi Naturals", "Vana Botanicals"),
        ("50 ml", "100 ml", "200 ml"),
        (
            ProductLine(
                "Kumkumadi Face Oil",
                599,
                1899,
                "Saffron and sixteen herbs in a light sesame oil base.",
            ),
            ProductLine(
                "Bhringraj Hair Oil",
                249,
                699,
                "Cold-pressed coconut oil infused with bhringraj and amla.",
            ),
            ProductLine(
                "Ubtan Face Pack",
                199,
                599,
                "Besan, turmeric and sandalwood, the way grandmothers made it.",
            ),
            ProductLine(
                "Rose Water Toner",
                149,
                449,
                "Steam-distilled Kannauj rose water, nothing added.",
            ),
            ProductLine(
                "Neem and Tulsi Face Wash",
                179,
                399,
                "A gentle, soap-free wash for oily skin.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "grocery",
        PRIYA,
        "GRO",
        ("Kerala Spice Co.", "Assam Tea Estates", "Organic Gaon"),
        ("250 g", "500 g", "1 kg"),
        (
            ProductLine(
                "Masala Chai Blend",
                149,
                549,
                "Strong Assam CTC with cardamom, ginger, clove and cinnamon.",
            ),
            ProductLine(
                "Malabar Black Pepper, Whole",
                199,
                899,
                "Bold, sun-dried peppercorns from the Western Ghats.",
            ),
            ProductLine(
                "Aged Basmati Rice",
                179,
                799,
                "Long-grain basmati aged for two years for a fluffy biryani.",
            ),
            ProductLine(
                "Cold-Pressed Groundnut Oil",
                229,
                899,
                "Wood-pressed (kachi ghani) and unrefined.",
            ),
            ProductLine(
                "Kashmiri Red Chilli Powder",
                149,
                599,
                "Deep colour with gentle heat.",
            ),
        ),
        10,
    ),
    DemoShelf(
        "mobile-accessories",
        RAVI,
        "MOB",
        ("Chargit", "VoltEdge", "Zentra"),
        ("Black", "White", "Blue", "Grey"),
        (
            ProductLine(
                "20000 mAh Power Bank with 22.5 W Fast Charging",
                1299,
                2999,
                "Charges a phone four times over; USB-C in and out.",
            ),
            ProductLine(
                "65 W GaN USB-C Charger",
                1499,
                3499,
                "Small enough for a pocket, fast enough for a laptop; BIS certified.",
            ),
            ProductLine(
                "Braided USB-C to USB-C Cable, 1.5 m",
                249,
                699,
                "Nylon braided and tested for 20,000 bends.",
            ),
            ProductLine(
                "Shockproof Phone Case",
                199,
                599,
                "Raised edges protect the camera and screen.",
            ),
            ProductLine(
                "Magnetic Car Phone Mount",
                349,
                999,
                "Holds steady on Indian roads; fits any AC vent.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "audio",
        RAVI,
        "AUD",
        ("SwarBeat", "Zentra", "Taal Audio"),
        ("Midnight Black", "Pearl White", "Ocean Blue"),
        (
            ProductLine(
                "True Wireless Earbuds with ENC",
                999,
                3499,
                "Up to 40 hours of playback with the case and clear calls in traffic.",
            ),
            ProductLine(
                "Over-Ear Bluetooth Headphones",
                1999,
                5999,
                "Active noise cancellation and 30 hours on a charge.",
            ),
            ProductLine(
                "Portable Bluetooth Speaker, 20 W",
                1499,
                4999,
                "IPX7 water resistant, for the terrace and the beach.",
            ),
            ProductLine(
                "Wireless Soundbar with Subwoofer, 160 W",
                7999,
                14999,
                "Cinema sound for the living room, with HDMI ARC.",
            ),
            ProductLine(
                "Wired Earphones with Mic",
                299,
                799,
                "Tangle-free flat cable and in-line controls.",
            ),
        ),
        12,
    ),
    DemoShelf(
        "books",
        RAVI,
        "BOK",
        ("Banyan Books", "Saraswati Press", "Monsoon House"),
        ("Paperback", "Hardcover"),
        (
            ProductLine(
                "Monsoon Over Malgudi: Stories",
                249,
                699,
                "Twelve gentle stories of a small South Indian town.",
            ),
            ProductLine(
                "The Spice Route Cookbook",
                499,
                1299,
                "A hundred regional recipes, from Kashmiri rogan josh to Chettinad pepper chicken.",
            ),
            ProductLine(
                "Panchatantra Tales for Children",
                199,
                599,
                "The classic fables retold with full-colour illustrations.",
            ),
            ProductLine(
                "Learn Python the Desi Way",
                399,
                999,
                "Programming from zero with examples about cricket scores and train timetables.",
            ),
            ProductLine(
                "The Indus Script: A Mystery",
                299,
                799,
                "A page-turner set between Lothal and modern Ahmedabad.",
            ),
            ProductLine(
                "Ruskin Road: Hill Station Essays",
                249,
                649,
                "Essays on the mountains, the rain and the people of Mussoorie.",
            ),
        ),
        12,
        brand_in_title=False,
    ),
    DemoShelf(
        "toys",
        RAVI,
        "TOY",
        ("Channapatna Toys", "Khel Khilona", "Little Sparks"),
        ("Ages 3+", "Ages 5+", "Ages 8+"),
        (
            ProductLine(
                "Channapatna Wooden Stacking Toy",
                349,
                999,
                "Lac-turned wood coloured with vegetable dyes; safe for small hands.",
            ),
            ProductLine(
                "Ludo and Snakes & Ladders 2-in-1 Board",
                199,
                599,
                "A folding board, four sets of pieces and two dice.",
            ),
            ProductLine(
                "India Map Jigsaw Puzzle, 100 pieces",
                299,
                799,
                "Learn the states and capitals while you play.",
            ),
            ProductLine(
                "Wooden Pallanguzhi Game",
                499,
                1499,
                "The traditional South Indian mancala game, with cowrie shells.",
            ),
            ProductLine(
                "Science Kit: Make Your Own Solar Car",
                699,
                1999,
                "Build a car that runs on sunshine.",
            ),
        ),
        12,
    ),
]


@dataclass(frozen=True)
class DemoProduct:
    seller: str
    category: str
    sku: str
    title: str
    brand: str
    description: str
    price: Decimal
    mrp: Decimal | None
    stock: int
    label: str  # the initials drawn on its picture


def _shop_price(rupees: float) -> Decimal:
    """Prices end the way shops write them: ₹149, ₹999, ₹2,499."""
    step = 10 if rupees < 1000 else 100
    value = max(round(rupees / step) * step - 1, step - 1)
    return Decimal(value).quantize(Decimal("0.01"))


def _initials(noun: str) -> str:
    words = [
        word
        for word in noun.replace("-", " ").split()
        if len(word) >= 3 and word[0].isupper() and not word.endswith("'s")
    ]
    return "".join(word[0] for word in words[:2]) or noun[:2].upper()


def demo_products() -> list[DemoProduct]:
    """The demo products, the same on every run (a fixed seed)."""
    rng = random.Random(DEMO_SEED)  # noqa: S311 - demo data, not secrets
    drafts: list[dict] = []
    for shelf in DEMO_SHELVES:
        pairs = [(line, variant) for line in shelf.lines for variant in shelf.variants]
        for number, (line, variant) in enumerate(rng.sample(pairs, shelf.count), start=1):
            brand = rng.choice(shelf.brands)
            # Later variants (bigger sizes, packs) sit higher in the line's price range.
            share = (shelf.variants.index(variant) + rng.random()) / len(shelf.variants)
            price = _shop_price(line.low + (line.high - line.low) * share)
            mrp = None
            if rng.random() < 0.65:
                mrp = _shop_price(float(price) * rng.uniform(1.15, 1.7))
                mrp = mrp if mrp > price else None
            title = f"{brand} {line.noun} ({variant})" if shelf.brand_in_title else f"{line.noun} ({variant})"
            drafts.append(
                {
                    "seller": shelf.seller,
                    "category": shelf.category,
                    "sku": f"{SKU_PREFIX[shelf.seller]}-{shelf.code}-{number:03d}",
                    "title": title,
                    "brand": brand,
                    "description": f"{line.blurb} Variant: {variant}. By {brand}, sold and shipped from India.",
                    "price": price,
                    "mrp": mrp,
                    "label": _initials(line.noun),
                }
            )
    # Stock is dealt last so that its pattern does not depend on the shelves' order above.
    order = list(range(len(drafts)))
    rng.shuffle(order)
    stock = [0] * len(drafts)
    for rank, index in enumerate(order):
        if rank < OUT_OF_STOCK_COUNT:
            stock[index] = 0
        elif rank < OUT_OF_STOCK_COUNT + LOW_STOCK_COUNT:
            stock[index] = rng.randint(1, 5)
        else:
            stock[index] = rng.randint(6, 60)
    return [DemoProduct(**draft, stock=stock[index]) for index, draft in enumerate(drafts)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _text_centred(draw: ImageDraw.ImageDraw, centre_y: int, text: str, font, fill: str) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (IMAGE_SIZE - (right - left)) / 2 - left
    y = centre_y - (bottom - top) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def placeholder_image(*, label: str, brand: str, colour: str) -> bytes:
    """A 600x600 JPEG: the category's colour, a disc with the product's initials, the brand below."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), colour)
    draw = ImageDraw.Draw(image)
    margin = 130
    draw.ellipse((margin, margin - 40, IMAGE_SIZE - margin, IMAGE_SIZE - margin - 40), fill="#fdf6ec")
    _text_centred(draw, IMAGE_SIZE // 2 - 40, label, _font(150), colour)
    brand_text = brand if len(brand) <= 24 else f"{brand[:23]}…"
    _text_centred(draw, IMAGE_SIZE - 70, brand_text, _font(40), "#fdf6ec")
    out = BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def demo_categories_ensure() -> dict[str, Category]:
    """Create the demo categories that are missing, matched by slug (or name, which is unique too)."""
    with transaction.atomic():
        existing = {category.slug: category for category in Category.objects.all()}
        by_name = {category.name: category for category in existing.values()}
        found: dict[str, Category] = {}
        for spec in sorted(DEMO_CATEGORIES, key=lambda spec: spec.parent != ""):  # parents first
            category = existing.get(spec.slug) or by_name.get(spec.name)
            if category is None:
                category = Category.objects.create(
                    name=spec.name,
                    slug=spec.slug,
                    parent=found[spec.parent] if spec.parent else None,
                    description=spec.description,
                )
            found[spec.slug] = category
    return found


def _demo_stores() -> dict[str, Store]:
    sellers = {shelf.seller for shelf in DEMO_SHELVES}
    stores = {
        store.user.username: store for store in Store.objects.filter(user__username__in=sellers).select_related("user")
    }
    missing = sellers - set(stores)
    if missing:
        raise LookupError(f"demo sellers without a store: {', '.join(sorted(missing))}; seed the users first")
    return stores


def seed_catalog() -> None:
    """The seed_demo step: demo categories, then each missing demo product with its picture."""
    categories = demo_categories_ensure()
    stores = _demo_stores()
    products = demo_products()
    # One query: which demo SKUs exist, and whether each has its picture (a run stopped between
    # creating a product and adding its picture is finished next time).
    existing = {
        sku: (product_id, has_picture)
        for sku, product_id, has_picture in Product.objects.annotate(
            sku_lower=Lower("sku"), has_picture=Exists(ProductImage.objects.filter(product=OuterRef("pk")))
        )
        .filter(sku_lower__in=[product.sku.lower() for product in products])
        .values_list("sku_lower", "pk", "has_picture")
    }
    for spec in tqdm(products, desc="Products", unit="product"):
        product_id, has_picture = existing.get(spec.sku.lower(), (None, False))
        if has_picture:
            continue
        if product_id is not None:
            product = Product.objects.get(pk=product_id)
        else:
            product = product_create(
                store=stores[spec.seller],
                title=spec.title,
                category=categories[spec.category],
                sku=spec.sku,
                price=spec.price,
                mrp=spec.mrp,
                stock=spec.stock,
                description=spec.description,
                brand=spec.brand,
            )
        picture = placeholder_image(label=spec.label, brand=spec.brand, colour=CATEGORY_COLOURS[spec.category])
        product_image_add(
            product=product,
            upload=SimpleUploadedFile(f"{spec.sku.lower()}.jpg", picture, content_type="image/jpeg"),
            alt=spec.title,
        )


def catalog_summary() -> str:
    """The line seed_demo prints: what the shop now holds."""
    top_level = Category.objects.filter(parent__isnull=True).count()
    sub = Category.objects.filter(parent__isnull=False).count()
    products = Product.objects.count()
    out_of_stock = Product.objects.filter(stock=0).count()
    return f"Catalog: {top_level} categories (+{sub} sub-categories), {products} products, {out_of_stock} out of stock"
