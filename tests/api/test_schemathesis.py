"""DESIGN §7 rule 12: Schemathesis over the OpenAPI schema, every check, in process.

No 5xx, no response that breaks the schema, no endpoint that works without
authentication (`ignored_auth`), whatever Hypothesis sends; and (DESIGN §13 rule 26) no
refused request changes anything: after every 4xx, no table but the audit log changed,
and the audit log gained only records of the refusal.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from portal.apikeys import mint_api_key
from portal.callers import Caller
from tests.db_changes import Snapshot


def _openapi() -> dict:
    """The schema /api/schema/ serves, built without a request (no database needed)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


# Every check runs. Schema-valid data may still be refused with 422 (what the API
# documents for well-formed but unacceptable input: a provider not in the catalog) or
# 400 where Django's validators are stricter than JSON Schema can say: NUL characters,
# DNS limits on URL hostnames, an opaque cursor we never issued.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture
def api_key(org, owner):
    # As Django's test client does: keep the test's connection (and transaction) open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield mint_api_key(caller=Caller.of_member(owner), name="schemathesis")[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI is repeatable
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema(case, api_key, settings):
    settings.OPENAI_API_KEY = ""  # agent runs end at "not configured", never on the network
    before = Snapshot.take()
    response = case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
    if 400 <= response.status_code < 500:
        changed = before.refused_changes()
        assert not changed, f"{case.method} {case.path} → {response.status_code}: {changed}"
