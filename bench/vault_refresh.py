"""Vault and token-read overhead.

1. seal + open operations per second (AES-256-GCM with associated data);
2. `get_access_token` on an account that needs no refresh vs a plain
   primary-key fetch of the same row, same run, median over N calls.
Target: get_access_token ≤ 1.5× the plain fetch.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from bench.common import bench_database, database_vendor, median_ms, timed

N = 2000


def main() -> None:
    with bench_database():
        from django.utils import timezone

        from connections import vault
        from connections.configuration import create_connection
        from connections.models import AccountStatus, ConnectedAccount
        from connections.tokens import get_access_token
        from portal.models import Organization

        ring = vault.get_keyring()
        start, ops = time.perf_counter(), 0
        while time.perf_counter() - start < 1.0:
            vault.open_sealed(
                vault.seal("x" * 1200, aad="bench:1:f", keyring=ring), aad="bench:1:f"
            )
            ops += 1
        seal_open_per_second = ops / (time.perf_counter() - start)

        org = Organization.objects.create(name="Bench", slug="bench")
        connection = create_connection(org=org, name="monday", provider="monday", client_id="c")
        account = ConnectedAccount(
            organization=org,
            connection=connection,
            identifier="bench-user",
            status=AccountStatus.ACTIVE,
            token_expires_at=timezone.now() + timedelta(hours=1),
        )
        account.set_secret(
            "token_set_sealed",
            json.dumps(
                {"access_token": "a" * 900, "refresh_token": "r" * 200, "token_type": "Bearer"}
            ),
        )
        account.save()

        plain, token = timed(
            lambda: ConnectedAccount.objects.get(pk=account.pk),
            lambda: get_access_token(account),
            n=N,
        )
        ratio = median_ms(token) / median_ms(plain)
        print(f"database: {database_vendor()}, N={N}")
        print(f"seal+open: {seal_open_per_second:,.0f} operations/s")
        print(f"plain pk fetch: median {median_ms(plain):.3f} ms")
        print(f"get_access_token (no refresh): median {median_ms(token):.3f} ms")
        print(f"ratio get_access_token / pk fetch: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
