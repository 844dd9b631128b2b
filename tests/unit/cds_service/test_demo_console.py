"""The demo console: registered in demo mode only, the hook requests it builds, and card rendering (safe
markdown, indicator, links) through Flask's test client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.demo.console import HOOK_SERVICES, hook_request, patient_choices, render_markdown
from cds_service.demo.data import ALL_DEMO_PATIENTS, DemoAnalysis, EmbeddedDemoPrefetch
from cds_service.hooks.models import Hook
from cds_service.hooks.orders import inspect_draft_orders
from tests.unit.cds_service.cds_support import (
    check_service_response,
    make_app,
    scenario_topics,
    schema_errors,
)

EVIDENCE = "https://cds.example.org/evidence"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path, demo=True, embedded_prefetch=EmbeddedDemoPrefetch())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": "0b8f5a9e-1d7c-4c8e-9a51-3f3cf2f1a001",
        "summary": "A summary",
        "indicator": "warning",
        "detail": "**Basis**\n\n- item one\n- item two",
        "source": {
            "label": "HER2 PET Review (rules 1.0.0)",
            "topic": {"system": "urn:her2-pet-cds:card-scenario", "code": "her2ZeroPetAvid"},
        },
    }
    card.update(overrides)
    return card


def test_console_exists_only_in_demo_mode(tmp_path: Path) -> None:
    plain = make_app(tmp_path / "plain").test_client()
    assert plain.get("/demo").status_code == 404
    assert plain.post("/demo/cards", json={"cards": []}).status_code in (404, 405)
    demo = make_app(tmp_path / "demo", demo=True).test_client()
    assert demo.get("/demo").status_code == 200


def test_console_lists_every_patient_with_expected_cards_and_switches(client: FlaskClient) -> None:
    resp = client.get("/demo")
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    page = resp.get_data(as_text=True)
    values = re.findall(r'name="patient" value="([^"]+)"', page)
    assert values == [p.id for p in ALL_DEMO_PATIENTS]
    for p in ALL_DEMO_PATIENTS:
        for code in p.scenarios:
            assert code in page
    switched = [c for c in patient_choices() if c.switch]
    assert {c.id for c in switched} == {
        p.id for p in ALL_DEMO_PATIENTS if p.pet and p.pet.analysis is not DemoAnalysis.PRECOMPUTED
    }
    assert all("demo behaviour" in (c.switch or "") for c in switched)
    assert '<script src="/static/demo.js">' in page
    assert "<script>" not in page  # no inline script (CSP)
    assert client.get("/static/demo.js").status_code == 200
    assert client.get("/static/her2cds.css").status_code == 200


@pytest.mark.parametrize("hook", list(HOOK_SERVICES), ids=str)
def test_request_json_builds_a_valid_hook_request(client: FlaskClient, hook: Hook) -> None:
    resp = client.get(f"/demo/request.json?patient=demo-her2-low&hook={hook.value}")
    assert resp.status_code == 200
    plan = resp.get_json()
    assert plan["service"] == f"/cds-services/{HOOK_SERVICES[hook]}"
    assert schema_errors("request", plan["body"]) == []
    assert plan["body"]["context"]["patientId"] == "demo-her2-low"
    if hook is Hook.ORDER_SIGN:
        entries = plan["body"]["context"]["draftOrders"]["entry"]
        findings = inspect_draft_orders([e["resource"] for e in entries], None)
        assert findings.tdxd
    answer = client.post(plan["service"], json=plan["body"])
    assert answer.status_code == 200
    check_service_response(answer.get_json())
    expected = ["tdxd-order-her2-basis"] if hook is Hook.ORDER_SIGN else ["her2-low-no-pet"]
    assert scenario_topics(answer.get_json()) == expected


def test_request_json_refuses_unknown_patients_and_hooks(client: FlaskClient) -> None:
    assert client.get("/demo/request.json?patient=not-a-demo-patient").status_code == 400
    assert client.get("/demo/request.json?patient=demo-her2-low&hook=order-select").status_code == 400
    assert client.get("/demo/request.json?patient=demo-her2-low&hook=nonsense").status_code == 400
    assert (
        hook_request(Hook.PATIENT_VIEW, "x")["hookInstance"]
        != hook_request(Hook.PATIENT_VIEW, "x")["hookInstance"]
    )


def test_cards_render_like_an_ehr(client: FlaskClient) -> None:
    body = {
        "cards": [
            _card(
                links=[
                    {"label": "Evidence", "url": "https://cds.example.org/evidence/abc", "type": "absolute"}
                ]
            ),
            _card(indicator="info", summary="Second", detail=None),
        ]
    }
    resp = client.post("/demo/cards", json=body)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    articles = re.findall(r'<article class="cds-card indicator-(\w+)" data-topic="([\w-]+)"', html)
    assert articles == [("warning", "her2-zero-pet-avid"), ("info", "her2-zero-pet-avid")]
    assert "<strong>Basis</strong>" in html
    assert "<li>item one</li>" in html
    assert f'href="{EVIDENCE}/abc" target="_blank" rel="noopener noreferrer"' in html
    assert "Second" in html


def test_card_markdown_cannot_inject_markup(client: FlaskClient) -> None:
    detail = (
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3)) '
        "[ok](https://example.org)"
    )
    links = [
        {"label": "bad", "url": "javascript:alert(4)", "type": "absolute"},
        {"label": "good", "url": "https://example.org/a", "type": "absolute"},
    ]
    html = client.post("/demo/cards", json={"cards": [_card(detail=detail, links=links)]}).get_data(
        as_text=True
    )
    assert "<script>" not in html
    assert "<img" not in html
    assert "javascript:" not in html.replace("[x](javascript:alert(3))", "")
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.org">ok</a>' in html
    assert 'href="https://example.org/a"' in html
    assert str(render_markdown("<b>x</b>")) == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"nocards": []}, id="no cards member"),
        pytest.param({"cards": "x"}, id="cards not a list"),
        pytest.param({"cards": [{"summary": "no indicator"}]}, id="invalid card"),
        pytest.param(["cards"], id="not an object"),
    ],
)
def test_cards_endpoint_refuses_malformed_bodies(client: FlaskClient, body: Any) -> None:
    assert client.post("/demo/cards", json=body).status_code == 400


def test_empty_answer_says_no_cards(client: FlaskClient) -> None:
    html = client.post("/demo/cards", json={"cards": []}).get_data(as_text=True)
    assert 'id="no-cards"' in html


def test_demo_command_prints_the_console_url() -> None:
    from cds_service.cli import demo

    text = demo.usage_text(8123, ("demo-her2-low",))
    assert "Demo console (open in a browser): http://127.0.0.1:8123/demo" in text
