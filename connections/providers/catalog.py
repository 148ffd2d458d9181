"""The provider catalog's shape: an entry is data, checked against one schema at start-up.

A provider package (`connections/providers/<key>/`) declares `ENTRY`, a plain
dict, and optionally `TOOLS`, `raise_for_body` (errors inside 200 answers),
`post_connect` (discovery after the token exchange, e.g. the Atlassian site)
and `whoami` (only when "who am I" cannot be said as data). `load_provider`
validates the entry against ENTRY_SCHEMA (unknown keys and missing fields name
the provider and the path), fills defaults and returns a frozen `Provider`.

URLs are templates: `{name}` takes a per-connection setting (hostname, tenant,
login host; declared under "settings" with a default), a value kept from the
token response or the post-connect hook (instance_url, cloud_id), or
`{client_id}`. Nothing else in the OAuth code or the transport knows a provider.
Field list and sources: ../shared/research/providers.md §5.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from jsonschema import Draft202012Validator

_PATH = {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"}
_URL_TEMPLATE = {"type": "string", "pattern": r"^(https://|\{)[^\s]+$"}
_AUTH_METHOD = {"enum": ["client_secret_post", "client_secret_basic"]}
_HEADERS = {"type": "object", "additionalProperties": {"type": "string"}}


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


ENTRY_SCHEMA = _obj(
    {
        "key": {"type": "string", "pattern": r"^[a-z][a-z0-9]{1,30}$"},
        "display_name": {"type": "string", "minLength": 1},
        "docs_url": {"type": "string"},
        # Where an admin registers the OAuth app, and what to tick there.
        "setup": _obj(
            {"register_url": {"type": "string"}, "notes": {"type": "string"}}, ["register_url"]
        ),
        # Tool names start with one of these (default: the key).
        "tool_prefixes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "settings": {
            "type": "array",
            "items": _obj(
                {
                    "name": {"type": "string", "pattern": r"^[a-z_]+$"},
                    "label": {"type": "string"},
                    "default": {"type": "string"},
                    "pattern": {"type": "string"},
                    "help": {"type": "string"},
                },
                ["name", "label", "default", "pattern"],
            ),
        },
        "oauth": _obj(
            {
                "authorize_url": _URL_TEMPLATE,
                "token_url": _URL_TEMPLATE,
                "authorize_params": _HEADERS,
                # The query parameter that carries scopes ("" = none: scopes are set on the app).
                "scope_param": {"type": "string"},
                "scope_separator": {"type": "string", "minLength": 1},
                "default_scopes": {"type": "array", "items": {"type": "string"}},
                "scopes": {"type": "object", "additionalProperties": {"type": "string"}},
                "pkce": {"enum": ["required", "supported", "off"]},
                "client_auth": _AUTH_METHOD,
                "token_body": {"enum": ["form", "json"]},
                "token_accept": {"type": "string"},
                # Where the user's token sits in the token response (Slack: authed_user).
                "token_path": {"anyOf": [_PATH, {"const": ""}]},
                # Values kept from the token response: name → dotted path.
                "keep": {"type": "object", "additionalProperties": _PATH},
                # RFC 9207 `iss` the provider sends on the callback, when it sends one.
                "issuer": {"type": "string"},
            },
            ["authorize_url", "token_url", "pkce", "client_auth", "token_body"],
        ),
        "refresh": {
            "anyOf": [
                {"type": "null"},
                _obj(
                    {
                        # A new refresh token each time, the old one dies ("maybe": per app).
                        "rotates": {"enum": [True, False, "maybe"]},
                        # How long the provider still accepts the previous pair after rotation.
                        "reuse_grace_seconds": {"type": "integer", "minimum": 0},
                        # Lifetime to assume when the response has no expires_in.
                        "default_lifetime_seconds": {"type": "integer", "minimum": 60},
                        # Refresh at least this often: refresh tokens that die when unused.
                        "keepalive_days": {"type": "integer", "minimum": 1},
                        # Access tokens that carry their expiry only as a JWT `exp` claim.
                        "expiry_from_jwt": {"type": "boolean"},
                    },
                    ["rotates"],
                ),
            ]
        },
        "revoke": {
            "anyOf": [
                {"type": "null"},
                _obj(
                    {
                        "url": _URL_TEMPLATE,
                        "method": {"enum": ["POST", "DELETE", "GET"]},
                        # client_secret_*: the client authenticates; bearer: the token itself;
                        # none: the token in the body is enough.
                        "auth": {
                            "enum": ["client_secret_post", "client_secret_basic", "bearer", "none"]
                        },
                        "body": {"enum": ["form", "json", "none"]},
                        "token_param": {"type": "string"},
                        "token": {"enum": ["refresh_token", "access_token"]},
                        "headers": _HEADERS,
                    },
                    ["url", "method", "auth", "body"],
                ),
            ]
        },
        "api": _obj(
            {
                "base_url": _URL_TEMPLATE,
                "headers": _HEADERS,
                # bearer: "Authorization: Bearer <token>"; raw: "Authorization: <token>" (monday).
                "auth_header": {"enum": ["bearer", "raw"]},
                "rate_limit": _obj(
                    {
                        "retry_after": {"type": "array", "items": {"type": "string"}},
                        "reset": {"type": "array", "items": {"type": "string"}},
                        "remaining": {"type": "string"},
                    }
                ),
            },
            ["base_url"],
        ),
        # A hook (`post_connect` in the package) runs after the token exchange and keeps
        # these values on the account (Atlassian: the site's cloud_id).
        "post_connect": _obj(
            {"keeps": {"type": "array", "items": {"type": "string"}, "minItems": 1}}, ["keeps"]
        ),
        "whoami": _obj(
            {
                "source": {"enum": ["api", "token"]},
                "method": {"enum": ["GET", "POST"]},
                # Relative to the API base, or `url`: an absolute template.
                "path": {"type": "string"},
                "url": _URL_TEMPLATE,
                "json": {"type": "object"},
                "id": _PATH,
                "label": {"type": "array", "items": _PATH, "minItems": 1},
            },
            ["id", "label"],
        ),
    },
    ["key", "display_name", "setup", "oauth", "api", "whoami"],
)
_VALIDATOR = Draft202012Validator(ENTRY_SCHEMA)


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    default: str
    pattern: str
    help: str = ""

    def validate(self, value: str) -> str:
        if not re.fullmatch(self.pattern, value):
            raise ValueError(f"{self.label}: {value!r} is not valid.")
        return value


@dataclass(frozen=True)
class OAuthSpec:
    authorize_url: str
    token_url: str
    pkce: str
    client_auth: str
    token_body: str
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    scope_param: str = "scope"
    scope_separator: str = " "
    default_scopes: tuple[str, ...] = ()
    scopes: Mapping[str, str] = field(default_factory=dict)
    token_accept: str = "application/json"
    token_path: str = ""
    keep: Mapping[str, str] = field(default_factory=dict)
    issuer: str = ""


@dataclass(frozen=True)
class RefreshSpec:
    rotates: bool | str
    reuse_grace_seconds: int = 0
    default_lifetime_seconds: int | None = None
    keepalive_days: int | None = None
    expiry_from_jwt: bool = False


@dataclass(frozen=True)
class RevokeSpec:
    url: str
    method: str
    auth: str
    body: str
    token_param: str = "token"
    token: str = "refresh_token"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitSpec:
    retry_after: tuple[str, ...] = ("retry-after",)
    reset: tuple[str, ...] = ()
    remaining: str = ""


@dataclass(frozen=True)
class ApiSpec:
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth_header: str = "bearer"
    rate_limit: RateLimitSpec = field(default_factory=RateLimitSpec)


@dataclass(frozen=True)
class WhoAmISpec:
    id: str
    label: tuple[str, ...]
    source: str = "api"
    method: str = "GET"
    path: str | None = None  # "" is the API base itself (a GraphQL endpoint)
    url: str = ""
    json: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Provider:
    key: str
    display_name: str
    oauth: OAuthSpec
    api: ApiSpec
    whoami: WhoAmISpec
    register_url: str
    setup_notes: str = ""
    docs_url: str = ""
    settings: tuple[Setting, ...] = ()
    refresh: RefreshSpec | None = None
    revoke: RevokeSpec | None = None
    tool_prefixes: tuple[str, ...] = ()
    tools: tuple[Any, ...] = ()  # connections.tooling.Tool
    # Hooks, only where data cannot say it (see the module docstring).
    raise_for_body: Callable[..., None] | None = None
    post_connect: Callable[..., dict[str, str]] | None = None
    fetch_identity: Callable[..., tuple[str, str]] | None = None
    post_connect_keeps: tuple[str, ...] = ()

    @property
    def is_oauth2(self) -> bool:
        return True

    @property
    def default_scopes(self) -> tuple[str, ...]:
        return self.oauth.default_scopes

    @property
    def available_scopes(self) -> tuple[str, ...]:
        return tuple(self.oauth.scopes)

    @property
    def scope_separator(self) -> str:
        return self.oauth.scope_separator

    @property
    def issuer(self) -> str:
        return self.oauth.issuer

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    def settings_for(self, values: Mapping[str, Any] | None) -> dict[str, str]:
        """A connection's settings: each declared one, its value or the default."""
        values = values or {}
        return {s.name: str(values.get(s.name) or s.default) for s in self.settings}


# --- Loading ---------------------------------------------------------------------------


def _error(key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Provider catalog entry {key!r}: {message}")


def validate_entry(entry: Any) -> list[str]:
    """Every problem with an entry, as "path: message" lines (empty when valid)."""
    problems = []
    for error in sorted(_VALIDATOR.iter_errors(entry), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(entry)"
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        elif error.validator == "required":
            problems.append(f"{where}: {error.message}")
        else:
            problems.append(f"{where}: {error.message}")
    return problems


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_provider(module: Any) -> Provider:
    """Validate a provider package's ENTRY and build its Provider (ImproperlyConfigured
    naming the provider and every problem otherwise)."""
    entry = getattr(module, "ENTRY", None)
    key = entry.get("key", module.__name__) if isinstance(entry, dict) else module.__name__
    problems = validate_entry(entry)
    if problems:
        raise _error(key, "; ".join(problems))
    oauth = dict(entry["oauth"])
    api = dict(entry["api"])
    rate = api.pop("rate_limit", {})
    refresh = entry.get("refresh")
    revoke = entry.get("revoke")
    whoami = dict(entry["whoami"])
    provider = Provider(
        key=entry["key"],
        display_name=entry["display_name"],
        docs_url=entry.get("docs_url", ""),
        register_url=entry["setup"]["register_url"],
        setup_notes=entry["setup"].get("notes", ""),
        settings=tuple(Setting(**s) for s in entry.get("settings", [])),
        oauth=OAuthSpec(
            **{
                **oauth,
                "default_scopes": tuple(oauth.get("default_scopes", ())),
            }
        ),
        refresh=RefreshSpec(**refresh) if refresh else None,
        revoke=RevokeSpec(**revoke) if revoke else None,
        api=ApiSpec(
            **api,
            rate_limit=RateLimitSpec(
                retry_after=tuple(rate.get("retry_after", ("retry-after",))),
                reset=tuple(rate.get("reset", ())),
                remaining=rate.get("remaining", ""),
            ),
        ),
        whoami=WhoAmISpec(**{**whoami, "label": tuple(whoami["label"])}),
        tool_prefixes=tuple(entry.get("tool_prefixes", [entry["key"]])),
        raise_for_body=getattr(module, "raise_for_body", None),
        post_connect=getattr(module, "post_connect", None),
        fetch_identity=getattr(module, "fetch_identity", None),
        post_connect_keeps=tuple(entry.get("post_connect", {}).get("keeps", ())),
    )
    _check_templates(provider)
    tools = tuple(getattr(module, "TOOLS", ()))
    _check_tools(provider, tools)
    return replace(provider, tools=tuple(replace(tool, provider=provider.key) for tool in tools))


def _check_templates(provider: Provider) -> None:
    setting_names = {s.name for s in provider.settings}
    for s in provider.settings:
        if not re.fullmatch(s.pattern, s.default):
            raise _error(provider.key, f"setting {s.name}: default {s.default!r} fails its pattern")
    connect_time = setting_names | {"client_id"}
    kept = set(provider.oauth.keep) | set(provider.post_connect_keeps)
    urls = {
        "oauth/authorize_url": (provider.oauth.authorize_url, connect_time),
        "oauth/token_url": (provider.oauth.token_url, connect_time),
        "api/base_url": (provider.api.base_url, None),
        "whoami/url": (provider.whoami.url, None),
    }
    if provider.revoke:
        urls["revoke/url"] = (provider.revoke.url, None)
    for where, (template, allowed) in urls.items():
        unknown = placeholders(template) - (allowed if allowed is not None else connect_time | kept)
        if unknown:
            raise _error(provider.key, f"{where}: unknown placeholder(s) {sorted(unknown)}")
    if bool(provider.post_connect_keeps) != (provider.post_connect is not None):
        raise _error(
            provider.key, "post_connect: declare its keeps and define the hook, or neither"
        )
    whoami = provider.whoami
    if (
        whoami.source == "api"
        and whoami.path is None
        and not whoami.url
        and provider.fetch_identity is None
    ):
        raise _error(provider.key, "whoami: an api source needs a path or a url")


def _check_tools(provider: Provider, tools: tuple[Any, ...]) -> None:
    for tool in tools:
        if not tool.name.startswith(tuple(f"{p}_" for p in provider.tool_prefixes)):
            raise _error(
                provider.key,
                f"tool {tool.name!r} must start with one of {list(provider.tool_prefixes)}",
            )
        if "__" in tool.name:
            raise _error(provider.key, f"tool {tool.name!r}: '__' separates qualified names")
        unknown = set(tool.required_scopes) - set(provider.oauth.scopes)
        if provider.oauth.scopes and unknown:
            raise _error(provider.key, f"tool {tool.name!r} needs undeclared scopes {unknown}")


# --- Rendering -------------------------------------------------------------------------


class TemplateError(ValueError):
    """A URL template names a value this connection or account does not have."""


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders. Values that are whole URLs (instance_url) go in as they
    are; any other value is quoted as one path segment, so it cannot add a path or a host."""
    if not template:
        return ""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = values.get(name)
        if not value:
            raise TemplateError(f"No value for {{{name}}}.")
        is_url = name.endswith("_url") and template.startswith("{" + name + "}")
        out.append(str(value).rstrip("/") if is_url else quote(str(value), safe=".-:"))
    return "".join(out)


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path of nested dicts ("authed_user.id"), else None."""
    for part in path.split(".") if path else ():
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data
