"""PreparedQuery: the same rows and objects as the ORM, with values always bound."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connections.models import AccountStatus, ConnectedAccount, Connection
from core.prepared import PreparedQuery
from portal.models import Organization


def accounts_query(org, identifier, provider, connection_name=""):
    accounts = (
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=identifier, connection__provider=provider)
        .select_related("connection")
        .order_by("connection__name")
    )
    if connection_name:
        accounts = accounts.filter(connection__name=connection_name)
    return accounts


BY_IDENTIFIER = PreparedQuery(accounts_query, org=Organization, identifier=str, provider=str)
BY_CONNECTION = PreparedQuery(
    accounts_query, org=Organization, identifier=str, provider=str, connection_name=str
)


@pytest.fixture
def accounts(org, other_org):
    made = []
    for organization in (org, other_org):
        for name in ("monday", "monday-eu"):
            conn = Connection.objects.create(
                organization=organization, name=name, provider="monday", scopes=["me:read"]
            )
            for identifier in ("alice@acme.test", "bob@acme.test"):
                made.append(
                    ConnectedAccount.objects.create(
                        organization=organization,
                        connection=conn,
                        identifier=identifier,
                        status=AccountStatus.ACTIVE,
                        scopes=["me:read", "boards:read"],
                    )
                )
    return made


def snapshot(accounts):
    return [
        (a.pk, a.organization_id, a.identifier, a.scopes, a.created_at, a.connection.name)
        for a in accounts
    ]


@pytest.mark.parametrize("identifier", ["alice@acme.test", "bob@acme.test", "nobody@acme.test"])
def test_same_objects_as_the_orm(accounts, org, identifier):
    prepared = BY_IDENTIFIER.run(org=org, identifier=identifier, provider="monday")
    orm = list(accounts_query(org, identifier, "monday"))
    assert snapshot(prepared) == snapshot(orm)
    assert all(a.organization_id == org.pk for a in prepared)
    # JSON and datetimes come back converted, as from the ORM, on SQLite and PostgreSQL.
    for account in prepared:
        assert isinstance(account.scopes, list)
        assert account.created_at.tzinfo is not None


def test_select_related_costs_no_extra_query(accounts, org):
    with CaptureQueriesContext(connection) as queries:
        found = BY_IDENTIFIER.run(org=org, identifier="alice@acme.test", provider="monday")
        names = [a.connection.name for a in found]
    assert names == ["monday", "monday-eu"]
    assert len(queries) == 1


def test_each_run_binds_its_own_values(accounts, org, other_org):
    first = BY_CONNECTION.run(
        org=org, identifier="alice@acme.test", provider="monday", connection_name="monday-eu"
    )
    second = BY_CONNECTION.run(
        org=other_org, identifier="bob@acme.test", provider="monday", connection_name="monday"
    )
    assert [(a.organization_id, a.identifier, a.connection.name) for a in first] == [
        (org.pk, "alice@acme.test", "monday-eu")
    ]
    assert [(a.organization_id, a.identifier, a.connection.name) for a in second] == [
        (other_org.pk, "bob@acme.test", "monday")
    ]


def test_values_are_bound_never_spliced_into_sql(accounts, org):
    hostile = "x' OR '1'='1"
    assert BY_IDENTIFIER.run(org=org, identifier=hostile, provider="monday") == []
    assert BY_IDENTIFIER.run(org=org, identifier="alice@acme.test", provider=hostile) == []


def test_a_shape_that_drops_a_value_is_refused(db):
    def ignores_provider(org, identifier, provider):
        return ConnectedAccount.objects.for_org(org).filter(identifier=identifier)

    query = PreparedQuery(ignores_provider, org=Organization, identifier=str, provider=str)
    with pytest.raises(ValueError, match="bound exactly once"):
        query.run(org=Organization(pk=1), identifier="a", provider="monday")


def test_it_sends_exactly_the_orms_sql(accounts, org):
    """The guard for Django upgrades: the statement a PreparedQuery sends is the one the
    ORM sends for the same values (and test_same_objects_as_the_orm checks the rows come
    back as the same objects, through the ORM internals it borrows)."""
    with CaptureQueriesContext(connection) as prepared:
        BY_IDENTIFIER.run(org=org, identifier="alice@acme.test", provider="monday")
    with CaptureQueriesContext(connection) as orm:
        list(accounts_query(org, "alice@acme.test", "monday"))
    assert [q["sql"] for q in prepared.captured_queries] == [q["sql"] for q in orm.captured_queries]
