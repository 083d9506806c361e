"""The demo catalog that `seed_demo` loads: categories, about 70 products in the two demo
stores, most in several variants (sarees in colours, kurtas in sizes and colours, oils by the
bottle), and a drawn placeholder picture for each (Pillow only, no downloads).

Each product and its first variant go through `product_create`, and its picture through
`product_image_add`, as a seller's would, so slugs, search vectors and thumbnails follow the
same rules as real data. Its options and further variants are written as rows, and the
summaries refreshed once at the end: seeding is a bulk load, not a seller editing a product.
Everything is derived from `random.Random(2026)`, so every machine gets the same shop.
"""

import itertools
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
from catalog.cache import bump_after_commit
from catalog.models import LOW_STOCK_THRESHOLD, Category, Product, ProductImage, ProductOption, ProductVariant
from catalog.services.images import product_image_add
from catalog.services.products import product_create, search_vector_refresh
from catalog.services.summary import product_summary_refresh

DEMO_SEED = 2026
# Whole products: sold out in every variant, or low (1 to 5 left in all).
OUT_OF_STOCK_COUNT = 6
LOW_STOCK_COUNT = 5
# Single variants inside otherwise well-stocked products.
SOLD_OUT_VARIANT_COUNT = 6
INACTIVE_VARIANT_COUNT = 3
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
    """One kind of product on a shelf."""

    noun: str
    low: int  # price range, whole rupees
    high: int
    blurb: str


@dataclass(frozen=True)
class DemoOption:
    """An option the products of a shelf may offer ("Size"), with each value's SKU suffix and price factor."""

    name: str
    values: tuple[str, ...]
    codes: tuple[str, ...]  # the variant SKU's part for each value: PH-KUR-003-XL-IND
    factors: tuple[float, ...] = ()  # the price of each value against the first; none: all cost the same
    contiguous: bool = False  # sizes: a product offers a run of them (S to XL), not any few

    def factor(self, value: str) -> float:
        return self.factors[self.values.index(value)] if self.factors else 1.0


COLOUR_SAREE = DemoOption(
    "Colour",
    ("Maroon", "Mustard Yellow", "Peacock Blue", "Bottle Green", "Rani Pink", "Off-White"),
    ("MRN", "MYL", "PBL", "BGR", "RPK", "OWH"),
)
SIZE_KURTA = DemoOption(
    "Size", ("S", "M", "L", "XL", "XXL"), ("S", "M", "L", "XL", "XXL"), (1, 1, 1, 1, 1.12), contiguous=True
)
COLOUR_KURTA = DemoOption(
    "Colour", ("Indigo", "White", "Sage", "Maroon", "Mustard"), ("IND", "WHT", "SGE", "MRN", "MUS")
)
SIZE_CRAFT = DemoOption("Size", ("Small", "Medium", "Large"), ("SM", "MD", "LG"), (1, 1.6, 2.4), contiguous=True)
PACK = DemoOption("Pack", ("Single", "Pack of 2"), ("1", "2"), (1, 1.85))
SIZE_BOTTLE = DemoOption("Size", ("50 ml", "100 ml", "200 ml"), ("50", "100", "200"), (1, 1.8, 3.2), contiguous=True)
WEIGHT = DemoOption("Weight", ("250 g", "500 g", "1 kg"), ("250G", "500G", "1KG"), (1, 1.9, 3.6), contiguous=True)
COLOUR_GADGET = DemoOption("Colour", ("Black", "White", "Blue", "Grey"), ("BLK", "WHT", "BLU", "GRY"))
COLOUR_AUDIO = DemoOption("Colour", ("Midnight Black", "Pearl White", "Ocean Blue"), ("MBK", "PWH", "OBL"))
FORMAT = DemoOption("Format", ("Paperback", "Hardcover"), ("PB", "HC"), (1, 1.8))


@dataclass(frozen=True)
class DemoShelf:
    """The products of one category in one demo store."""

    category: str
    seller: str  # the demo seller's username
    code: str  # the category part of the SKU, e.g. PH-SAR-001
    brands: tuple[str, ...]
    options: tuple[DemoOption, ...]  # what its products vary in; a product may offer only some values
    lines: tuple[ProductLine, ...]
    count: int
    plain_share: float = 0.0  # about this share of its products has no options: one variant
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
        (COLOUR_SAREE,),
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
        8,
        plain_share=0.15,
    ),
    DemoShelf(
        "kurtas",
        PRIYA,
        "KUR",
        ("Jaipur Threads", "Khadi Gram", "Desi Drape"),
        (SIZE_KURTA, COLOUR_KURTA),
        (
            ProductLine(
                "Men's Khadi Cotton Kurta",
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
                "Men's Linen Blend Short Kurta",
                899,
                1799,
                "A breathable linen blend with a mandarin collar.",
            ),
            ProductLine(
                "Women's Chikankari Straight Kurta",
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
        7,
    ),
    DemoShelf(
        "handicrafts",
        PRIYA,
        "HND",
        ("Kala Haat", "Desi Karigar", "Shilpi Crafts"),
        (SIZE_CRAFT,),
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
        7,
        plain_share=0.3,
    ),
    DemoShelf(
        "home-kitchen",
        PRIYA,
        "HOM",
        ("Rasoi Ghar", "Tamra Living", "Sutra Home"),
        (PACK,),
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
        7,
        plain_share=0.5,
    ),
    DemoShelf(
        "beauty",
        PRIYA,
        "BEA",
        ("Ayurveda Gram", "Kumkumadi Naturals", "Vana Botanicals"),
        (SIZE_BOTTLE,),
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
        7,
        plain_share=0.2,
    ),
    DemoShelf(
        "grocery",
        PRIYA,
        "GRO",
        ("Kerala Spice Co.", "Assam Tea Estates", "Organic Gaon"),
        (WEIGHT,),
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
        6,
        plain_share=0.2,
    ),
    DemoShelf(
        "mobile-accessories",
        RAVI,
        "MOB",
        ("Chargit", "VoltEdge", "Zentra"),
        (COLOUR_GADGET,),
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
        9,
        plain_share=0.3,
    ),
    DemoShelf(
        "audio",
        RAVI,
        "AUD",
        ("SwarBeat", "Zentra", "Taal Audio"),
        (COLOUR_AUDIO,),
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
        8,
        plain_share=0.25,
    ),
    DemoShelf(
        "books",
        RAVI,
        "BOK",
        ("Banyan Books", "Saraswati Press", "Monsoon House"),
        (FORMAT,),
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
        6,
        plain_share=0.4,
        brand_in_title=False,
    ),
    DemoShelf(
        "toys",
        RAVI,
        "TOY",
        ("Channapatna Toys", "Khel Khilona", "Little Sparks"),
        (),
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
        7,
    ),
]


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    values: tuple[str, ...]  # one per option of its product, in the options' order
    price: Decimal
    mrp: Decimal | None
    stock: int
    is_active: bool = True


@dataclass(frozen=True)
class DemoProduct:
    seller: str
    category: str
    code: str  # PH-SAR-001; its variants' SKUs start with it
    title: str
    brand: str
    description: str
    label: str  # the initials drawn on its picture
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (name, the values it offers), in position order
    variants: tuple[DemoVariant, ...]

    @property
    def sku(self) -> str:
        """Its first variant's SKU, which finds the product again on the next run."""
        return self.variants[0].sku

    @property
    def stock(self) -> int:
        """What the listing shows: the stock of its active variants."""
        return sum(variant.stock for variant in self.variants if variant.is_active)


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


def _offered_values(rng: random.Random, option: DemoOption) -> tuple[str, ...]:
    """Two or more of the option's values, in its order: a run of sizes, or any few colours."""
    count = rng.randint(2, min(len(option.values), 4))
    if option.contiguous:
        start = rng.randint(0, len(option.values) - count)
        return option.values[start : start + count]
    chosen = set(rng.sample(option.values, count))
    return tuple(value for value in option.values if value in chosen)


def _draft_variants(rng: random.Random, *, shelf: DemoShelf, line: ProductLine, code: str) -> tuple[tuple, list]:
    """A product's options and its variants' SKUs, values and prices; stock is dealt later."""
    options = () if rng.random() < shelf.plain_share else shelf.options
    offered = [(option, _offered_values(rng, option)) for option in options]
    dearest = 1.0
    for option, values in offered:
        dearest *= max(option.factor(value) for value in values)
    # The base sits in the line's range so that the dearest variant stays near its top.
    base = line.low + (max(line.low, line.high / dearest) - line.low) * rng.random()
    discount = rng.uniform(1.15, 1.7) if rng.random() < 0.65 else None
    variants = []
    for values in itertools.product(*(values for _option, values in offered)):
        factor, suffix = 1.0, ""
        for (option, _values), value in zip(offered, values, strict=True):
            factor *= option.factor(value)
            suffix += f"-{option.codes[option.values.index(value)]}"
        price = _shop_price(base * factor)
        mrp = _shop_price(float(price) * discount) if discount else None
        variants.append(
            {"sku": f"{code}{suffix}", "values": values, "price": price, "mrp": mrp if mrp and mrp > price else None}
        )
    return tuple((option.name, values) for option, values in offered), variants


def _stock_deal(rng: random.Random, drafts: list[dict]) -> None:
    """Whole products sold out or low, the rest well stocked; then, inside well-stocked products of
    three or more variants, one variant sold out or switched off, so pickers show both states."""
    order = list(range(len(drafts)))
    rng.shuffle(order)
    for rank, index in enumerate(order):
        variants = drafts[index]["variants"]
        if rank < OUT_OF_STOCK_COUNT:
            for variant in variants:
                variant["stock"] = 0
        elif rank < OUT_OF_STOCK_COUNT + LOW_STOCK_COUNT:
            for variant in variants:
                variant["stock"] = 0
            for _unit in range(rng.randint(1, LOW_STOCK_THRESHOLD)):
                rng.choice(variants)["stock"] += 1
        else:
            for variant in variants:
                variant["stock"] = rng.randint(6, 60)
    well_stocked = sorted(order[OUT_OF_STOCK_COUNT + LOW_STOCK_COUNT :])
    many = [index for index in well_stocked if len(drafts[index]["variants"]) >= 3]
    chosen = rng.sample(many, SOLD_OUT_VARIANT_COUNT + INACTIVE_VARIANT_COUNT)
    for number, index in enumerate(chosen):
        variant = rng.choice(drafts[index]["variants"][1:])  # never the first: it names the product
        if number < SOLD_OUT_VARIANT_COUNT:
            variant["stock"] = 0
        else:
            variant["is_active"] = False


def demo_products() -> list[DemoProduct]:
    """The demo products, the same on every run (a fixed seed)."""
    rng = random.Random(DEMO_SEED)  # noqa: S311 - demo data, not secrets
    drafts: list[dict] = []
    for shelf in DEMO_SHELVES:
        if shelf.brand_in_title:
            pairs = [(line, brand) for line in shelf.lines for brand in shelf.brands]
        else:  # the title alone names it (a book): one brand per line, or two products would look alike
            pairs = [(line, rng.choice(shelf.brands)) for line in shelf.lines]
        for number, (line, brand) in enumerate(rng.sample(pairs, shelf.count), start=1):
            code = f"{SKU_PREFIX[shelf.seller]}-{shelf.code}-{number:03d}"
            options, variants = _draft_variants(rng, shelf=shelf, line=line, code=code)
            drafts.append(
                {
                    "seller": shelf.seller,
                    "category": shelf.category,
                    "code": code,
                    "title": f"{brand} {line.noun}" if shelf.brand_in_title else line.noun,
                    "brand": brand,
                    "description": f"{line.blurb} By {brand}, sold and shipped from India.",
                    "label": _initials(line.noun),
                    "options": options,
                    "variants": variants,
                }
            )
    # Stock is dealt last so that its pattern does not depend on the shelves' order above.
    _stock_deal(rng, drafts)
    return [
        DemoProduct(**{**draft, "variants": tuple(DemoVariant(**variant) for variant in draft["variants"])})
        for draft in drafts
    ]


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


def _demo_product_create(spec: DemoProduct, *, store: Store, category: Category) -> Product:
    """The product with its first variant through the service, as a seller's; its options and other
    variants as rows in the same transaction (seed_catalog refreshes the summaries at the end)."""
    first = spec.variants[0]
    with transaction.atomic():
        product = product_create(
            store=store,
            title=spec.title,
            category=category,
            sku=first.sku,
            price=first.price,
            mrp=first.mrp,
            stock=first.stock,
            description=spec.description,
            brand=spec.brand,
        )
        if not spec.options:
            return product
        ProductOption.objects.bulk_create(
            ProductOption(product=product, position=position, name=name, values=list(values))
            for position, (name, values) in enumerate(spec.options, start=1)
        )
        product.variants.update(is_active=first.is_active, **_option_columns(first.values))
        ProductVariant.objects.bulk_create(
            ProductVariant(
                product=product,
                sku=variant.sku,
                price=variant.price,
                mrp=variant.mrp,
                stock=variant.stock,
                is_active=variant.is_active,
                position=position,
                **_option_columns(variant.values),
            )
            for position, variant in enumerate(spec.variants[1:], start=1)
        )
    return product


def _option_columns(values: tuple[str, ...]) -> dict[str, str]:
    return {f"option{position}": value for position, value in enumerate(values, start=1)}


def seed_catalog() -> None:
    """The seed_demo step: demo categories, then each missing demo product with its variants and picture."""
    categories = demo_categories_ensure()
    stores = _demo_stores()
    products = demo_products()
    # One query: which demo products exist (by their first variant's SKU), and whether each has its
    # picture (a run stopped between creating a product and adding its picture is finished next time).
    existing = {
        sku: (product_id, has_picture)
        for sku, product_id, has_picture in ProductVariant.objects.annotate(
            sku_lower=Lower("sku"),
            has_picture=Exists(ProductImage.objects.filter(product=OuterRef("product_id"))),
        )
        .filter(sku_lower__in=[product.sku.lower() for product in products])
        .values_list("sku_lower", "product_id", "has_picture")
    }
    finished = []
    for spec in tqdm(products, desc="Products", unit="product"):
        product_id, has_picture = existing.get(spec.sku.lower(), (None, False))
        if has_picture:
            continue
        if product_id is not None:
            product = Product.objects.get(pk=product_id)
        else:
            product = _demo_product_create(spec, store=stores[spec.seller], category=categories[spec.category])
        picture = placeholder_image(label=spec.label, brand=spec.brand, colour=CATEGORY_COLOURS[spec.category])
        product_image_add(
            product=product,
            upload=SimpleUploadedFile(f"{spec.code.lower()}.jpg", picture, content_type="image/jpeg"),
            alt=spec.title,
        )
        finished.append(product.pk)
    with transaction.atomic():
        product_summary_refresh(product_ids=finished)
        # Again now that the options exist, for a search document that includes them.
        search_vector_refresh(Product.objects.filter(pk__in=finished))
        bump_after_commit(product_ids=finished)


def catalog_summary() -> str:
    """The line seed_demo prints: what the shop now holds."""
    top_level = Category.objects.filter(parent__isnull=True).count()
    sub = Category.objects.filter(parent__isnull=False).count()
    products = Product.objects.count()
    variants = ProductVariant.objects.count()
    out_of_stock = Product.objects.filter(stock=0).count()
    return (
        f"Catalog: {top_level} categories (+{sub} sub-categories), {products} products ({variants} variants), "
        f"{out_of_stock} out of stock"
    )
