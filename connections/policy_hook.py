"""An organization's pre-execution hook (issue 26): an HTTPS endpoint of its own asked
about each tool call the policy rules did not refuse, before the provider is called.

The request is signed like webhooks (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature` over `id.timestamp.body`, with the hook's own
`whsec_` secret), sent through the one guarded transport (the egress policy applies), and
must be answered within 2 s in all — a hook is in the path of every call. The answer is
`{"decision": "allow" | "deny" | "approve", "message": "…"}`; anything else — a timeout,
a non-2xx status, another body — is a failure, which allows the call when the hook is set
to fail open and refuses it (403 `policy_hook_failed`) when it fails closed. Every answer
is recorded on the call's audit event (`hook`: decision, status, latency, error).

The body carries the call as the provider would get it (arguments after data
protection's redaction), who calls and through what; never a token.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from audit import trail
from connections import policy
from connections.models import PolicyHook
from connections.tooling import Tool
from core import outbound
from core.egress import check_url
from core.errors import Invalid, NotFound
from core.signing_secrets import new_signing_secret
from portal.callers import Caller
from portal.models import Organization

DEADLINE_SECONDS = 2.0
DECISIONS = ("allow", "deny", "approve")
MAX_ANSWER_BYTES = 16 * 1024


@dataclass(frozen=True)
class HookAnswer:
    decision: str  # allow, deny or approve — after fail-open / fail-closed
    message: str = ""
    status: int | None = None
    latency_ms: float = 0.0
    error: str = ""  # why the hook's answer was not taken

    def as_audit(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            **({"error": self.error} if self.error else {}),
        }


def body_for(*, tool: Tool, params: dict[str, Any], context: Any) -> dict[str, Any]:
    caller = context.caller
    organization = caller.organization
    return {
        "type": "tool_call.check",
        "timestamp": timezone.now().isoformat(),
        "organization": {"id": organization.pk, "slug": organization.slug},
        "call": {
            "tool": tool.name,
            "provider": tool.provider,
            "write": tool.write,
            "arguments": params,
            "via": context.via,
            "identifier": caller.identifier,
            "role": caller.role,
            "agent": context.agent,
            "client_id": context.client_id,
        },
    }


def ask(hook: PolicyHook, *, tool: Tool, params: dict[str, Any], context: Any) -> HookAnswer:
    """The hook's decision on one call (never raises: a failure is an answer too)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps(body_for(tool=tool, params=params, context=context), default=str)
    at = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "AgentPortal-PolicyHook/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(hook.get_secret("secret_sealed") or "").sign(msg_id, at, body),
    }
    started = time.perf_counter()
    status, error, decision, message = None, "", "", ""
    try:
        response = outbound.send(
            "POST",
            hook.url,
            what="policy hook",
            headers=headers,
            content=body.encode(),
            deadline=DEADLINE_SECONDS,
            max_bytes=MAX_ANSWER_BYTES,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"answered HTTP {status}"
        else:
            decision, message, error = _read(response.content)
    except outbound.OutboundError as exc:
        error = exc.message[:200]
    latency = (time.perf_counter() - started) * 1000
    if error:
        decision = "allow" if hook.fail_open else "deny"
    return HookAnswer(decision, message, status, latency, error)


def _read(content: bytes) -> tuple[str, str, str]:
    try:
        answer = json.loads(content)
    except ValueError:
        return "", "", "answered something other than JSON"
    decision = answer.get("decision") if isinstance(answer, dict) else None
    if decision not in DECISIONS:
        return "", "", f"answered no decision ({', '.join(DECISIONS)})"
    message = answer.get("message")
    return decision, str(message)[:500] if isinstance(message, str) else "", ""


# --- Setting the hook ---------------------------------------------------------------------------


def hook_of(organization: Organization) -> PolicyHook | None:
    return PolicyHook.objects.for_org(organization).first()


def get_hook(organization: Organization) -> PolicyHook:
    hook = hook_of(organization)
    if hook is None:
        raise NotFound("No policy hook is set.", code="policy_hook_not_found")
    return hook


def set_hook(
    *,
    caller: Caller,
    url: Any,
    fail_open: Any = False,
    enabled: Any = True,
    rotate_secret: bool = False,
    request: HttpRequest | None = None,
) -> tuple[PolicyHook, str | None]:
    """Create or change the hook → (hook, its new secret — shown once — or None)."""
    caller.require_manager()
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise Invalid("url must be an https URL.", code="invalid_url", details={"field": "url"})
    url = check_url(url, field="url")
    if not isinstance(fail_open, bool) or not isinstance(enabled, bool):
        raise Invalid("fail_open and enabled are true or false.", code="invalid_policy_hook")
    organization = caller.organization
    with transaction.atomic():
        hook = PolicyHook.objects.for_org(organization).select_for_update().first()
        created = hook is None
        if hook is None:
            hook = PolicyHook(organization=organization)
        hook.url, hook.fail_open, hook.enabled = url, fail_open, enabled
        secret = new_signing_secret() if created or rotate_secret else None
        if secret:
            hook.set_secret("secret_sealed", secret)
        hook.save()
        policy.changed(organization)
        trail.record(
            action="policy_hook.set",
            organization=organization,
            caller=caller,
            request=request,
            target_type="policy_hook",
            target_id=str(hook.pk),
            metadata={
                "url": url,
                "fail_open": fail_open,
                "enabled": enabled,
                "secret_rotated": bool(secret),
            },
        )
    return hook, secret


def delete_hook(*, caller: Caller, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    hook = get_hook(caller.organization)
    with transaction.atomic():
        trail.record(
            action="policy_hook.deleted",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="policy_hook",
            target_id=str(hook.pk),
            metadata={"url": hook.url},
        )
        policy.changed(caller.organization)
        hook.delete()
