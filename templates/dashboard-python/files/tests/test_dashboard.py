"""The dashboard: chart and table over the dataset, escaping, limits, caching and its business metric."""

from __future__ import annotations

import json
import socket
import threading
import time

import anyio
import pytest

from app.config import ConfigError
from app.kind import SAMPLE, Dataset, aggregate, chart_columns, data_source, from_csv, load_dataset
from tests.conftest import HTML, JSON
from tests.fakes import Recorder


def test_renders_the_bundled_sample_as_a_chart_and_a_table(client, login):
    login(client)
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert 'aria-label="revenue by month"' in html
    assert html.count('<rect class="bar') == 3, "one bar per month"
    assert '<th scope="col">region</th>' in html
    assert '<td class="num">12500.5</td>' in html
    assert "Dataset <strong>example</strong> · 9 rows" in html


def test_emits_the_business_metric_app_dashboard_views(client, login):
    login(client)
    client.get("/", headers=HTML)
    client.get("/", headers=HTML)
    assert client.telemetry.total("app.dashboard.views", dataset="example") == 2


def test_api_data_returns_typed_rows_behind_login(client, login):
    assert client.get("/api/data", headers=JSON).status_code == 401
    login(client)
    body = client.get("/api/data", headers=JSON).json()
    assert body["dataset"] == "example"
    assert body["columns"] == ["month", "region", "revenue", "orders"]
    assert len(body["rows"]) == 9
    assert body["rows"][0] == {"month": "2026-01", "region": "North", "revenue": 12500.5, "orders": 120}
    assert body["loadedAt"].endswith("Z")


def test_everything_from_the_data_is_escaped(make_client, env, tmp_path, login):
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps([{"name": "<script>alert(1)</script>", 'amount"><img src=x>': 5}]))
    client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": str(evil)})
    login(client)
    html = client.get("/", headers=HTML).text
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_reads_json_from_a_url_with_the_data_token_secret_as_bearer(make_client, manifest_data, env, login):
    rows = {"rows": [{"team": "A", "score": 3}, {"team": "B", "score": 4}, {"team": "A", "score": 1}]}
    with Recorder(status=200, body=rows) as source:
        manifest_data["secrets"].append({"name": "DASHBOARD_DATA_TOKEN", "provider": "env"})
        client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": source.url + "/data.json",
                                      "DASHBOARD_DATA_TOKEN": "data-token-123"})
        login(client)
        html = client.get("/", headers=HTML).text
        assert source.requests[-1].headers["authorization"] == "Bearer data-token-123"
        assert "score by team" in html and "data-token-123" not in html


def test_data_is_cached_for_dashboard_cache_seconds(make_client, env, login):
    with Recorder(status=200, body=[{"team": "A", "score": 1}]) as source:
        client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": source.url + "/d.json",
                                      "DASHBOARD_CACHE_SECONDS": "60"})
        login(client)
        for _ in range(3):
            client.get("/api/data", headers=JSON)
        assert len(source.requests) == 1
        client.advance(61)
        client.get("/api/data", headers=JSON)
        assert len(source.requests) == 2


def test_a_remote_dataset_is_cut_off_as_soon_as_it_passes_the_limit():
    """An endless body: only the client hanging up stops the server."""
    sent = [0]
    closed = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = json.dumps({"pad": "x" * 1000}).encode() + b","
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            while True:
                conn.sendall(framed)
                sent[0] += len(chunk)
        except OSError:
            closed.set()
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/endless.json"
    try:
        with pytest.raises(Exception, match="more than 65536 bytes"):
            anyio.run(lambda: load_dataset(url, environ={"APP_ENV": "test"}, max_bytes=64 * 1024))
        assert closed.wait(5), "the connection was closed"
        assert sent[0] < 4 * 1024 * 1024, f"the app stopped reading early (the server sent {sent[0]} bytes)"
    finally:
        listener.close()


def test_a_large_file_is_refused_and_errors_never_show_its_path(make_client, env, tmp_path, login):
    folder = tmp_path / "dash-secret-folder"
    folder.mkdir()
    big = folder / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 1000)
    with pytest.raises(Exception, match="larger than 100 bytes"):
        anyio.run(lambda: load_dataset(str(big), environ={"APP_ENV": "test"}, max_bytes=100))
    client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": str(folder / "missing.csv")})
    login(client)
    page = client.get("/", headers=HTML)
    assert page.status_code == 500
    assert "The dataset could not be loaded" in page.text and "dash-secret-folder" not in page.text
    api = client.get("/api/data", headers=JSON)
    assert api.json() == {"error": "The dataset could not be loaded. The app log says why."}


def test_levee_max_runtime_seconds_answers_503_when_a_request_runs_too_long(make_client, env, login):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection and never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow.json"
        client = make_client(environ={**env, "DASHBOARD_DATA_SOURCE": url, "LEVEE_MAX_RUNTIME_SECONDS": "1"})
        login(client)
        started = time.monotonic()
        r = client.get("/api/data", headers=JSON)
        assert r.status_code == 503
        assert r.json() == {"error": "The request took longer than 1 seconds."}
        assert time.monotonic() - started < 2.5
    finally:
        listener.close()


def test_the_bundled_sample_is_only_used_on_a_laptop_or_in_tests(make_client, manifest_data, env):
    assert data_source({"APP_ENV": "dev"}) == str(SAMPLE)
    for deployed in ({"APP_ENV": "production"}, {}):
        with pytest.raises(ConfigError, match="DASHBOARD_DATA_SOURCE is not set"):
            data_source(deployed)
    manifest_data["sso"]["issuer"] = "https://login.example.com"
    with pytest.raises(ConfigError, match="DASHBOARD_DATA_SOURCE is not set"):
        make_client(environ={**env, "APP_ENV": "production", "APP_BASE_URL": "https://app.example.com"})


def test_a_url_source_must_be_https_outside_development():
    with pytest.raises(ConfigError, match="must start with https"):
        anyio.run(lambda: load_dataset("http://data.example.com/x.json", environ={"APP_ENV": "production"}))


def test_csv_rules_and_sums_per_label():
    with pytest.raises(ValueError, match="line 2 has 1 fields, expected 2"):
        from_csv("a,b\n1\n")
    columns, rows = from_csv("\ufeffteam,score\nA,1\nB,2\nA,3.5\n")
    ds = Dataset(columns, rows, loaded_at=time.gmtime())  # type: ignore[arg-type]
    assert chart_columns(ds, {}) == ("team", "score")
    assert aggregate(ds, "team", "score") == [("A", 4.5), ("B", 2)]
    with pytest.raises(ConfigError, match='Column "nope" is not in the data'):
        chart_columns(ds, {"DASHBOARD_VALUE_COLUMN": "nope"})
