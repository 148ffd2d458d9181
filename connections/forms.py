from django import forms

from connections.providers import provider_choices


class ConnectionForm(forms.Form):
    provider = forms.ChoiceField(choices=provider_choices)
    name = forms.SlugField(
        max_length=64, help_text="Unique in the organization; used by the API, e.g. “monday”."
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
    authorization_url = forms.URLField(
        required=False, assume_scheme="https", label="Authorization URL override"
    )
    token_url = forms.URLField(required=False, assume_scheme="https", label="Token URL override")
    revoke_url = forms.URLField(
        required=False, assume_scheme="https", label="Revocation URL override"
    )
    api_base_url = forms.URLField(
        required=False, assume_scheme="https", label="API base URL override"
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # Name and provider identify the connection; changing them would orphan accounts.
            del self.fields["provider"]
            del self.fields["name"]
