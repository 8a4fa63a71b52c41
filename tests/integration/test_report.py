"""The README's main command end to end (`./lakehouse demo`), ending in the HTML report."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from tooling import findings
from tooling.demo import run_demo
from tooling.settings import REPO_ROOT

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
    # the text a reader acts on: the layers with their counts, health, findings in words
    for name in ("pipeline", "health", "findings"):
        assert f"<section id='{name}'>" in html, f"section {name} missing"
    # each layer's row count is its table's, as Spark counts it
    pipeline = re.search(r"<section id='pipeline'>(.*?)</section>", html, re.S)
    assert pipeline
    shown = re.findall(r"<td><code>([^<]+)</code></td><td class='num'>([^<]+)</td>", pipeline[1])
    assert len(shown) == len(findings.LAYERS), shown
    for table, rows in shown:
        assert rows.replace(",", "") == str(spark.table(table).count()), (table, rows)
    match = re.search(r"<section id='findings'>(.*?)</section>", html, re.S)
    assert match
    found = match.group(1)
    assert found.count("<li>") >= 3, found
    assert "Tech Creator sites hold" in found and "Players spend most on" in found, found
    assert "freshness of web_events</td><td class='ok'>" in html
    # the demo's build is in the run audit's table; each layer shows its files
    runs = re.search(r"<table id='runs'>(.*?)</table>", html, re.S)
    assert runs and "stg_bronze__web_events" in runs.group(1), "no recent runs table"
    assert "<th>files</th>" in html
    assert html.count("<script") >= len(CHARTS)

    # the same analysis as a notebook, executed headless and rendered
    notebook = _run_notebook(settings)
    assert "Pipeline health" in notebook and "freshness of web_events" in notebook
    assert "Tech Creator sites hold" in notebook
    assert "Recent runs" in notebook and "stg_bronze__web_events" in notebook
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


def _run_notebook(settings) -> str:
    """notebooks/report.ipynb executed by a kernel of this venv (it reads LAKEHOUSE_DIR from
    the environment), then rendered to HTML beside the report; returns the HTML."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(REPO_ROOT / "notebooks" / "report.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    )
    client.execute()  # raises on any cell's error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    body, _ = HTMLExporter().from_notebook_node(nb)
    (settings.lakehouse_dir / "report" / "notebook.html").write_text(body, encoding="utf-8")
    return str(body)
