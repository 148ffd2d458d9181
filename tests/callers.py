"""Callers for tests that call services directly (what authentication builds in a request)."""

from __future__ import annotations

from portal.apikeys import mint_api_key
from portal.callers import Caller


def as_member(membership) -> Caller:
    return Caller.of_member(membership)


def as_identifier(org, identifier: str) -> Caller:
    """What a member's own request, or an API key naming the identifier, acts as."""
    return Caller(organization=org, identifier=identifier)


def new_api_key(membership, name: str = "key") -> str:
    return mint_api_key(caller=Caller.of_member(membership), name=name)[1]
