"""The evidence page: signed links (signing, expiry, forgery), no PHI in the URL, page content, the MIP
picture, tolerance of partial snapshots, and the link settings."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from cds_service.evidence.routes import (
    EvidencePayload,
    build_payload,
    evidence_link,
    pet_entry,
    read_token,
    sign_token,
)
from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.settings import AuthMode, Settings, SettingsError
from cds_service.storage.store import Storage
from connectors.dicom.analysis import SeriesAnalysis, analyze_series
from connectors.dicom.phantom import PhantomSpec, make_phantom
from rules.assess import assess
from rules.domain import (
    AssessInputs,
    Her2Result,
    IhcPercentages,
    IhcResult,
    IhcScore,
    PetStatus,
    PetStudyFacts,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
)
from tests.unit.cds_service.cds_support import make_app

PUBLIC = "https://cds.example.org"
PATIENT = "pat-evidence-7731"


@pytest.fixture(scope="module")
def analysis() -> SeriesAnalysis:
    series = make_phantom(PhantomSpec(with_sr=True, with_seg=True, patient_id="DICOM-PID-4411"))
    return analyze_series(series.pet, sr=series.sr, seg=series.seg)


@pytest.fixture(scope="module")
def facts(analysis: SeriesAnalysis) -> PetStudyFacts:
    found = analysis.facts()
    assert found is not None
    return found


def _inputs(facts: PetStudyFacts, collected: dt.date) -> AssessInputs:
    result = Her2Result(
        specimen=SpecimenRef(id="S25-0042", collected=collected, site=SpecimenSite.METASTASIS),
        ihc=IhcResult(score=IhcScore.ONE_PLUS),
        source=SourceRef(system="fhir", reference="Observation/her2-ihc-1"),
    )
    return AssessInputs(her2_results=(result,), pet=facts, pet_status=PetStatus.ANALYSED)


def _payload(facts: PetStudyFacts, collected: dt.date = dt.date(2024, 2, 20)) -> EvidencePayload:
    inputs = _inputs(facts, collected)
    assessment = assess(inputs, dt.datetime(2024, 4, 1, tzinfo=dt.UTC))
    return build_payload(PATIENT, assessment)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path, public_url=PUBLIC, link_secret="x" * 43, evidence_ttl_s=600)


def _parts(app: Flask) -> Components:
    parts = app.extensions[EXTENSION_KEY]
    assert isinstance(parts, Components)
    return parts


def _storage(app: Flask) -> Storage:
    storage = _parts(app).storage
    assert storage is not None
    return storage


def _path(url: str) -> str:
    assert url.startswith(PUBLIC + "/evidence/")
    return url[len(PUBLIC) :]


# -- tokens ------------------------------------------------------------------------------------------------


def test_token_round_trip_and_forgery(tmp_path: Path) -> None:
    settings = Settings(auth=AuthMode.OFF, link_secret="a" * 40, data_dir=tmp_path)
    token = sign_token(settings, "snapshot-id-1")
    assert read_token(settings, token) == "snapshot-id-1"
    other = replace(settings, link_secret="b" * 40)
    assert read_token(other, token) is None
    # Flip a character inside the signature (the last base64 character may carry only padding bits).
    middle = len(token) - 8
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert read_token(settings, tampered) is None
    payload_part = token.split(".")[0]
    assert read_token(settings, payload_part) is None
    assert read_token(settings, "") is None
    assert read_token(settings, "not-a-token") is None


def test_token_expires_after_the_ttl(tmp_path: Path) -> None:
    settings = Settings(auth=AuthMode.OFF, link_secret="a" * 40, evidence_ttl_s=300, data_dir=tmp_path)
    token = sign_token(settings, "snap")
    now = dt.datetime.now(dt.UTC)
    assert read_token(settings, token, now=now + dt.timedelta(seconds=290)) == "snap"
    assert read_token(settings, token, now=now + dt.timedelta(seconds=310)) is None
    assert read_token(settings, token, now=now - dt.timedelta(hours=1)) is None  # signed "in the future"


def test_without_a_configured_secret_the_key_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    first = Settings(auth=AuthMode.OFF, data_dir=tmp_path / "a")
    assert first.link_secret is None
    assert len(first.link_signing_key) >= 32
    # Another worker process on the same data directory signs with the same key; another host does not.
    assert Settings(auth=AuthMode.OFF, data_dir=tmp_path / "a").link_signing_key == first.link_signing_key
    assert (tmp_path / "a" / "link-secret").stat().st_mode & 0o077 == 0
    assert Settings(auth=AuthMode.OFF, data_dir=tmp_path / "b").link_signing_key != first.link_signing_key
    clients = tmp_path / "clients.json"
    clients.write_text("[]")
    jwt_values: dict[str, Any] = {"public_url": PUBLIC, "trusted_clients_path": clients}
    assert len(Settings(**jwt_values, data_dir=tmp_path / "c").link_signing_key) >= 32
    with pytest.raises(SettingsError, match="HER2CDS_LINK_SECRET must be at least 32"):
        Settings(**jwt_values, link_secret="short")
    with pytest.raises(SettingsError, match="EVIDENCE_TTL_S"):
        Settings(**jwt_values, link_secret="s" * 40, evidence_ttl_s=0)
    env = {
        "HER2CDS_PUBLIC_URL": PUBLIC,
        "HER2CDS_TRUSTED_CLIENTS": str(clients),
        "HER2CDS_DATA_DIR": str(tmp_path),
        "HER2CDS_LINK_SECRET": "z" * 44,
        "HER2CDS_EVIDENCE_TTL_S": "900",
    }
    settings = Settings.from_env(env)
    assert (settings.link_signing_key, settings.evidence_ttl_s) == ("z" * 44, 900)
    assert "z" * 44 not in repr(settings)


# -- link and page -----------------------------------------------------------------------------------------


def test_link_is_absolute_signed_and_carries_no_phi(app: Flask, facts: PetStudyFacts) -> None:
    payload = _payload(facts)
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    token = _path(url).split("/")[2]
    assert re.fullmatch(r"[A-Za-z0-9_\-\.]+", token)
    for secret in (PATIENT, facts.study, facts.series, "DICOM-PID-4411", "S25-0042", "her2-ihc-1"):
        assert secret not in url
    snapshot_id = read_token(_parts(app).settings, token)
    assert snapshot_id is not None
    assert _storage(app).get_evidence(snapshot_id) == payload


def test_page_shows_lesions_references_timeline_and_sources(app: Flask, facts: PetStudyFacts) -> None:
    payload = _payload(facts)
    _storage(app).save_picture(facts.series, b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    resp = app.test_client().get(_path(url))
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert resp.headers["Cache-Control"].startswith("no-store")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    page = html.unescape(resp.get_data(as_text=True))
    assert "<script" not in page
    assert "investigational radiopharmaceuticals" in page
    for lesion in facts.lesions:
        row = re.search(rf"<tr><th scope=\"row\">{lesion.lesion_id}</th>(.*?)</tr>", page, re.S)
        assert row is not None, lesion.lesion_id
        assert lesion.suv_max is not None
        assert lesion.suv_peak is not None
        assert f"{lesion.suv_max:.2f}" in row.group(1)
        assert f"{lesion.suv_peak:.2f}" in row.group(1)
        assert "Reader (structured report)" in row.group(1)
    calls = {lesion.reader_call.value for lesion in facts.lesions}
    assert calls == {"avid", "non_avid"}
    assert ">Avid<" in page
    assert ">Not avid<" in page
    refs = facts.references
    assert f"{refs.blood_pool_suvmean:.2f}" in page
    assert f"{refs.liver_suvmean:.2f}" in page
    assert page.count("reader SR") >= 2
    assert facts.tracer.value in page
    assert 'id="mip"' in page
    assert "/mip.png" in page
    assert 'id="timeline-events"' in page
    assert "<svg" in page
    assert "S25-0042" in page
    assert "Observation/her2-ihc-1" in page
    assert "HER2-low" in page
    assert f"study/{facts.study}/series/{facts.series}" in page
    gap = payload.get("pairingGapDays")
    assert isinstance(gap, int)
    assert f"{abs(gap)} days" in page
    assert "HER2-low with HER2-avid lesion(s)" in page  # card (a) topic title
    assert "Avid lesion in the liver" in page  # modifier (i): the phantom has an avid hepatic lesion


def test_timeline_orders_specimens_and_pet(app: Flask, facts: PetStudyFacts) -> None:
    payload = _payload(facts, collected=dt.date(2023, 11, 2))
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    page = app.test_client().get(_path(url)).get_data(as_text=True)
    events = re.findall(r'<li class="event-(\w+)"><span class="date">([\d-]+)</span>', page)
    assert [kind for kind, _ in events] == ["pathology", "injection", "pet"]
    assert [d for _, d in events] == sorted(d for _, d in events)
    assert "outside</strong>" in page  # > 60 days between specimen and PET
    assert "pairing-out-of-window" in page


def test_picture_route_serves_the_stored_mip(
    app: Flask, analysis: SeriesAnalysis, facts: PetStudyFacts
) -> None:
    png = analysis.picture()
    assert png is not None
    _storage(app).save_picture(facts.series, png)
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, _payload(facts))
    resp = app.test_client().get(_path(url) + "/mip.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert resp.headers["Cache-Control"].startswith("no-store")
    width, height = Image.open(io.BytesIO(resp.data)).size
    assert width > 0
    assert height > 0


def test_page_without_a_picture_says_so(app: Flask, facts: PetStudyFacts) -> None:
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, _payload(facts))
    client = app.test_client()
    assert "Picture not available" in client.get(_path(url)).get_data(as_text=True)
    assert client.get(_path(url) + "/mip.png").status_code == 404


def test_forged_expired_and_unknown_links_are_refused_without_detail(
    app: Flask, facts: PetStudyFacts
) -> None:
    settings = _parts(app).settings
    with app.app_context():
        url = evidence_link(_storage(app), settings, _payload(facts))
    client = app.test_client()
    path = _path(url)
    forged = path[:-2] + ("xy" if not path.endswith("xy") else "zz")
    unknown = "/evidence/" + sign_token(settings, "no-such-snapshot")
    other_key = "/evidence/" + sign_token(replace(settings, link_secret="q" * 43), path.split("/")[2])
    for bad, status in ((forged, 403), (other_key, 403), (forged + "/mip.png", 403), (unknown, 404)):
        resp = client.get(bad)
        assert resp.status_code == status, bad
        _assert_never_framed(resp.headers)
        body = resp.get_data(as_text=True)
        assert "not available" in body
        for leak in ("signature", "Signature", "expired at", "Traceback", facts.series):
            assert leak not in body
    storage = _storage(app)
    snapshot = read_token(settings, path.split("/")[2])
    assert snapshot is not None
    assert storage.get_evidence(snapshot, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=601)) is None


def _assert_never_framed(headers: Any) -> None:
    directives = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'none'" in directives
    assert headers["X-Frame-Options"] == "DENY"


def test_page_and_picture_can_never_be_framed(app: Flask, facts: PetStudyFacts) -> None:
    """A page holding the evidence link must not be able to show the evidence page in a frame (clickjacking,
    or reading it through an overlay)."""
    _storage(app).save_picture(facts.series, b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, _payload(facts))
    client = app.test_client()
    page = client.get(_path(url))
    assert page.status_code == 200
    _assert_never_framed(page.headers)
    picture = client.get(_path(url) + "/mip.png")
    assert (picture.status_code, picture.mimetype) == (200, "image/png")
    assert picture.headers["X-Frame-Options"] == "DENY"


def test_expired_snapshot_gives_404(tmp_path: Path, facts: PetStudyFacts) -> None:
    app = make_app(tmp_path, public_url=PUBLIC, link_secret="x" * 43, evidence_ttl_s=60)
    parts = _parts(app)
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    storage = Storage(parts.settings.database_url, clock=lambda: two_hours_ago)
    snapshot = storage.save_evidence(_payload(facts), 60)  # expired 1 h 59 min ago
    token = sign_token(parts.settings, snapshot)  # the token itself is fresh
    assert read_token(parts.settings, token) == snapshot
    resp = app.test_client().get(f"/evidence/{token}")
    assert resp.status_code == 404
    assert "not available" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"patientRef": None}, id="empty"),
        pytest.param(
            {"patientRef": "p", "pet": {"tracer": 5, "lesions": [{"id": "L1", "suvMax": "high"}, 7]}},
            id="wrong-types",
        ),
        pytest.param(
            {"patientRef": "p", "pathology": [{"collected": "not a date"}], "cards": ["no-such-topic", 3]},
            id="bad-dates-and-topics",
        ),
    ],
)
def test_partial_snapshots_render_not_available(app: Flask, payload: dict[str, Any]) -> None:
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    resp = app.test_client().get(_path(url))
    assert resp.status_code == 200
    assert "not available" in resp.get_data(as_text=True)


def test_page_escapes_snapshot_text(app: Flask, facts: PetStudyFacts) -> None:
    payload: dict[str, Any] = dict(_payload(facts))
    payload["patientRef"] = "<script>alert(1)</script>"
    payload["pet"] = {**pet_entry(facts), "tracer": '<img src=x onerror="alert(2)">'}
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    body = app.test_client().get(_path(url)).get_data(as_text=True)
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;" in body


def test_page_holds_what_the_card_leaves_out(app: Flask, facts: PetStudyFacts) -> None:
    """Every label row with every criterion, every caveat, the assay and staining percentages and the biopsied
    site against the PET read: the parts of the basis a card within 2,000 characters points to."""
    result = Her2Result(
        specimen=SpecimenRef(id="S25-0042", collected=dt.date(2024, 2, 20), site=SpecimenSite.METASTASIS),
        ihc=IhcResult(
            score=IhcScore.ONE_PLUS, assay="HercepTest", percentages=IhcPercentages(incomplete_faint=35.0)
        ),
        source=SourceRef(system="fhir", reference="Observation/her2-ihc-1"),
    )
    inputs = AssessInputs(her2_results=(result,), pet=facts, pet_status=PetStatus.ANALYSED)
    payload = build_payload(PATIENT, assess(inputs, dt.datetime(2024, 4, 1, tzinfo=dt.UTC)))
    with app.app_context():
        url = evidence_link(_storage(app), _parts(app).settings, payload)
    page = html.unescape(app.test_client().get(_path(url)).get_data(as_text=True))
    for row in ("Row B", "Row C", "Row D", "Row A", "Row TA"):
        assert row in page
    assert "no satisfactory alternative treatment" in page
    assert "caution: assay HercepTest is not the companion diagnostic" in page
    assert "<td>HercepTest</td>" in page
    assert "incomplete faint 35 %" in page
    assert 'id="site-comparison"' in page
    assert 'id="caveats"' in page


def test_clinical_basis_page_is_public_and_complete(app: Flask) -> None:
    resp = app.test_client().get("/clinical-basis")
    assert resp.status_code == 200
    page = html.unescape(resp.get_data(as_text=True))
    assert "In combination with pertuzumab, first-line treatment" in page
    assert "DESTINY-Breast09; FDA 15 Dec 2025" in page
    assert "Bardia A et al. N Engl J Med 2024;391(22):2110–22 (DESTINY-Breast06)." in page
    assert "tdxdOrderHer2Basis" in page
    assert "public" in resp.headers["Cache-Control"]
