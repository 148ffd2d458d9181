from typing import Any, cast

from django import forms

from connections.models import ToolAccess
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
