"""Reads app.yaml (the levee manifest) and the environment.

The manifest is read at start-up, so a change made with `levee promote`
(a new tier, a moved secret) reaches the app on its next restart without
touching this code. Everything that differs between machines comes from
environment variables; nothing secret lives here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

# APP_ENV: "dev" on a laptop, "test" in the app's own tests; anything else (or nothing) is deployed.
LOCAL_ENVS = frozenset({"dev", "test"})
TIERS = ("prototype", "sandbox", "production")
SECRET_PROVIDERS = ("vault", "aws-secrets-manager", "env")
DEFAULT_SCOPES = ("openid", "profile", "email")


class ConfigError(RuntimeError):
    """A problem with app.yaml or the environment, explained in plain words."""


@dataclass(frozen=True)
class SecretRef:
    name: str
    provider: str


@dataclass(frozen=True)
class SSO:
    issuer: str
    groups: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    name: str
    kind: str
    classification: str
    tier: str
    sso: SSO
    secrets: tuple[SecretRef, ...]
    data_access: tuple[Mapping[str, Any], ...]
    egress: tuple[str, ...]
    raw: Mapping[str, Any]

    def secret(self, name: str) -> SecretRef | None:
        for ref in self.secrets:
            if ref.name == name:
                return ref
        return None


def manifest_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("LEVEE_MANIFEST") or "app.yaml")


def load_manifest(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Manifest:
    environ = os.environ if environ is None else environ
    path = Path(path) if path is not None else manifest_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Cannot find the app manifest at {path}. Run the app from its folder "
            "or set LEVEE_MANIFEST to the path of app.yaml."
        ) from None
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should hold a YAML mapping (name:, kind:, ...).")
    return parse_manifest(data, environ)


def parse_manifest(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Manifest:
    environ = os.environ if environ is None else environ

    def required_str(key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"app.yaml: `{key}` is missing or empty.")
        return value

    name = required_str("name")
    kind = required_str("kind")
    classification = str(data.get("classification") or "internal")

    lifecycle = data.get("lifecycle") or {}
    tier = str(lifecycle.get("tier") or "prototype")
    if tier not in TIERS:
        raise ConfigError(f"app.yaml: lifecycle.tier must be one of {', '.join(TIERS)} (got {tier!r}).")

    sso = _parse_sso(data.get("sso"), environ)

    secrets: list[SecretRef] = []
    for i, item in enumerate(data.get("secrets") or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"app.yaml: secrets[{i}] needs a name.")
        provider = str(item.get("provider") or "")
        if provider not in SECRET_PROVIDERS:
            raise ConfigError(
                f"app.yaml: secrets[{i}].provider must be one of {', '.join(SECRET_PROVIDERS)} "
                f"(got {provider!r})."
            )
        secrets.append(SecretRef(name=str(item["name"]), provider=provider))

    runtime = data.get("runtime") or {}
    egress = tuple(str(h).lower() for h in (runtime.get("egress") or []))

    return Manifest(
        name=name,
        kind=kind,
        classification=classification,
        tier=tier,
        sso=sso,
        secrets=tuple(secrets),
        data_access=tuple(data.get("data_access") or ()),
        egress=egress,
        raw=data,
    )


def _parse_sso(value: Any, environ: Mapping[str, str]) -> SSO:
    if value is None or value == {}:
        raise ConfigError(
            "app.yaml has no `sso` section. Business pages need sign-in: add `sso: oidc` "
            "(and set OIDC_ISSUER) or the full form with issuer, groups and scopes."
        )
    if isinstance(value, str):
        if value != "oidc":
            raise ConfigError(f"app.yaml: sso must be `oidc` or a mapping (got {value!r}).")
        value = {"provider": "oidc"}
    if not isinstance(value, dict):
        raise ConfigError("app.yaml: sso must be `oidc` or a mapping.")
    provider = value.get("provider") or "oidc"
    if provider != "oidc":
        raise ConfigError(f"app.yaml: sso.provider {provider!r} is not supported (only oidc).")
    from_env = (environ.get("OIDC_ISSUER") or "").strip()
    if from_env and is_local_env(environ):
        issuer = from_env  # on your laptop: the local fake login server (dev/mock_idp.py)
    else:
        issuer = value.get("issuer") or from_env
    if not issuer:
        raise ConfigError(
            "No OIDC issuer: set sso.issuer in app.yaml or the OIDC_ISSUER environment variable."
        )
    groups = tuple(str(g) for g in (value.get("groups") or ()))
    scopes = [str(s) for s in (value.get("scopes") or DEFAULT_SCOPES)]
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return SSO(issuer=str(issuer).rstrip("/"), groups=groups, scopes=tuple(scopes))


def _env_int(environ: Mapping[str, str], key: str, default: int) -> int:
    raw = environ.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number (got {raw!r}).") from None


def require_secure_url(url: str, what: str, local: bool) -> str:
    """https:// everywhere but local development and tests."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} is not a valid URL: {url!r}")
    if parts.scheme != "https" and not local:
        raise ConfigError(
            f"{what} must start with https:// (got {url}). Plain http is only allowed with "
            "APP_ENV=dev or APP_ENV=test."
        )
    return url


def is_local_env(environ: Mapping[str, str]) -> bool:
    return (environ.get("APP_ENV") or "").strip() in LOCAL_ENVS


@dataclass(frozen=True)
class Settings:
    app_env: str
    oidc_client_id: str
    client_auth_method: str
    groups_claim: str
    base_url: str | None
    session_max_age: int
    groups_refresh_seconds: int
    max_runtime_seconds: int = 0

    @property
    def is_local(self) -> bool:
        """Local development or tests: plain-http URLs and non-Secure cookies are allowed."""
        return self.app_env in LOCAL_ENVS

    @classmethod
    def from_env(cls, manifest: Manifest, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        app_env = (environ.get("APP_ENV") or "").strip() or "production"
        local = app_env in LOCAL_ENVS
        require_secure_url(manifest.sso.issuer, "The OIDC issuer", local)
        base_url = (environ.get("APP_BASE_URL") or "").strip().rstrip("/") or None
        if base_url:
            require_secure_url(base_url, "APP_BASE_URL", local)
        elif not local:
            raise ConfigError(
                "APP_BASE_URL is not set: the public https address of this app, "
                "e.g. https://my-app.apps.example.com"
            )
        method = (environ.get("OIDC_CLIENT_AUTH_METHOD") or "client_secret_basic").strip()
        if method not in ("client_secret_basic", "client_secret_post"):
            raise ConfigError("OIDC_CLIENT_AUTH_METHOD must be client_secret_basic or client_secret_post")
        minutes = _env_int(environ, "SESSION_TTL_MINUTES", 480)
        if not 1 <= minutes <= 7 * 24 * 60:
            raise ConfigError("SESSION_TTL_MINUTES must be a whole number between 1 and 10080 "
                              f"(got \"{environ.get('SESSION_TTL_MINUTES')}\")")
        refresh = _env_int(environ, "GROUPS_REFRESH_MINUTES", 10)
        if not 1 <= refresh <= 24 * 60:
            raise ConfigError("GROUPS_REFRESH_MINUTES must be a whole number between 1 and 1440 "
                              f"(got \"{environ.get('GROUPS_REFRESH_MINUTES')}\")")
        return cls(
            app_env=app_env,
            oidc_client_id=(environ.get("OIDC_CLIENT_ID") or "").strip() or manifest.name,
            client_auth_method=method,
            groups_claim=(environ.get("OIDC_GROUPS_CLAIM") or "").strip() or "groups",
            base_url=base_url,
            session_max_age=minutes * 60,
            groups_refresh_seconds=refresh * 60,
            max_runtime_seconds=max(0, _env_int(environ, "LEVEE_MAX_RUNTIME_SECONDS", 0)),
        )


def data_dir(environ: Mapping[str, str]) -> Path:
    """DATA_DIR: the one directory the app writes to (CONTRACT.md); default ./data."""
    return Path((environ.get("DATA_DIR") or "").strip() or "data").resolve()
