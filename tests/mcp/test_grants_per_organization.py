"""DESIGN §13 rules 23 and 28: every MCP grant, and every token issued under it, is bound
to one organization when it is issued and never re-pointed; consenting in another
organization makes a separate grant with its own scopes; removing a member revokes the
grants and tokens they hold in that organization, and rejoining does not revive them."""

from __future__ import annotations

import httpx2
import pytest

from audit.models import AuditEvent
from mcpserver.models import McpConnection
from portal.models import Role
from tests.factories import MembershipFactory
from tests.fixtures import signed_in
from tests.mcp_support import MemoryStorage, bearer, sign_in, use_tools
from tests.monday_support import MONDAY_ALICE, connect_via_portal, emulated_connection

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = ("monday_create_item", {"board_id": "1001", "item_name": "From the acme grant"})
LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.fixture
def alice_in_globex(alice, other_org, monday):
    """Alice is also a member of Globex, with monday.com connected there too."""
    membership = MembershipFactory(organization=other_org, user=alice.user, role=Role.MEMBER)
    emulated_connection(other_org, monday)
    assert connect_via_portal(signed_in(membership), MONDAY_ALICE).status_code == 302
    return membership


def _refresh(portal, storage) -> httpx2.Response:
    return httpx2.post(
        f"{portal.origin}/oauth2/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token,
            "client_id": storage.client_info.client_id,
        },
    )


def _consent_again(portal, alice, storage: MemoryStorage, **consent) -> MemoryStorage:
    """The same client (same registration) asks again: new tokens, same client id."""
    again = MemoryStorage()
    again.client_info = storage.client_info
    sign_in(portal, alice, storage=again, **consent)
    return again


def test_consent_in_another_organization_is_a_separate_grant(
    alice, alice_in_globex, boards, live_portal
):
    acme, _, _ = sign_in(live_portal, alice, organization="acme", write=True)
    globex = _consent_again(live_portal, alice, acme, organization="globex", write=False)

    grants = McpConnection.objects.filter(user=alice.user).order_by("organization__slug")
    assert [(g.organization.slug, sorted(g.scopes)) for g in grants] == [
        ("acme", ["tools:read", "tools:write"]),
        ("globex", ["tools:read"]),
    ]
    # The older, write-scoped token still acts in Acme, and only there.
    written = use_tools(
        live_portal.mcp_url, headers=bearer(acme.tokens.access_token), calls=(CREATE,)
    )
    assert not written.results[0].is_error
    event = AuditEvent.objects.filter(action="tool.executed").order_by("pk").last()
    assert event.organization.slug == "acme" and event.metadata["via"] == "mcp"
    # The Globex grant is read-only.
    refused = httpx2.post(
        live_portal.mcp_url,
        headers=bearer(globex.tokens.access_token),
        json={
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": CREATE[0], "arguments": CREATE[1]},
        },
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    # A refresh stays in its grant's organization.
    refreshed = _refresh(live_portal, acme)
    assert refreshed.status_code == 200, refreshed.text
    again = use_tools(
        live_portal.mcp_url,
        headers=bearer(refreshed.json()["access_token"]),
        calls=(("monday_get_me", {}),),
    )
    assert not again.results[0].is_error
    last = AuditEvent.objects.filter(action="tool.executed").order_by("pk").last()
    assert last.organization.slug == "acme"


def test_each_organizations_apps_page_lists_its_own_grant(
    alice, alice_in_globex, boards, live_portal
):
    acme, _, _ = sign_in(live_portal, alice, organization="acme")
    _consent_again(live_portal, alice, acme, organization="globex", write=False)
    acme_page = signed_in(alice).get("/apps/").content.decode()
    globex_page = signed_in(alice_in_globex).get("/apps/").content.decode()
    assert "Yours in Acme" in acme_page and "Yours in Globex" in globex_page
    for page in (acme_page, globex_page):
        assert page.count("Test Agent") == 1
    assert "Read and write" in acme_page or "tools:write" in acme_page


def test_removing_a_member_revokes_their_grants_there_and_rejoining_does_not_revive_them(
    alice, alice_in_globex, owner, boards, live_portal
):
    acme, _, _ = sign_in(live_portal, alice, organization="acme")
    globex = _consent_again(live_portal, alice, acme, organization="globex", write=False)

    assert signed_in(owner).post(f"/members/{alice.pk}/remove/").status_code == 302

    gone = httpx2.post(live_portal.mcp_url, headers=bearer(acme.tokens.access_token), json=LISTING)
    assert gone.status_code == 401
    assert _refresh(live_portal, acme).status_code == 400
    # The grant in the organization they still belong to is untouched.
    assert use_tools(live_portal.mcp_url, headers=bearer(globex.tokens.access_token)).names
    revoked = McpConnection.objects.get(user=alice.user, organization__slug="acme")
    assert revoked.revoked_at is not None
    assert AuditEvent.objects.filter(
        action="mcp.token_revoked", metadata__how="member_removed"
    ).exists()

    # Back in Acme: the old grant, write included, does not work again without consent.
    MembershipFactory(organization=alice.organization, user=alice.user, role=Role.MEMBER)
    still = httpx2.post(live_portal.mcp_url, headers=bearer(acme.tokens.access_token), json=LISTING)
    assert still.status_code == 401
    assert _refresh(live_portal, acme).status_code == 400
