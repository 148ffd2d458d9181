from typing import Any, cast

from django import forms

from connections.models import Budget, PolicyEffect, ToolAccess
from connections.policy import OPS as POLICY_OPS
from connections.providers import providers
from connections.providers.catalog import Provider
from connections.providers.schema import CONNECTION_NAME_LIMIT

ENDPOINT_HELP = "Only for self-hosted servers; may use the provider's placeholders."


class ConnectionForm(forms.Form):
    """One provider's connection: the OAuth app, its settings (hostname, tenant, …) as
    fields of their own, scopes, and endpoint overrides."""

    name = forms.SlugField(
        max_length=CONNECTION_NAME_LIMIT,
        help_text="Unique in the organization; used by the API, e.g. “github” (at most "
        f"{CONNECTION_NAME_LIMIT} characters).",
    )
    client_id = forms.CharField(max_length=255, label="Client ID")
    client_secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        label="Client secret",
        required=False,
        help_text="Write-only: stored encrypted, never shown again. Leave empty to keep the current one.",
    )
    scopes = forms.CharField(
        required=False, help_text="Space-separated. Empty: the provider's default scopes."
    )
    enabled = forms.BooleanField(required=False, initial=True)
    authorization_url = forms.CharField(
        required=False, max_length=500, label="Authorization URL override", help_text=ENDPOINT_HELP
    )
    token_url = forms.CharField(required=False, max_length=500, label="Token URL override")
    revoke_url = forms.CharField(required=False, max_length=500, label="Revocation URL override")
    api_base_url = forms.CharField(required=False, max_length=500, label="API base URL override")

    def __init__(
        self, *args: Any, provider: Provider, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        for setting in provider.settings:
            self.fields[f"setting_{setting.name}"] = forms.CharField(
                required=False,
                max_length=255,
                label=setting.label,
                help_text=f"{setting.help} Default: {setting.default}.".strip(),
            )
        if editing:
            # The name identifies the connection; changing it would break API callers.
            del self.fields["name"]

    def settings(self) -> dict[str, str]:
        return {
            s.name: self.cleaned_data.get(f"setting_{s.name}", "") for s in self.provider.settings
        }


class ToolsetForm(forms.Form):
    name = forms.SlugField(max_length=64, help_text="Lowercase letters, digits, '-' and '_'.")
    description = forms.CharField(max_length=500, required=False)
    providers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Every tool of these providers.",
    )
    tools = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="And these tools, by name (spaces, commas or new lines between them). "
        "Neither providers nor tools: every tool.",
    )
    access = forms.ChoiceField(
        choices=ToolAccess.choices, widget=forms.RadioSelect, initial=ToolAccess.READ
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["providers"]).choices = [
            (key, spec.display_name) for key, spec in sorted(providers().items())
        ]


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


class PolicyRuleForm(forms.Form):
    """A policy rule on a page (connections/policy.py checks it, as for the API). The page
    edits one condition on arguments; the API takes up to 20."""

    name = forms.CharField(max_length=100)
    effect = forms.ChoiceField(choices=PolicyEffect.choices, widget=forms.RadioSelect)
    message = forms.CharField(
        max_length=500, required=False, help_text="What a refused caller is told."
    )
    position = forms.IntegerField(
        min_value=0,
        initial=100,
        help_text="Rules are asked in this order; the first match decides.",
    )
    providers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    tools = forms.CharField(
        required=False, help_text="Tool names or globs, e.g. monday_create_* (spaces between)."
    )
    access = forms.ChoiceField(
        choices=[("any", "Reads and writes"), ("read", "Reads only"), ("write", "Writes only")]
    )
    vias = forms.MultipleChoiceField(
        required=False,
        label="Through",
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("api", "REST API"),
            ("proxy", "The proxy"),
            ("agent", "Agent runs"),
            ("mcp", "MCP clients"),
        ],
    )
    roles = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(r, r.title()) for r in ("owner", "admin", "member", "auditor")],
    )
    identifiers = forms.CharField(required=False, help_text="Only these identifiers.")
    agents = forms.CharField(required=False, help_text="Only these agents, by name.")
    clients = forms.CharField(required=False, help_text="Only these MCP client ids.")
    condition_path = forms.CharField(
        required=False, label="When the argument", help_text="e.g. $.channel or $.board_id"
    )
    condition_op = forms.ChoiceField(
        required=False,
        label="is",
        choices=[("", "—")] + [(op, op.replace("_", " ")) for op in POLICY_OPS],
    )
    condition_value = forms.CharField(
        required=False, label="Value", help_text="For in / not in: values separated by commas."
    )
    limit_count = forms.IntegerField(required=False, min_value=1, label="At most (calls)")
    limit_window_seconds = forms.IntegerField(required=False, min_value=1, label="Per (seconds)")
    limit_per = forms.ChoiceField(
        choices=[("member", "Each member"), ("organization", "The whole organization")]
    )
    approvers = forms.CharField(
        required=False,
        label="Approved by",
        help_text="For “needs approval”: roles (admin, owner…) or members' emails, spaces "
        "between — never the requester (four-eyes). Empty: the caller themselves.",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["providers"]).choices = [
            (key, spec.display_name) for key, spec in sorted(providers().items())
        ]

    def values(self) -> dict[str, Any]:
        """What connections.policy takes."""
        data = self.cleaned_data
        conditions = []
        if data["condition_path"] and data["condition_op"]:
            op, raw = data["condition_op"], data["condition_value"]
            value: Any = (
                [v.strip() for v in raw.split(",") if v.strip()] if op in ("in", "not_in") else raw
            )
            conditions.append({"path": data["condition_path"], "op": op, "value": value})
        return {
            "name": data["name"],
            "effect": data["effect"],
            "message": data["message"],
            "position": data["position"],
            "providers": list(data["providers"]),
            "tools": _words(data["tools"]),
            "access": data["access"],
            "vias": list(data["vias"]),
            "roles": list(data["roles"]),
            "identifiers": _words(data["identifiers"]),
            "agents": [a.strip() for a in data["agents"].split(",") if a.strip()],
            "clients": _words(data["clients"]),
            "conditions": conditions,
            "limit_count": data["limit_count"],
            "limit_window_seconds": data["limit_window_seconds"],
            "limit_per": data["limit_per"],
            "approvers": _words(data["approvers"]),
            "enabled": data["enabled"],
        }

    @staticmethod
    def initial_of(rule: Any) -> dict[str, Any]:
        first = (rule.conditions or [{}])[0]
        value = first.get("value", "")
        return {
            "name": rule.name,
            "effect": rule.effect,
            "message": rule.message,
            "position": rule.position,
            "providers": rule.providers,
            "tools": " ".join(rule.tools),
            "access": rule.access,
            "vias": rule.vias,
            "roles": rule.roles,
            "identifiers": " ".join(rule.identifiers),
            "agents": ", ".join(rule.agents),
            "clients": " ".join(rule.clients),
            "approvers": " ".join(rule.approvers),
            "condition_path": first.get("path", ""),
            "condition_op": first.get("op", ""),
            "condition_value": ", ".join(value) if isinstance(value, list) else value,
            "limit_count": rule.limit_count,
            "limit_window_seconds": rule.limit_window_seconds,
            "limit_per": rule.limit_per,
            "enabled": rule.enabled,
        }


class BudgetForm(forms.Form):
    """A budget on the usage page (connections/budgets.py checks it, as for the API)."""

    scope = forms.ChoiceField(choices=Budget.Scope.choices)
    subject = forms.CharField(
        required=False,
        max_length=255,
        help_text="The agent's name or the member's identifier; empty: each one.",
    )
    metric = forms.ChoiceField(choices=Budget.Metric.choices)
    period = forms.ChoiceField(choices=Budget.Period.choices)
    limit = forms.IntegerField(min_value=0, max_value=10**15)
