"""The README's main command end to end (`./lakehouse demo`), ending in the HTML report."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from tooling.demo import run_demo

pytestmark = pytest.mark.integration

CHARTS = (
    "host-daily",
    "events-per-session",
    "session-duration",
    "tech-creator",
    "ide-products",
    "item-purchases",
    "guild-sizes",
)


def test_demo_renders_every_chart(spark, settings, kafka, empty_lakehouse):
    result = run_demo(settings, count=400, seed=5, keep_kafka=True, console=Console(stderr=True))

    report = settings.lakehouse_dir / "report" / "index.html"
    assert result.report == report
    html = report.read_text()
    for key in CHARTS:
        section = re.search(f'<section id="chart-{key}">(.*?)</section>', html, re.S)
        assert section, f"chart {key} missing"
        assert f'id="plot-{key}"' in section.group(1), f"chart {key} has no plot"
        assert "No data yet" not in section.group(1)
    assert html.count("<script") >= len(CHARTS)
    assert "Plotly" in html, "plotly.js is inlined"
    assert not re.search(r"<script[^>]+src=", html), "nothing is fetched when the file opens"
    catalog = settings.lakehouse_dir / "dbt" / "target" / "catalog.json"
    assert catalog.exists(), "dbt docs generate ran"

    # the docs site: every model, seed, column, source and macro of the project is described
    manifest = json.loads((settings.lakehouse_dir / "dbt" / "target" / "manifest.json").read_text())
    project = "clickstream_lakehouse"
    undescribed = []
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if node["package_name"] != project or node["resource_type"] not in (
            "model",
            "seed",
            "source",
        ):
            continue
        if not node["description"].strip():
            undescribed.append(node["unique_id"])
        undescribed += [
            f"{node['unique_id']}.{c}"
            for c, col in node["columns"].items()
            if not col["description"].strip()
        ]
    undescribed += [
        m["unique_id"]
        for m in manifest["macros"].values()
        if m["package_name"] == project and not m["description"].strip()
    ]
    assert undescribed == []
    assert "__overview__" in str(manifest["docs"])
