"""Demo data for `make run`. Idempotent: running it again changes nothing that exists.

Each app adds its step to DEMO_STEPS: users and stores, then the catalog, then orders.
"""

from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from accounts.models import Address, User
from accounts.services.addresses import address_create
from accounts.services.stores import store_create
from analytics.demo import seed_sales_history
from catalog.demo import catalog_summary, seed_catalog
from orders.demo import orders_summary, seed_orders
from reviews.demo import seed_reviews

DEMO_PASSWORD = "joycart-demo-2026"  # noqa: S105 - a published demo password, printed on purpose


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str
    first_name: str
    role: str
    store: str = ""
    city: str = ""
    state: str = ""
    pincode: str = ""


DEMO_USERS = [
    DemoUser("admin", "admin@joycart.local", "Asha", "admin"),
    DemoUser("priya_crafts", "priya@joycart.local", "Priya", "seller", store="Priya's Handlooms"),
    DemoUser("ravi_gadgets", "ravi@joycart.local", "Ravi", "seller", store="Ravi Gadget Hub"),
    DemoUser("meera", "meera@joycart.local", "Meera", "shopper", city="Bengaluru", state="KA", pincode="560001"),
    DemoUser("arjun", "arjun@joycart.local", "Arjun", "shopper", city="Pune", state="MH", pincode="411001"),
]


def _ensure_user(spec: DemoUser) -> User:
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        # Demo accounts skip the password validators on purpose: the password is printed below.
        user = User(username=spec.username, email=spec.email, first_name=spec.first_name)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = spec.role == "admin"
        user.save()
    if spec.role == "seller" and not hasattr(user, "store"):
        store_create(user=user, name=spec.store, description=f"{spec.store}: a JoyCart demo store.")
    if spec.role == "shopper" and not Address.objects.filter(user=user).exists():
        address_create(
            user=user,
            name=f"{spec.first_name} Demo",
            phone="9876543210",
            line1="12 MG Road",
            line2="Near the clock tower",
            city=spec.city,
            state=spec.state,
            pincode=spec.pincode,
        )
    return user


def seed_users() -> None:
    for spec in tqdm(DEMO_USERS, desc="Users", unit="user"):
        with transaction.atomic():
            _ensure_user(spec)


DEMO_STEPS = [seed_users, seed_catalog, seed_orders, seed_sales_history, seed_reviews]


class Command(BaseCommand):
    help = "Create demo users, stores, addresses, products and orders (idempotent) and print the logins."

    def handle(self, *args, **options):
        for step in DEMO_STEPS:
            step()
        self.stdout.write(self.style.SUCCESS("\nDemo data ready. Log in at http://127.0.0.1:8000/accounts/login/"))
        self.stdout.write(f"Every demo account's password: {DEMO_PASSWORD}")
        for spec in DEMO_USERS:
            extra = f" ({spec.store})" if spec.store else ""
            self.stdout.write(f"  {spec.role:<8} {spec.username}{extra}")
        self.stdout.write("The admin also logs in to the Django admin at http://127.0.0.1:8000/admin/")
        self.stdout.write(catalog_summary())
        self.stdout.write(orders_summary())
