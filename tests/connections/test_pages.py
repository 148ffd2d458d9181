"""Connection set-up pages (owners/admins) and the admin list of connected accounts."""

from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connections.configuration import create_connection
from connections.models import AccountStatus, ConnectedAccount, Connection
from tests.factories import MembershipFactory


def test_an_admin_adds_a_connection_and_sees_the_redirect_uri(owner_client, org):
    # Shown before the app exists too: it must be registered at monday.com first.
    blank_form = owner_client.get("/connections/").content.decode()
    assert ">http://testserver/oauth/callback/monday/</code>" in blank_form
    response = owner_client.post(
        "/connections/new/monday/",
        {
            "name": "monday",
            "client_id": "cid",
            "client_secret": "shh-its-secret",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    page = owner_client.get("/connections/monday/")
    assert b"http://testserver/oauth/callback/monday/" in page.content
    assert b"shh-its-secret" not in page.content
    assert Connection.objects.get().get_secret("client_secret_sealed") == "shh-its-secret"


def test_a_remote_http_endpoint_is_refused_with_a_message(owner_client, org):
    response = owner_client.post(
        "/connections/new/monday/",
        {
            "name": "monday",
            "client_id": "cid",
            "token_url": "http://auth.example.com/token",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Must use https" in page  # under its field
    assert 'value="http://auth.example.com/token"' in page  # what was typed is kept
    assert Connection.objects.count() == 0


def test_members_do_not_see_connection_pages(member_client, org):
    assert member_client.get("/connections/").status_code == 404
    assert member_client.get("/connections/accounts/").status_code == 404


def test_members_see_enabled_connections_on_their_connect_page(member_client, org):
    create_connection(org=org, name="monday", provider="monday", client_id="c")
    create_connection(org=org, name="off", provider="monday", client_id="c", enabled=False)
    page = member_client.get("/connected-accounts/")
    assert b"(monday)" in page.content and b"(off)" not in page.content
    assert b"Not connected" in page.content


def _accounts(org, connection, n):
    for _ in range(n):
        member = MembershipFactory(organization=org)
        ConnectedAccount.objects.create(
            organization=org,
            connection=connection,
            identifier=member.user.identifier,
            user=member.user,
            status=AccountStatus.ACTIVE,
        )


def test_the_admin_account_list_costs_the_same_queries_for_5_or_40_rows(owner_client, org):
    connection = create_connection(org=org, name="monday", provider="monday", client_id="c")
    _accounts(org, connection, 5)
    with CaptureQueriesContext(db) as few:
        assert owner_client.get("/connections/accounts/").status_code == 200
    _accounts(org, connection, 35)
    with CaptureQueriesContext(db) as many:
        page = owner_client.get("/connections/accounts/")
    assert page.content.count(b'title="user_') == 40  # a person, their identifier on hover
    assert len(many) == len(few)


def test_the_admin_list_filters_by_status_and_email(owner_client, org, member):
    connection = create_connection(org=org, name="monday", provider="monday", client_id="c")
    ConnectedAccount.objects.create(
        organization=org,
        connection=connection,
        identifier=member.user.identifier,
        user=member.user,
        status=AccountStatus.EXPIRED,
    )
    assert (
        member.user.identifier.encode()
        in owner_client.get(f"/connections/accounts/?status=EXPIRED&q={member.user.email}").content
    )
    assert (
        member.user.identifier.encode()
        not in owner_client.get("/connections/accounts/?status=ACTIVE").content
    )
