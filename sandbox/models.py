"""The sandbox: one world per sandbox connection (the provider's emulator and its data,
kept between requests), and the model scripts an organization registered."""

from __future__ import annotations

import uuid

from django.db import models

from core.tenancy import OrgOwned


class SandboxWorld(OrgOwned):
    """A sandbox provider's state for one connection: its people, data, OAuth clients,
    codes and tokens — the emulator, pickled and signed (sandbox/worlds.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.OneToOneField(
        "connections.Connection", on_delete=models.CASCADE, related_name="sandbox_world"
    )
    provider = models.CharField(max_length=40)
    state = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sandbox {self.provider} ({self.organization_id})"


class ModelScript(OrgOwned):
    """What the sandbox model does for a prompt containing `match`: the tool calls of
    `steps`, one model turn each, then `final` as its answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    match = models.CharField(max_length=500)
    steps = models.JSONField(default=list, blank=True)
    final = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"script for {self.match!r}"
