"""Page forms and the domain's errors: a refusal shows under the field it is about, with
what the person typed kept, not as a banner over an emptied form."""

from __future__ import annotations

from django import forms

from core.errors import PortalError


def show_error(form: forms.Form, error: PortalError) -> None:
    """Put the error under its field (`details["field"]`, when the form has that field),
    without the "field: " prefix the API's message carries; else above the form."""
    details = error.details if isinstance(getattr(error, "details", None), dict) else {}
    field = str(details.get("field") or "")
    if field in form.fields:
        message = error.message.removeprefix(f"{field}: ").removeprefix(f"{field} ")
        form.add_error(field, message[:1].upper() + message[1:])
    else:
        form.add_error(None, error.message)
