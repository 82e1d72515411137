"""Dashboard: shows a dataset as a table and a bar chart.

Settings (environment):
  DASHBOARD_DATA_SOURCE   a .csv file, or a .json file holding a list of objects
                          (default: app/data/sample.csv)
  DASHBOARD_LABEL_COLUMN  the column that labels the bars (default: the first one)
  DASHBOARD_VALUE_COLUMN  the column of numbers to draw (default: the first one of numbers)
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request

from app.auth import CurrentUser
from app.web import render

KIND = "dashboard"
REQUIRED_SECRETS: tuple[str, ...] = ()
DEFAULT_DATA = Path(__file__).parent / "data" / "sample.csv"


@dataclass(frozen=True)
class Dataset:
    columns: list[str]
    rows: list[dict[str, str]]

    def numeric_columns(self) -> list[str]:
        return [c for c in self.columns if self.rows and all(_is_number(r.get(c)) for r in self.rows)]


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
        return True
    except ValueError:
        return False


def load_dataset(path: Path) -> Dataset:
    if path.suffix.lower() == ".json":
        records = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{path} must hold a JSON list of objects")
        columns: list[str] = []
        for record in records:
            columns.extend(k for k in record if k not in columns)
        rows = [{c: "" if r.get(c) is None else str(r.get(c)) for c in columns} for r in records]
        return Dataset(columns, rows)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
        return Dataset(list(reader.fieldnames or []), rows)


def bar_chart(dataset: Dataset, column: str, label_col: str | None = None,
              width: int = 640, height: int = 260) -> dict[str, Any]:
    """Geometry of a bar chart, drawn as inline SVG by the template (values are escaped there)."""
    label_col = label_col or dataset.columns[0]
    values = [float(r[column]) for r in dataset.rows]
    top = max([v for v in values if v > 0], default=1.0)
    left, bottom, pad_top = 40, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - pad_top
    step = plot_w / max(len(values), 1)
    bars = []
    for i, (row, value) in enumerate(zip(dataset.rows, values, strict=True)):
        h = max(value, 0) / top * plot_h
        bars.append({
            "x": round(left + i * step + step * 0.1, 1),
            "y": round(pad_top + plot_h - h, 1),
            "width": round(step * 0.8, 1),
            "height": round(h, 1),
            "label": row[label_col],
            "value": row[column],
            "label_x": round(left + i * step + step / 2, 1),
        })
    return {"width": width, "height": height, "column": column, "bars": bars,
            "axis_y": pad_top + plot_h, "left": left, "top": f"{top:g}"}


def register(app: FastAPI) -> None:
    views = app.state.telemetry.meter.create_counter(
        "app.dashboard.views", unit="{view}", description="Dashboard page views")
    env = app.state.environ
    data_path = Path(env.get("DASHBOARD_DATA_SOURCE") or DEFAULT_DATA)
    label_column = env.get("DASHBOARD_LABEL_COLUMN") or None
    value_column = env.get("DASHBOARD_VALUE_COLUMN") or None

    async def dataset() -> Dataset:
        try:
            return await anyio.to_thread.run_sync(load_dataset, data_path)
        except (OSError, ValueError) as exc:
            raise HTTPException(status_code=500, detail=f"Cannot read the dataset: {exc}") from None

    @app.get("/")
    async def dashboard(request: Request, user: CurrentUser):
        data = await dataset()
        label = label_column if label_column in data.columns else (data.columns[0] if data.columns else None)
        numeric = [c for c in data.numeric_columns() if c != label]
        column = value_column if value_column in numeric else (numeric[0] if numeric else None)
        chart = bar_chart(data, column, label) if column and label else None
        views.add(1, {"dataset": data_path.stem})
        return render(request, "dashboard.html", data=data, numeric=numeric, chart=chart)

    @app.get("/api/data")
    async def data_api(user: CurrentUser):
        data = await dataset()
        return {"columns": data.columns, "rows": data.rows}


async def startup(app: FastAPI) -> None:
    return None


async def shutdown(app: FastAPI) -> None:
    return None
