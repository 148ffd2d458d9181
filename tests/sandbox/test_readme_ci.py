"""README "Test your agents in CI": its example runs verbatim against a live portal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.apikeys import mint_api_key
from portal.callers import Caller
from tests.factories import MembershipFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def ci_example() -> str:
    text = README.read_text()
    section = text.split("### Test your agents in CI", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


@pytest.mark.django_db(transaction=True)
def test_the_readme_ci_example_runs_verbatim(live_portal, monkeypatch, settings):
    # Served over plain http on loopback, as `make run` serves it: its cookies are not
    # Secure there either (httpx, unlike a browser, drops Secure cookies on http).
    settings.CSRF_COOKIE_SECURE = False
    owner = MembershipFactory(role="owner")
    _, key = mint_api_key(caller=Caller.of_member(owner), name="ci", test_mode=True)
    monkeypatch.setenv("PORTAL_URL", live_portal.origin)
    monkeypatch.setenv("PORTAL_TEST_KEY", key)
    exec(compile(ci_example(), "README.md (Test your agents in CI)", "exec"), {})
