"""The SCIM server, checked by an outside compliance checker (scim2-tester, which nobody
here wrote) against a live server: discovery, create, read, query, replace, patch and
delete of Users and Groups. Every check must end SUCCESS, COMPLIANT or ACCEPTABLE (or be
skipped by the checker itself); ERROR, CRITICAL and DEVIATION fail with their reasons."""

from __future__ import annotations

from collections import Counter

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from identity import scim_tokens
from tests.callers import as_member

pytestmark = pytest.mark.django_db(transaction=True)

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


def test_the_scim_server_passes_scim2_tester(live_server, owner, capsys):
    _, token = scim_tokens.mint(caller=as_member(owner), name="Okta")
    with httpx2.Client(
        base_url=f"{live_server.url}/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    ) as http:
        results = check_server(SyncSCIMClient(http))
    summary = Counter(result.status.name for result in results)
    with capsys.disabled():
        print(
            f"\nscim2-tester: {len(results)} checks — "
            + ", ".join(f"{name} {count}" for name, count in sorted(summary.items()))
        )
    failed = [r for r in results if r.status not in PASSING]
    assert not failed, "\n".join(repr(r) for r in failed)
    assert summary["SUCCESS"] >= 20
