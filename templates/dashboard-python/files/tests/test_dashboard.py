"""The dashboard: table, chart, escaping, and its business metric."""

from __future__ import annotations

import json

from app.kind import DEFAULT_DATA, bar_chart, load_dataset
from tests.conftest import HTML


def test_dashboard_shows_table_and_chart(client, login):
    login(client)
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "<table>" in html and "<svg" in html
    assert html.count('<rect class="bar"') == 12  # one bar a month in the sample
    assert "2025-10" in html and "158" in html
    assert "tickets_opened" in html


def test_dashboard_views_metric(client, login):
    login(client)
    client.get("/", headers=HTML)
    client.get("/", headers=HTML)
    assert client.telemetry.total("app.dashboard.views") == 2
    assert client.telemetry.total("app.dashboard.views", dataset="sample") == 2


def test_dashboard_needs_sign_in(client):
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get("/api/data").status_code == 401


def test_data_api(client, login):
    login(client)
    body = client.get("/api/data").json()
    assert body["columns"][0] == "month"
    assert len(body["rows"]) == 12


def test_everything_from_the_data_is_escaped(make_client, env, tmp_path, login):
    evil = tmp_path / "evil.csv"
    evil.write_text('name<script>,value\n"<script>alert(1)</script>",3\n"x"" onmouseover=""y",5\n')
    client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": str(evil)})
    login(client)
    html = client.get("/", headers=HTML).text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'x" onmouseover' not in html


def test_json_datasets_and_chart_column(make_client, env, tmp_path, login):
    data = tmp_path / "data.json"
    data.write_text(json.dumps([{"team": "a", "open": 1, "closed": 4}, {"team": "b", "open": 2, "closed": 8}]))
    client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": str(data), "DASHBOARD_VALUE_COLUMN": "closed"})
    login(client)
    html = client.get("/", headers=HTML).text
    assert "<h2>closed</h2>" in html and html.count('<rect class="bar"') == 2


def test_unreadable_dataset_is_a_clear_error(make_client, env, tmp_path, login):
    client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": str(tmp_path / "missing.csv")})
    login(client)
    r = client.get("/", headers=HTML)
    assert r.status_code == 500 and "Cannot read the dataset" in r.text


def test_bar_chart_scales_to_the_largest_value():
    chart = bar_chart(load_dataset(DEFAULT_DATA), "tickets_closed")
    heights = [b["height"] for b in chart["bars"]]
    assert max(heights) == 200  # the plot height
    assert all(0 <= h <= 200 for h in heights)
