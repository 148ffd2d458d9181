"""SCIM provisioning as an identity provider drives it: who may call, what a
deactivation or deletion does to a person's things (everything a removal does, in the
same request), groups mapped to roles, accounts that exist elsewhere, and tenancy."""

from __future__ import annotations

import json

import httpx2
import pytest
from django.test import Client

from agents.models import AgentRun, RunStatus
from audit.models import AuditEvent
from connections import accounts
from connections.models import AccountStatus, ConnectedAccount
from identity import domains, scim_tokens
from identity.models import ScimUser
from mcpserver.models import McpConnection
from portal.models import Membership, Role
from tests.callers import as_member
from tests.factories import UserFactory
from tests.fakes.dns_server import DnsServer
from tests.fakes.openai_server import call
from tests.fixtures import signed_in
from tests.mcp_support import bearer, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


class Scim:
    """An identity provider's SCIM client (the test client, JSON in and out)."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def send(self, method: str, path: str, body: dict | None = None):
        return getattr(self.client, method)(
            f"/scim/v2{path}",
            data=body if body is None else json.dumps(body),
            content_type="application/scim+json",
        )

    def create_user(self, email: str, **extra):
        body = {
            "schemas": [USER],
            "userName": email,
            "emails": [{"value": email, "primary": True}],
            "active": True,
        }
        return self.send("post", "/Users", body | extra)

    def set_active(self, scim_id: str, active: bool):
        body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": active}}]}
        return self.send("patch", f"/Users/{scim_id}", body)


@pytest.fixture
def idp(owner) -> Scim:
    return Scim(scim_tokens.mint(caller=as_member(owner), name="Okta")[1])


def test_only_a_live_scim_token_opens_scim_and_it_opens_nothing_else(owner, idp, api_key):
    token, raw = scim_tokens.mint(caller=as_member(owner), name="Entra")
    assert Scim(raw).send("get", "/Users").status_code == 200
    for wrong in ("", "scim_nothing", api_key, raw + "x"):
        answer = Scim(wrong).send("get", "/Users")
        assert answer.status_code == 401, wrong
        assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert answer["WWW-Authenticate"].startswith("Bearer")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/tools").status_code == 401
    scim_tokens.revoke(caller=as_member(owner), token_id=token.pk)
    assert Scim(raw).send("get", "/Users").status_code == 401
    assert AuditEvent.objects.filter(action="scim_token.revoked").exists()


def test_deactivating_a_member_does_everything_removal_does_in_one_request(
    org, owner, alice, monday, api, agent, model, live_portal, idp
):
    # Alice has a connected account, an MCP grant, and a run waiting for approval.
    refresh_token = accounts.token_set(
        ConnectedAccount.objects.get(identifier=alice.user.identifier)
    )["refresh_token"]
    grant, _, _ = sign_in(live_portal, alice, organization=org.slug)
    agent.approval_policy = "always"
    agent.save()
    model.queue(call("monday_create_item", board_id="1001", item_name="Later"))
    signed_in(alice).post(f"/agents/{agent.pk}/", {"prompt": "create it"})
    assert AgentRun.objects.get().status == RunStatus.AWAITING_APPROVAL

    alice.user.email = "alice@acme.example"  # scim2-models refuses the .test TLD
    alice.user.save()
    created = idp.create_user(alice.user.email)  # an existing member: linked as is
    assert created.status_code == 201, created.json()
    scim_id = created.json()["id"]
    assert created.json()["active"] is True and created["Location"].endswith(scim_id)

    answer = idp.set_active(scim_id, False)

    assert answer.status_code == 200 and answer.json()["active"] is False
    assert not Membership.objects.filter(organization=org, user=alice.user).exists()
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    assert account.status == AccountStatus.DISCONNECTED and account.token_set_sealed == ""
    assert refresh_token in monday.revocations
    assert McpConnection.objects.get(user=alice.user).revoked_at is not None
    refused = httpx2.post(
        live_portal.mcp_url, headers=bearer(grant.tokens.access_token), json=LISTING
    )
    assert refused.status_code == 401
    assert AgentRun.objects.get().status == RunStatus.FAILED
    execute = api.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_get_me", "identifier": alice.user.identifier},
        format="json",
    )
    assert execute.status_code == 404 and execute.json()["error"]["code"] == "identifier_not_member"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"scim.user_deactivated", "member.deprovisioned", "agent_run.rejected"} <= actions
    event = AuditEvent.objects.get(action="member.deprovisioned")
    assert event.actor_type == "system" and event.actor_label == "scim: Okta"

    # The provider still sees the user, inactive; reactivating makes a member again
    # (no old grant comes back).
    assert idp.send("get", f"/Users/{scim_id}").json()["active"] is False
    assert idp.set_active(scim_id, True).status_code == 200
    assert Membership.objects.get(organization=org, user=alice.user).role == Role.MEMBER
    assert McpConnection.objects.get(user=alice.user).revoked_at is not None

    assert idp.send("delete", f"/Users/{scim_id}").status_code == 204
    assert not Membership.objects.filter(organization=org, user=alice.user).exists()
    assert idp.send("get", f"/Users/{scim_id}").status_code == 404


def test_groups_map_to_roles_and_owners_stay_owners(org, owner, idp):
    person = idp.create_user("dana@acme.example").json()
    owner.user.email = "boss@acme.example"
    owner.user.save()
    boss = idp.create_user(owner.user.email).json()
    group = idp.send(
        "post",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Portal Admins", "members": [{"value": person["id"]}]},
    ).json()
    dana = Membership.objects.get(organization=org, user__email="dana@acme.example")
    assert dana.role == Role.MEMBER  # a group with no role mapped: the default

    page = signed_in(owner).post(f"/identity/groups/{group['id']}/role/", {"role": "admin"})
    assert page.status_code == 302
    dana.refresh_from_db()
    assert dana.role == Role.ADMIN
    assert signed_in(owner).post(f"/identity/groups/{group['id']}/role/", {"role": "owner"})
    dana.refresh_from_db()
    assert dana.role == Role.ADMIN  # owner is not a role groups give

    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "members", "value": [{"value": boss["id"]}]}],
    }
    assert idp.send("patch", f"/Groups/{group['id']}", body).status_code == 200
    dana.refresh_from_db()
    assert dana.role == Role.MEMBER  # left the group
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER
    # The last owner cannot be deprovisioned by the provider.
    refused = idp.set_active(boss["id"], False)
    assert refused.status_code == 409 and refused.json()["scimType"] == "mutability"
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_an_account_outside_the_organization_joins_only_from_a_verified_domain(
    org, owner, idp, settings
):
    outsider = UserFactory(email="erin@globex.example")
    refused = idp.create_user(outsider.email)
    assert (
        refused.status_code == 409
        and "verify the domain globex.example" in refused.json()["detail"]
    )
    assert not Membership.objects.filter(user=outsider).exists()

    with DnsServer() as dns:
        settings.DNS_RESOLVER = dns.address
        domain = domains.add_domain(caller=as_member(owner), domain="Globex.example")
        page = signed_in(owner).post(f"/identity/domains/{domain.pk}/", {"action": "verify"})
        assert page.status_code == 302
        domain.refresh_from_db()
        assert domain.verified_at is None  # no TXT record yet
        dns.txt["globex.example"] = ["v=spf1 -all", domains.record_value(domain)]
        signed_in(owner).post(f"/identity/domains/{domain.pk}/", {"action": "verify"})
    domain.refresh_from_db()
    assert domain.verified_at is not None and domain.method == "dns"

    assert idp.create_user(outsider.email).status_code == 201
    assert Membership.objects.get(organization=org, user=outsider).role == Role.MEMBER


def test_new_people_get_an_account_without_a_password(org, idp):
    created = idp.create_user("frank@acme.example", name={"givenName": "Frank"}, password="hunter2")
    assert created.status_code == 201
    assert "password" not in created.json()
    person = ScimUser.objects.get(pk=created.json()["id"])
    assert not person.user.has_usable_password()
    assert "hunter2" not in str(person.resource)


def test_filters_paging_and_errors_speak_scim(org, owner, idp):
    for n in range(3):
        assert idp.create_user(f"p{n}@acme.example").status_code == 201
    found = idp.send("get", '/Users?filter=userName eq "P1@acme.example"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["userName"] == "p1@acme.example"
    paged = idp.send("get", "/Users?startIndex=2&count=1").json()
    assert paged["totalResults"] == 3 and paged["startIndex"] == 2 and paged["itemsPerPage"] == 1
    for bad in ('title eq "x"', "userName eq", 'userName eq "a" and nickName eq "b"'):
        answer = idp.send("get", f"/Users?filter={bad}")
        assert answer.status_code == 400 and answer.json()["scimType"] == "invalidFilter", bad
    not_an_id = idp.send("get", '/Users?filter=id eq "not-a-uuid"')
    assert not_an_id.status_code in (200, 400)  # nothing found, or refused: never a 500
    assert not_an_id.status_code == 400 or not_an_id.json()["totalResults"] == 0
    assert idp.send("get", "/Users?count=x").status_code == 400
    duplicate = idp.create_user("p0@acme.example")
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    assert idp.send("post", "/Users", {"schemas": [USER]}).status_code == 400
    broken = idp.client.post("/scim/v2/Users", data="{", content_type="application/scim+json")
    assert broken.status_code == 400 and broken.json()["scimType"] == "invalidSyntax"
    assert idp.send("get", "/Nothing").status_code == 404


def test_another_organizations_provider_sees_and_changes_nothing(org, owner, other_owner, idp):
    person = idp.create_user("gina@acme.example").json()
    intruder = Scim(scim_tokens.mint(caller=as_member(other_owner), name="Globex IdP")[1])
    assert intruder.send("get", f"/Users/{person['id']}").status_code == 404
    assert intruder.set_active(person["id"], False).status_code == 404
    assert intruder.send("delete", f"/Users/{person['id']}").status_code == 404
    assert intruder.send("get", "/Users").json()["totalResults"] == 0
    group = {"schemas": [GROUP], "displayName": "Steal", "members": [{"value": person["id"]}]}
    assert intruder.send("post", "/Groups", group).status_code == 400
    assert Membership.objects.filter(organization=org, user__email="gina@acme.example").exists()


def test_entra_and_okta_patch_dialects_are_understood(org, owner, idp):
    """What Microsoft Entra ID and Okta send (their docs' examples): capitalized ops,
    string booleans, removal of members by value, replace without a path."""
    person = idp.create_user("hana@acme.example").json()
    entra = {"op": "Replace", "path": "active", "value": "False"}
    answer = idp.send(
        "patch", f"/Users/{person['id']}", {"schemas": [PATCH], "Operations": [entra]}
    )
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert not Membership.objects.filter(organization=org, user__email="hana@acme.example").exists()
    okta = {"op": "replace", "value": {"active": True}}
    idp.send("patch", f"/Users/{person['id']}", {"schemas": [PATCH], "Operations": [okta]})
    group = idp.send("post", "/Groups", {"schemas": [GROUP], "displayName": "Team"}).json()
    add = {"op": "Add", "path": "members", "value": [{"value": person["id"]}]}
    added = idp.send("patch", f"/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [add]})
    assert [m["value"] for m in added.json()["members"]] == [person["id"]]
    remove = {"op": "Remove", "path": "members", "value": [{"value": person["id"]}]}
    removed = idp.send(
        "patch", f"/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [remove]}
    )
    assert removed.status_code == 200 and not removed.json().get("members")
