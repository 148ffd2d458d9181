"""The Content-Security-Policy: sent everywhere, and our templates need no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
# An executable inline script: a <script> with no src that is not a JSON data block.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def script_sources(policy: str) -> str:
    return next(d for d in policy.split(";") if d.strip().startswith("script-src"))


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/no-such-page/", "/api/v1/organization", "/api/docs/"]
)
def test_every_response_carries_a_policy_without_inline_script(client, db, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert script_sources(policy).split() == ["script-src", "'self'"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_the_signed_in_pages_carry_it_too(owner_client):
    for path in ("/", "/agents/", "/audit/", "/api-keys/", "/connections/"):
        response = owner_client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self';" in response["Content-Security-Policy"], path


def test_templates_use_no_inline_handlers_or_scripts():
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)[:80]}"
        for path in TEMPLATES.rglob("*.html")
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT)
        for match in pattern.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_scanner_finds_what_it_looks_for():
    assert INLINE_HANDLER.search('<form data-x="1" onsubmit="return confirm()">')
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/portal/app.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json">{}</script>')
