"""Settings of the form app for the shared tests (see tests/conftest.py)."""

import pytest

KIND_GROUPS = ["finance", "finance-approvers"]  # sso.groups in the test app.yaml
MEMBER_GROUP = "finance"                        # a group that lets a user in
REQUIRES_GROUPS = True  # the kind refuses to start without sso.groups (a form needs its approvers)
APPROVERS = "finance-approvers"
KIND_SECRETS: dict[str, str] = {}               # extra secrets (provider env in the tests)


@pytest.fixture
def kind_env(tmp_path) -> dict[str, str]:
    return {}

# Extra environment for an app started with APP_ENV=production in the shared tests.
PRODUCTION_ENV: dict[str, str] = {}
