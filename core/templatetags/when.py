"""`{{ moment|ago }}`: "just now" for the last minute, else "3 minutes ago" (never "0 minutes
ago"). A builtin (settings TEMPLATES), so templates need no {% load %}."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
