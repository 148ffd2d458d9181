from django import forms
from oauth2_provider.forms import AllowForm

from mcpserver.models import McpPolicy

TOOL_MODES = [
    ("auto", "Search-then-call when I have more than 30 tools"),
    ("all", "Every tool"),
    ("discovery", "Search-then-call (three meta-tools)"),
]


class ConsentForm(AllowForm):
    """django-oauth-toolkit's consent form, plus the organization the app acts in and
    whether it may change things."""

    organization = forms.CharField(required=False, max_length=100)
    write = forms.BooleanField(required=False)
    # What the app is shown: every tool, or search-then-call (connections/discovery.py).
    tool_mode = forms.ChoiceField(choices=TOOL_MODES, required=False)
    # One of the organization's toolsets, to limit the app to ("" for no limit).
    toolset = forms.CharField(required=False, max_length=64)


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
