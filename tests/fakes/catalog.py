"""Which emulator plays which provider: each provider's own (tests/fakes/<key>.py, its
OAuth from the catalog entry plus its API), the generic OAuth server otherwise."""

from __future__ import annotations

from connections.providers.catalog import Provider
from tests.fakes.asana import AsanaEmulator
from tests.fakes.github import GitHubEmulator
from tests.fakes.google import GoogleEmulator
from tests.fakes.hubspot import HubSpotEmulator
from tests.fakes.jira import JiraEmulator
from tests.fakes.linear import LinearEmulator
from tests.fakes.microsoft import MicrosoftEmulator
from tests.fakes.notion import NotionEmulator
from tests.fakes.oauth_server import OAuthProvider
from tests.fakes.salesforce import SalesforceEmulator
from tests.fakes.slack import SlackEmulator

EMULATORS: dict[str, type] = {
    "asana": AsanaEmulator,
    "github": GitHubEmulator,
    "google": GoogleEmulator,
    "hubspot": HubSpotEmulator,
    "jira": JiraEmulator,
    "linear": LinearEmulator,
    "microsoft": MicrosoftEmulator,
    "notion": NotionEmulator,
    "salesforce": SalesforceEmulator,
    "slack": SlackEmulator,
}


def emulator_for(spec: Provider) -> OAuthProvider:
    emulator = EMULATORS.get(spec.key)
    return emulator() if emulator else OAuthProvider(spec)
