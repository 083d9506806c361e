import pytest

from accounts.models import Address, Store
from tests.conftest import api_login, csrf_token
from tests.factories import AddressFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID_ADDRESS = {
    "name": "Meera Nair",
    "phone": "+91 98450 12345",
    "line1": "14, 2nd Cross, Indiranagar",
    "city": "Bengaluru",
    "state": "KA",
    "pincode": "560038",
}


def defaults_of(user) -> list[int]:
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


class TestAddressApi:
    def test_first_address_becomes_the_default_and_phone_is_normalised(self, logged_in_client, user):
        response = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json")
        assert response.status_code == 201
        assert response.data["is_default"] is True
        assert response.data["phone"] == "9845012345"
        assert response.data["state_name"] == "Karnataka"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("pincode", "56003"),
            ("pincode", "060038"),
            ("pincode", "5600AB"),
            ("phone", "12345"),
            ("phone", "5845012345"),
        ],
    )
    def test_bad_pincode_or_phone_is_400_with_a_field_error(self, logged_in_client, user, field, value):
        response = logged_in_client.post("/api/v1/addresses/", {**VALID_ADDRESS, field: value}, format="json")
        assert response.status_code == 400
        assert field in response.data
        assert not Address.objects.filter(user=user).exists()

    def test_unknown_state_is_400(self, logged_in_client):
        response = logged_in_client.post("/api/v1/addresses/", {**VALID_ADDRESS, "state": "XX"}, format="json")
        assert response.status_code == 400
        assert "state" in response.data

    def test_new_default_replaces_the_old_one(self, logged_in_client, user):
        first = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        second = logged_in_client.post("/api/v1/addresses/", {**VALID_ADDRESS, "is_default": True}, format="json").data
        assert defaults_of(user) == [second["id"]]
        logged_in_client.post(f"/api/v1/addresses/{first['id']}/make-default/")
        assert defaults_of(user) == [first["id"]]

    def test_non_default_address_does_not_steal_the_default(self, logged_in_client, user):
        first = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json")
        assert defaults_of(user) == [first["id"]]

    def test_unsetting_the_only_default_is_refused(self, logged_in_client, user):
        first = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        response = logged_in_client.patch(f"/api/v1/addresses/{first['id']}/", {"is_default": False}, format="json")
        assert response.status_code == 400
        assert response.data["code"] == "default_address_required"
        assert defaults_of(user) == [first["id"]]

    def test_deleting_the_default_promotes_another(self, logged_in_client, user):
        first = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        second = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        assert logged_in_client.delete(f"/api/v1/addresses/{first['id']}/").status_code == 204
        assert defaults_of(user) == [second["id"]]

    def test_update_changes_fields(self, logged_in_client):
        created = logged_in_client.post("/api/v1/addresses/", VALID_ADDRESS, format="json").data
        response = logged_in_client.patch(f"/api/v1/addresses/{created['id']}/", {"city": "Mysuru"}, format="json")
        assert response.status_code == 200
        assert response.data["city"] == "Mysuru"

    def test_list_shows_only_my_addresses_paginated(self, logged_in_client, user):
        AddressFactory.create_batch(3, user=user)
        AddressFactory.create_batch(2)
        response = logged_in_client.get("/api/v1/addresses/")
        assert response.status_code == 200
        assert response.data["count"] == 3
        assert {row["id"] for row in response.data["results"]} == set(
            Address.objects.filter(user=user).values_list("pk", flat=True)
        )

    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    def test_another_users_address_is_404(self, logged_in_client, method):
        theirs = AddressFactory(user=UserFactory(), is_default=True)
        response = getattr(logged_in_client, method)(f"/api/v1/addresses/{theirs.pk}/", {"city": "X"}, format="json")
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.city == "Mumbai"

    def test_make_default_on_another_users_address_is_404(self, logged_in_client):
        theirs = AddressFactory(user=UserFactory())
        assert logged_in_client.post(f"/api/v1/addresses/{theirs.pk}/make-default/").status_code == 404

    def test_anonymous_is_401(self, api_client):
        assert api_client.get("/api/v1/addresses/").status_code == 401

    def test_list_query_count_does_not_grow_with_rows(self, logged_in_client, user, assert_flat_query_count):
        AddressFactory.create_batch(2, user=user)
        assert_flat_query_count(
            lambda: logged_in_client.get("/api/v1/addresses/"),
            lambda: AddressFactory.create_batch(15, user=user),
            max_queries=4,
        )


class TestStoreApi:
    def test_registering_a_store_makes_the_user_a_seller(self, logged_in_client):
        response = logged_in_client.post(
            "/api/v1/stores/", {"name": "Chai & Co", "description": "Teas from Assam"}, format="json"
        )
        assert response.status_code == 201
        assert response.data["slug"] == "chai-co"
        me = logged_in_client.get("/api/v1/auth/me/").data
        assert me["is_seller"] is True
        assert me["store"]["name"] == "Chai & Co"

    def test_second_store_is_409(self, logged_in_client, user):
        StoreFactory(user=user)
        response = logged_in_client.post("/api/v1/stores/", {"name": "Another One"}, format="json")
        assert response.status_code == 409
        assert response.data["code"] == "store_exists"
        assert Store.objects.filter(user=user).count() == 1

    def test_name_taken_in_any_case_is_400(self, logged_in_client):
        StoreFactory(name="Chai & Co")
        response = logged_in_client.post("/api/v1/stores/", {"name": "CHAI & co"}, format="json")
        assert response.status_code == 400
        assert response.data["name"][0].code == "store_name_taken"

    def test_slugs_stay_unique_when_names_slugify_alike(self, api_client):
        StoreFactory(name="Chai & Co", slug="chai-co")
        owner = UserFactory()
        api_login(api_client, owner)
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        response = api_client.post("/api/v1/stores/", {"name": "Chai Co"}, format="json")
        assert response.status_code == 201
        assert response.data["slug"] == "chai-co-2"

    def test_anonymous_cannot_register_a_store(self, api_client):
        assert api_client.post("/api/v1/stores/", {"name": "Ghost"}, format="json").status_code == 401
