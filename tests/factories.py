import factory
from allauth.account.models import EmailAddress

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
    from connections.models import AccountStatus, ConnectedAccount
    from connections.oauth_client import TokenResponse
    from connections.tokens import store_token_response

    account = ConnectedAccount(
        organization=connection.organization,
        connection=connection,
        identifier=identifier,
        provider_account_id=identifier,
        status=AccountStatus.ACTIVE,
    )
    store_token_response(
        account,
        TokenResponse(
            access_token=access_token,
            refresh_token=refresh_token,
            token_type="Bearer",
            expires_in=expires_in,
            scopes=None,
            kept={},
            raw={},
        ),
    )
    if save:
        account.save()
    return account
