"""Connecting sandbox accounts the way a browser does: the connect button, the sandbox's
consent page, the portal's callback."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import Client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def connect_sandbox(client: Client, connection: str, *, person: str | None = None):
    """Connect → consent page → Allow → callback; returns the callback's response."""
    start = client.post(f"/connected-accounts/{connection}/connect/")
    assert start.status_code == 302, start.content.decode()[:500]
    consent_url = path_of(start["Location"])
    page = client.get(consent_url)
    assert page.status_code == 200, page.content.decode()[:500]
    form = {"decision": "approve", **({"person": person} if person else {})}
    allowed = client.post(consent_url, form)
    assert allowed.status_code == 302, allowed.content.decode()[:500]
    return client.get(path_of(allowed["Location"]))
