from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("addresses/", views.address_list, name="address_list"),
    path("addresses/new/", views.address_new, name="address_new"),
    path("addresses/<id:address_id>/edit/", views.address_edit, name="address_edit"),
    path("addresses/<id:address_id>/delete/", views.address_delete_view, name="address_delete"),
    path("addresses/<id:address_id>/make-default/", views.address_make_default, name="address_make_default"),
    path("become-a-seller/", views.store_create_view, name="store_create"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]
