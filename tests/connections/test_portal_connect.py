"""The portal's own connect page: Connect → monday.com → callback → ACTIVE for the signed-in user."""

from datetime import timedelta

from django.utils import timezone

from audit.models import AuditEvent
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from connections.providers import providers
from tests.fixtures import signed_in
from tests.monday_support import (
    MONDAY_BOB,
    REDIRECT_URI,
    callback_path,
    connect_via_portal,
    follow_to_provider,
    query_of,
)


def test_member_connects_their_own_account(member_client, member, monday, monday_connection):
    response = connect_via_portal(member_client)

    assert response.status_code == 302 and response["Location"] == "/connected-accounts/"
    account = ConnectedAccount.objects.get(identifier=member.user.identifier)
    assert account.status == AccountStatus.ACTIVE
    assert account.user == member.user
    assert "boards:write" in account.scopes
    assert account.token_expires_at > timezone.now()
    page = member_client.get("/connected-accounts/")
    assert b"Active" in page.content and b"Disconnect" in page.content


def test_authorization_url_carries_state_pkce_s256_and_the_exact_redirect_uri(
    member_client, monday_connection
):
    start = member_client.post("/connected-accounts/monday/connect/")
    params = query_of(start["Location"])
    auth_request = AuthorizationRequest.objects.get()
    assert params["state"] == auth_request.state and len(params["state"]) >= 43
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == REDIRECT_URI
    verifier = auth_request.get_secret("code_verifier_sealed")
    assert 43 <= len(verifier) <= 128
    assert verifier not in auth_request.code_verifier_sealed  # stored sealed


def test_each_attempt_gets_a_fresh_state_and_verifier(member_client, monday_connection):
    member_client.post("/connected-accounts/monday/connect/")
    member_client.post("/connected-accounts/monday/connect/")
    first, second = AuthorizationRequest.objects.all()
    assert first.state != second.state
    assert first.get_secret("code_verifier_sealed") != second.get_secret("code_verifier_sealed")


def test_unknown_state_is_refused_and_nothing_is_exchanged(
    member_client, monday, monday_connection
):
    response = member_client.get("/oauth/callback/monday/?code=abc&state=not-a-state")
    assert response.status_code == 400
    assert b"does not match any sign-in" in response.content
    assert monday.token_requests == []
    assert AuditEvent.objects.filter(action="oauth.callback_rejected").exists()


def test_replayed_state_is_refused(member_client, member, monday, monday_connection):
    start = member_client.post("/connected-accounts/monday/connect/")
    path = callback_path(follow_to_provider(start["Location"]))
    assert member_client.get(path).status_code == 302
    exchanges = len(monday.token_requests)

    replay = member_client.get(path)

    assert replay.status_code == 400
    assert len(monday.token_requests) == exchanges


def test_expired_state_is_refused_and_the_account_stays_pending(
    member_client, member, monday, monday_connection
):
    start = member_client.post("/connected-accounts/monday/connect/")
    path = callback_path(follow_to_provider(start["Location"]))
    AuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = member_client.get(path)

    assert response.status_code == 400 and b"took too long" in response.content
    assert ConnectedAccount.objects.get().status == AccountStatus.PENDING_AUTH
    assert monday.token_requests == []


def test_declined_authorization_leaves_the_account_unchanged(
    member_client, monday, monday_connection
):
    monday.deny_next_authorization()
    response = connect_via_portal(member_client)
    assert response.status_code == 400 and b"You declined" in response.content
    assert ConnectedAccount.objects.get().status == AccountStatus.PENDING_AUTH


def test_callback_without_code_is_refused(member_client, monday_connection):
    member_client.post("/connected-accounts/monday/connect/")
    state = AuthorizationRequest.objects.get().state
    response = member_client.get(f"/oauth/callback/monday/?state={state}")
    assert response.status_code == 400 and b"no authorization code" in response.content


def test_token_endpoint_failure_gives_a_clear_page_and_changes_nothing(
    member_client, monday, monday_connection
):
    monday.fail_next_token_requests(1, status=503)
    response = connect_via_portal(member_client)
    assert response.status_code == 400 and b"did not issue a token" in response.content
    assert ConnectedAccount.objects.get().status == AccountStatus.PENDING_AUTH


def test_callback_on_another_providers_path_is_refused(member_client, monday, monday_connection):
    start = member_client.post("/connected-accounts/monday/connect/")
    redirect = follow_to_provider(start["Location"])
    path = callback_path(redirect).replace("/monday/", "/github/")
    response = member_client.get(path)
    assert response.status_code == 400
    assert monday.token_requests == []


def test_a_callback_naming_another_issuer_is_refused(
    member_client, member, monday, monday_connection, monkeypatch
):
    # RFC 9207: a provider whose catalog entry declares an issuer; `iss`, when sent, must match.
    spec = providers()["monday"]
    issuing = spec.model_copy(
        update={"oauth": spec.oauth.model_copy(update={"issuer": "https://auth.monday.test"})}
    )
    monkeypatch.setitem(providers(), "monday", issuing)
    start = member_client.post("/connected-accounts/monday/connect/")
    path = callback_path(follow_to_provider(start["Location"]))

    response = member_client.get(path + "&iss=https%3A%2F%2Fevil.test")
    assert response.status_code == 400 and b"another authorization server" in response.content
    assert monday.token_requests == []  # the code was never exchanged
    assert ConnectedAccount.objects.get(identifier=member.user.identifier).status != "ACTIVE"

    retry = member_client.post("/connected-accounts/monday/connect/")
    good = callback_path(follow_to_provider(retry["Location"]))
    member_client.get(good + "&iss=https%3A%2F%2Fauth.monday.test")
    assert ConnectedAccount.objects.get(identifier=member.user.identifier).status == "ACTIVE"


def test_someone_else_completing_my_link_does_not_activate_it(
    member_client, owner, member, monday, monday_connection
):
    start = member_client.post("/connected-accounts/monday/connect/")
    path = callback_path(follow_to_provider(start["Location"], MONDAY_BOB))

    response = signed_in(owner).get(path)

    assert response.status_code == 400 and b"started for another user" in response.content
    assert ConnectedAccount.objects.get(identifier=member.user.identifier).status != "ACTIVE"
    assert monday.token_requests == []  # the code was never exchanged


def test_reconnecting_reuses_the_same_account_row(member_client, member, monday, monday_connection):
    connect_via_portal(member_client)
    first = ConnectedAccount.objects.get()
    connect_via_portal(member_client)
    assert ConnectedAccount.objects.get().pk == first.pk


def test_disconnect_revokes_at_the_provider_and_erases_tokens(
    member_client, member, monday, monday_connection
):
    connect_via_portal(member_client)

    response = member_client.post("/connected-accounts/monday/disconnect/")

    assert response.status_code == 302
    account = ConnectedAccount.objects.get()
    assert account.status == AccountStatus.DISCONNECTED
    assert account.token_set_sealed == "" and account.scopes == []
    assert len(monday.revocations) == 1


def test_status_changes_are_audited_with_old_and_new_status(
    member_client, member, monday, monday_connection
):
    connect_via_portal(member_client)
    event = AuditEvent.objects.get(action="connected_account.status_changed")
    assert event.metadata["old_status"] == "PENDING_AUTH"
    assert event.metadata["new_status"] == "ACTIVE"
    assert event.identifier == member.user.identifier


def test_disabled_connection_cannot_be_connected(member_client, monday_connection):
    monday_connection.enabled = False
    monday_connection.save()
    assert member_client.post("/connected-accounts/monday/connect/").status_code == 404


def test_the_error_page_shows_the_providers_description(member_client, monday_connection):
    member_client.post("/connected-accounts/monday/connect/")
    state = AuthorizationRequest.objects.get().state
    response = member_client.get(
        f"/oauth/callback/monday/?state={state}&error=invalid_scope"
        "&error_description=The+app+may+not+ask+for+boards%3Awrite"
    )
    assert response.status_code == 400
    assert b"invalid_scope" in response.content
    assert b"The app may not ask for boards:write" in response.content


def test_a_wrong_client_secret_says_where_to_fix_it(member_client, monday, monday_connection):
    monday_connection.set_secret("client_secret_sealed", "not-the-secret")
    monday_connection.save()
    response = connect_via_portal(member_client)
    assert response.status_code == 400 and b"invalid_client" in response.content
    assert b"Check the client ID and secret on the connection" in response.content
