"""The shared HTTP contract (contract/cases.json): the same cases the Node apps run, driven over HTTP
against this app. See the "about" field of the case file for the step language."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from fastapi.testclient import TestClient

from app import kind
from tests.fakes import Recorder, Response
from tests.kind_fixtures import KIND_SECRETS

CASES = json.loads((Path(__file__).resolve().parent.parent / "contract" / "cases.json").read_text(encoding="utf-8"))
KIND = CASES["kinds"][kind.KIND]
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


def person(name: str) -> dict[str, Any]:
    p = dict(CASES["people"][name])
    groups = KIND["groups"]
    p["groups"] = [groups[0] if g == "@member" else (groups[1] if len(groups) > 1 else "no-approver-group")
                   if g == "@approver" else g for g in p["groups"]]
    return p


def pad(value: Any) -> Any:
    return "x" * int(value[5:]) if isinstance(value, str) and value.startswith("@pad:") else value


def matches(expected: Any, actual: Any, where: str) -> None:
    """Partial deep match: objects by their listed keys, lists element by element, and placeholders."""
    if expected == "<uuid>":
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", str(actual)), where
    elif expected == "<iso-time>":
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", str(actual)), f"{where}: {actual!r}"
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: not a list"
        assert len(actual) == len(expected), f"{where}: length {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            matches(e, a, f"{where}/{i}")
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: not an object"
        for k, v in expected.items():
            matches(v, actual.get(k), f"{where}/{k}")
    else:
        assert actual == expected and type(actual) is type(expected), f"{where}: {actual!r} != {expected!r}"


def pointer(doc: Any, path: str) -> Any:
    for key in path.split("/")[1:] if path else []:
        key = key.replace("~1", "/").replace("~0", "~")
        doc = doc[int(key)] if isinstance(doc, list) else doc.get(key)
    return doc


def cookies_set(response) -> list[str]:
    names = []
    for line in response.headers.get_list("set-cookie"):
        pair, *attrs = line.split(";")
        name, _, value = pair.partition("=")
        expired = not value.strip() or any(a.strip().lower() == "max-age=0" for a in attrs)
        if not expired:
            names.append(name.strip())
    return sorted(names)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return kind.sign(secret, timestamp, body)  # only webhook apps have it (and only they sign)


class Downstream(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.queue: list[int] = []

    def handle(self, req):
        return Response(self.queue.pop(0) if self.queue else 200, {})


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in overrides.items():
        out[k] = {**out[k], **v} if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


@pytest.fixture
def contract_app(make_client, manifest_data, env):
    def start(manifest: dict[str, Any] | None = None, environ: dict[str, str] | None = None):
        data = merged(manifest_data, {"sso": {"groups": KIND["groups"]}, "data_access": KIND["data_access"]})
        return make_client(manifest=merged(data, manifest or {}), environ={**env, **(environ or {})})

    return start


@pytest.mark.parametrize("case", CASES["cases"]["common"] + CASES["cases"].get(kind.KIND, []), ids=lambda c: c["name"])
def test_contract(case, contract_app, oidc):
    downstream = Downstream() if kind.KIND == "webhook" else None
    try:
        run_case(case, contract_app, oidc, downstream)
    finally:
        if downstream is not None:
            downstream.close()


def run_case(case, contract_app, oidc, downstream) -> None:
    first = contract_app(environ={"DOWNSTREAM_URL": downstream.url + "/events"} if downstream else None)
    browsers: dict[str, TestClient] = {}
    saved: dict[str, str] = {}
    last_timestamp = ""

    def browser(name: str) -> TestClient:
        if name not in browsers:  # one cookie jar per person, all on the same app
            browsers[name] = first if not browsers else TestClient(first.app, base_url="http://testserver")
        return browsers[name]

    def csrf(name: str) -> str:
        page = browser(name).get("/", headers={"accept": BROWSER})
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, f"no CSRF token for {name} (HTTP {page.status_code})"
        return found.group(1)

    def fill(value: Any, who: str) -> Any:
        if not isinstance(value, str):
            return value
        value = value.replace("{issuer}", oidc.issuer)
        value = re.sub(r"\{saved\.(\w+)\}", lambda m: saved.get(m.group(1), ""), value)
        if "{csrf}" in value:
            value = value.replace("{csrf}", csrf(who))
        return pad(value)

    for i, step in enumerate(case["steps"], 1):
        where = f"step {i}"
        if "advance_seconds" in step:
            first.advance(step["advance_seconds"])  # the app's clock: one app, every person
            continue
        if "idp_groups" in step:
            for who, groups in step["idp_groups"].items():
                oidc.set_groups(person(who)["sub"], groups)
            continue
        if "downstream" in step:
            downstream.queue.extend(step["downstream"])
            continue
        who = step["as"]
        b = browser(who)
        if step.get("login"):
            oidc.next_user = person(who)
            start = b.get("/auth/login?next=%2Fhealthz", headers={"accept": BROWSER}, follow_redirects=False)
            assert start.status_code == 303, f"{where}: sign-in start {start.status_code}"
            at_idp = httpx2.get(start.headers["location"], follow_redirects=False)
            response = b.get(at_idp.headers["location"], headers={"accept": BROWSER}, follow_redirects=False)
        else:
            headers = {"accept": "application/json" if step.get("accept") == "json" else BROWSER}
            headers.update({k: fill(v, who) for k, v in (step.get("headers") or {}).items()})
            content: bytes | None = None
            if "form" in step:
                content = urlencode({k: fill(v, who) for k, v in step["form"].items()}).encode()
                headers["content-type"] = "application/x-www-form-urlencoded"
            elif "json" in step:
                body = step["json"]
                if isinstance(body, dict):
                    body = {k: fill(v, who) for k, v in body.items()}
                content = json.dumps(body, separators=(",", ":")).encode()
                headers["content-type"] = "application/json"
            elif "body" in step:
                content = str(pad(step["body"])).encode()
            if "sign" in step:
                s = step["sign"]
                ts = s.get("timestamp") or (last_timestamp if s.get("same_timestamp")
                                            else str(int(time.time()) + s.get("offset_seconds", 0)))
                last_timestamp = ts
                headers["x-webhook-timestamp"] = ts
                if s.get("signature") != "omit":
                    secret = "not-the-secret" if s.get("secret") == "wrong" else KIND_SECRETS["WEBHOOK_SIGNING_SECRET"]
                    headers["x-webhook-signature"] = sign(secret, ts, content or b"")
            response = b.request(step["method"], fill(step["path"], who), content=content, headers=headers,
                                 follow_redirects=False)
        expect = step.get("expect", {"status": 303} if step.get("login") else {})
        try:
            body_json = response.json()
        except ValueError:
            body_json = None
        ctx = f"{where} ({step.get('method', 'login')} {step.get('path', '')}): {response.text[:300]}"
        if "status" in expect:
            assert response.status_code == expect["status"], ctx
        if "location" in expect:
            assert response.headers.get("location") == fill(expect["location"], who), ctx
        if "location_starts" in expect:
            assert response.headers.get("location", "").startswith(fill(expect["location_starts"], who)), ctx
        if "cookies_set" in expect:
            assert cookies_set(response) == sorted(expect["cookies_set"]), ctx
        for h in expect.get("header_absent", []):
            assert h not in response.headers, f"{ctx}: header {h}"
        for h, v in expect.get("header_has", {}).items():
            assert v in response.headers.get(h, ""), f"{ctx}: header {h}"
        for s in expect.get("body_has", []):
            assert s in response.text, f"{ctx}: body lacks {s}"
        for s in expect.get("body_lacks", []):
            assert s not in response.text, f"{ctx}: body has {s}"
        if "json" in expect:
            matches(expect["json"], body_json, ctx)
        for path, keys in expect.get("keys", {}).items():
            assert sorted(pointer(body_json, path)) == sorted(keys), f"{ctx}: keys at {path!r}"
        for path, value in expect.get("json_at", {}).items():
            matches(value, pointer(body_json, path), f"{ctx} at {path}")
        if "downstream" in expect:
            d = expect["downstream"]
            assert len(downstream.requests) == d["count"], f"{ctx}: downstream requests"
            for h in d.get("headers", []):
                assert all(r.headers.get(h) for r in downstream.requests), f"{ctx}: downstream header {h}"
            if "body" in d:
                assert downstream.requests[-1].body.decode() == d["body"]
            if "same_header" in d:
                assert len({r.headers.get(d["same_header"]) for r in downstream.requests}) == 1
        for name, path in step.get("save", {}).items():
            saved[name] = str(pointer(body_json, path))


@pytest.mark.parametrize("case", CASES["startup"]["common"] + CASES["startup"].get(kind.KIND, []),
                         ids=lambda c: c["name"])
def test_refuses_to_start(case, contract_app, manifest_data, env, tmp_path):
    manifest = dict(case.get("manifest") or {})
    if manifest.get("secrets") == "@vault":
        manifest["secrets"] = [{"name": s["name"], "provider": "vault"} for s in manifest_data["secrets"]]
    environ = dict(case.get("env") or {})
    if "secrets_dir" in case:
        directory = tmp_path / "contract-secrets"
        directory.mkdir()
        values = {"SESSION_SECRET": env["SESSION_SECRET"], **KIND_SECRETS}
        for name, value in values.items():
            if name in case["secrets_dir"].get("omit", []):
                continue
            (directory / name).write_text("\n" if name in case["secrets_dir"].get("empty", []) else value + "\n")
        environ["LEVEE_SECRETS_DIR"] = str(directory)
    with pytest.raises(Exception) as err:
        contract_app(manifest=manifest, environ=environ)
    for s in case["error_has"]:
        assert s in str(err.value), f"error {str(err.value)!r} lacks {s!r}"
