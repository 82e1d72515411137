"""Settings of the webhook app for the shared tests (see tests/conftest.py)."""

import pytest

from tests.fakes import Recorder

KIND_GROUPS = ["integrations"]  # sso.groups in the test app.yaml
MEMBER_GROUP = "integrations"   # a group that lets a user in
REQUIRES_GROUPS = False  # the kind refuses to start without sso.groups (a form needs its approvers)
SIGNING_SECRET = "whsec-test-0123456789"
DOWNSTREAM_TOKEN = "downstream-token-abc"
KIND_SECRETS = {"WEBHOOK_SIGNING_SECRET": SIGNING_SECRET, "DOWNSTREAM_API_TOKEN": DOWNSTREAM_TOKEN}
# Extra environment for an app started with APP_ENV=production in the shared tests.
PRODUCTION_ENV = {"DOWNSTREAM_URL": "https://downstream.example.com/events"}


@pytest.fixture
def downstream():
    with Recorder(status=200, body={"ok": True}) as server:
        yield server


@pytest.fixture
def kind_env(downstream) -> dict[str, str]:
    return {"DOWNSTREAM_URL": downstream.url + "/events", "DOWNSTREAM_RETRY_BASE_MS": "5"}
