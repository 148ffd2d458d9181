"""DESIGN §13 rule 27 for the OpenAPI schema (/api/schema/), as outside clients read it.

* A typed client generated from the schema (openapi-typescript + openapi-fetch, compiled
  by tsc in strict mode) type-checks a call of every operation — with a tool's params and
  every other free-form object carrying keys, and every list read as `{results,
  next_cursor}`. (`{"type": "object"}` alone compiled to `Record<string, never>`: no
  tool input could be passed.)
* Every free-form object says `additionalProperties: true`.
* Every list operation answers `{results, next_cursor}` and takes `cursor` and `limit`;
  walked live, the cursor pages through in-memory lists too.

The Node packages come from tests/clients/package-lock.json, installed by `make test`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.api.test_schemathesis import _openapi

CLIENTS = Path(settings.BASE_DIR) / "tests" / "clients"
SCHEMA = _openapi()
UUID = "00000000-0000-4000-8000-000000000000"
FREE_FORM_SAMPLE = {"board_id": "1001", "nested": {"any": ["thing", 1, True]}}


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged |= resolve(part)
        return merged
    return schema


def sample(schema: dict):
    """A value of the schema as a client would send it: required properties, and keys in
    every free-form object."""
    schema = resolve(schema)
    for union in ("oneOf", "anyOf"):
        if union in schema:
            return sample(schema[union][0])
    if "enum" in schema:
        return next(v for v in schema["enum"] if v not in ("", None))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if not properties and isinstance(schema.get("additionalProperties"), dict):
            values = schema["additionalProperties"]
            return {"key": sample(values) if values else FREE_FORM_SAMPLE}
        if not properties:
            return dict(FREE_FORM_SAMPLE)
        return {
            name: sample(sub)
            for name, sub in properties.items()
            if name in schema.get("required", [])
            or (resolve(sub).get("type") == "object" and not resolve(sub).get("readOnly"))
        }
    if kind == "array":
        return [sample(schema.get("items", {}))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if schema.get("format") == "uuid":
        return UUID
    if schema.get("format") == "date-time":
        return "2026-12-01T00:00:00Z"
    if schema.get("format") == "uri":
        return "https://hooks.example/in"
    if kind == "string":
        return "x"
    return FREE_FORM_SAMPLE


def operations():
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def success(operation: dict) -> dict:
    for status in ("200", "201", "202"):
        content = operation["responses"].get(status, {}).get("content", {})
        if "application/json" in content:
            return resolve(content["application/json"]["schema"])
    return {}


def is_list(path: str, operation: dict, method: str) -> bool:
    """A collection read: a GET that names no object and answers with a list in it."""
    answer = success(operation)
    if method != "get" or "{" in path:
        return False
    return answer.get("type") == "array" or any(
        resolve(p).get("type") == "array" for p in answer.get("properties", {}).values()
    )


def typescript_calls() -> str:
    lines = [
        'import createClient from "openapi-fetch";',
        'import type { paths } from "./api";',
        'const client = createClient<paths>({ baseUrl: "https://portal.example" });',
        "export async function everyOperation(): Promise<void> {",
    ]
    for n, (path, method, operation) in enumerate(operations()):
        options: dict = {}
        path_params = {
            p["name"]: sample(p["schema"])
            for p in operation.get("parameters", [])
            if p["in"] == "path"
        }
        query_params = {
            p["name"]: sample(p["schema"])
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        params = {"path": path_params, "query": query_params}
        if path_params or query_params:
            options["params"] = {k: v for k, v in params.items() if v}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            options["body"] = sample(body["schema"])
        call = f'await client.{method.upper()}("{path}", {json.dumps(options)})'
        lines.append(f"  const r{n} = {call};")
        if is_list(path, operation, method):
            # Every list is read the same way.
            lines.append(f"  const page{n}: {{ results: unknown[]; next_cursor?: string | null }}")
            lines.append(f"    | undefined = r{n}.data;")
            lines.append(f"  void page{n};")
        else:
            lines.append(f"  void r{n}.data;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_tools() -> Path:
    binaries = CLIENTS / "node_modules" / ".bin"
    if not (binaries / "tsc").exists():
        if os.environ.get("REQUIRE_CONTRACT_CLIENTS") == "1":  # .ci/run
            pytest.fail("tests/clients is not installed: `make test` runs npm ci there.")
        pytest.skip("tests/clients is not installed (`make test` runs npm ci there)")
    return binaries


def test_a_typed_client_generated_from_the_schema_compiles_a_call_of_every_operation(tmp_path):
    binaries = _node_tools()
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "node_modules").symlink_to(CLIENTS / "node_modules")
    generated = subprocess.run(
        [str(binaries / "openapi-typescript"), "schema.json", "-o", "api.d.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    # No property of any schema is an object that admits no key.
    typed = (tmp_path / "api.d.ts").read_text()
    assert not re.findall(r"^\s+[\w\"-]+\??: Record<string, never>", typed, re.MULTILINE)
    (tmp_path / "calls.ts").write_text(typescript_calls())
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "target": "es2022",
                    "module": "esnext",
                    "moduleResolution": "bundler",
                    "skipLibCheck": True,
                    "types": [],
                },
                "files": ["calls.ts"],
            }
        )
    )
    compiled = subprocess.run(
        [str(binaries / "tsc"), "-p", "tsconfig.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout[-4000:] + compiled.stderr[-2000:]


def test_every_free_form_object_is_open():
    closed = []

    def visit(node, where: str) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" not in node
                and node.get("additionalProperties") is None
            ):
                closed.append(where)
            for key, value in node.items():
                visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(value, f"{where}[{index}]")

    visit(SCHEMA, "#")
    assert closed == []


LIST_OPERATIONS = [
    (path, operation)
    for path, method, operation in operations()
    if is_list(path, operation, method)
]


def test_the_walk_found_the_lists():
    paths = {path for path, _ in LIST_OPERATIONS}
    assert {
        "/api/v1/connections",
        "/api/v1/providers",
        "/api/v1/tools",
        "/api/v1/webhook-event-types",
        "/api/v1/agent-runs",
        "/api/v1/audit-events",
    } <= paths


@pytest.mark.parametrize(("path", "operation"), LIST_OPERATIONS, ids=lambda v: str(v)[:40])
def test_every_list_answers_results_and_next_cursor(path, operation):
    answer = success(operation)
    assert set(answer["properties"]) == {"results", "next_cursor"}, path
    assert set(answer["required"]) == {"results", "next_cursor"}
    assert resolve(answer["properties"]["results"])["type"] == "array"
    assert answer["properties"]["next_cursor"].get("nullable") is True
    parameters = {p["name"] for p in operation.get("parameters", [])}
    assert {"cursor", "limit"} <= parameters, path


@pytest.mark.parametrize(("path", "operation"), LIST_OPERATIONS, ids=lambda v: str(v)[:40])
def test_every_list_pages_through_with_its_cursor(path, operation, api, alice, bob, org, agent):
    identifier = {
        "/api/v1/tools": f"identifier={alice.user.identifier}&",
        "/api/v1/tools/search": f"identifier={alice.user.identifier}&q=board&",
    }.get(path, "")
    seen, cursor, pages = [], None, 0
    while True:
        query = identifier + "limit=1" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(f"{path}?{query}")
        assert answer.status_code == 200, (path, answer.json())
        body = answer.json()
        assert set(body) == {"results", "next_cursor"} and len(body["results"]) <= 1
        seen += [json.dumps(item, sort_keys=True) for item in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor or pages > 200:
            break
    assert len(seen) == len(set(seen)), f"{path}: a page repeated an item"
    whole = api.get(f"{path}?{identifier}limit=200").json()["results"]
    assert len(seen) == len(whole), path
