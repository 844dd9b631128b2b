"""Input limits of the service (``docs/configuration.md``, "Input limits"): every request body is bounded
before any work is done on it, and every refusal is an OperationOutcome (never a 5xx)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.demo.data import DEMO_PATIENTS, patient_resources
from cds_service.settings import Settings, SettingsError
from tests.unit.cds_service.cds_support import (
    bundle,
    check_operation_outcome,
    check_service_response,
    hook_request,
    make_app,
    null_prefetch,
)

PV = "/cds-services/her2-pet-review"


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return make_app(
        tmp_path,
        max_request_bytes=256 * 1024,
        max_bundle_entries=500,
        max_narrative_chars=20_000,
        max_json_depth=32,
    ).test_client()


def _post(client: FlaskClient, body: str | bytes, path: str = PV) -> Any:
    return client.post(path, data=body, content_type="application/json")


def _full_prefetch(**changes: dict[str, Any]) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == "demo-her2-low")
    prefetch = null_prefetch() | {k: bundle(v) for k, v in patient_resources(patient).items()}
    return prefetch | changes


def test_json_nested_10000_deep_is_400_not_500(client: FlaskClient) -> None:
    body = json.dumps(hook_request(prefetch=null_prefetch()))
    deep = body[:-1] + ', "extension": {"x": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    for path in (PV, PV + "/feedback"):
        resp = _post(client, deep, path)
        assert resp.status_code == 400
        check_operation_outcome(resp.get_json(), "too-costly")
        assert "nested deeper than 32" in resp.get_json()["issue"][0]["diagnostics"]


def test_nesting_beyond_the_configured_depth_is_400(client: FlaskClient) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"extension": [deep]}
    resp = client.post(PV, json=hook_request(prefetch=null_prefetch(), extension=deep))
    assert resp.status_code == 400
    check_operation_outcome(resp.get_json(), "too-costly")


def test_body_over_the_size_limit_is_413(client: FlaskClient) -> None:
    padding = "x" * (300 * 1024)
    resp = client.post(PV, json=hook_request(prefetch=null_prefetch(), extension={"pad": padding}))
    assert resp.status_code == 413
    check_operation_outcome(resp.get_json(), "too-long")
    assert resp.mimetype == "application/json"


def test_size_is_refused_from_content_length_before_the_body_is_read(client: FlaskClient) -> None:
    """A client announcing 50 MB gets 413 at once; the stream is never read."""

    class Unreadable(io.BytesIO):
        def read(self, *_args: Any) -> bytes:
            raise AssertionError("the body must not be read")

        def readline(self, *_args: Any) -> bytes:
            raise AssertionError("the body must not be read")

    resp = client.post(
        PV,
        input_stream=Unreadable(),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
    )
    assert resp.status_code == 413
    check_operation_outcome(resp.get_json(), "too-long")


def test_too_many_bundle_entries_is_400(client: FlaskClient) -> None:
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    many = bundle([dict(observation, id=f"o{i}") for i in range(501)])
    resp = client.post(PV, json=hook_request(prefetch=_full_prefetch(her2=many)))
    assert resp.status_code == 400
    check_operation_outcome(resp.get_json(), "too-costly")
    assert "500 Bundle entries" in resp.get_json()["issue"][0]["diagnostics"]


def test_entries_of_every_bundle_count_together(client: FlaskClient) -> None:
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    half = bundle([dict(observation, id=f"o{i}") for i in range(300)])
    assert client.post(PV, json=hook_request(prefetch=_full_prefetch(her2=half))).status_code == 200
    resp = client.post(PV, json=hook_request(prefetch=_full_prefetch(her2=half, hormone=half)))
    assert resp.status_code == 400


def test_overlong_narrative_is_400(client: FlaskClient) -> None:
    prefetch = _full_prefetch()
    report = dict(prefetch["pathology"]["entry"][0]["resource"])
    report["conclusion"] = "HER2 IHC 2+ (equivocal). " * 1000
    resp = client.post(PV, json=hook_request(prefetch=prefetch | {"pathology": bundle([report])}))
    assert resp.status_code == 400
    check_operation_outcome(resp.get_json(), "too-costly")
    assert "20000 characters" in resp.get_json()["issue"][0]["diagnostics"]


def test_a_chart_within_the_limits_is_answered(client: FlaskClient) -> None:
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", prefetch=_full_prefetch()))
    assert resp.status_code == 200
    check_service_response(resp.get_json())


def test_malformed_json_stays_400_invalid(client: FlaskClient) -> None:
    for raw in (b"{", b"\xff\xfe{}", b"[]"):
        resp = _post(client, raw)
        assert resp.status_code == 400
        check_operation_outcome(resp.get_json(), "invalid")


def test_limits_come_from_the_environment_and_are_validated() -> None:
    env = {
        "HER2CDS_AUTH": "off",
        "HER2CDS_MAX_REQUEST_BYTES": "1048576",
        "HER2CDS_MAX_BUNDLE_ENTRIES": "300",
        "HER2CDS_MAX_NARRATIVE_CHARS": "50000",
        "HER2CDS_MAX_JSON_DEPTH": "40",
    }
    settings = Settings.from_env(env)
    assert (
        settings.max_request_bytes,
        settings.max_bundle_entries,
        settings.max_narrative_chars,
        settings.max_json_depth,
    ) == (1048576, 300, 50000, 40)
    defaults = Settings.from_env({"HER2CDS_AUTH": "off"})
    assert (defaults.max_request_bytes, defaults.max_bundle_entries) == (10 * 1024 * 1024, 1000)
    assert (defaults.max_narrative_chars, defaults.max_json_depth) == (100_000, 64)
    with pytest.raises(SettingsError, match="HER2CDS_MAX_JSON_DEPTH must be at least 16"):
        Settings.from_env({"HER2CDS_AUTH": "off", "HER2CDS_MAX_JSON_DEPTH": "3"})
    with pytest.raises(SettingsError, match="HER2CDS_MAX_REQUEST_BYTES"):
        Settings.from_env({"HER2CDS_AUTH": "off", "HER2CDS_MAX_REQUEST_BYTES": "lots"})
