from django import forms
from oauth2_provider.forms import AllowForm

from mcpserver.models import McpPolicy


class ConsentForm(AllowForm):
    """django-oauth-toolkit's consent form, plus the organization the app acts in and
    whether it may change things."""

    organization = forms.CharField(required=False, max_length=100)
    write = forms.BooleanField(required=False)


class PolicyForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Let MCP clients connect")
    approval_policy = forms.ChoiceField(choices=McpPolicy.Approval.choices, label="Writes over MCP")
    allowed_client_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Only these clients (one client id per line; empty: any)",
    )


class ClientForm(forms.Form):
    name = forms.CharField(max_length=255)
    redirect_uris = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Redirect URIs (one per line)"
    )
    confidential = forms.BooleanField(
        required=False, label="Confidential (it keeps a client secret on a server)"
    )
