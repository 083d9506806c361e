from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower

from accounts.user_snapshot import ForgetsCachedUsersQuerySet
from accounts.validators import validate_indian_mobile, validate_pincode


class IndianState(models.TextChoices):
    ANDAMAN_NICOBAR = "AN", "Andaman and Nicobar Islands"
    ANDHRA_PRADESH = "AP", "Andhra Pradesh"
    ARUNACHAL_PRADESH = "AR", "Arunachal Pradesh"
    ASSAM = "AS", "Assam"
    BIHAR = "BR", "Bihar"
    CHANDIGARH = "CH", "Chandigarh"
    CHHATTISGARH = "CG", "Chhattisgarh"
    DADRA_DAMAN_DIU = "DH", "Dadra and Nagar Haveli and Daman and Diu"
    DELHI = "DL", "Delhi"
    GOA = "GA", "Goa"
    GUJARAT = "GJ", "Gujarat"
    HARYANA = "HR", "Haryana"
    HIMACHAL_PRADESH = "HP", "Himachal Pradesh"
    JAMMU_KASHMIR = "JK", "Jammu and Kashmir"
    JHARKHAND = "JH", "Jharkhand"
    KARNATAKA = "KA", "Karnataka"
    KERALA = "KL", "Kerala"
    LADAKH = "LA", "Ladakh"
    LAKSHADWEEP = "LD", "Lakshadweep"
    MADHYA_PRADESH = "MP", "Madhya Pradesh"
    MAHARASHTRA = "MH", "Maharashtra"
    MANIPUR = "MN", "Manipur"
    MEGHALAYA = "ML", "Meghalaya"
    MIZORAM = "MZ", "Mizoram"
    NAGALAND = "NL", "Nagaland"
    ODISHA = "OD", "Odisha"
    PUDUCHERRY = "PY", "Puducherry"
    PUNJAB = "PB", "Punjab"
    RAJASTHAN = "RJ", "Rajasthan"
    SIKKIM = "SK", "Sikkim"
    TAMIL_NADU = "TN", "Tamil Nadu"
    TELANGANA = "TS", "Telangana"
    TRIPURA = "TR", "Tripura"
    UTTAR_PRADESH = "UP", "Uttar Pradesh"
    UTTARAKHAND = "UK", "Uttarakhand"
    WEST_BENGAL = "WB", "West Bengal"


class UserQuerySet(ForgetsCachedUsersQuerySet):
    user_id_lookup = "pk"


class JoyCartUserManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username):
        # Usernames are unique regardless of case, so look them up that way too.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A JoyCart account. Anyone can shop; a user with an active store is a seller."""

    email = models.EmailField("e-mail address")
    is_blocked = models.BooleanField(
        default=False, help_text="A blocked user can neither log in nor use tokens issued earlier."
    )
    blocked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JoyCartUserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    @property
    def active_store(self) -> "Store | None":
        try:
            store = self.store
        except Store.DoesNotExist:
            return None
        return store if store.is_active else None

    @property
    def is_seller(self) -> bool:
        return self.active_store is not None

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Store(models.Model):
    """A seller's profile. Registering one makes its user a seller."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="store")
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=90, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Its owner's cached page user carries the store (accounts.user_snapshot).
    objects = ForgetsCachedUsersQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="accounts_store_name_ci_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    """A delivery address. Each user with addresses has exactly one default."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField("full name", max_length=100)
    phone = models.CharField(
        "mobile number",
        max_length=10,
        validators=[validate_indian_mobile],
    )
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, choices=IndianState.choices)
    pincode = models.CharField(
        "PIN code",
        max_length=6,
        validators=[validate_pincode],
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_default=True), name="accounts_address_one_default_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.line1}, {self.city} {self.pincode}"
