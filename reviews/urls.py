from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("products/<slug:slug>/review/", views.review_new, name="new"),
    path("reviews/<id:review_id>/edit/", views.review_edit, name="edit"),
    path("reviews/<id:review_id>/delete/", views.review_delete_view, name="delete"),
]
