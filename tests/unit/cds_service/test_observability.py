"""JSON logging with redaction, request context, and Prometheus metrics (spec/operations.md §6)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cds_service.auth import AuthFailure
from cds_service.observability import (
    REDACTED,
    DatabaseCollector,
    Metrics,
    UpstreamTarget,
    _all_patterns_scrubbed,  # the full scrub, without the shortcut
    bind_request_context,
    clear_request_context,
    configure_logging,
    get_logger,
    render_metrics,
    request_context,
    scrub_text,
)
from rules.parameters import RULES_VERSION

TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIn0"
    ".eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImp0aSI6IngifQ"
    ".d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQ"
)
OPAQUE = "ya29.a0AfH6SMBx-opaque_access.token~value"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """JSON logging into a buffer; the previous logging configuration is restored afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging("DEBUG", stream=stream)
    yield stream
    clear_request_context()
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_line_per_event_with_utc_time_and_rules_version(json_log: io.StringIO) -> None:
    get_logger("cds_service.test").info("hook_done", duration_ms=12.5, cards=2)
    logging.getLogger("urllib3.connectionpool").warning("Retrying %s after %d ms", "GET /metadata", 100)
    ours, foreign = lines(json_log)
    assert (ours["event"], ours["level"], ours["logger"], ours["cards"]) == (
        "hook_done",
        "info",
        "cds_service.test",
        2,
    )
    assert ours["rules_version"] == RULES_VERSION
    stamp = datetime.fromisoformat(str(ours["timestamp"]).replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None
    assert str(ours["timestamp"]).endswith("Z")
    assert (foreign["event"], foreign["level"], foreign["logger"]) == (
        "Retrying GET /metadata after 100 ms",
        "warning",
        "urllib3.connectionpool",
    )


def test_request_context_bound_and_cleared(json_log: io.StringIO) -> None:
    log = get_logger("cds_service.hooks.routes")
    bind_request_context(hook_instance="d1577c69", hook="patient-view", service_id="her2-pet-review")
    log.info("inside")
    logging.getLogger("werkzeug").info("foreign inside")
    clear_request_context()
    log.info("after")
    with request_context(hook_instance="abc", trace_id=None):
        log.info("block")
    inside, foreign, after, block = lines(json_log)
    for line in (inside, foreign):
        assert (line["hook_instance"], line["hook"], line["service_id"]) == (
            "d1577c69",
            "patient-view",
            "her2-pet-review",
        )
    assert "hook_instance" not in after
    assert block["hook_instance"] == "abc"
    assert "trace_id" not in block


@pytest.mark.parametrize(
    "emit",
    [
        pytest.param(lambda log: log.info("call", authorization=f"Bearer {TOKEN}"), id="authorization-field"),
        pytest.param(lambda log: log.info(f"got header Bearer {TOKEN}"), id="in-event-text"),
        pytest.param(lambda log: log.info("call", headers={"Authorization": f"Bearer {TOKEN}"}), id="nested"),
        pytest.param(lambda log: log.info("call", note=f"token={TOKEN}"), id="bare-jwt-in-value"),
        pytest.param(lambda log: log.info("call", args=[{"x": [TOKEN]}]), id="deep-list"),
        pytest.param(lambda log: log.info("call", fhirAuthorization={"access_token": TOKEN}), id="fhirAuth"),
        pytest.param(lambda log: log.info("call", obj=_Holder(TOKEN)), id="object-repr"),
        pytest.param(
            lambda log: logging.getLogger("urllib3").debug("Authorization: Bearer %s", TOKEN), id="foreign"
        ),
    ],
)
def test_token_never_in_a_log_line_even_when_logged_by_mistake(json_log: io.StringIO, emit: object) -> None:
    emit(get_logger("cds_service.test"))  # type: ignore[operator]
    output = json_log.getvalue()
    assert output.strip()
    assert TOKEN not in output
    assert TOKEN.split(".")[2] not in output
    assert REDACTED in output


def test_token_in_exception_text_redacted(json_log: io.StringIO) -> None:
    try:
        raise RuntimeError(f"upstream refused Bearer {OPAQUE}")
    except RuntimeError:
        get_logger("cds_service.test").exception("fhir_failed")
    (line,) = lines(json_log)
    assert OPAQUE not in json_log.getvalue()
    assert "RuntimeError" in str(line["exception"])


def test_opaque_access_token_in_query_or_json_redacted(json_log: io.StringIO) -> None:
    log = get_logger("cds_service.test")
    log.info(f"GET https://fhir.example/Patient?access_token={OPAQUE}")
    log.info("body", text=json.dumps({"access_token": OPAQUE, "token_type": "Bearer"}))
    assert OPAQUE not in json_log.getvalue()


def test_patient_parameters_of_a_foreign_retry_warning_redacted(json_log: io.StringIO) -> None:
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying after connection broken: %s",
        "/fhir/Condition?patient=pt-7734&clinical-status=active /fhir/Task?identifier=urn%3Ax%7Ck-99",
    )
    (line,) = lines(json_log)
    text = str(line["event"])
    assert "pt-7734" not in text
    assert "k-99" not in text
    assert "clinical-status=active" in text


def test_patient_references_in_url_paths_and_messages_redacted(json_log: io.StringIO) -> None:
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying (Retry(total=1)) after connection broken: /fhir/Patient/pt-7734/$everything",
    )
    structlog.get_logger("cds_service").warning(
        "refused", error="404 for subject Patient/ab.9-x, Observation/o-1"
    )
    first, second = lines(json_log)
    assert "pt-7734" not in str(first["event"])
    assert "/fhir/Patient/[REDACTED]/$everything" in str(first["event"])
    assert "ab.9-x" not in str(second["error"])
    assert "Observation/o-1" in str(second["error"])


_FRAGMENTS = st.sampled_from(
    [
        TOKEN,
        OPAQUE,
        "Bearer ",
        "bearer\t",
        "access_token",
        "ID_TOKEN",
        "client_secret",
        "Password",
        "=",
        ":",
        '"',
        "?patient=",
        "&Identifier=",
        "PatientID=",
        "00100020=",
        "Patient/",
        "person/",
        "RelatedPerson/",
        "/fhir/",
        "123",
        "abc-9",
        " ",
        ",",
        "&",
        "eyj",
        "EYJ",
        "x.y.z",
        "\n",
        "é",
    ]
)


@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=6)), max_size=12).map("".join))
def test_scrub_shortcut_changes_nothing(text: str) -> None:
    # Texts the shortcut returns untouched are exactly those no pattern would change.
    assert scrub_text(text) == _all_patterns_scrubbed(text)


def test_phi_keys_redacted_but_identifiers_kept(json_log: io.StringIO) -> None:
    get_logger("cds_service.test").info(
        "prefetch",
        patient_id="PID-123",
        patientId="PID-123",
        name="Jane Doe",
        birthDate="1970-01-01",
        prefetch={"patient": {"resourceType": "Patient"}},
        userComment="spoke with Jane",
        hook_instance="d1577c69",
        iss="https://ehr.example.org/fhir",
        card_uuids=["c1"],
    )
    (line,) = lines(json_log)
    for key in ("patient_id", "patientId", "name", "birthDate", "prefetch", "userComment"):
        assert line[key] == REDACTED, key
    assert "PID-123" not in json_log.getvalue()
    assert "Jane" not in json_log.getvalue()
    assert (line["hook_instance"], line["iss"], line["card_uuids"]) == (
        "d1577c69",
        "https://ehr.example.org/fhir",
        ["c1"],
    )


def test_configure_logging_is_idempotent_and_validates_level(json_log: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("INFO", stream=second)
    get_logger("cds_service.test").debug("hidden")
    get_logger("cds_service.test").info("shown")
    assert json_log.getvalue() == ""
    assert [line["event"] for line in lines(second)] == ["shown"]
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")


class _Holder:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __repr__(self) -> str:
        return f"_Holder(Authorization: Bearer {self.secret})"


# -- metrics ------------------------------------------------------------------------------------------


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_names_labels_and_values() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.record_hook("her2-pet-review", "patient-view", "cards")
    metrics.record_hook("her2-pet-review", "patient-view", "cards")
    metrics.observe_hook("her2-pet-review", "cards", 0.4, budget_s=1.0)
    metrics.observe_hook("her2-pet-review", "cards", 1.2, budget_s=1.0)
    metrics.record_cards(["her2-low-no-pet", "her2-low-no-pet", "data-unavailable"])
    metrics.observe_upstream(UpstreamTarget.FHIR, 0.2)
    with metrics.time_upstream("dicomweb"):
        pass
    with pytest.raises(RuntimeError), metrics.time_upstream("dimse"):
        raise RuntimeError("association rejected")
    metrics.record_jwks_fetch(0.01)
    metrics.record_jwt_rejection(AuthFailure.REPLAYED)
    metrics.observe_analysis("stored", 3.0)
    metrics.record_feedback("her2-pet-review", "overridden")
    body, content_type = render_metrics(registry=registry)
    assert content_type.startswith("text/plain")
    samples = _samples(body)
    assert all(name.startswith("her2cds_") for name, _ in samples)
    labels = (("hook", "patient-view"), ("outcome", "cards"), ("service_id", "her2-pet-review"))
    assert samples[("her2cds_hook_requests_total", labels)] == 2
    hook = (("outcome", "cards"), ("service_id", "her2-pet-review"))
    assert samples[("her2cds_hook_duration_seconds_count", hook)] == 2
    assert samples[("her2cds_hook_duration_seconds_bucket", (("le", "1.0"), *hook))] == 1
    assert samples[("her2cds_hook_budget_exceeded_total", (("service_id", "her2-pet-review"),))] == 1
    assert samples[("her2cds_cards_returned_total", (("topic", "her2-low-no-pet"),))] == 2
    assert samples[("her2cds_jwt_rejections_total", (("reason", "replayed_jti"),))] == 1
    assert samples[("her2cds_upstream_request_seconds_count", (("target", "fhir"),))] == 1
    assert samples[("her2cds_upstream_request_seconds_sum", (("target", "fhir"),))] == pytest.approx(0.2)
    assert samples[("her2cds_upstream_request_seconds_count", (("target", "dicomweb"),))] == 1
    assert samples[("her2cds_upstream_request_seconds_count", (("target", "jwks"),))] == 1
    assert samples[("her2cds_upstream_errors_total", (("target", "dimse"),))] == 1
    assert ("her2cds_upstream_errors_total", (("target", "dicomweb"),)) not in samples
    assert samples[("her2cds_pet_analysis_seconds_sum", (("outcome", "stored"),))] == pytest.approx(3.0)
    feedback = (("outcome", "overridden"), ("service_id", "her2-pet-review"))
    assert samples[("her2cds_feedback_total", feedback)] == 1
    with pytest.raises(ValueError, match="not a valid UpstreamTarget"):
        metrics.observe_upstream("ftp", 1.0)


def test_sync_heartbeat_gauge_is_read_at_scrape_time() -> None:
    seen: list[str] = []

    def last_success(component: str) -> float | None:
        seen.append(component)
        return 1_750_000_000.0 if len(seen) == 1 else None

    collector = DatabaseCollector(last_success)
    first = _samples(render_metrics(registry=CollectorRegistry(), extra=[collector])[0])
    assert first[("her2cds_sync_last_success_timestamp_seconds", ())] == 1_750_000_000.0
    second = _samples(render_metrics(registry=CollectorRegistry(), extra=[collector])[0])
    assert ("her2cds_sync_last_success_timestamp_seconds", ()) not in second
    assert seen == ["sync", "sync"]

    def broken(_component: str) -> float | None:
        raise OSError("database unreachable")

    body, _ = render_metrics(registry=CollectorRegistry(), extra=[DatabaseCollector(broken)])
    assert ("her2cds_sync_last_success_timestamp_seconds", ()) not in _samples(body)


_WORKER = """
import sys
from prometheus_client import CollectorRegistry
from cds_service.observability import Metrics
metrics = Metrics(CollectorRegistry())
metrics.record_hook("her2-pet-review", "patient-view", "cards")
metrics.record_jwt_rejection("bad_signature")
"""


def test_multiprocess_metrics_aggregate_workers(tmp_path: Path) -> None:
    """Two worker processes write their values; /metrics in a third process sums them (gunicorn layout)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _WORKER], env=env, check=True, timeout=60)
    body, _ = render_metrics(multiprocess_dir=tmp_path)
    samples = _samples(body)
    labels = (("hook", "patient-view"), ("outcome", "cards"), ("service_id", "her2-pet-review"))
    assert samples[("her2cds_hook_requests_total", labels)] == 2
    assert samples[("her2cds_jwt_rejections_total", (("reason", "bad_signature"),))] == 2
