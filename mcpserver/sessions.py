"""Handshake-era MCP sessions (protocol 2025-06-18 / 2025-11-25): a session exists only
after a successful `initialize`, ends after MCP_SESSION_IDLE_SECONDS without a request,
and one principal (a person or API key with one client) holds at most
MCP_SESSIONS_PER_PRINCIPAL at once. A stray request without a session gets an error and
no `Mcp-Session-Id`: junk traffic creates nothing on the server.

The SDK keeps the sessions themselves; this book keeps who opened which (per process,
like the SDK's sessions) so the gate can enforce the cap.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from core import metrics


class SessionBook:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_principal: dict[str, dict[str, float]] = {}

    def _live(self, principal: str) -> dict[str, float]:
        horizon = time.monotonic() - settings.MCP_SESSION_IDLE_SECONDS
        sessions = {
            sid: seen
            for sid, seen in self.by_principal.get(principal, {}).items()
            if seen > horizon
        }
        if sessions:
            self.by_principal[principal] = sessions
        else:
            self.by_principal.pop(principal, None)
        return sessions

    def has_room(self, principal: str) -> bool:
        with self.lock:
            return len(self._live(principal)) < settings.MCP_SESSIONS_PER_PRINCIPAL

    def opened(self, principal: str, session_id: str) -> None:
        metrics.mcp_session("handshake")
        with self.lock:
            self._live(principal)
            self.by_principal.setdefault(principal, {})[session_id] = time.monotonic()

    def seen(self, principal: str, session_id: str) -> None:
        with self.lock:
            sessions = self.by_principal.get(principal)
            if sessions is not None and session_id in sessions:
                sessions[session_id] = time.monotonic()

    def closed(self, principal: str, session_id: str) -> None:
        with self.lock:
            self.by_principal.get(principal, {}).pop(session_id, None)


book = SessionBook()
