"""The house keeps its dependency order (DESIGN §2): each app imports only the apps below
it, never one above, so there are no import cycles between apps; and no module imports
another module's `_private` names."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from django.conf import settings

# Lowest first. core is the shared framework (errors, tenancy, API plumbing) and imports
# no app; audit refers to portal's models by string only.
ORDER = [
    "core",
    "audit",
    "portal",
    "connections",
    "identity",
    "agents",
    "webhooks",
    "mcpserver",
    "sandbox",
    "front",
]
ROOT = Path(settings.BASE_DIR)


def modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def test_apps_import_only_the_apps_below_them():
    wrong = []
    for rank, app in enumerate(ORDER):
        for path in modules(app):
            for module, _ in imports(path):
                top = module.split(".")[0]
                if top in ORDER and ORDER.index(top) > rank:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "imports against the dependency order:\n" + "\n".join(wrong)


def test_no_module_imports_another_modules_private_names():
    wrong = []
    for app in ORDER:
        for path in modules(app):
            for module, names in imports(path):
                if module.split(".")[0] in ORDER:
                    wrong += [
                        f"{path.relative_to(ROOT)}: {module}.{n}"
                        for n in names
                        if n.startswith("_")
                    ]
    assert not wrong, "\n".join(wrong)


def test_every_app_is_in_the_order():
    apps = {name.split(".")[0] for name in settings.INSTALLED_APPS if (ROOT / name).is_dir()}
    assert apps <= set(ORDER), apps - set(ORDER)


# The shared plumbing every app sends through lives in core (issue 22): the one outbound
# transport and the egress policy. Nobody reaches for them through connections.
SHARED_IN_CORE = {"core.outbound": "the outbound transport", "core.egress": "the egress policy"}
NOT_FROM_CONNECTIONS = (
    "connections.egress",
    "connections.providers.http.send",
    "connections.providers.http.outbound",
    "connections.providers.http.httpx2",
)


def test_every_app_sends_through_cores_transport_and_egress_policy():
    wrong = []
    for app in ORDER:
        for path in modules(app):
            for module, names in imports(path):
                named = [module] + [f"{module}.{n}" for n in names]
                wrong += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in named
                    if name.startswith(NOT_FROM_CONNECTIONS)
                ]
    assert not wrong, "import these from core.outbound / core.egress:\n" + "\n".join(wrong)
    for module in SHARED_IN_CORE:
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), SHARED_IN_CORE[module]


# One job per module (DESIGN §2, issue 22): a module that grows past this is two jobs.
MODULE_LINES = 500


def test_no_module_is_over_500_lines():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    too_long = {
        path: lines
        for path in tracked
        if "/migrations/" not in path
        and (ROOT / path).exists()
        and (lines := len((ROOT / path).read_text().splitlines())) > MODULE_LINES
    }
    assert len(tracked) > 300  # git answered
    assert not too_long, f"split these (over {MODULE_LINES} lines): {too_long}"


def test_the_running_portal_never_imports_the_tests():
    """Only a provider's emulator and its tests (connections/providers/<key>/emulator.py,
    tests/, pytest's conftest.py) may use the test harness; nothing the portal runs does."""
    wrong = []
    for app in ORDER:
        for path in modules(app):
            relative = path.relative_to(ROOT)
            if (
                "tests" in relative.parts
                or path.name.startswith("emulator")
                or path.name == "conftest.py"
            ):
                continue
            wrong += [
                f"{relative} imports {module}"
                for module, _ in imports(path)
                if module == "tests" or module.startswith("tests.")
            ]
    assert not wrong, "\n".join(wrong)
