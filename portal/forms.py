from django import forms

from portal.models import Role


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “billing-backend”.")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    test_mode = forms.BooleanField(
        required=False,
        label="Test key",
        help_text="ap_test_…: sandbox connections only, for your CI (README “Test your agents in CI”).",
    )
