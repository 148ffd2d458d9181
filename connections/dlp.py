"""Data-loss protection (issue 26, part): detectors for personal data and secrets, applied
per organization and per direction on every tool call (connections/tools.execute_tool):

* `arguments` — what goes out to the provider;
* `results` — what comes back, before a model, an MCP client or the API caller sees it.

Each detector's action per direction is `allow` (the default), `redact` (the value is
replaced by a typed placeholder, `[redacted:email]`) or `block` (403 `data_blocked`:
nothing is sent, or the result is withheld). The audit event records what was found and
done — counts by detector, never a value.

Detectors: e-mail addresses; phone numbers (international or (NNN) NNN-NNNN); payment
card numbers (Luhn-checked, python-stdnum); IBANs (checksum-validated, python-stdnum);
US social security numbers (python-stdnum); secrets — keys and tokens by the issuers'
own formats, from detect-secrets' plugins (AWS, GitHub, GitLab, Slack, Stripe, OpenAI,
private keys, JWTs, …; its entropy and keyword guessers are left out: they flag ordinary
ids); and the organization's own regexes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

from stdnum import iban, luhn
from stdnum.us import ssn

from connections.errors import ToolForbidden
from connections.patterns import compile_pattern
from core.errors import Invalid

DIRECTIONS = ("arguments", "results")
ACTIONS = ("allow", "redact", "block")
SCANNED_TEXT = 200_000  # characters of one string scanned; the rest passes as it is
SECRET_PLUGINS = (
    "AWSKeyDetector",
    "ArtifactoryDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){2,4}"
    r"|\(\d{3}\)\s?\d{3}-\d{4})(?!\w)"
)
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


Finder = Callable[[str], list[tuple[int, int]]]


def _regex(pattern: re.Pattern, valid: Callable[[str], bool] | None = None) -> Finder:
    def find(text: str) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text) if valid is None or valid(m.group())]

    return find


@cache
def _secret_patterns() -> tuple[re.Pattern, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    patterns: list[re.Pattern] = []
    plugins: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    for plugin in plugins:
        if plugin.__name__ in SECRET_PLUGINS:
            patterns.extend(getattr(plugin(), "denylist", ()))
    return tuple(patterns)


def _secrets(text: str) -> list[tuple[int, int]]:
    return [m.span() for pattern in _secret_patterns() for m in pattern.finditer(text)]


DETECTORS: dict[str, Finder] = {
    "email": _regex(EMAIL),
    "phone": _regex(PHONE, lambda found: 9 <= len(_digits(found)) <= 15),
    "card": _regex(
        CARD, lambda found: 13 <= len(_digits(found)) <= 19 and luhn.is_valid(_digits(found))
    ),
    "iban": _regex(IBAN, lambda found: iban.is_valid(found)),
    "national_id": _regex(SSN, lambda found: ssn.is_valid(found)),
    "secret": _secrets,
}


class DataBlocked(ToolForbidden):
    code = "data_blocked"


def clean_settings(value: Any) -> dict[str, Any]:
    """{"detectors": {name: {"arguments": action, "results": action}}, "custom": {name:
    regex}} — checked; every detector named, custom ones included."""
    if not isinstance(value, dict):
        raise Invalid("Data protection settings are an object.", code="invalid_data_protection")
    detectors = value.get("detectors") or {}
    custom = value.get("custom") or {}
    if not isinstance(detectors, dict) or not isinstance(custom, dict) or len(custom) > 20:
        raise Invalid(
            "detectors is an object; custom an object of 20 named patterns at most.",
            code="invalid_data_protection",
        )
    for name, pattern in custom.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name) or name in DETECTORS:
            raise Invalid(
                f"{name!r}: a custom detector is named with lowercase letters, digits and _, "
                "and not as a built-in one.",
                code="invalid_data_protection",
            )
        compile_pattern(pattern, code="invalid_data_protection", what=f"The pattern of {name}")
    cleaned = {}
    for name in [*DETECTORS, *custom]:
        actions = detectors.get(name) or {}
        if not isinstance(actions, dict):
            raise Invalid(f"{name}: actions are an object.", code="invalid_data_protection")
        for direction, action in actions.items():
            if direction not in DIRECTIONS or action not in ACTIONS:
                raise Invalid(
                    f"{name}: each of {', '.join(DIRECTIONS)} is one of {', '.join(ACTIONS)}.",
                    code="invalid_data_protection",
                )
        cleaned[name] = {d: actions.get(d, "allow") for d in DIRECTIONS}
    unknown = sorted(set(detectors) - set(cleaned))
    if unknown:
        raise Invalid(f"Unknown detectors: {', '.join(unknown)}.", code="invalid_data_protection")
    return {"detectors": cleaned, "custom": dict(custom)}


def _active(settings: dict[str, Any], direction: str) -> dict[str, tuple[str, Finder]]:
    finders = dict(DETECTORS)
    for name, pattern in (settings.get("custom") or {}).items():
        finders[name] = _regex(compile_pattern(pattern, code="invalid_data_protection"))
    active = {}
    for name, actions in (settings.get("detectors") or {}).items():
        action = actions.get(direction, "allow")
        if action != "allow" and name in finders:
            active[name] = (action, finders[name])
    return active


def protect(
    value: Any, *, settings: dict[str, Any], direction: str = "arguments", blocking: bool = True
) -> tuple[Any, dict[str, int]]:
    """`value` (JSON-like) with what the settings redact replaced; the counts found, by
    detector. Raises DataBlocked when a detector set to block finds something — unless not
    `blocking` (the audit record's copy: what would be blocked is redacted there)."""
    active = _active(settings or {}, direction)
    if not active:
        return value, {}
    found: Counter = Counter()

    def scrub(text: str) -> str:
        head, tail = text[:SCANNED_TEXT], text[SCANNED_TEXT:]
        spans: list[tuple[int, int, str]] = []
        for name, (action, finder) in active.items():
            for start, end in finder(head):
                found[name] += 1
                if action == "block" and blocking:
                    raise DataBlocked(
                        f"The organization's data protection blocks {name.replace('_', ' ')} "
                        f"in tool {direction}.",
                        details={"detector": name, "direction": direction},
                    )
                spans.append((start, end, name))
        if not spans:
            return text
        out, position = [], 0
        for start, end, name in sorted(spans):
            if start < position:
                continue  # overlaps a span already redacted
            out.append(head[position:start] + f"[redacted:{name}]")
            position = end
        return "".join(out) + head[position:] + tail

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return scrub(node)
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(value), dict(found)


def shielded(data: Any, settings: dict[str, Any]) -> tuple[Any, dict[str, int]]:
    """A tool's result as the organization's data protection lets it through: redacted,
    or withheld whole when a detector set to block finds something (the call happened:
    it is not an error)."""
    try:
        return protect(data, settings=settings, direction="results")
    except DataBlocked as blocked:
        detector = blocked.details["detector"]
        return {"withheld": True, "reason": blocked.message}, {detector: 1, "withheld": 1}
