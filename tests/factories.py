"""Rows as the portal leaves them, without walking the flows that make them (OAuth, a
model's answers): for tests about what happens once they exist. Secrets go through the
vault as the portal stores them."""

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from agents.models import Agent, AgentRun, RunStatus
from audit import trail
from connections.models import AccountStatus, ConnectedAccount, Connection
from connections.oauth_client import TokenResponse
from connections.tokens import store_token_response
from portal.models import Membership, Organization, Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        user.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ConnectionFactory(factory.django.DjangoModelFactory):
    """A monday connection (its catalog entry's default scopes) with a sealed secret."""

    class Meta:
        model = Connection
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"monday-{n}")
    provider = "monday"
    client_id = "client-id"
    scopes = factory.LazyAttribute(
        lambda c: list(Connection(provider=c.provider).provider_spec.default_scopes)
    )

    @factory.post_generation
    def client_secret(connection, create, extracted, **kwargs):
        connection.set_secret("client_secret_sealed", extracted or "client-secret")
        if create:
            connection.save()


class ConnectedAccountFactory(factory.django.DjangoModelFactory):
    """An ACTIVE account holding sealed tokens (`access_token=`, `refresh_token=`,
    `expires_in=` to choose them)."""

    class Meta:
        model = ConnectedAccount
        skip_postgeneration_save = True

    connection = factory.SubFactory(ConnectionFactory)
    organization = factory.SelfAttribute("connection.organization")
    identifier = factory.Sequence(lambda n: f"customer-{n}")
    provider_account_id = factory.SelfAttribute("identifier")
    status = AccountStatus.ACTIVE
    scopes = factory.SelfAttribute("connection.scopes")

    @factory.post_generation
    def tokens(account, create, extracted, access_token=None, refresh_token="", expires_in=3600):
        """`tokens=<TokenResponse>` (a provider's answer), or the parts by keyword."""
        store_token_response(
            account,
            extracted
            or TokenResponse(
                access_token=access_token or f"at-{account.identifier}",
                refresh_token=refresh_token,
                token_type="Bearer",
                expires_in=expires_in,
                scopes=tuple(account.scopes) if account.scopes else None,
                kept={},
                raw={},
            ),
        )
        if create:
            account.save()


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    instructions = "Answer briefly."
    model = "test-model"


class AgentRunFactory(factory.django.DjangoModelFactory):
    """A run as start_run leaves it (queued); `status=RunStatus.RUNNING` and a lease to
    stand for a worker driving it."""

    class Meta:
        model = AgentRun

    agent = factory.SubFactory(AgentFactory)
    organization = factory.SelfAttribute("agent.organization")
    identifier = factory.LazyAttribute(
        lambda run: run.user.identifier if run.user else "customer-1"
    )
    user = None
    prompt = "What is on my board?"
    status = RunStatus.QUEUED
    started_at = factory.LazyAttribute(
        lambda run: timezone.now() if run.status != RunStatus.QUEUED else None
    )


def audit_event(organization, action: str = "connection.created", **fields):
    """One event recorded as the portal records them (content hash, then the sequencer)."""
    return trail.record(
        action=action, organization=organization, actor=trail.Actor.system("test"), **fields
    )


def active_account(
    connection,
    identifier: str,
    *,
    access_token: str,
    refresh_token: str = "",
    expires_in: int = 3600,
    save: bool = True,
):
    """An ACTIVE connected account holding sealed tokens, without the OAuth flow (tests
    about what happens once an account exists)."""
    make = ConnectedAccountFactory.create if save else ConnectedAccountFactory.build
    return make(
        connection=connection,
        identifier=identifier,
        scopes=[],
        tokens__access_token=access_token,
        tokens__refresh_token=refresh_token,
        tokens__expires_in=expires_in,
    )
