"""The chart's alert rules and Grafana dashboard are valid and use only metrics the service exports.

``promtool`` (``make tools``) parses the rendered PrometheusRule and unit-tests each alert on synthetic
series (``alerts_test.yaml``): it fires on the condition it names and stays silent otherwise. Every metric
a rule or a dashboard query names must be one that :class:`cds_service.observability.Metrics` (or the
database collector) exports, so a renamed metric cannot leave a silent alert or an empty panel.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from cds_service.observability import DatabaseCollector, Metrics
from tests.conftest import missing_dependency

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "her2-pet-cds"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yaml")
METRIC_RE = re.compile(r"\b(her2cds_[a-z_]+)\b")
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def exported_metric_names() -> set[str]:
    """Sample names the service exports: every family of ``Metrics`` and ``DatabaseCollector``."""
    registry = CollectorRegistry()
    Metrics(registry)
    families = [*registry.collect(), *DatabaseCollector(lambda _c: 0.0).collect()]
    names = set()
    for family in families:
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def tool(name: str) -> str:
    path = ROOT / ".tools" / "bin" / name
    if not path.exists():
        missing_dependency(f"{name} is not installed (make tools installs it into .tools/bin)")
    return str(path)


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = ROOT / "deploy" / "helm" / "ci-values" / "everything-on.yaml"
    out = subprocess.run(
        [tool("helm"), "template", "t", str(CHART), "-f", str(values)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (rule,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "PrometheusRule"]
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def test_alert_rules_parse_and_name_exported_metrics(rules_file: Path) -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(rules_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"]}
    assert set(alerts) == {"Her2CdsHookBudgetMisses", "Her2CdsJwtRejections", "Her2CdsSyncStale"}
    used = {m for r in alerts.values() for m in METRIC_RE.findall(r["expr"])}
    assert used <= exported_metric_names(), used - exported_metric_names()


def test_alerts_fire_on_their_condition_only(rules_file: Path, tmp_path: Path) -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())
    tests["rule_files"] = [str(rules_file)]
    path = tmp_path / "alerts_test.yaml"
    path.write_text(yaml.safe_dump(tests))
    result = subprocess.run([tool("promtool"), "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_queries_parse_and_name_exported_metrics(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "her2-pet-cds"
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "namespace", "job"}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    queries = dashboard_queries(dashboard)
    used = {m for q in queries for m in METRIC_RE.findall(q)}
    assert used <= exported_metric_names(), used - exported_metric_names()
    assert {n.removesuffix("_bucket").removesuffix("_total") for n in used} >= {
        "her2cds_hook_duration_seconds",
        "her2cds_hook_budget_exceeded",
        "her2cds_jwt_rejections",
        "her2cds_upstream_request_seconds",
        "her2cds_upstream_errors",
        "her2cds_pet_analysis_seconds",
        "her2cds_feedback",
        "her2cds_sync_last_success_timestamp_seconds",
    }
    # promtool parses PromQL in rule files: each query becomes a recording rule, Grafana variables filled in.
    rules = [
        {
            "record": f"dashboard:query_{i}",
            "expr": q.replace("$__rate_interval", "5m").replace("$namespace", "ns").replace("$job", "job"),
        }
        for i, q in enumerate(queries)
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
