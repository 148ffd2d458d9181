"""Secrets stay out of error reports: a DEBUG technical 500 page for a failing tool call
(frames whose locals hold the user's token, the context, the token set) shows none of them."""

from __future__ import annotations

import sys

from django.views.debug import technical_500_response

from connections import accounts, tools
from connections.identity import context_for
from connections.models import ConnectedAccount
from tests.monday_support import CLIENT_SECRET


def test_a_debug_500_page_for_a_failing_tool_call_holds_no_secret(org, alice, rf, settings):
    settings.DEBUG = True
    account = ConnectedAccount.objects.select_related("connection", "organization").get()
    held = accounts.token_set(account)
    secrets = [held["access_token"], held["refresh_token"], CLIENT_SECRET]
    config = account.connection.oauth_config()  # noqa: F841  (holds the client secret)

    def handler(ctx):
        tokens = accounts.token_set(account)  # noqa: F841  (a local the page would print)
        raise RuntimeError("the tool broke on an unexpected answer")

    try:
        tools.AccountCall(account).attempt(handler)
    except RuntimeError:
        response = technical_500_response(rf.get("/api/v1/tools/execute"), *sys.exc_info())
    html = response.content.decode()
    assert "the tool broke" in html and "attempt" in html  # the page is the real one
    leaked = [secret for secret in secrets if secret and secret in html]
    assert not leaked, "a secret is printed on the error page"


def test_contexts_and_configs_keep_secrets_out_of_their_repr(org, alice):
    account = ConnectedAccount.objects.select_related("connection").get()
    token = accounts.token_set(account)["access_token"]
    ctx = context_for(account.connection, token, {})
    assert token not in repr(ctx)
    assert CLIENT_SECRET not in repr(account.connection.oauth_config())
