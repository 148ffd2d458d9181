"""Model output on pages: escaped first, then a small, safe subset of markdown.

The model's text is untrusted (it may echo tool data written by anyone), so it
is HTML-escaped before any markup is added; links are limited to http(s).
"""

from __future__ import annotations

import json
import re

from django import template
from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)\"'<>]+)\)")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def _inline(text: str) -> str:
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    return _LINK.sub(r'<a href="\2" rel="noopener nofollow">\1</a>', text)


@register.filter
def safe_markdown(value: str) -> SafeString:
    """Paragraphs, bullet and numbered lists, `code`, **bold**, *italic*, [links](https://…)."""
    html: list[str] = []
    open_list = ""
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            html.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    def close_list() -> None:
        nonlocal open_list
        if open_list:
            html.append(f"</{open_list}>")
            open_list = ""

    for raw_line in escape(value or "").splitlines():
        bullet, numbered = _BULLET.match(raw_line), _NUMBERED.match(raw_line)
        if bullet or numbered:
            flush_paragraph()
            kind = "ul" if bullet else "ol"
            if open_list != kind:
                close_list()
                html.append(f"<{kind}>")
                open_list = kind
            item = bullet or numbered
            assert item is not None
            html.append(f"<li>{_inline(item.group(1))}</li>")
        elif not raw_line.strip():
            flush_paragraph()
            close_list()
        else:
            close_list()
            paragraph.append(_inline(raw_line))
    flush_paragraph()
    close_list()
    return mark_safe("".join(html))  # noqa: S308 — built from escaped text only


@register.filter
def pretty_json(value: object) -> str:
    """Indented JSON (auto-escaped by the template like any string)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def trace_url(trace_id: str) -> str:
    """The trace in the operators' tracing UI (TRACE_URL_TEMPLATE with `{trace_id}`), or ""."""
    template = settings.TRACE_URL_TEMPLATE
    if not trace_id or not template.startswith(("https://", "http://")):
        return ""
    return template.replace("{trace_id}", trace_id)
