"""Every provider's tool tests run twice: against its emulator on a socket, and against
the sandbox code (the same emulator in a sandbox world, answered in-process)."""

import pytest

from tests.sandboxed import BACKENDS


@pytest.fixture(params=BACKENDS)
def provider_backend(request: pytest.FixtureRequest) -> str:
    return request.param
