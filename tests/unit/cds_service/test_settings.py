"""Settings from the environment: defaults, validation messages naming the variable, URL normalisation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cds_service.settings import AuthMode, Settings, SettingsError, SiteConfig, normalise_base_url


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    clients = tmp_path / "clients.json"
    clients.write_text("[]")
    base = {
        "HER2CDS_PUBLIC_URL": "https://cds.example.org",
        "HER2CDS_TRUSTED_CLIENTS": str(clients),
        "HER2CDS_DATA_DIR": str(tmp_path),
        "HER2CDS_LINK_SECRET": "s" * 43,
    }
    base.update(values)
    return base


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.auth is AuthMode.JWT
    assert settings.discovery_requires_jwt is True
    assert settings.hook_budget_ms == 1000
    assert (settings.http_connect_timeout_s, settings.http_read_timeout_s) == (2.0, 5.0)
    assert settings.database_url == f"sqlite:///{tmp_path / 'her2cds.db'}"
    assert settings.dicom_source == (tmp_path / "dicom").as_uri()
    assert settings.fhir_allowlist == ()
    assert settings.cors_origins == ()
    assert settings.site == SiteConfig()
    assert (settings.audit_retention_days, settings.purge_interval_s) == (365, 600.0)
    assert (settings.pet_index_max_age_s, settings.pet_scan_interval_s, settings.pet_sync_interval_s) == (
        900.0,
        2.0,
        60.0,
    )
    assert settings.pet_index_interval_s == 2.0  # the embedded folder is scanned


def test_pet_index_settings(tmp_path: Path) -> None:
    pacs = env(tmp_path, HER2CDS_DICOM_SOURCE="https://pacs.example.org/dicom-web")
    assert Settings.from_env(pacs).pet_index_interval_s == 60.0
    off = Settings.from_env({**pacs, "HER2CDS_PET_SYNC_INTERVAL_S": "0"})
    assert off.pet_index_interval_s == 0  # another process syncs (a CronJob)
    tuned = Settings.from_env(
        {**pacs, "HER2CDS_PET_SYNC_INTERVAL_S": "300", "HER2CDS_PET_INDEX_MAX_AGE_S": "1800"}
    )
    assert (tuned.pet_index_interval_s, tuned.pet_index_max_age_s) == (300.0, 1800.0)


def test_values_are_parsed_and_normalised(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            HER2CDS_FHIR_ALLOWLIST="https://EHR.example.org:443/fhir/, http://127.0.0.1:8080/fhir",
            HER2CDS_CORS_ORIGINS="https://ehr.example.org",
            HER2CDS_HOOK_BUDGET_MS="750",
            HER2CDS_DICOMWEB="https://pacs.example.org/dicom-web",
            HER2CDS_DISCOVERY_REQUIRES_JWT="false",
            HER2CDS_DATABASE_URL="postgresql+psycopg://u@db/her2",
            HER2CDS_AUDIT_RETENTION_DAYS="90",
            HER2CDS_PURGE_INTERVAL_S="120.5",
        )
    )
    assert (settings.audit_retention_days, settings.purge_interval_s) == (90, 120.5)
    assert settings.fhir_allowlist == ("https://ehr.example.org/fhir", "http://127.0.0.1:8080/fhir")
    assert settings.hook_budget_ms == 750
    assert settings.dicom_source == "https://pacs.example.org/dicom-web"
    assert settings.discovery_requires_jwt is False


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        pytest.param({"HER2CDS_PUBLIC_URL": ""}, "HER2CDS_PUBLIC_URL", id="public url required"),
        pytest.param(
            {"HER2CDS_PUBLIC_URL": "cds.example.org"}, "HER2CDS_PUBLIC_URL", id="public url absolute"
        ),
        pytest.param({"HER2CDS_TRUSTED_CLIENTS": ""}, "HER2CDS_TRUSTED_CLIENTS", id="clients required"),
        pytest.param(
            {"HER2CDS_TRUSTED_CLIENTS": "/nonexistent/c.json"}, "HER2CDS_TRUSTED_CLIENTS", id="clients file"
        ),
        pytest.param({"HER2CDS_AUTH": "maybe"}, "HER2CDS_AUTH", id="auth mode"),
        pytest.param({"HER2CDS_HOOK_BUDGET_MS": "fast"}, "HER2CDS_HOOK_BUDGET_MS", id="budget number"),
        pytest.param({"HER2CDS_HOOK_BUDGET_MS": "0"}, "HER2CDS_HOOK_BUDGET_MS", id="budget positive"),
        pytest.param(
            {"HER2CDS_DISCOVERY_REQUIRES_JWT": "perhaps"}, "HER2CDS_DISCOVERY_REQUIRES_JWT", id="bool"
        ),
        pytest.param({"HER2CDS_DICOM_SOURCE": "smb://pacs"}, "HER2CDS_DICOM_SOURCE", id="dicom source"),
        pytest.param({"HER2CDS_DATABASE_URL": "mysql://x"}, "HER2CDS_DATABASE_URL", id="database"),
        pytest.param({"HER2CDS_CORS_ORIGINS": "*"}, "HER2CDS_CORS_ORIGINS", id="wildcard outside dev"),
        pytest.param({"HER2CDS_LOG_LEVEL": "LOUD"}, "HER2CDS_LOG_LEVEL", id="log level"),
        pytest.param({"HER2CDS_AUDIT_RETENTION_DAYS": "0"}, "HER2CDS_AUDIT_RETENTION_DAYS", id="audit days"),
        pytest.param(
            {"HER2CDS_AUDIT_RETENTION_DAYS": "1.5"}, "HER2CDS_AUDIT_RETENTION_DAYS", id="whole days"
        ),
        pytest.param({"HER2CDS_PURGE_INTERVAL_S": "-1"}, "HER2CDS_PURGE_INTERVAL_S", id="purge interval"),
        pytest.param({"HER2CDS_COHORT_KEY": "too-short"}, "HER2CDS_COHORT_KEY", id="cohort key length"),
        pytest.param({"HER2CDS_PET_SCAN_INTERVAL_S": "0"}, "HER2CDS_PET_SCAN_INTERVAL_S", id="scan interval"),
        pytest.param(
            {"HER2CDS_PET_SYNC_INTERVAL_S": "-1"}, "HER2CDS_PET_SYNC_INTERVAL_S", id="sync interval"
        ),
        pytest.param(
            {"HER2CDS_PET_INDEX_MAX_AGE_S": "1"}, "HER2CDS_PET_INDEX_MAX_AGE_S", id="max age below interval"
        ),
        pytest.param({"HER2CDS_PET_INDEX_MAX_AGE_S": "soon"}, "HER2CDS_PET_INDEX_MAX_AGE_S", id="max age"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path: Path, values: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env(tmp_path, **values))


def test_auth_off_needs_no_public_url_and_allows_wildcard_cors(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"HER2CDS_AUTH": "off", "HER2CDS_CORS_ORIGINS": "*", "HER2CDS_DATA_DIR": str(tmp_path)}
    )
    assert settings.auth is AuthMode.OFF
    assert settings.public_url is None


def test_site_config(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(
        json.dumps(
            {
                "links": [{"label": "Label", "url": "https://example.org/label"}],
                "pathology_cards": False,
                "suggestions": True,
                "prefetch_templates": {
                    "pathology": "DiagnosticReport?patient={{context.patientId}}&category=LAB"
                },
            }
        )
    )
    site = Settings.from_env(env(tmp_path, HER2CDS_SITE_CONFIG=str(path))).site
    assert site.pathology_cards is False
    assert site.suggestions is True
    assert site.links[0].url == "https://example.org/label"
    path.write_text(json.dumps({"links": [{"label": "x", "url": "javascript:alert(1)"}]}))
    with pytest.raises(SettingsError, match=r"links\[0\]\.url"):
        Settings.from_env(env(tmp_path, HER2CDS_SITE_CONFIG=str(path)))
    path.write_text(json.dumps({"colour": "red"}))
    with pytest.raises(SettingsError, match="unknown members"):
        Settings.from_env(env(tmp_path, HER2CDS_SITE_CONFIG=str(path)))


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTPS://Ehr.Example.org:443/FHIR/", "https://ehr.example.org/FHIR"),
        ("http://ehr.example.org:80/fhir", "http://ehr.example.org/fhir"),
        ("http://ehr.example.org:8080/fhir/", "http://ehr.example.org:8080/fhir"),
        ("https://ehr.example.org/fhir?x=1", "https://ehr.example.org/fhir?x=1"),
    ],
)
def test_normalise_base_url(url: str, normalised: str) -> None:
    assert normalise_base_url(url) == normalised


def test_wsgi_app_is_built_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib
    import sys

    for name in [n for n in os.environ if n.startswith("HER2CDS_") and n != "HER2CDS_TESTDATA"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HER2CDS_AUTH", "off")
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HER2CDS_DISCOVERY_REQUIRES_JWT", "false")
    monkeypatch.delitem(sys.modules, "cds_service.wsgi", raising=False)
    with pytest.raises(SystemExit) as refused:
        importlib.import_module("cds_service.wsgi")  # the web service never migrates the schema itself
    assert refused.value.code == 2
    assert "run `her2-cds migrate` first" in capsys.readouterr().err
    from cds_service.cli import main

    assert main(["migrate"]) == 0
    assert (tmp_path / "her2cds.db").exists()
    monkeypatch.delitem(sys.modules, "cds_service.wsgi", raising=False)
    wsgi = importlib.import_module("cds_service.wsgi")
    assert wsgi.app.test_client().get("/cds-services").status_code == 200
    monkeypatch.setenv("HER2CDS_AUTH", "jwt")
    from cds_service import create_app

    with pytest.raises(SettingsError, match="HER2CDS_PUBLIC_URL"):
        create_app()


def test_cohort_key_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, HER2CDS_COHORT_KEY="k" * 40))
    assert settings.cohort_hash_key == "k" * 40
    assert "k" * 40 not in repr(settings)
    assert not (tmp_path / "cohort-key").exists()


def test_without_a_cohort_key_one_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    first = Settings(auth=AuthMode.OFF, data_dir=tmp_path / "d")
    key = first.cohort_hash_key
    assert len(key) >= 32
    assert (tmp_path / "d" / "cohort-key").stat().st_mode & 0o077 == 0
    assert Settings(auth=AuthMode.OFF, data_dir=tmp_path / "d").cohort_hash_key == key
    assert Settings(auth=AuthMode.OFF, data_dir=tmp_path / "other").cohort_hash_key != key
    assert key != first.link_signing_key


def test_site_config_source_url_must_be_absolute() -> None:
    assert SiteConfig.from_json({"source_url": "https://docs.example.org/her2"}).source_url == (
        "https://docs.example.org/her2"
    )
    with pytest.raises(SettingsError, match="source_url"):
        SiteConfig.from_json({"source_url": "/relative"})
