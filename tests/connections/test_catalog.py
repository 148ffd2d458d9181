"""The catalog is validated at start-up: a bad entry stops the portal with a message that
names the provider and the field (unknown keys, missing fields, bad templates, tools)."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from connections.providers import monday, providers
from connections.providers.catalog import load_provider, render
from connections.tooling import Tool


def module(entry: dict, **extra) -> SimpleNamespace:
    return SimpleNamespace(__name__="connections.providers.test", ENTRY=entry, **extra)


def entry(**changes) -> dict:
    data = copy.deepcopy(monday.ENTRY)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"oauth__token_uri": "https://x"}, "oauth: unknown key(s) token_uri"),
        ({"colour": "blue"}, "(entry): unknown key(s) colour"),
        ({"oauth__token_url": None}, "oauth/token_url: required"),
        ({"whoami": None}, "whoami: required"),
        ({"oauth__pkce": "sometimes"}, "oauth/pkce"),
        ({"oauth__authorize_url": "http://plain.example/authorize"}, "oauth/authorize_url"),
        ({"api__base_url": "https://api.example/{nowhere}"}, "api/base_url: unknown placeholder"),
        ({"oauth__token_url": "https://{instance_url}/t"}, "oauth/token_url: unknown placeholder"),
        ({"refresh__rotates": "often"}, "refresh"),
        ({"revoke__method": "PURGE"}, "revoke"),
    ],
)
def test_a_bad_entry_is_refused_with_the_provider_and_the_field(changes, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        load_provider(module(entry(**changes)))
    assert "'monday'" in str(raised.value) and message in str(raised.value)


def test_tools_must_carry_the_providers_prefix():
    stray = Tool(
        "github_list_repos",
        "Lists repositories, for a test.",
        {"type": "object", "properties": {}, "additionalProperties": False},
        (),
        False,
        print,
    )
    with pytest.raises(ImproperlyConfigured, match="must start with one of"):
        load_provider(module(entry(), TOOLS=(stray,)))


def test_a_post_connect_hook_and_its_keeps_come_together():
    with pytest.raises(ImproperlyConfigured, match="post_connect"):
        load_provider(module(entry(post_connect={"keeps": ["cloud_id"]})))


def test_the_loaded_catalog_has_unique_tool_names():
    names = [tool.name for p in providers().values() for tool in p.tools]
    assert len(names) == len(set(names))


def test_templates_quote_values_so_they_cannot_add_a_path_or_host():
    assert render("https://api.example/ex/{cloud_id}", {"cloud_id": "../../x?y"}) == (
        "https://api.example/ex/..%2F..%2Fx%3Fy"
    )
    assert render("{instance_url}/services", {"instance_url": "https://na1.example/"}) == (
        "https://na1.example/services"
    )
