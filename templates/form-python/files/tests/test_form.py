"""The form: submit, list, approve; validation, role checks, CSRF and metrics."""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer

from tests.conftest import HTML, SESSION_SECRET
from tests.kind_fixtures import APPROVERS, MEMBER_GROUP


def csrf(client) -> str:
    return URLSafeTimedSerializer(SESSION_SECRET, salt="levee-session").loads(client.cookies.get("session"))["csrf"]


def submit(client, **fields):
    data = {"title": "Team lunch", "amount": "42.50", "details": "4 people", **fields}
    data.setdefault("csrf_token", csrf(client))
    return client.post("/submissions", data=data, headers=HTML, follow_redirects=False)


def test_submit_and_list(client, login):
    login(client, sub="sam")
    r = submit(client)
    assert r.status_code == 303
    page = client.get("/", headers=HTML).text
    assert "Team lunch" in page and "42.50" in page and "pending" in page
    items = client.get("/api/submissions").json()["items"]
    assert [(i["title"], i["submitted_by"], i["status"]) for i in items] == [("Team lunch", "sam", "pending")]


def test_validation_errors_are_shown(client, login):
    login(client)
    r = submit(client, title="   ", amount="-3")
    assert r.status_code == 422
    assert "Please fix the fields" in r.text
    assert client.get("/api/submissions").json()["items"] == []
    r = submit(client, amount="12.345")
    assert r.status_code == 422
    r = submit(client, amount="not a number")
    assert r.status_code == 422


def test_submissions_metric(client, login):
    login(client)
    submit(client)
    submit(client, amount="0")
    assert client.telemetry.total("app.form.submissions", outcome="accepted") == 1
    assert client.telemetry.total("app.form.submissions", outcome="invalid") == 1


def test_form_posts_need_the_csrf_token(client, login):
    login(client)
    r = submit(client, csrf_token="forged")
    assert r.status_code == 403
    r = client.post("/submissions", json={"title": "x", "amount": "1"})
    assert r.status_code == 403


def test_json_api(client, login):
    login(client)
    r = client.post("/submissions", json={"title": "Taxi", "amount": 18.2},
                    headers={"x-csrf-token": csrf(client)})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    r = client.post("/submissions", json={"title": "Taxi", "amount": 18.2, "admin": True},
                    headers={"x-csrf-token": csrf(client)})
    assert r.status_code == 422


def test_approval_flow(make_client, login):
    submitter = make_client()
    approver = make_client()
    login(submitter, sub="sam", groups=[MEMBER_GROUP])
    submit(submitter)
    item_id = submitter.get("/api/submissions").json()["items"][0]["id"]

    # a submitter cannot decide
    r = submitter.post(f"/submissions/{item_id}/decision", data={"csrf_token": csrf(submitter), "decision": "approve"})
    assert r.status_code == 403

    login(approver, sub="ann", groups=[APPROVERS])
    page = approver.get("/", headers=HTML).text
    assert "All requests" in page and "Approve" in page
    r = approver.post(f"/submissions/{item_id}/decision", data={"csrf_token": csrf(approver), "decision": "approve"},
                      headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert submitter.get("/api/submissions").json()["items"][0]["status"] == "approved"
    assert approver.telemetry.total("app.form.approvals", decision="approved") == 1

    # deciding twice is refused
    r = approver.post(f"/submissions/{item_id}/decision", data={"csrf_token": csrf(approver), "decision": "reject"})
    assert r.status_code == 409
    r = approver.post("/submissions/999/decision", data={"csrf_token": csrf(approver), "decision": "approve"})
    assert r.status_code == 404
    r = approver.post(f"/submissions/{item_id}/decision", data={"csrf_token": csrf(approver), "decision": "maybe"})
    assert r.status_code == 400


def test_reject_by_json(make_client, login):
    submitter, approver = make_client(), make_client()
    login(submitter, sub="sam")
    submit(submitter)
    login(approver, sub="ann", groups=[APPROVERS])
    r = approver.post("/submissions/1/decision", json={"decision": "reject"},
                      headers={"x-csrf-token": csrf(approver)})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert approver.telemetry.total("app.form.approvals", decision="rejected") == 1


def test_approvers_cannot_approve_their_own(client, login):
    login(client, sub="ann", groups=[APPROVERS])
    submit(client)
    item_id = client.get("/api/submissions").json()["items"][0]["id"]
    r = client.post(f"/submissions/{item_id}/decision", data={"csrf_token": csrf(client), "decision": "approve"})
    assert r.status_code == 403 and "own" in r.json()["detail"]
    assert "Approve</button>" not in client.get("/", headers=HTML).text


def test_submitters_see_only_their_own(make_client, login):
    a, b = make_client(), make_client()
    login(a, sub="sam")
    login(b, sub="kim")
    submit(a, title="Sam's")
    submit(b, title="Kim's")
    assert [i["title"] for i in a.get("/api/submissions").json()["items"]] == ["Sam's"]


def test_user_input_is_escaped(client, login):
    login(client)
    submit(client, title="<img src=x onerror=alert(1)>", details="</textarea><script>x</script>")
    html = client.get("/", headers=HTML).text
    assert "<img src=x" not in html and "<script>x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_no_approvers_group_means_nobody_approves(make_client, manifest_data, login):
    manifest_data["sso"]["groups"] = [MEMBER_GROUP]
    client = make_client()
    login(client)
    submit(client)
    r = client.post("/submissions/1/decision", data={"csrf_token": csrf(client), "decision": "approve"})
    assert r.status_code == 403 and "FORM_APPROVER_GROUP" in r.json()["detail"]
