"""Account pages. Each view checks who is asking, then calls the same services as the API."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.auth import clear_auth_cookies, client_ip, set_auth_cookies
from accounts.errors import LoginThrottled, PasswordResetThrottled, RegistrationThrottled
from accounts.forms import (
    AddressForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    RegisterForm,
    StoreForm,
)
from accounts.services.addresses import address_create, address_delete, address_set_default, address_update
from accounts.services.limits import password_reset_request_record, registration_attempt_record
from accounts.services.sessions import session_login, session_logout, tokens_issue
from accounts.services.stores import store_create
from accounts.services.users import (
    user_password_change,
    user_password_reset_completed,
    user_profile_update,
    user_register,
)
from cart.guest import merge_guest_cart_into
from joycart.errors import DomainError, Throttled
from joycart.redirects import safe_next_url

ADDRESSES_PER_PAGE = 10


def _safe_next(request, default: str = "home") -> str:
    return safe_next_url(request) or reverse_lazy(default)


def _throttled_page(request, template_name: str, context: dict, exc: Throttled):
    """The page again, unbound so no field is checked, with the refusal above the form."""
    response = render(request, template_name, {**context, "refusal": exc.message}, status=exc.status_code)
    response["Retry-After"] = str(exc.retry_after)
    return response


def register(request):
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "POST":
        try:
            # Counted before the form is checked: its "username taken" answers must not be mined faster.
            registration_attempt_record(ip=client_ip(request))
        except RegistrationThrottled as exc:
            form = RegisterForm(initial={name: request.POST.get(name, "") for name in ("username", "email")})
            return _throttled_page(request, "accounts/register.html", {"form": form}, exc)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            rotate_token(request)
            messages.success(request, f"Welcome to JoyCart, {user.username}!")
            response = redirect("home")
            set_auth_cookies(response, tokens_issue(user=user))
            merge_guest_cart_into(request, response, user)
            return response
    return render(request, "accounts/register.html", {"form": form})


def login(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    if request.method == "POST" and form.is_valid():
        try:
            user, pair = session_login(
                identifier=form.cleaned_data["username"], password=form.cleaned_data["password"], ip=client_ip(request)
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 429 if isinstance(exc, LoginThrottled) else 200
            response = render(request, "accounts/login.html", context, status=status)
            if isinstance(exc, LoginThrottled):
                response["Retry-After"] = str(exc.retry_after)
            return response
        rotate_token(request)
        messages.success(request, f"Welcome back, {user.display_name}.")
        response = redirect(_safe_next(request))
        set_auth_cookies(response, pair)
        merge_guest_cart_into(request, response, user)
        return response
    return render(request, "accounts/login.html", context)


@require_POST
def logout(request):
    session_logout(cookie_refresh=request.COOKIES.get(settings.JWT_REFRESH_COOKIE))
    messages.info(request, "You have been logged out.")
    response = redirect("home")
    clear_auth_cookies(response)
    return response


@login_required
def profile(request):
    profile_form = ProfileForm(user=request.user, prefix="profile")
    password_form = PasswordChangeForm(user=request.user, prefix="password")
    if request.method == "POST" and "profile-email" in request.POST:
        profile_form = ProfileForm(request.POST, user=request.user, prefix="profile")
        if profile_form.is_valid():
            try:
                user_profile_update(user=request.user, **profile_form.cleaned_data)
            except DomainError as exc:
                profile_form.add_error("email", exc.message)
            else:
                messages.success(request, "Your profile has been saved.")
                return redirect("accounts:profile")
    elif request.method == "POST":
        password_form = PasswordChangeForm(user=request.user, data=request.POST, prefix="password")
        if password_form.is_valid():
            pair = user_password_change(user=request.user, new_password=password_form.cleaned_data["new_password1"])
            messages.success(request, "Your password has been changed. Other devices have been logged out.")
            response = redirect("accounts:profile")
            set_auth_cookies(response, pair)
            return response
    return render(request, "accounts/profile.html", {"profile_form": profile_form, "password_form": password_form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, which never says whether an address has an account, with limits that keep it so.

    Requests are limited per client address (answered 429: that speaks only of the client),
    and mails per e-mail address inside the form (silently: the page says "sent" as always).
    """

    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        try:
            password_reset_request_record(ip=client_ip(request))
        except PasswordResetThrottled as exc:
            form = self.form_class(initial={"email": request.POST.get("email", "")})
            return _throttled_page(request, self.template_name, self.get_context_data(form=form), exc)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        user_password_reset_completed(user=form.user)
        return response


# --- Addresses ------------------------------------------------------------------------


@login_required
def address_list(request):
    page = Paginator(selectors.user_addresses(user=request.user), ADDRESSES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "accounts/address_list.html", {"page": page, "addresses": page.object_list})


@login_required
def address_new(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address_create(user=request.user, **form.cleaned_data)
        messages.success(request, "Address saved.")
        return redirect(_safe_next(request, default="accounts:address_list"))
    # Cancelling goes back where the form was opened from (checkout, say), as saving does.
    context = {"form": form, "address": None, "back_url": _safe_next(request, default="accounts:address_list")}
    return render(request, "accounts/address_form.html", context)


@login_required
def address_edit(request, address_id: int):
    address = selectors.user_address_get(user=request.user, address_id=address_id)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        try:
            address_update(address=address, **form.cleaned_data)
        except DomainError as exc:
            form.add_error("is_default", exc.message)
        else:
            messages.success(request, "Address updated.")
            return redirect("accounts:address_list")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
def address_delete_view(request, address_id: int):
    address = selectors.user_address_get(user=request.user, address_id=address_id)
    if request.method == "POST":
        address_delete(address=address)
        messages.success(request, "Address deleted.")
        return redirect("accounts:address_list")
    return render(request, "accounts/address_confirm_delete.html", {"address": address})


@login_required
@require_POST
def address_make_default(request, address_id: int):
    address = selectors.user_address_get(user=request.user, address_id=address_id)
    address_set_default(address=address)
    messages.success(request, "Default address updated.")
    return redirect("accounts:address_list")


# --- Becoming a seller ----------------------------------------------------------------


@login_required
def store_create_view(request):
    if request.user.is_seller:
        messages.info(request, "You already have a store.")
        return redirect("seller:home")
    if selectors.user_has_store(user=request.user):
        messages.error(request, "Your store has been deactivated. Contact JoyCart support to reopen it.")
        return redirect("home")
    form = StoreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            store = store_create(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error("name" if exc.code == "store_name_taken" else None, exc.message)
        else:
            messages.success(request, f"{store.name} is open. Welcome to the seller portal!")
            return redirect("seller:home")
    return render(request, "accounts/store_form.html", {"form": form})
