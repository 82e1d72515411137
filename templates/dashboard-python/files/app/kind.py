"""Dashboard: one page with a bar chart and a table over one dataset (the same app as Node's).

Settings (environment):
  DASHBOARD_DATA_SOURCE    a .csv/.json file or an https URL returning JSON. With APP_ENV=dev or
                           test it defaults to the bundled sample-data/sales.csv; deployed, it
                           must be set (the sample is never shown as if it were real data).
  DASHBOARD_LABEL_COLUMN   column naming the bars (default: the first text column)
  DASHBOARD_VALUE_COLUMN   column summed per bar (default: the first number column)
  DASHBOARD_CACHE_SECONDS  how long data is kept before it is read again (default 60)
  DASHBOARD_MAX_BYTES      the largest dataset read, default 10485760 (10 MiB): a remote source
                           is read as a stream and cut off as soon as it passes the limit
If app.yaml declares a secret DASHBOARD_DATA_TOKEN it is sent as a bearer token to the URL source.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2
from fastapi import FastAPI, HTTPException, Request

from app.auth import CurrentUser
from app.config import ConfigError, Manifest, is_local_env, require_secure_url
from app.secret_store import get_secret
from app.web import render

log = logging.getLogger(__name__)

KIND = "dashboard"
REQUIRED_SECRETS: tuple[str, ...] = ()
TOKEN_SECRET = "DASHBOARD_DATA_TOKEN"
SAMPLE = Path(__file__).resolve().parent.parent / "sample-data" / "sales.csv"
MAX_BYTES = 10 * 1024 * 1024
MAX_TABLE_ROWS = 500
MAX_BARS = 24
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

Cell = str | int | float | None


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Dataset:
    columns: list[str]
    rows: list[dict[str, Cell]]
    loaded_at: datetime


def check_manifest(manifest: Manifest, environ: Mapping[str, str]) -> list[str]:
    """Kind-specific checks of app.yaml (plain-word problems; empty = fine)."""
    return []


def dataset_name(manifest: Manifest) -> str:
    """The dataset name shown on the page and used in metrics (first data_access entry)."""
    first = manifest.data_access[0] if manifest.data_access else {}
    return str(first.get("dataset") or "sample")


def data_source(environ: Mapping[str, str]) -> str:
    configured = (environ.get("DASHBOARD_DATA_SOURCE") or "").strip()
    if configured:
        return configured
    if is_local_env(environ):
        return str(SAMPLE)
    raise ConfigError("DASHBOARD_DATA_SOURCE is not set: the file or https URL the dashboard reads its data from "
                      "(the bundled sample data is only used with APP_ENV=dev or test).")


def to_cell(value: Any) -> Cell:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    text = str(value).strip()
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def from_csv(text: str) -> tuple[list[str], list[dict[str, Cell]]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    lines = [r for r in reader if r != [] and r != [""]]
    if not lines:
        raise ValueError("the CSV file is empty")
    columns = [h.strip() for h in lines[0]]
    if len(set(columns)) != len(columns) or "" in columns:
        raise ValueError("the CSV header must have unique, non-empty column names")
    rows = []
    for n, cells in enumerate(lines[1:]):
        if len(cells) != len(columns):
            raise ValueError(f"CSV line {n + 2} has {len(cells)} fields, expected {len(columns)}")
        rows.append({c: to_cell(v) for c, v in zip(columns, cells, strict=True)})
    return columns, rows


def from_json(value: Any) -> tuple[list[str], list[dict[str, Cell]]]:
    items = value if isinstance(value, list) else value.get("rows") if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise ValueError('JSON data must be a list of objects (or {"rows": [...]})')
    columns: list[str] = []
    rows = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"JSON row {n} is not an object")
        row: dict[str, Cell] = {}
        for k, v in item.items():
            if k not in columns:
                columns.append(k)
            row[k] = to_cell(v)
        rows.append(row)
    return columns, rows


def read_file(path: str, max_bytes: int) -> tuple[list[str], list[dict[str, Cell]]]:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ConfigError("DASHBOARD_DATA_SOURCE must be a .csv or .json file or an https URL")
    with open(path, "rb") as fh:
        if Path(path).stat().st_size > max_bytes:
            raise TooLarge(f"the data file is larger than {max_bytes} bytes")
        text = fh.read().decode("utf-8")
    return from_csv(text) if suffix == ".csv" else from_json(json.loads(text))


async def read_url(url: str, *, environ: Mapping[str, str], token: str | None, max_bytes: int,
                   timeout: float = 10.0) -> tuple[list[str], list[dict[str, Cell]]]:
    require_secure_url(url, "DASHBOARD_DATA_SOURCE", is_local_env(environ))
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    # trust_env: HTTPS_PROXY / NO_PROXY from deploy/ are honoured.
    async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code >= 300:  # no redirects are followed: the token stays with the source
                raise ValueError(f"data source {httpx2.URL(url).host} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"the data source sent more than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(f"the data source sent more than {max_bytes} bytes")
    return from_json(json.loads(bytes(body)))


async def load_dataset(source: str, *, environ: Mapping[str, str], token: str | None = None,
                       max_bytes: int = MAX_BYTES) -> Dataset:
    if re.match(r"^https?://", source, re.I):
        columns, rows = await read_url(source, environ=environ, token=token, max_bytes=max_bytes)
    else:
        columns, rows = await anyio.to_thread.run_sync(read_file, source, max_bytes)
    return Dataset(columns, rows, datetime.now(UTC))


def chart_columns(data: Dataset, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """Which column labels the bars and which one is summed."""
    def numeric(c: str) -> bool:
        return bool(data.rows) and all(r.get(c) is None or isinstance(r.get(c), (int, float)) for r in data.rows)

    label = (environ.get("DASHBOARD_LABEL_COLUMN") or "").strip() or next(
        (c for c in data.columns if not numeric(c)), None)
    value = (environ.get("DASHBOARD_VALUE_COLUMN") or "").strip() or next(
        (c for c in data.columns if numeric(c)), None)
    if not label or not value:
        return None
    for c in (label, value):
        if c not in data.columns:
            raise ConfigError(f'Column "{c}" is not in the data (columns: {", ".join(data.columns)})')
    return label, value


def aggregate(data: Dataset, label: str, value: str, limit: int = MAX_BARS) -> list[tuple[str, float]]:
    """Sum `value` per `label`, in first-seen order, at most `limit` bars."""
    sums: dict[str, float] = {}
    for row in data.rows:
        key = "(empty)" if row.get(label) is None else str(row.get(label))
        v = row.get(value)
        sums[key] = sums.get(key, 0) + (v if isinstance(v, (int, float)) else 0)
    return [(k, round(v * 100) / 100) for k, v in list(sums.items())[:limit]]


def bar_chart(bars: list[tuple[str, float]], width: int = 720, row_height: int = 26) -> dict[str, Any]:
    """Geometry of a horizontal bar chart, drawn as inline SVG by the template (values escaped there)."""
    label_width, value_width = 180, 110
    top = max([abs(v) for _, v in bars] + [1])
    scale = (width - label_width - value_width) / top
    out = []
    for i, (label, value) in enumerate(bars):
        y = i * row_height + 5
        w = max(1, round(abs(value) * scale))
        out.append({"label": label if len(label) <= 24 else label[:23] + "…", "value": f"{value:g}",
                    "y": y, "w": w, "negative": value < 0, "text_y": y + 17, "value_x": label_width + w + 6})
    return {"width": width, "height": max(1, len(bars)) * row_height + 10, "label_x": label_width - 8,
            "bar_x": label_width, "bar_h": row_height - 6, "bars": out}


def register(app: FastAPI) -> None:
    env = app.state.environ
    manifest = app.state.manifest
    source = data_source(env)
    name = dataset_name(manifest)

    def env_int(key: str, default: int, low: int, high: int) -> int:
        raw = (env.get(key) or "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ConfigError(f'{key} must be a whole number between {low} and {high} (got "{raw}")')
        return value

    cache_seconds = env_int("DASHBOARD_CACHE_SECONDS", 60, 0, 86400)
    max_bytes = env_int("DASHBOARD_MAX_BYTES", MAX_BYTES, 1, 1024 * 1024 * 1024)
    views = app.state.telemetry.meter.create_counter(
        "app.dashboard.views", unit="{view}", description="Dashboard page views")
    tracer = app.state.telemetry.tracer
    cached: dict[str, Any] = {}

    async def get_data() -> Dataset:
        now = app.state.clock()
        if cached and cached["until"] > now:
            return cached["data"]
        token = await get_secret(TOKEN_SECRET) if app.state.secrets.has(TOKEN_SECRET) else None
        with tracer.start_as_current_span("dashboard.load_data") as span:
            data = await load_dataset(source, environ=env, token=token, max_bytes=max_bytes)
            span.set_attribute("app.dataset.rows", len(data.rows))
        cached.update(data=data, until=now + cache_seconds)
        return data

    async def data_or_500() -> Dataset:
        try:
            return await get_data()
        except Exception as exc:  # the reason goes to the log; the page never shows paths or hosts
            log.error("The dataset could not be loaded: %s: %s", type(exc).__name__, exc)
            raise HTTPException(status_code=500,
                                detail="The dataset could not be loaded. The app log says why.") from None

    @app.get("/")
    async def dashboard(request: Request, user: CurrentUser):
        data = await data_or_500()
        cols = chart_columns(data, env)
        chart = bar_chart(aggregate(data, *cols)) if cols else None
        views.add(1, {"dataset": name})
        numeric = {c for c in data.columns if all(isinstance(r.get(c), (int, float)) or r.get(c) is None
                                                   for r in data.rows)}
        return render(request, "dashboard.html", dataset=name, data=data, shown=data.rows[:MAX_TABLE_ROWS],
                      numeric=numeric, cols=cols, chart=chart,
                      loaded_at=data.loaded_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))

    @app.get("/api/data")
    async def data_api(user: CurrentUser):
        data = await data_or_500()
        return {"dataset": name, "columns": data.columns, "rows": data.rows,
                "loadedAt": data.loaded_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


async def startup(app: FastAPI) -> None:
    return None


async def shutdown(app: FastAPI) -> None:
    return None
