"""app.yaml and environment checks: clear errors instead of an unsafe start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import ConfigError, Settings, load_manifest, parse_manifest
from app.main import create_app


def test_http_issuer_is_refused_outside_local_development(manifest_data, env):
    manifest = parse_manifest(manifest_data, env)  # issuer is http://127.0.0.1:...
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env(manifest, {**env, "APP_ENV": "production", "APP_BASE_URL": "https://a.example.com"})
    assert Settings.from_env(manifest, env).is_local


def test_production_needs_a_public_https_base_url(manifest_data, env):
    manifest_data["sso"]["issuer"] = "https://login.example.com"
    manifest = parse_manifest(manifest_data, env)
    with pytest.raises(ConfigError, match="APP_BASE_URL"):
        Settings.from_env(manifest, {**env, "APP_ENV": "production"})
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env(manifest, {**env, "APP_ENV": "production", "APP_BASE_URL": "http://a.example.com"})


def test_only_dev_and_test_are_local(manifest_data, env):
    manifest = parse_manifest(manifest_data, env)  # issuer is http://127.0.0.1:...
    for deployed in ("development", "staging", "DEV", ""):
        with pytest.raises(ConfigError, match="APP_ENV=dev or APP_ENV=test"):
            Settings.from_env(manifest, {**env, "APP_ENV": deployed, "APP_BASE_URL": "https://a.example.com"})
    assert Settings.from_env(manifest, {**env, "APP_ENV": "dev"}).is_local


def test_missing_env_means_production(manifest_data, env):
    manifest = parse_manifest(manifest_data, env)
    environ = {k: v for k, v in env.items() if k != "APP_ENV"}
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env(manifest, environ)


def test_sso_shorthand_needs_an_issuer(manifest_data, env):
    manifest_data["sso"] = "oidc"
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        parse_manifest(manifest_data, env)
    parsed = parse_manifest(manifest_data, {**env, "OIDC_ISSUER": "https://idp.example.com/"})
    assert parsed.sso.issuer == "https://idp.example.com"
    assert parsed.sso.groups == ()
    assert "openid" in parsed.sso.scopes


def test_sso_is_required(manifest_data, env):
    manifest_data["sso"] = None
    with pytest.raises(ConfigError, match="sso"):
        parse_manifest(manifest_data, env)


def test_missing_manifest_file_explains_levee_manifest(tmp_path):
    with pytest.raises(ConfigError, match="LEVEE_MANIFEST"):
        load_manifest(environ={"LEVEE_MANIFEST": str(tmp_path / "nope.yaml")})


def test_manifest_is_read_from_levee_manifest(tmp_path, manifest_data, env):
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(manifest_data))
    manifest = load_manifest(environ={**env, "LEVEE_MANIFEST": str(path)})
    assert manifest.name == "test-app" and manifest.tier == "prototype"


def test_env_secret_outside_prototype_stops_the_app(manifest_data, env):
    manifest_data["lifecycle"]["tier"] = "sandbox"
    with pytest.raises(ConfigError, match=r"lifecycle\.tier"):
        create_app(manifest=parse_manifest(manifest_data, env), environ=env)


def test_undeclared_required_secret_stops_the_app(manifest_data, env):
    manifest_data["secrets"] = [s for s in manifest_data["secrets"] if s["name"] != "SESSION_SECRET"]
    with pytest.raises(ConfigError, match="SESSION_SECRET is not declared"):
        create_app(manifest=parse_manifest(manifest_data, env), environ=env)


def test_short_session_secret_stops_the_app(make_client, env):
    with pytest.raises(ConfigError, match="at least 32"):
        make_client(environ={**env, "SESSION_SECRET": "short"})


def test_unknown_secret_provider_is_refused(manifest_data, env):
    manifest_data["secrets"].append({"name": "X", "provider": "keychain"})
    with pytest.raises(ConfigError, match="provider"):
        parse_manifest(manifest_data, env)


def test_the_app_yaml_levee_wrote_fits_this_app():
    """This folder's app.yaml against what the code needs, so a wrong manifest fails `pytest`."""
    path = Path(__file__).resolve().parent.parent / "app.yaml"
    assert path.exists(), "app.yaml (written by levee) belongs next to the code"
    manifest = load_manifest(path, environ={"OIDC_ISSUER": "https://idp.example.com"})
    from app import kind

    assert manifest.kind == kind.KIND
    assert kind.check_manifest(manifest, {}) == [], "fix these lines in app.yaml"
