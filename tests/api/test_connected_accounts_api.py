"""The connected-accounts API, including the flow where the customer's backend verifies the user."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from tests.monday_support import callback_path, follow_to_provider, query_of

VERIFY_URL = "https://app.customer.example/verify-user"


def create_link(api, identifier="customer-user-42", **extra):
    body = {"connection_name": "monday", "identifier": identifier, "user_verify_url": VERIFY_URL}
    return api.post("/api/v1/connected-accounts/authorization-link", body | extra, format="json")


def complete_in_browser(link: str) -> str:
    """An anonymous browser opens the link, authorizes at monday, lands on the callback."""
    browser = Client()
    start = browser.get(link.removeprefix("http://testserver"))
    assert start.status_code == 302
    done = browser.get(callback_path(follow_to_provider(start["Location"])))
    assert done.status_code == 302, done.content
    return done["Location"]


def test_create_returns_201_then_200_for_the_same_identifier(api, monday_connection):
    body = {"connection_name": "monday", "identifier": "user-7"}
    first = api.post("/api/v1/connected-accounts", body, format="json")
    second = api.post("/api/v1/connected-accounts", body, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "PENDING_AUTH"


def test_the_link_is_a_portal_url_that_redirects_to_the_provider(api, monday, monday_connection):
    response = create_link(api)
    assert response.status_code == 201
    link = response.json()["link"]
    assert link.startswith("http://testserver/oauth/authorize/")
    assert "expires_at" in response.json()
    location = Client().get(link.removeprefix("http://testserver"))["Location"]
    assert location.startswith(monday.base_url + "/oauth2/authorize?")


def test_verified_flow_goes_pending_verification_then_active(api, monday, monday_connection):
    link = create_link(api, state="opaque-123").json()["link"]

    verify_redirect = complete_in_browser(link)

    assert verify_redirect.startswith(VERIFY_URL + "?")
    params = query_of(verify_redirect)
    assert params["state"] == "opaque-123"
    account = ConnectedAccount.objects.get(identifier="customer-user-42")
    assert account.status == AccountStatus.PENDING_VERIFICATION
    assert account.token_set_sealed == ""  # tokens wait on the request until verified

    verified = api.post(
        "/api/v1/connected-accounts/verify",
        {"auth_request_id": params["auth_request_id"], "identifier": "customer-user-42"},
        format="json",
    )

    assert verified.status_code == 200
    assert verified.json()["connected_account"]["status"] == "ACTIVE"
    assert verified.json()["post_user_verify_redirect_url"].endswith("/oauth/done/")


def test_verify_with_the_wrong_identifier_is_refused_and_changes_nothing(
    api, monday, monday_connection
):
    params = query_of(complete_in_browser(create_link(api).json()["link"]))
    response = api.post(
        "/api/v1/connected-accounts/verify",
        {"auth_request_id": params["auth_request_id"], "identifier": "someone-else"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "identifier_mismatch"
    account = ConnectedAccount.objects.get(identifier="customer-user-42")
    assert account.status == AccountStatus.PENDING_VERIFICATION


def test_verify_twice_is_refused(api, monday, monday_connection):
    params = query_of(complete_in_browser(create_link(api).json()["link"]))
    body = {"auth_request_id": params["auth_request_id"], "identifier": "customer-user-42"}
    assert api.post("/api/v1/connected-accounts/verify", body, format="json").status_code == 200
    again = api.post("/api/v1/connected-accounts/verify", body, format="json")
    assert again.status_code == 409


def test_verify_after_expiry_is_refused(api, monday, monday_connection):
    params = query_of(complete_in_browser(create_link(api).json()["link"]))
    AuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    body = {"auth_request_id": params["auth_request_id"], "identifier": "customer-user-42"}
    response = api.post("/api/v1/connected-accounts/verify", body, format="json")
    assert response.status_code == 409
    # The tokens it held are erased and the account waits for a new authorization.
    assert ConnectedAccount.objects.get().status == AccountStatus.PENDING_AUTH
    assert AuthorizationRequest.objects.get().pending_token_set_sealed == ""


def test_an_external_identifier_needs_a_verify_url(api, monday_connection):
    response = create_link(api, user_verify_url="")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "user_verify_url_required"
    assert AuthorizationRequest.objects.count() == 0


def test_list_filters_by_connection_identifier_and_status(api, monday_connection):
    for identifier in ("a", "b"):
        api.post(
            "/api/v1/connected-accounts",
            {"connection_name": "monday", "identifier": identifier},
            format="json",
        )
    listed = api.get("/api/v1/connected-accounts?identifier=a&status=PENDING_AUTH").json()
    assert [a["identifier"] for a in listed["results"]] == ["a"]
    assert api.get("/api/v1/connected-accounts?status=ACTIVE").json()["results"] == []
    assert api.get("/api/v1/connected-accounts?status=NOPE").status_code == 422


def test_account_json_never_contains_a_token(api, monday, monday_connection):
    params = query_of(complete_in_browser(create_link(api).json()["link"]))
    api.post(
        "/api/v1/connected-accounts/verify",
        {"auth_request_id": params["auth_request_id"], "identifier": "customer-user-42"},
        format="json",
    )
    account = api.get("/api/v1/connected-accounts").json()["results"][0]
    assert set(account) == {
        "id",
        "connection_name",
        "provider",
        "identifier",
        "provider_account_id",
        "provider_account_label",
        "is_default",
        "status",
        "status_reason",
        "scopes",
        "token_expires_at",
        "last_used_at",
        "created_at",
        "updated_at",
    }


def test_delete_disconnects(api, monday, monday_connection):
    params = query_of(complete_in_browser(create_link(api).json()["link"]))
    account_id = api.post(
        "/api/v1/connected-accounts/verify",
        {"auth_request_id": params["auth_request_id"], "identifier": "customer-user-42"},
        format="json",
    ).json()["connected_account"]["id"]
    response = api.delete(f"/api/v1/connected-accounts/{account_id}")
    assert response.status_code == 200 and response.json()["status"] == "DISCONNECTED"
    assert len(monday.revocations) == 1


def test_a_session_caller_may_not_name_an_identifier(member_client, monday_connection):
    response = member_client.post(
        "/api/v1/connected-accounts",
        {"connection_name": "monday", "identifier": "someone"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert ConnectedAccount.objects.count() == 0


def test_a_session_caller_gets_their_own_account(member_client, member, monday_connection):
    response = member_client.post(
        "/api/v1/connected-accounts",
        {"connection_name": "monday"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["identifier"] == member.user.identifier


def test_invalid_identifiers_are_refused(api, monday_connection):
    for identifier in ["", "x" * 256, "tab\there"]:
        response = api.post(
            "/api/v1/connected-accounts",
            {"connection_name": "monday", "identifier": identifier},
            format="json",
        )
        assert response.status_code in (400, 422), identifier
    assert ConnectedAccount.objects.count() == 0
