"""DESIGN §13 rule 27, over the whole catalog: every tool's schema is in the portable
subset that OpenAI (its strict mode, as the OpenAI Agents SDK converts it), Anthropic
(JSON Schema draft 2020-12) and Gemini accept, and its name fits every model API even
qualified with a connection name. A new tool that breaks a rule fails here — and already
when the catalog loads.

One schema a model API refuses fails the whole request for every user who has that
provider connected (a duplicate `required` entry, a non-object root, a root `anyOf`, a
`type` list have each done so to a peer's users)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from jsonschema import Draft202012Validator

from connections.providers.schema import (
    CONNECTION_NAME_LIMIT,
    PORTABLE_KEYWORDS,
    VALIDATION_ONLY_KEYWORDS,
    portability_errors,
)
from connections.tooling import Tool
from connections.tools import QUALIFIER, tool_registry
from mcpserver import server as mcp_server

TOOLS = sorted(tool_registry().values(), key=lambda tool: tool.name)
META_TOOLS = [*mcp_server.DISCOVERY, mcp_server.READ_RESULT]
# OpenAI and Anthropic: ^[a-zA-Z0-9_-]{1,64}$; Gemini: a letter or _ first, at most 64.
MODEL_API_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
LONGEST_CONNECTION = "c" * CONNECTION_NAME_LIMIT


def keywords(schema, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    keywords(sub, found)
            else:
                found.add(key)
                keywords(value, found)
    elif isinstance(schema, list):
        for item in schema:
            keywords(item, found)
    return found


def test_the_catalog_is_what_was_checked():
    assert len(TOOLS) >= 76


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_every_tool_schema_keeps_to_the_portable_subset(tool: Tool):
    assert portability_errors(tool.input_schema) == []
    exposed = tool.model_schema
    assert keywords(exposed) <= PORTABLE_KEYWORDS, keywords(exposed) - PORTABLE_KEYWORDS
    assert not keywords(exposed) & VALIDATION_ONLY_KEYWORDS
    Draft202012Validator.check_schema(exposed)  # Anthropic: draft 2020-12
    assert exposed["type"] == "object" and exposed["additionalProperties"] is False
    assert not {"anyOf", "oneOf", "allOf", "$ref", "not"} & set(exposed)


@pytest.mark.parametrize("tool", META_TOOLS, ids=lambda tool: tool.name)
def test_the_meta_tools_keep_to_the_portable_subset(tool):
    """search_tools, describe_tool, call_tool and read_result, as MCP lists them."""
    schema = tool.input_schema
    assert keywords(schema) <= PORTABLE_KEYWORDS, keywords(schema) - PORTABLE_KEYWORDS
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_every_tool_name_fits_model_apis_even_qualified(tool: Tool):
    qualified = f"{LONGEST_CONNECTION}{QUALIFIER}{tool.name}"
    assert MODEL_API_NAME.match(tool.name) and MODEL_API_NAME.match(qualified), qualified


def test_the_openai_agents_sdk_converts_every_tool_to_strict_mode():
    """The SDK's own conversion (`ensure_strict_json_schema`), run as an outside client in a
    process of its own: its package is also called `agents`."""
    contracts = Path(settings.BASE_DIR) / ".venv" / "contracts"
    if not (contracts / "agents" / "strict_schema.py").exists():
        pytest.fail("The OpenAI Agents SDK is not installed: `make test` installs it.")
    script = (
        "import json, sys\n"
        "from agents.strict_schema import ensure_strict_json_schema\n"
        "failed = {}\n"
        "for name, schema in json.load(sys.stdin).items():\n"
        "    try:\n"
        "        ensure_strict_json_schema(schema)\n"
        "    except Exception as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(failed))\n"
    )
    schemas = {tool.name: tool.model_schema for tool in TOOLS}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        cwd="/",
        env={"PYTHONPATH": str(contracts), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"id": {"type": ["string", "integer"]}}},
        {"type": "object", "properties": {}, "additionalProperties": True},
        {"anyOf": [{"type": "object"}]},
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "a"]},
        {"type": "object", "properties": {}, "required": ["ghost"]},
        {"type": "object", "properties": {"tags": {"type": "array"}}},
        {"type": "object", "properties": {"x": {"type": "null"}}},
        {"type": "object", "properties": {"x": {"type": "string", "format": "uri"}}},
        {
            "type": "object",
            "properties": {"m": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
    ],
    ids=str,
)
def test_a_tool_that_breaks_a_rule_stops_the_catalog(schema):
    with pytest.raises(ValueError, match="Tool monday_broken"):
        Tool("monday_broken", "For a test.", schema, (), False, print)


def test_a_name_too_long_to_qualify_stops_the_catalog():
    with pytest.raises(ValueError, match="at most"):
        Tool(
            "monday_" + "x" * 40,
            "For a test.",
            {"type": "object", "properties": {}, "additionalProperties": False},
            (),
            False,
            print,
        )


@pytest.mark.django_db(transaction=True)
def test_every_surface_offers_the_portable_schema(
    alice, boards, api, api_key, live_portal, agent, model
):
    """The API's tool list, MCP's tools/list and the tools an agent run offers carry the
    same, portable schemas."""
    from tests.agents.test_runs import run_from_page
    from tests.fakes.openai_server import reply
    from tests.fixtures import signed_in
    from tests.mcp_support import bearer, use_tools

    listed = api.get(f"/api/v1/tools?identifier={alice.user.identifier}").json()["results"]
    by_name = {tool.name: tool for tool in TOOLS}
    assert listed and all(t["input_schema"] == by_name[t["tool"]].model_schema for t in listed)
    mcp_tools = use_tools(
        live_portal.mcp_url,
        headers=bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier}),
    ).tools
    meta = {t.name: t for t in META_TOOLS}
    assert {"read_result"} <= {t.name for t in mcp_tools}
    assert all(
        t.input_schema
        == (meta[t.name].input_schema if t.name in meta else by_name[t.name].model_schema)
        for t in mcp_tools
    )
    model.queue(reply("Nothing to do."))
    run_from_page(signed_in(alice), agent, prompt="Hello")
    offered = model.requests[0]["tools"]
    assert offered and all(
        t["function"]["parameters"] == by_name[t["function"]["name"]].model_schema for t in offered
    )
