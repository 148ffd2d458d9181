from django import forms

from webhooks.events import EVENT_TYPES

EVENT_CHOICES = [(name, name) for name in EVENT_TYPES if name != "webhook.test"]


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL", widget=forms.URLInput)
    description = forms.CharField(max_length=255, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events (none ticked: all but tool.executed)",
    )
    enabled = forms.BooleanField(required=False, initial=True)
