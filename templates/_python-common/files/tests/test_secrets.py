"""get_secret() with each backend, against local fakes of Vault and AWS Secrets Manager."""

from __future__ import annotations

import threading

import anyio
import pytest

from app import secret_store
from app.config import ConfigError, parse_manifest
from app.secret_store import (AwsSecretsManagerBackend, EnvBackend, SecretError, SecretStore,
                              VaultBackend)
from tests.fakes import FakeSecretsManager, FakeVault


def run(coro_fn, *args):
    return anyio.run(coro_fn, *args)


def store_for(manifest_data, env, secrets, tier="prototype", **kwargs) -> SecretStore:
    manifest_data["secrets"] = [{"name": n, "provider": p} for n, p in secrets.items()]
    manifest_data["lifecycle"]["tier"] = tier
    return SecretStore(parse_manifest(manifest_data, env), environ=env, **kwargs)


def test_env_backend_in_a_prototype(manifest_data, env):
    store = store_for(manifest_data, {**env, "API_KEY": "k1"}, {"API_KEY": "env"})
    assert run(store.get, "API_KEY") == "k1"


def test_env_backend_says_what_is_missing():
    with pytest.raises(SecretError, match="MISSING_ONE"):
        EnvBackend({}).get("MISSING_ONE")


@pytest.mark.parametrize("tier", ["sandbox", "production"])
def test_env_provider_is_refused_outside_prototype(manifest_data, env, tier):
    store = store_for(manifest_data, {**env, "API_KEY": "k1"}, {"API_KEY": "env"}, tier=tier)
    with pytest.raises(SecretError) as err:
        run(store.get, "API_KEY")
    message = str(err.value)
    assert "lifecycle.tier" in message and tier in message and "app.yaml" in message
    with pytest.raises(ConfigError, match=r"lifecycle\.tier"):
        store.validate()


def test_undeclared_secret_is_refused(manifest_data, env):
    store = store_for(manifest_data, env, {})
    with pytest.raises(SecretError, match="not declared in app.yaml"):
        run(store.get, "NOPE")


def test_vault_kv_v2(manifest_data, env):
    with FakeVault("root-token", {"secret/apps/test-app": {"API_KEY": "from-vault"}}) as vault:
        environ = {**env, "VAULT_ADDR": vault.url, "VAULT_TOKEN": "root-token"}
        store = store_for(manifest_data, environ, {"API_KEY": "vault"}, tier="production")
        store.validate()
        assert run(store.get, "API_KEY") == "from-vault"
        assert vault.requests[-1].path == "/v1/secret/data/apps/test-app"
        assert vault.requests[-1].headers["x-vault-token"] == "root-token"


def test_vault_custom_mount_path_and_namespace():
    with FakeVault("t", {"kv/teams/finance/app": {"K": "v"}}) as vault:
        backend = VaultBackend("ignored", {"APP_ENV": "test", "VAULT_ADDR": vault.url, "VAULT_TOKEN": "t",
                                           "VAULT_KV_MOUNT": "kv",
                                           "VAULT_KV_PATH": "/teams/finance/app/", "VAULT_NAMESPACE": "acme"})
        assert backend.get("K") == "v"
        assert vault.requests[-1].headers["x-vault-namespace"] == "acme"


def test_vault_errors_are_readable():
    with FakeVault("right", {"secret/apps/a": {"K": "v"}}) as vault:
        local = {"APP_ENV": "test", "VAULT_ADDR": vault.url}
        wrong_token = VaultBackend("a", {**local, "VAULT_TOKEN": "wrong"})
        with pytest.raises(SecretError, match="Vault refused to read Vault secret/apps/a: check VAULT_TOKEN"):
            wrong_token.get("K")
        missing_key = VaultBackend("a", {**local, "VAULT_TOKEN": "right"})
        with pytest.raises(SecretError, match="Vault secret/apps/a has no key named OTHER"):
            missing_key.get("OTHER")
        missing_path = VaultBackend("b", {**local, "VAULT_TOKEN": "right"})
        with pytest.raises(SecretError, match="does not exist: check VAULT_KV_MOUNT and VAULT_KV_PATH"):
            missing_path.get("K")


def test_vault_needs_https_outside_local_development():
    backend = VaultBackend("a", {"VAULT_ADDR": "http://vault.example.com", "VAULT_TOKEN": "t",
                                 "APP_ENV": "production"})
    with pytest.raises(SecretError, match="VAULT_ADDR must start with https://"):
        backend.get("K")
    with pytest.raises(SecretError, match='Secret K uses provider "vault" but VAULT_ADDR is not set'):
        VaultBackend("a", {}).get("K")


AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1",
           "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def aws_credentials(monkeypatch):
    # boto3 reads credentials from the process environment (the usual AWS chain).
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def test_aws_secrets_manager(manifest_data, env, aws_credentials):
    with FakeSecretsManager({"test-app/DB_PASSWORD": "from-aws"}) as sm:
        environ = {**env, **AWS_ENV, "AWS_SECRETS_MANAGER_ENDPOINT": sm.url}
        store = store_for(manifest_data, environ, {"DB_PASSWORD": "aws-secrets-manager"}, tier="production")
        store.validate()
        assert run(store.get, "DB_PASSWORD") == "from-aws"
        assert sm.requests[-1].json() == {"SecretId": "test-app/DB_PASSWORD"}


def test_aws_prefix_and_missing_secret(aws_credentials):
    with FakeSecretsManager({"prod/finance/KEY": "v"}) as sm:
        backend = AwsSecretsManagerBackend("a", {**AWS_ENV, "APP_ENV": "test", "AWS_SECRETS_MANAGER_ENDPOINT": sm.url,
                                                 "AWS_SECRETS_PREFIX": "prod/finance/"})
        assert backend.get("KEY") == "v"
        with pytest.raises(SecretError, match='has no secret "prod/finance/OTHER" in eu-west-1'):
            backend.get("OTHER")


def test_aws_needs_a_region():
    with pytest.raises(SecretError, match='Secret K uses provider "aws-secrets-manager" but AWS_REGION is not set'):
        AwsSecretsManagerBackend("a", {}).get("K")


def test_levee_secrets_dir_reads_every_provider_from_files_with_no_vault_or_aws_client(manifest_data, env, tmp_path):
    (tmp_path / "PAYMENT_API_KEY").write_text("pk-from-file\n")
    (tmp_path / "DB_PASSWORD").write_text("line one\nline two\n\n")
    environ = {**env, "LEVEE_SECRETS_DIR": str(tmp_path)}  # no VAULT_ADDR, VAULT_TOKEN or AWS_REGION
    store = store_for(manifest_data, environ, {"PAYMENT_API_KEY": "vault", "DB_PASSWORD": "aws-secrets-manager"},
                      tier="production")
    assert run(store.get, "PAYMENT_API_KEY") == "pk-from-file", "one trailing newline is dropped"
    assert run(store.get, "DB_PASSWORD") == "line one\nline two\n", "only one"
    assert not [b for b in store._backends.values() if isinstance(b, (VaultBackend, AwsSecretsManagerBackend))]


def test_levee_secrets_dir_missing_or_empty_file_names_the_secret_and_the_file(manifest_data, env, tmp_path):
    (tmp_path / "EMPTY").write_text("\n")
    environ = {**env, "LEVEE_SECRETS_DIR": str(tmp_path)}
    store = store_for(manifest_data, environ, {"EMPTY": "vault", "NOT_MOUNTED": "vault"}, tier="production")
    with pytest.raises(SecretError) as err:
        run(store.get, "NOT_MOUNTED")
    assert str(err.value).startswith(f"Secret NOT_MOUNTED: {tmp_path / 'NOT_MOUNTED'} does not exist")
    with pytest.raises(SecretError, match=f"^Secret EMPTY: {tmp_path / 'EMPTY'} is empty"):
        run(store.get, "EMPTY")
    with pytest.raises(SecretError, match="Secret EMPTY"):
        run(store.preload)  # what start-up does: every declared secret


class CountingBackend:
    def __init__(self, value: str) -> None:
        self.value = value
        self.calls = 0
        self.threads: list[int] = []

    def get(self, name: str) -> str:
        self.calls += 1
        self.threads.append(threading.get_ident())
        return self.value


def test_blocking_backends_run_off_the_event_loop(manifest_data, env):
    backend = CountingBackend("v")
    store = store_for(manifest_data, env, {"K": "vault"}, backends={"vault": backend})

    async def main():
        loop_thread = threading.get_ident()
        assert await store.get("K") == "v"
        return loop_thread

    loop_thread = run(main)
    assert backend.threads and backend.threads[0] != loop_thread


def test_values_are_cached_for_a_while(manifest_data, env):
    backend = CountingBackend("v")
    store = store_for(manifest_data, env, {"K": "vault"}, backends={"vault": backend})
    run(store.get, "K")
    run(store.get, "K")
    assert backend.calls == 1
    no_cache = store_for(manifest_data, {**env, "SECRETS_CACHE_SECONDS": "0"}, {"K": "vault"},
                         backends={"vault": backend})
    run(no_cache.get, "K")
    run(no_cache.get, "K")
    assert backend.calls == 3


def test_get_secret_uses_the_apps_store(client, env):
    assert run(secret_store.get_secret, "SESSION_SECRET") == env["SESSION_SECRET"]
