def test_api_key_reads_its_organization(api, org):
    response = api.get("/api/v1/organization")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_members_are_listed_with_cursor_pagination(api, owner, member, admin):
    first = api.get("/api/v1/members?limit=2").json()
    assert len(first["results"]) == 2 and first["next_cursor"]
    second = api.get(f"/api/v1/members?limit=2&cursor={first['next_cursor']}").json()
    emails = {m["email"] for m in first["results"] + second["results"]}
    assert emails == {owner.user.email, member.user.email, admin.user.email}
    assert second["next_cursor"] is None


def test_members_of_another_organization_are_not_listed(api, owner, other_owner):
    emails = {m["email"] for m in api.get("/api/v1/members").json()["results"]}
    assert other_owner.user.email not in emails
