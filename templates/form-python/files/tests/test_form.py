"""The form: submit, list, approve; validation, role checks, CSRF, storage in DATA_DIR and metrics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.auth import User
from app.config import ConfigError, parse_manifest
from app.kind import Store, check_manifest, validate_submission
from tests.conftest import HTML, JSON, csrf
from tests.kind_fixtures import APPROVERS, MEMBER_GROUP

GOOD = {"title": "Train to Berlin", "amount": "120.50", "category": "travel", "details": "Customer visit"}


def submit(client, **fields):
    data = {**GOOD, **fields}
    data.setdefault("csrf_token", csrf(client))
    return client.post("/submissions", data=data, headers=HTML, follow_redirects=False)


def items(client) -> list[dict]:
    return client.get("/api/submissions", headers=JSON).json()["submissions"]


def decide(client, item_id: str, decision: str, note: str = ""):
    return client.post(f"/submissions/{item_id}/decision",
                       data={"csrf_token": csrf(client), "decision": decision, "note": note},
                       headers=HTML, follow_redirects=False)


def test_a_valid_submission_is_stored_listed_and_counted(client, login):
    login(client, sub="sam", name="Sam Staff")
    r = submit(client)
    assert r.status_code == 303 and r.headers["location"].startswith("/?created=")
    mine = items(client)
    assert len(mine) == 1
    s = mine[0]
    assert (s["title"], s["amount"], s["category"], s["status"]) == ("Train to Berlin", "120.50", "travel", "pending")
    assert s["submittedBy"] == {"sub": "sam", "name": "Sam Staff"}
    assert len(s["id"]) == 36, "ids are UUIDs"
    page = client.get("/?created=1", headers=HTML).text
    assert "Your request was submitted" in page and "120.50" in page
    assert client.telemetry.total("app.form.submissions", outcome="accepted") == 1


def test_invalid_input_is_refused_with_messages_echoed_safely_and_not_stored(client, login):
    login(client)
    r = submit(client, title="<b>" + "x" * 200, amount="12,5", category="bribes", details="a" * 2001)
    assert r.status_code == 422
    for message in ("Title must be 3 to 120 characters", "Amount must be a number",
                    "Category must be one of", "Details can be at most 2000 characters"):
        assert message in r.text
    assert 'value="&lt;b&gt;xxx' in r.text
    assert items(client) == []
    assert client.telemetry.total("app.form.submissions", outcome="invalid") == 1


def test_form_posts_need_the_csrf_token(client, login):
    login(client)
    assert submit(client, csrf_token="forged").status_code == 403
    assert client.post("/submissions", json={"title": "xyz", "amount": "1", "category": "other"}).status_code == 403


def test_json_api(client, login):
    login(client)
    token = csrf(client)
    r = client.post("/submissions", json={**GOOD, "amount": 18.2}, headers={"x-csrf-token": token, **JSON})
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["amount"] == "18.20"
    r = client.post("/submissions", json={**GOOD, "amount": "0"}, headers={"x-csrf-token": token, **JSON})
    assert r.status_code == 422
    assert r.json() == {"error": "Please correct the fields marked below.",
                        "errors": {"amount": "Amount must be more than 0 and at most 1,000,000.00."}}


def test_approval_flow_and_final_decisions(make_client, login):
    submitter, approver = make_client(), make_client()
    login(submitter, sub="sam", groups=[MEMBER_GROUP])
    submit(submitter)
    item_id = items(submitter)[0]["id"]
    r = decide(submitter, item_id, "approve")
    assert r.status_code == 403 and f"Only members of {APPROVERS} can approve" in r.text

    login(approver, sub="ann", name="Ann Approver", groups=[APPROVERS])
    page = approver.get("/", headers=HTML).text
    assert "All requests" in page and 'value="approve"' in page
    r = decide(approver, item_id, "approve", "ok for Q3")
    assert r.status_code == 303
    s = items(submitter)[0]
    assert s["status"] == "approved" and s["decidedBy"]["name"] == "Ann Approver" and s["note"] == "ok for Q3"
    assert approver.telemetry.total("app.form.approvals", decision="approved") == 1
    assert decide(approver, item_id, "reject").status_code == 409
    assert decide(approver, "00000000-0000-0000-0000-000000000000", "approve").status_code == 404
    assert decide(approver, item_id, "maybe").status_code == 400


def test_reject_by_json(make_client, login):
    submitter, approver = make_client(), make_client()
    login(submitter, sub="sam")
    submit(submitter)
    item_id = items(submitter)[0]["id"]
    login(approver, sub="ann", groups=[APPROVERS])
    r = approver.post(f"/submissions/{item_id}/decision", json={"decision": "reject", "note": "no budget"},
                      headers={"x-csrf-token": csrf(approver), **JSON})
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["note"] == "no budget"
    assert approver.telemetry.total("app.form.approvals", decision="rejected") == 1


def test_approvers_cannot_approve_their_own(client, login):
    login(client, sub="ann", groups=[APPROVERS])
    submit(client)
    item_id = items(client)[0]["id"]
    r = decide(client, item_id, "approve")
    assert r.status_code == 403 and "can&#39;t approve or reject your own request" in r.text
    assert 'value="approve"' not in client.get("/", headers=HTML).text


def test_submitters_see_only_their_own(make_client, login):
    a, b = make_client(), make_client()
    login(a, sub="sam")
    login(b, sub="kim")
    submit(a, title="Sam's")
    submit(b, title="Kim's")
    assert [i["title"] for i in items(a)] == ["Sam's"]


def test_user_input_is_escaped(client, login):
    login(client)
    submit(client, title="<img src=x onerror=alert(1)>", details="</textarea><script>x</script>")
    html = client.get("/", headers=HTML).text
    assert "<img src=x" not in html and "<script>x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_amounts_are_exact_and_bounded():
    def ok(amount):
        return validate_submission({**GOOD, "amount": amount})[0]

    assert ok("0.5")["amount"] == "0.50"
    for bad in ("0", "1000000.01", "1e3", "12.345", "-3"):
        assert ok(bad) is None, bad
    assert validate_submission({**GOOD, "title": ["array"]})[0] is None
    assert validate_submission({**GOOD, "title": "two\nlines"})[0] is None


def test_app_yaml_needs_an_approver_group_in_sso_groups(manifest_data, env, make_client):
    def problems(groups, environ=None):
        manifest_data["sso"]["groups"] = groups
        return check_manifest(parse_manifest(manifest_data, env), environ or {})

    assert problems(["finance-staff", "finance-approvers"]) == []
    assert "needs an approver group" in problems(["finance-staff"])[0]
    assert problems(["finance-staff", "leads"], {"FORM_APPROVER_GROUP": "leads"}) == []
    assert "must also be listed" in problems(["finance-staff"], {"FORM_APPROVER_GROUP": "leads"})[0]
    manifest_data["sso"]["groups"] = [MEMBER_GROUP]
    with pytest.raises(ConfigError, match="needs an approver group"):
        make_client()


def test_submissions_are_kept_in_data_dir_across_restarts_and_nothing_else_is_written(tmp_path):
    data = tmp_path / "data"
    first = Store(data / "submissions.sqlite3")
    a = first.add({"title": "One", "amount": "1.00", "category": "other", "details": ""}, User("s", "S", "", ()))
    first.add({"title": "Two", "amount": "2.00", "category": "other", "details": ""}, User("s", "S", "", ()))
    first.decide(a["id"], User("x", "X", "", ()), "approved", "")
    first.close()
    second = Store(data / "submissions.sqlite3")
    assert [(s["title"], s["status"]) for s in second.list()] == [("Two", "pending"), ("One", "approved")]
    second.close()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["data", "data/submissions.sqlite3"]


def test_the_app_writes_its_store_under_data_dir(client, login, env):
    login(client)
    submit(client)
    db = Path(env["DATA_DIR"]) / "submissions.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT title, amount, category FROM submissions").fetchall() == [
            ("Train to Berlin", "120.50", "travel")]
