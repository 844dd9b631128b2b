"""The documentation site builds strictly (no broken links, every page in the navigation)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import missing_dependency

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(ROOT / ".venv" / "bin")) or shutil.which("mkdocs")
    if mkdocs is None:
        missing_dependency("mkdocs is not installed (dev extra)")
    assert mkdocs is not None
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [mkdocs, "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "clinical-basis" / "index.html").is_file()


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert page.name in nav, f"docs/{page.name} is not in mkdocs.yml nav"


def value_paths(values: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Every value of ``values.yaml`` as a dotted path: recursion stops at lists, scalars and Kubernetes
    objects (``resources``, selectors: their schema node says so in ``$comment``)."""
    paths = []
    for key, value in values.items():
        node = schema.get("properties", {}).get(key)
        assert node is not None, f"{prefix}{key} is not described by values.schema.json"
        kubernetes_object = str(node.get("$comment", "")).startswith("a Kubernetes object")
        if isinstance(value, dict) and value and "properties" in node and not kubernetes_object:
            paths += value_paths(value, node, f"{prefix}{key}.")
        else:
            paths.append(f"{prefix}{key}")
    return paths


def test_every_chart_value_is_in_the_schema_and_documented() -> None:
    chart = ROOT / "deploy" / "helm" / "her2-pet-cds"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    paths = value_paths(values, schema)
    page = (ROOT / "docs" / "helm-values.md").read_text().split("## Settings that are not values", 1)[0]
    documented = set(re.findall(r"^\| `([A-Za-z0-9_.]+)` \|", page, flags=re.MULTILINE))
    assert sorted(set(paths) - documented) == [], "values missing from docs/helm-values.md"
    assert sorted(documented - set(paths)) == [], "docs/helm-values.md documents values that do not exist"


def test_api_reference_is_generated_from_the_openapi_document(capsys: pytest.CaptureFixture[str]) -> None:
    from cds_service.cli import main

    assert main(["openapi", "--markdown"]) == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "api.md").read_text(), (
        "docs/api.md is stale: her2-cds openapi --markdown > docs/api.md"
    )
