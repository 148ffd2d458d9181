"""The portal served for real (uvicorn, the ASGI app with /mcp) on 127.0.0.1, and the
official MCP SDK's client against it: OAuth discovery from a 401, registration, the
person's consent in a browser-like session, tokens, tools/list and tools/call."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import uvicorn
from asgiref.sync import SyncToAsync
from django.core.asgi import get_asgi_application
from django.db import connections
from django.test import Client as DjangoClient

from mcpserver.asgi import with_mcp

REDIRECT_URI = "http://127.0.0.1:53682/callback"


@dataclass
class LivePortal:
    origin: str

    @property
    def mcp_url(self) -> str:
        return f"{self.origin}/mcp"

    def browser(self, user) -> httpx2.Client:
        """A browser signed in as `user` (a session made the Django way, sent to the
        live server)."""
        django = DjangoClient()
        django.force_login(user)

        def keep_cookies(response: httpx2.Response) -> None:
            # Browsers send Secure cookies to loopback over plain http (a "potentially
            # trustworthy" origin); httpx does not: keep them as a browser would.
            for name, value in response.cookies.items():
                client.cookies.set(name, value, domain="127.0.0.1")

        client = httpx2.Client(
            base_url=self.origin,
            follow_redirects=False,
            timeout=10,
            event_hooks={"response": [keep_cookies]},
        )
        client.cookies.set("sessionid", django.cookies["sessionid"].value, domain="127.0.0.1")
        return client


@contextmanager
def serve_portal(settings: Any) -> Iterator[LivePortal]:
    """The whole ASGI app under uvicorn on a free loopback port, its settings pointed at
    that origin (`settings`: pytest-django's fixture, or django.conf.settings in benches)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for
    # sockets that say they are TCP (else every response waits out a delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings.PORTAL_BASE_URL = origin
    settings.MCP_RESOURCE_URL = f"{origin}/mcp"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver", "localhost"]
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": origin,
        "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": f"{origin}/mcp",
    }
    server = uvicorn.Server(
        uvicorn.Config(with_mcp(get_asgi_application()), lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.02)
    try:
        yield LivePortal(origin)
    finally:
        server.should_exit = True
        thread.join(10)
        # Django's ASGI handler ran the pages in asgiref's one shared thread: close the
        # connection it keeps, so the test database can be dropped at the end.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def live_portal(transactional_db, settings):
    with serve_portal(settings) as portal:
        yield portal


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


@dataclass
class Consent:
    """Plays the person at the consent page: open it, allow (or not), return the redirect."""

    browser: httpx2.Client
    organization: str | None = None
    write: bool = True
    allow: bool = True
    # More of the form, as the person chose it (tool_mode, toolset).
    choices: dict[str, str] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)

    def __call__(self, authorization_url: str) -> str:
        page = self.browser.get(authorization_url)
        assert page.status_code == 200, page.text[:2000]
        self.pages.append(page.text)
        form = hidden_fields(page.text)
        if self.allow:
            form["allow"] = "Authorize"
        else:
            form["cancel"] = "Cancel"
        if self.organization:
            form["organization"] = self.organization
        if self.write:
            form["write"] = "on"
        form.update(self.choices)
        answer = self.browser.post(
            urlsplit(authorization_url).path,
            data=form,
            headers={"Referer": authorization_url},
        )
        assert answer.status_code == 302, answer.text[:2000]
        self.redirects.append(answer.headers["location"])
        return answer.headers["location"]


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info) -> None:
        self.client_info = client_info


def oauth_client(
    portal: LivePortal,
    consent: Consent,
    *,
    storage: MemoryStorage | None = None,
    client_metadata_url: str | None = None,
):
    """The SDK's OAuthClientProvider: discovery, registration (CIMD when
    `client_metadata_url`, else RFC 7591), PKCE, token, refresh."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    redirected: list[str] = []

    async def redirect_handler(url: str) -> None:
        redirected.append(await asyncio.to_thread(consent, url))

    async def callback_handler() -> AuthorizationCodeResult:
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirected[-1]).query).items()}
        return AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    return OAuthClientProvider(
        server_url=portal.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Test Agent",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage or MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )


async def session(url: str, *, auth: Any = None, headers: dict | None = None, mode: str = "auto"):
    """An SDK Client over Streamable HTTP (an async context manager)."""
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(auth=auth, headers=headers or {}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode=mode)


def run(coroutine):
    """asyncio.run in a thread of its own: the test's thread may already have a loop
    (Playwright's, from a browser test earlier in the same worker)."""
    box: list = []

    def target() -> None:
        try:
            box.append((True, asyncio.run(coroutine)))
        except BaseException as exc:  # re-raised in the test's thread
            box.append((False, exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    ok, value = box[0]
    if not ok:
        raise value
    return value


@dataclass
class Outcome:
    protocol_version: str
    tools: list[Any]
    results: list[Any]

    @property
    def names(self) -> set[str]:
        return {tool.name for tool in self.tools}


def use_tools(
    url: str,
    *,
    auth: Any = None,
    headers: dict | None = None,
    mode: str = "auto",
    calls: tuple[tuple[str, dict], ...] = (),
) -> Outcome:
    """Connect with the SDK's Client, list the tools, make the calls."""

    async def scenario() -> Outcome:
        client = await session(url, auth=auth, headers=headers, mode=mode)
        async with client:
            listed = await client.list_tools()
            results = [await client.call_tool(name, arguments) for name, arguments in calls]
            return Outcome(client.protocol_version, listed.tools, results)

    return run(scenario())


def sign_in(portal: LivePortal, who, *, storage: MemoryStorage | None = None, **consent: Any):
    """A new MCP client signs `who` in (RFC 7591 registration, consent, token) and lists
    their tools; returns (storage with the tokens, consent, outcome)."""
    storage = storage or MemoryStorage()
    person = Consent(portal.browser(who.user), **consent)
    outcome = use_tools(portal.mcp_url, auth=oauth_client(portal, person, storage=storage))
    return storage, person, outcome


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def register(client, **metadata):
    """RFC 7591 registration of a public client (a Django test client), `metadata` on top
    of what an MCP client sends."""
    body = {
        "client_name": "Registered",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    return client.post("/oauth2/register/", body, content_type="application/json")
