"""One way to read secrets: `await get_secret("NAME")`.

In the cluster (LEVEE_SECRETS_DIR set by deploy/): every secret declared in app.yaml is read
from the file $LEVEE_SECRETS_DIR/<NAME> the platform mounts, whatever its provider; no Vault or
AWS client is created and no Vault or AWS credentials are needed.

Elsewhere (a laptop, a VM), where a secret lives is said per secret in app.yaml
(`secrets: [{name, provider}]`):

- vault               HashiCorp Vault, KV version 2 (hvac), with VAULT_ADDR and VAULT_TOKEN
- aws-secrets-manager AWS Secrets Manager (boto3, the optional `aws` extra)
- env                 an environment variable; only while lifecycle.tier is `prototype`

A secret must be listed in app.yaml to be read. Every declared secret is read once when the
app starts, so an unreadable one stops the app before it answers its health check. The error
texts are the same as the Node apps' (CONTRACT.md). The Vault and AWS clients
block, so they run in a worker thread and never stall the web server. Values
are kept in memory for a short while (SECRETS_CACHE_SECONDS, default 300) so
that a rotated secret is picked up without a restart. Secret values are never
logged and never put into error messages.
"""

from __future__ import annotations

import logging
import os
import secrets as _stdlib_secrets
import threading
import time
from collections.abc import Mapping
from typing import Protocol

import anyio.to_thread

from app.config import ConfigError, Manifest, Settings, is_local_env, require_secure_url

log = logging.getLogger(__name__)


class SecretError(RuntimeError):
    """A secret could not be read; the message says what to fix."""


class SecretBackend(Protocol):
    def get(self, name: str) -> str:  # blocking; called in a worker thread
        ...


class FilesBackend:
    """$LEVEE_SECRETS_DIR/<NAME>: the content as is, one trailing newline removed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def get(self, name: str) -> str:
        path = os.path.join(self.directory, name)
        try:
            with open(path, encoding="utf-8") as fh:
                value = fh.read()
        except FileNotFoundError:
            raise SecretError(
                f"Secret {name}: {path} does not exist. With LEVEE_SECRETS_DIR set, every secret in app.yaml "
                "is read from a file of its name there (the platform mounts them from the Secret <app>-secrets)."
            ) from None
        except OSError as exc:
            raise SecretError(f"Secret {name}: {path} cannot be read ({type(exc).__name__}).") from None
        if value.endswith("\n"):
            value = value[:-1]
        if not value:
            raise SecretError(f"Secret {name}: {path} is empty.")
        return value


class EnvBackend:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get(self, name: str) -> str:
        value = self._environ.get(name)
        if not value:
            raise SecretError(
                f'Secret {name} uses provider "env" but the environment variable {name} is not set '
                "(on your laptop: put it in the .env file, which is never committed)."
            )
        return value


class VaultBackend:
    """KV v2: GET {VAULT_ADDR}/v1/{VAULT_KV_MOUNT}/data/{VAULT_KV_PATH}; the secret is the key NAME."""

    def __init__(self, app_name: str, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.local = is_local_env(environ)
        self.addr = (environ.get("VAULT_ADDR") or "").strip().rstrip("/")
        self.mount = (environ.get("VAULT_KV_MOUNT") or "").strip().strip("/") or "secret"
        self.path = (environ.get("VAULT_KV_PATH") or "").strip().strip("/") or f"apps/{app_name}"
        self.namespace = environ.get("VAULT_NAMESPACE") or None
        self.token = environ.get("VAULT_TOKEN") or None
        # SECRETS_TIMEOUT_MS is in milliseconds (as for the Node apps); hvac wants seconds.
        self.timeout = _timeout_seconds(environ)
        self._client = None
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        if not self.addr:
            raise SecretError(
                f'Secret {name} uses provider "vault" but VAULT_ADDR is not set '
                "(the address of Vault, e.g. https://vault.example.com)."
            )
        try:
            require_secure_url(self.addr, "VAULT_ADDR", self.local)
        except ConfigError as exc:
            raise SecretError(str(exc)) from None
        if not self.token:
            raise SecretError(f'Secret {name} uses provider "vault" but VAULT_TOKEN is not set.')

    def _get_client(self):
        import hvac

        with self._lock:
            if self._client is None:
                self._client = hvac.Client(url=self.addr, token=self.token, namespace=self.namespace,
                                           timeout=self.timeout)
            return self._client

    def get(self, name: str) -> str:
        import hvac.exceptions
        import requests

        self.check(name)
        where = f"Vault {self.mount}/{self.path}"
        try:
            response = self._get_client().secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            raise SecretError(f"{where} does not exist: check VAULT_KV_MOUNT and VAULT_KV_PATH.") from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise SecretError(f"Vault refused to read {where}: check VAULT_TOKEN and its policy.") from None
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise SecretError(f"Could not reach Vault at {self.addr} to read {name}: {type(exc).__name__}.") from None
        data = response["data"]["data"]
        if not data.get(name):
            raise SecretError(f"{where} has no key named {name}.")
        return str(data[name])


class AwsSecretsManagerBackend:
    """Each secret is the SecretString of AWS_SECRETS_PREFIX + NAME (default <app name>/NAME)."""

    def __init__(self, app_name: str, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.local = is_local_env(environ)
        self.prefix = environ.get("AWS_SECRETS_PREFIX", f"{app_name}/")
        # Override for a VPC endpoint or tests. (boto3 also honours AWS_ENDPOINT_URL_SECRETS_MANAGER.)
        self.endpoint_url = (environ.get("AWS_SECRETS_MANAGER_ENDPOINT") or "").strip() or None
        self.region = (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "").strip() or None
        self.timeout = _timeout_seconds(environ)
        self._client = None
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        if not self.region:
            raise SecretError(f'Secret {name} uses provider "aws-secrets-manager" but AWS_REGION is not set.')
        if self.endpoint_url:
            try:
                require_secure_url(self.endpoint_url, "AWS_SECRETS_MANAGER_ENDPOINT", self.local)
            except ConfigError as exc:
                raise SecretError(str(exc)) from None
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise SecretError(
                f'Secret {name} uses provider "aws-secrets-manager", but boto3 is not installed: '
                "install the `aws` extra (uv sync --extra aws)."
            ) from None

    def _get_client(self):
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                                retries={"max_attempts": 2})
                self._client = boto3.session.Session().client(
                    "secretsmanager", region_name=self.region, endpoint_url=self.endpoint_url,
                    config=config,
                )
            return self._client

    def get(self, name: str) -> str:
        self.check(name)
        from botocore.exceptions import BotoCoreError, ClientError

        secret_id = f"{self.prefix}{name}"
        try:
            response = self._get_client().get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            if code == "ResourceNotFoundException":
                raise SecretError(
                    f'AWS Secrets Manager has no secret "{secret_id}" in {self.region} (for {name}).') from None
            if code == "AccessDeniedException":
                raise SecretError(
                    f'AWS Secrets Manager refused access to "{secret_id}": check the app\'s IAM role.') from None
            raise SecretError(f'Could not read "{secret_id}" from AWS Secrets Manager: {code}.') from None
        except BotoCoreError as exc:
            raise SecretError(
                f'Could not read "{secret_id}" from AWS Secrets Manager: {type(exc).__name__}.') from None
        value = response.get("SecretString")
        if value is None and response.get("SecretBinary"):
            value = bytes(response["SecretBinary"]).decode("utf-8")
        if not value:
            raise SecretError(f'AWS secret "{secret_id}" is empty.')
        return value


def _timeout_seconds(environ: Mapping[str, str]) -> float:
    raw = environ.get("SECRETS_TIMEOUT_MS") or "5000"
    try:
        return min(max(int(raw), 100), 60_000) / 1000.0
    except ValueError:
        raise ConfigError(f"SECRETS_TIMEOUT_MS must be a whole number of milliseconds (got {raw!r}).") from None


class SecretStore:
    """Picks the backend for each secret from app.yaml and caches values briefly."""

    def __init__(self, manifest: Manifest, settings: Settings | None = None,
                 environ: Mapping[str, str] | None = None,
                 backends: Mapping[str, SecretBackend] | None = None) -> None:
        self.manifest = manifest
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self._backends: dict[str, SecretBackend] = dict(backends or {})
        self._ttl = float(self._environ.get("SECRETS_CACHE_SECONDS") or 300)
        self._cache: dict[str, tuple[float, str]] = {}
        directory = (self._environ.get("LEVEE_SECRETS_DIR") or "").strip()
        self._files = FilesBackend(directory) if directory else None

    def has(self, name: str) -> bool:
        return self.manifest.secret(name) is not None

    def provider_for(self, name: str) -> str:
        ref = self.manifest.secret(name)
        if ref is None:
            raise SecretError(
                f"Secret {name} is not declared in app.yaml. Add it under `secrets:`, for example:\n"
                f"  secrets:\n    - name: {name}\n      provider: vault"
            )
        return ref.provider

    def _check_allowed(self, name: str, provider: str) -> None:
        if provider == "env" and self.manifest.tier != "prototype":
            raise SecretError(
                f'Secret {name} uses provider "env", which is only allowed for prototypes, but '
                f'app.yaml says lifecycle.tier is "{self.manifest.tier}". '
                "Store the secret in vault or aws-secrets-manager and change its provider in app.yaml."
            )

    def backend(self, provider: str) -> SecretBackend:
        if self._files is not None:
            return self._files  # in the cluster: no Vault or AWS client at all
        if provider not in self._backends:
            if provider == "env":
                self._backends[provider] = EnvBackend(self._environ)
            elif provider == "vault":
                self._backends[provider] = VaultBackend(self.manifest.name, self._environ)
            elif provider == "aws-secrets-manager":
                self._backends[provider] = AwsSecretsManagerBackend(self.manifest.name, self._environ)
            else:
                raise SecretError(f"Unknown secret provider {provider!r}.")
        return self._backends[provider]

    def validate(self, extra_names: tuple[str, ...] = ()) -> None:
        """Fail at once when app.yaml cannot work: an undeclared needed secret, env outside prototype."""
        names = [ref.name for ref in self.manifest.secrets] + list(extra_names)
        for name in names:
            try:
                self._check_allowed(name, self.provider_for(name))
            except SecretError as exc:
                raise ConfigError(str(exc)) from None

    async def preload(self) -> None:
        """Read every declared secret once (at start-up); raises the first SecretError."""
        for ref in self.manifest.secrets:
            await self.get(ref.name)

    async def get(self, name: str) -> str:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached and cached[0] > now:
            return cached[1]
        provider = self.provider_for(name)
        self._check_allowed(name, provider)
        backend = self.backend(provider)
        value = await anyio.to_thread.run_sync(backend.get, name)
        self._cache[name] = (now + self._ttl, value)
        return value

    async def get_or_generate(self, name: str) -> str:
        """Like get(), but in local development a missing env secret becomes a random one."""
        try:
            return await self.get(name)
        except SecretError:
            dev = self.settings is not None and self.settings.app_env == "dev"
            if not (dev and self.provider_for(name) == "env"):
                raise
            log.warning("%s is not set; using a random value for this run (development only).", name)
            value = _stdlib_secrets.token_urlsafe(32)
            self._cache[name] = (float("inf"), value)
            return value


_default_store: SecretStore | None = None


def configure(store: SecretStore) -> None:
    global _default_store
    _default_store = store


async def get_secret(name: str) -> str:
    """Read a secret through the store the app configured at start-up."""
    if _default_store is None:
        raise SecretError("The secret store is not configured yet (the app has not started).")
    return await _default_store.get(name)
