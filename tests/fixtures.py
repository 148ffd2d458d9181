"""Shared fixtures: an organization with one member of each role, signed-in clients, API
keys (loaded for every test by the root conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.apikeys import mint_api_key
from portal.callers import Caller
from portal.models import Role
from tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and allauth's rate limits live in the cache; isolate tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


def _membership(org, role):
    return MembershipFactory(organization=org, role=role)


@pytest.fixture
def owner(org):
    return _membership(org, Role.OWNER)


@pytest.fixture
def admin(org):
    return _membership(org, Role.ADMIN)


@pytest.fixture
def member(org):
    return _membership(org, Role.MEMBER)


@pytest.fixture
def auditor(org):
    return _membership(org, Role.AUDITOR)


@pytest.fixture
def other_owner(other_org):
    return _membership(other_org, Role.OWNER)


def signed_in(membership, **client_kwargs) -> Client:
    client = Client(**client_kwargs)
    client.force_login(membership.user)
    session = client.session
    session["organization_id"] = membership.organization_id
    session.save()
    return client


@pytest.fixture
def owner_client(owner):
    return signed_in(owner)


@pytest.fixture
def member_client(member):
    return signed_in(member)


@pytest.fixture
def api_key(owner):
    _, plaintext = mint_api_key(caller=Caller.of_member(owner), name="backend")
    return plaintext


@pytest.fixture
def api(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api(other_owner) -> APIClient:
    _, plaintext = mint_api_key(caller=Caller.of_member(other_owner), name="other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture(scope="session", autouse=True)
def _end_stray_database_sessions(django_db_setup, django_db_blocker):
    """Live servers (threads) and worker processes may leave PostgreSQL sessions on the
    test database; end them so it can be dropped at the end of the run."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """`@pytest.mark.postgres_only`: row locks across connections, statement counts of
    PostgreSQL's plan — skipped on SQLite (`.ci/run`'s second pass runs them)."""
    if request.node.get_closest_marker("postgres_only"):
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL only (.ci/run's second pass)")
