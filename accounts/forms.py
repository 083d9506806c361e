from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.core.validators import RegexValidator

from accounts.auth import client_ip
from accounts.errors import AccountBlocked, InvalidCredentials, LoginThrottled
from accounts.models import Address, User
from accounts.selectors import email_taken, store_name_taken, username_taken
from accounts.services.limits import password_reset_mail_allowed
from accounts.services.sessions import credentials_verify
from accounts.validators import normalize_indian_mobile


class RegisterForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        validators=[RegexValidator(r"^[\w.+-]+$", "Use letters, digits and . + - _ only.")],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirm password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username_taken(username):
            raise forms.ValidationError("That username is taken.", code="username_taken")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email_taken(email):
            raise forms.ValidationError("An account with this e-mail address already exists.", code="email_taken")
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            user = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, user=user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class LoginForm(forms.Form):
    username = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's staff login, through the same throttled credential check as the site and the API.

    Failures here spend the same budgets, so guesses cannot move to the door that counts less.
    """

    throttled: LoginThrottled | None = None

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        try:
            self.user_cache = credentials_verify(identifier=username, password=password, ip=client_ip(self.request))
        except InvalidCredentials as exc:
            raise self.get_invalid_login_error() from exc
        except LoginThrottled as exc:
            self.throttled = exc  # the admin site answers 429 with Retry-After
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        except AccountBlocked as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class PasswordResetForm(DjangoPasswordResetForm):
    def save(self, **kwargs):
        # Past the address's hourly mails nothing goes out, yet the page says "sent" as always:
        # any other answer would tell a stranger that the address has an account.
        if password_reset_mail_allowed(email=self.cleaned_data["email"]):
            super().save(**kwargs)


class ProfileForm(forms.Form):
    """Edits a copy of the values: a rejected form must not alter the logged-in user object."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail address", max_length=254)

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        kwargs.setdefault("initial", {"first_name": user.first_name, "last_name": user.last_name, "email": user.email})
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email_taken(email, exclude_user=self.user):
            raise forms.ValidationError("An account with this e-mail address already exists.", code="email_taken")
        return email


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's form checks the old password and the validators; the service saves."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # It sits below the profile form; focusing it would scroll past that.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class StoreForm(forms.Form):
    name = forms.CharField(max_length=80, label="Store name")
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4}), label="What do you sell?"
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if store_name_taken(name):
            raise forms.ValidationError("A store with this name already exists.", code="store_name_taken")
        return name


class AddressForm(forms.ModelForm):
    # Wider than the stored ten digits: people type "+91 98765 43210"; clean_phone normalises it.
    phone = forms.CharField(
        label="Mobile number",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel-national"}),
    )

    class Meta:
        model = Address
        fields = ["name", "phone", "line1", "line2", "city", "state", "pincode", "is_default"]
        widgets = {
            "pincode": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
        }
        labels = {"is_default": "Make this my default address"}

    def clean_phone(self):
        return normalize_indian_mobile(self.cleaned_data["phone"])
