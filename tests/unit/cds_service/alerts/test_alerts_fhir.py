"""The alerts' FHIR reads go through the one FHIR client: pages followed under the configured server only,
bounded, and failures surfaced as connector errors (a stub FHIR server on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.alerts.wiring import POLL_PAGES, Alerts, build_alerts, changed_patients
from cds_service.storage.store import Storage
from connectors.errors import InvalidSourceDataError, SourceUnavailableError
from tests.unit.cds_service.cds_support import make_settings
from tests.unit.connectors.http_stub import Recorded, Reply, StubServer, sequence, stub_server

SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _alerts(tmp_path: Path, server: StubServer) -> Alerts:
    base = f"{server.base}/fhir"
    config = tmp_path / "alerts.json"
    config.write_text(json.dumps({"fhir_base_url": base, "channels": ["worklist"]}))
    settings = make_settings(tmp_path, fhir_allowlist=(base,), alerts_config=config)
    storage = Storage(settings.database_url)
    storage.migrate()
    alerts = build_alerts(settings, storage, pet_lookup=None)
    assert alerts is not None
    return alerts


def _page(subjects: list[str], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"o-{s}",
                    "subject": {"reference": f"Patient/{s}"},
                }
            }
            for s in subjects
        ],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def test_changed_patients_follow_pages_on_the_configured_server(tmp_path: Path) -> None:
    def route(request: Recorded) -> Reply:
        kind = request.path.rsplit("/", 1)[-1]
        if kind != "Observation":
            return Reply(200, _page([]))
        if "page" in request.query:
            return Reply(200, _page(["p2"]))
        return Reply(200, _page(["p1"], f"http://{request.headers['host']}/fhir/Observation?page=2"))

    with stub_server(route) as server:
        alerts = _alerts(tmp_path, server)
        assert changed_patients(alerts, SINCE) == {"p1", "p2"}
    first = next(r for r in server.requests if r.path == "/fhir/Observation" and "page" not in r.query)
    assert first.query["_lastUpdated"] == ["gt2026-01-01T00:00:00Z"]


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param("/fhir/../admin/Observation", id="dot-dot"),
        pytest.param("/other/Observation", id="other path"),
    ],
)
def test_a_next_link_off_the_server_is_not_followed(tmp_path: Path, escape: str) -> None:
    def route(request: Recorded) -> Reply:
        return Reply(200, _page(["p1"], f"http://{request.headers['host']}{escape}?page=2"))

    with stub_server(route) as server:
        alerts = _alerts(tmp_path, server)
        with pytest.raises(InvalidSourceDataError):
            changed_patients(alerts, SINCE)
    assert all(r.path.startswith("/fhir/") for r in server.requests)


def test_a_poll_reads_at_most_its_pages(tmp_path: Path) -> None:
    def route(request: Recorded) -> Reply:
        page = int(request.query.get("page", ["0"])[0])
        host = request.headers["host"]
        return Reply(200, _page([f"p{page}"], f"http://{host}{request.path}?page={page + 1}"))

    with stub_server(route) as server:
        alerts = _alerts(tmp_path, server)
        found = changed_patients(alerts, SINCE)
    assert len(found) == POLL_PAGES
    assert len(server.requests) == 3 * POLL_PAGES  # three watched types, no page beyond the bound


def test_an_unavailable_server_is_a_connector_error(tmp_path: Path) -> None:
    busy = Reply(429, {"resourceType": "OperationOutcome"}, headers={"Retry-After": "3600"})
    with stub_server(sequence(busy)) as server:
        alerts = _alerts(tmp_path, server)
        with pytest.raises(SourceUnavailableError, match="unavailable now"):
            changed_patients(alerts, SINCE)
    assert len(server.requests) == 1


def _chart_route(care_team_status: int) -> Any:
    """An empty chart for Patient p1; CareTeam searches answered with ``care_team_status``."""

    def route(request: Recorded) -> Reply:
        if request.path.endswith("/CareTeam"):
            if care_team_status != 200:
                return Reply(care_team_status, {"resourceType": "OperationOutcome", "issue": []})
            return Reply(body={"resourceType": "Bundle", "type": "searchset", "entry": []})
        if request.path.endswith("/Patient/p1"):
            return Reply(body={"resourceType": "Patient", "id": "p1"})
        return Reply(body={"resourceType": "Bundle", "type": "searchset", "entry": []})

    return route


def _owner_alerts(tmp_path: Path, server: StubServer, **extra: Any) -> Alerts:
    base = f"{server.base}/fhir"
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "alerts.json"
    config.write_text(
        json.dumps(
            {
                "fhir_base_url": base,
                "channels": ["fhir-task", "worklist"],
                "task_owner": "Group/pool",
                "cohort": {"require_breast_cancer": False, **extra},
            }
        )
    )
    settings = make_settings(tmp_path, fhir_allowlist=(base,), alerts_config=config)
    storage = Storage(settings.database_url)
    storage.migrate()
    alerts = build_alerts(settings, storage, pet_lookup=None)
    assert alerts is not None
    return alerts


def test_care_teams_refused_send_the_task_to_the_pool_unless_the_cohort_needs_them(tmp_path: Path) -> None:
    with stub_server(_chart_route(403)) as server:
        found = _owner_alerts(tmp_path, server).assessor.reassess("p1")
        assert (found.owner, found.owner_source) == ("Group/pool", "pool")
        assert found.in_cohort
        by_team = _owner_alerts(tmp_path / "t", server, care_team_members=["Practitioner/onc"])
        with pytest.raises(SourceUnavailableError):
            by_team.assessor.reassess("p1")


def test_a_care_team_outage_fails_the_reassessment_rather_than_pick_the_pool(tmp_path: Path) -> None:
    with stub_server(_chart_route(503)) as server, pytest.raises(SourceUnavailableError):
        _owner_alerts(tmp_path, server).assessor.reassess("p1")
