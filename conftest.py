"""The suite's fixtures, for the tests under tests/ and each provider's own tests
(connections/providers/<key>/tests/, beside its emulator)."""

pytest_plugins = [
    "tests.fixtures",
    "tests.sandboxed",
    "tests.monday_support",
    "tests.agent_support",
    "tests.provider_support",
    "tests.worker_support",
    "tests.mcp_support",
    "tests.log_scan",
]
