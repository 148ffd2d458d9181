"""The provider catalog's shape, described once: pydantic models that validate an entry
at start-up and give its JSON Schema (`manage.py provider_table --schema`).

A provider package (`connections/providers/<key>/`) declares `ENTRY`, a plain dict, its
`TOOLS`, and optionally the hooks `raise_for_body` (errors inside 200 answers),
`post_connect` (discovery after the token exchange, e.g. the Atlassian site) and
`fetch_identity` (only when "who am I" cannot be said as data). `load_provider` validates
the entry (an unknown key or a missing field names the provider and the path), checks
its URL templates and tools, and returns a frozen `Provider`.

URLs are templates: `{name}` takes a per-connection setting (hostname, tenant, login
host; declared under "settings" with a default), a value kept from the token response
or the post-connect hook (instance_url, cloud_id), or `{client_id}`. Nothing else in the
OAuth code or the transport knows a provider. Field list and sources:
../shared/research/providers.md §5.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Path = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")]
UrlTemplate = Annotated[str, Field(pattern=r"^(https://|\{)[^\s]+$")]
ClientAuth = Literal["client_secret_post", "client_secret_basic"]


class Spec(BaseModel):
    """A part of an entry: closed (an unknown key is an error) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Setup(Spec):
    register_url: str  # where an admin registers the OAuth app
    notes: str = ""  # and what to tick there


class Setting(Spec):
    """A per-connection value (a hostname, a tenant) that URL templates may use."""

    name: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    label: str
    default: str
    pattern: str
    help: str = ""


class OAuthSpec(Spec):
    authorize_url: UrlTemplate
    token_url: UrlTemplate
    pkce: Literal["required", "supported", "off"]
    client_auth: ClientAuth
    token_body: Literal["form", "json"]
    authorize_params: dict[str, str] = {}
    # The query parameter that carries scopes ("" = none: scopes are set on the app).
    scope_param: str = "scope"
    scope_separator: Annotated[str, Field(min_length=1)] = " "
    default_scopes: tuple[str, ...] = ()
    scopes: dict[str, str] = {}
    token_accept: str = "application/json"
    # Where the user's token sits in the token response (Slack: authed_user).
    token_path: Path | Literal[""] = ""
    # Values kept from the token response: name → dotted path.
    keep: dict[str, Path] = {}
    # RFC 9207 `iss` the provider sends on the callback, when it sends one.
    issuer: str = ""


class RefreshSpec(Spec):
    # A new refresh token each time, the old one dies ("maybe": per app).
    rotates: bool | Literal["maybe"]
    # How long the provider still accepts the previous pair after rotation.
    reuse_grace_seconds: Annotated[int, Field(ge=0)] = 0
    # Lifetime to assume when the response has no expires_in (nor a JWT `exp`).
    default_lifetime_seconds: Annotated[int, Field(ge=60)] | None = None
    # Refresh at least this often: refresh tokens that die when unused.
    keepalive_days: Annotated[int, Field(ge=1)] | None = None


class RevokeSpec(Spec):
    url: UrlTemplate
    method: Literal["POST", "DELETE", "GET"]
    # client_secret_*: the client authenticates; bearer: the token itself; none: the
    # token in the body is enough.
    auth: Literal["client_secret_post", "client_secret_basic", "bearer", "none"]
    body: Literal["form", "json", "none"]
    token_param: str = "token"
    token: Literal["refresh_token", "access_token"] = "refresh_token"
    headers: dict[str, str] = {}


class RateLimitSpec(Spec):
    retry_after: tuple[str, ...] = ("retry-after",)
    reset: tuple[str, ...] = ()
    remaining: str = ""


class ApiSpec(Spec):
    base_url: UrlTemplate
    headers: dict[str, str] = {}
    # bearer: "Authorization: Bearer <token>"; raw: "Authorization: <token>" (monday).
    auth_header: Literal["bearer", "raw"] = "bearer"
    rate_limit: RateLimitSpec = RateLimitSpec()


class PostConnectSpec(Spec):
    # What the package's `post_connect` hook keeps on the account (Atlassian: cloud_id).
    keeps: Annotated[tuple[str, ...], Field(min_length=1)]


class WhoAmISpec(Spec):
    id: Path
    label: Annotated[tuple[Path, ...], Field(min_length=1)]
    source: Literal["api", "token"] = "api"
    method: Literal["GET", "POST"] = "GET"
    # Relative to the API base ("" is the base itself, a GraphQL endpoint), or `url`:
    # an absolute template.
    path: str | None = None
    url: UrlTemplate | Literal[""] = ""
    json_body: dict[str, Any] | None = Field(default=None, alias="json")


class ProviderEntry(Spec):
    """What a provider package's ENTRY says."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,30}$")]
    display_name: Annotated[str, Field(min_length=1)]
    docs_url: str = ""
    setup: Setup
    # Tool names start with one of these (default: the key).
    tool_prefixes: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    settings: tuple[Setting, ...] = ()
    oauth: OAuthSpec
    refresh: RefreshSpec | None = None
    revoke: RevokeSpec | None = None
    api: ApiSpec
    post_connect: PostConnectSpec | None = None
    whoami: WhoAmISpec


@dataclass(frozen=True)
class Hooks:
    """A package's code, only where data cannot say it (see the module docstring)."""

    raise_for_body: Callable[..., None] | None = None
    post_connect: Callable[..., dict[str, str]] | None = None
    fetch_identity: Callable[..., tuple[str, str]] | None = None


class Provider(ProviderEntry):
    """An entry as loaded: with its package's tools and hooks."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    tools: tuple[Any, ...] = ()  # connections.tooling.Tool
    hooks: Hooks = Hooks()

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self.tool_prefixes or (self.key,)

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

    @property
    def kept_after_connect(self) -> tuple[str, ...]:
        return self.post_connect.keeps if self.post_connect else ()

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    def settings_for(self, values: Mapping[str, Any] | None) -> dict[str, str]:
        """A connection's settings: each declared one, its value or the default."""
        values = values or {}
        return {s.name: str(values.get(s.name) or s.default) for s in self.settings}


# --- Loading ---------------------------------------------------------------------------


def _error(key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Provider catalog entry {key!r}: {message}")


def entry_problems(error: ValidationError) -> list[str]:
    """A validation error as "path: message" lines; unknown keys named under their parent."""
    unknown: dict[str, list[str]] = {}
    problems = []
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        if problem["type"] == "extra_forbidden":
            *parent, name = location
            unknown.setdefault("/".join(parent) or "(entry)", []).append(name)
        elif problem["type"] == "missing":
            problems.append(f"{'/'.join(location)}: required")
        else:
            # A union tries each member; its branch tag in the path says nothing to a reader.
            path = "/".join(p for p in location if not p.startswith(("function-", "literal[")))
            problems.append(f"{path or '(entry)'}: {problem['msg']}")
    problems += [
        f"{where}: unknown key(s) {', '.join(sorted(names))}" for where, names in unknown.items()
    ]
    return sorted(set(problems))


def validate_entry(entry: Any) -> list[str]:
    """Every problem with an entry, as "path: message" lines (empty when valid)."""
    try:
        ProviderEntry.model_validate(entry)
    except ValidationError as error:
        return entry_problems(error)
    return []


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_provider(module: Any) -> Provider:
    """Validate a provider package's ENTRY and build its Provider (ImproperlyConfigured
    naming the provider and every problem otherwise)."""
    raw = getattr(module, "ENTRY", None)
    key = raw.get("key", module.__name__) if isinstance(raw, dict) else module.__name__
    try:
        entry = ProviderEntry.model_validate(raw)
    except ValidationError as error:
        raise _error(key, "; ".join(entry_problems(error))) from None
    hooks = Hooks(
        raise_for_body=getattr(module, "raise_for_body", None),
        post_connect=getattr(module, "post_connect", None),
        fetch_identity=getattr(module, "fetch_identity", None),
    )
    provider = Provider(**dict(entry), hooks=hooks)
    _check_templates(provider)
    tools = tuple(getattr(module, "TOOLS", ()))
    _check_tools(provider, tools)
    return provider.model_copy(
        update={"tools": tuple(tool.for_provider(provider.key) for tool in tools)}
    )


def _check_templates(provider: Provider) -> None:
    setting_names = {s.name for s in provider.settings}
    for s in provider.settings:
        if not re.fullmatch(s.pattern, s.default):
            raise _error(provider.key, f"setting {s.name}: default {s.default!r} fails its pattern")
    connect_time = setting_names | {"client_id"}
    kept = set(provider.oauth.keep) | set(provider.kept_after_connect)
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
    if (provider.post_connect is None) != (provider.hooks.post_connect is None):
        raise _error(
            provider.key, "post_connect: declare its keeps and define the hook, or neither"
        )
    whoami = provider.whoami
    if (
        whoami.source == "api"
        and whoami.path is None
        and not whoami.url
        and provider.hooks.fetch_identity is None
    ):
        raise _error(provider.key, "whoami: an api source needs a path or a url")


def _check_tools(provider: Provider, tools: tuple[Any, ...]) -> None:
    for tool in tools:
        if not tool.name.startswith(tuple(f"{p}_" for p in provider.prefixes)):
            raise _error(
                provider.key,
                f"tool {tool.name!r} must start with one of {list(provider.prefixes)}",
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
