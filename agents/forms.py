from typing import cast

from django import forms

from agents.models import Agent


class AgentForm(forms.Form):
    name = forms.CharField(max_length=100)
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="The system prompt: who the agent is and how it should work.",
    )
    model = forms.CharField(max_length=100, initial="gpt-4o")
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.2)
    max_steps = forms.IntegerField(
        min_value=1, max_value=50, initial=8, help_text="Model calls per run before it stops."
    )
    allowed_connections = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every connection the user has.",
    )
    allowed_tools = forms.MultipleChoiceField(
        required=False,
        # Grouped by provider; static/portal/app.js adds a filter box (76+ tools).
        widget=forms.CheckboxSelectMultiple(attrs={"data-filterable": "tools"}),
        help_text="None ticked: every tool the user's accounts may call.",
    )
    approval_policy = forms.ChoiceField(
        choices=Agent.Approval.choices,
        initial=Agent.Approval.NEVER,
        label="Approve write tools",
    )
    tool_mode = forms.ChoiceField(
        required=False,
        choices=Agent.ToolMode.choices,
        initial=Agent.ToolMode.AUTO,
        label="Tools offered to the model",
        help_text="Discovery offers three meta-tools (search, describe, call) instead of "
        "every definition: fewer tokens, better choices with many tools.",
    )
    toolset = forms.ChoiceField(
        required=False,
        label="Toolset",
        help_text="Limit the agent to one of the organization's toolsets (on top of the lists "
        "above).",
    )
    result_limit = forms.IntegerField(
        required=False,
        min_value=1024,
        max_value=1024 * 1024,
        initial=16 * 1024,
        label="Largest tool result given whole (characters)",
        help_text="A larger result is stored with the run; the model gets its first part and "
        "reads more when it needs to.",
    )
    sandbox_model = forms.BooleanField(
        required=False,
        label="Use the sandbox model",
        help_text="The portal's own stand-in: follows scripts, or calls a tool you name "
        "(`call monday_list_boards {}`). No key needed; not a language model.",
    )
    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Model base URL override",
        help_text="Any OpenAI-compatible server. Empty: OPENAI_BASE_URL.",
    )
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Model API key override",
        help_text="Write-only: stored encrypted, never shown again. Empty keeps the current one.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored API key")

    def __init__(
        self, *args, connections=(), tools=(), toolsets=(), editing=False, **kwargs
    ) -> None:
        """`tools`: (provider name, tool names) groups."""
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["toolset"]).choices = [("", "None")] + [
            (name, name) for name in toolsets
        ]
        cast(forms.ChoiceField, self.fields["allowed_connections"]).choices = [
            (name, name) for name in connections
        ]
        cast(forms.ChoiceField, self.fields["allowed_tools"]).choices = [
            (group, [(name, name) for name in names]) for group, names in tools
        ]
        if not editing:
            del self.fields["clear_api_key"]


class RunForm(forms.Form):
    prompt = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "What should the agent do?", "autofocus": True}
        ),
        max_length=20_000,
    )
