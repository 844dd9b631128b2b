"""The site's alert configuration (``HER2CDS_ALERTS_CONFIG``, a JSON file; ``docs/alerts.md``).

.. code-block:: json

    {
      "fhir_base_url": "https://ehr.example.org/fhir/r4",
      "channels": ["fhir-task", "worklist"],
      "backend_auth": {"token_endpoint": "https://ehr.example.org/oauth2/token", "client_id": "…",
                       "private_key_file": "/secrets/alerts-key.pem", "algorithm": "RS384", "key_id": "k1",
                       "scope": "system/Patient.rs system/Condition.rs system/Observation.rs …"},
      "task_owner": "Group/oncology-t-dxd-review",
      "cohort": {"require_breast_cancer": true, "care_team_members": ["Practitioner/onc-1"]},
      "webhook_url": "https://hooks.example.org/her2cds",
      "evidence_ttl_days": 30,
      "retry_base_s": 30, "retry_max_s": 3600
    }

``fhir_base_url`` must be on ``HER2CDS_FHIR_ALLOWLIST`` (the same rule as a hook's FHIR fallback).
``channels``: ``fhir-task`` (a FHIR Task on that server) and ``webhook`` go through the outbox; the worklist
page always lists every alert. Cohort: an active breast-cancer Condition (SNOMED CT 254837009 or ICD-10
C50.*, plus ``extra_condition_codes``) is required unless ``require_breast_cancer`` is false; with
``care_team_members`` the patient also needs an active CareTeam naming one of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cds_service.alerts.backend_auth import BackendCredentials
from cds_service.settings import Settings, SettingsError, normalise_base_url

__all__ = ["CHANNELS", "AlertsConfig", "CohortRule", "in_cohort", "load_alerts_config"]

CHANNELS: Final = frozenset({"fhir-task", "webhook", "worklist"})
OUTBOX_CHANNELS: Final = frozenset({"fhir-task", "webhook"})
BREAST_CANCER_SNOMED: Final = frozenset({"254837009"})
SNOMED: Final = "http://snomed.info/sct"
ICD10_SYSTEMS: Final = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortRule:
    """Who may be alerted about: an active breast-cancer Condition, optionally a care-team member."""

    require_breast_cancer: bool = True
    extra_condition_codes: tuple[str, ...] = ()
    care_team_members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """Validated alert settings (see the module docstring)."""

    fhir_base_url: str
    channels: tuple[str, ...] = ("fhir-task", "worklist")
    credentials: BackendCredentials | None = None
    task_owner: str | None = None
    cohort: CohortRule = CohortRule()
    webhook_url: str | None = None
    evidence_ttl_days: int = 30
    retry_base_s: float = 30.0
    retry_max_s: float = 3600.0

    @property
    def outbox_channels(self) -> tuple[str, ...]:
        """The channels delivered through the outbox, in configuration order."""
        return tuple(c for c in self.channels if c in OUTBOX_CHANNELS)

    def backoff_s(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure: doubling from ``retry_base_s``, capped."""
        return float(min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1)))


def _str_list(data: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"{where}: {name} must be a list of strings")
    return tuple(value)


def _credentials(data: Any, where: str) -> BackendCredentials | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: backend_auth must be an object")
    try:
        key_file = Path(str(data["private_key_file"]))
        pem = key_file.read_text(encoding="ascii")
        return BackendCredentials(
            token_endpoint=str(data["token_endpoint"]),
            client_id=str(data["client_id"]),
            private_key_pem=pem,
            algorithm=str(data.get("algorithm", "RS384")),
            key_id=str(data["key_id"]) if data.get("key_id") else None,
            **({"scope": str(data["scope"])} if data.get("scope") else {}),
        )
    except KeyError as exc:
        raise SettingsError(f"{where}: backend_auth needs {exc.args[0]}") from exc
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{where}: backend_auth: {exc}") from exc


def parse_alerts_config(
    data: Any, settings: Settings, *, where: str = "alerts configuration"
) -> AlertsConfig:
    """Validate parsed JSON against the deployment settings (FHIR allow-list); ``SettingsError`` names the
    member to fix."""
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: must be a JSON object")
    base = data.get("fhir_base_url")
    if not isinstance(base, str) or normalise_base_url(base) not in settings.fhir_allowlist:
        raise SettingsError(f"{where}: fhir_base_url must be given and on HER2CDS_FHIR_ALLOWLIST")
    channels = _str_list(data, "channels", where) or ("fhir-task", "worklist")
    if set(channels) - CHANNELS:
        raise SettingsError(f"{where}: channels must be among {sorted(CHANNELS)}")
    webhook = data.get("webhook_url")
    if "webhook" in channels and not (
        isinstance(webhook, str) and webhook.startswith(("https://", "http://"))
    ):
        raise SettingsError(f"{where}: the webhook channel needs webhook_url")
    cohort = data.get("cohort", {})
    if not isinstance(cohort, dict):
        raise SettingsError(f"{where}: cohort must be an object")
    owner = data.get("task_owner")
    if owner is not None and (not isinstance(owner, str) or "/" not in owner):
        raise SettingsError(f"{where}: task_owner must be a reference such as Group/onc-pool")
    numbers = {}
    for name, default in (("evidence_ttl_days", 30), ("retry_base_s", 30.0), ("retry_max_s", 3600.0)):
        value = data.get(name, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{where}: {name} must be a positive number")
        numbers[name] = value
    return AlertsConfig(
        fhir_base_url=normalise_base_url(base),
        channels=channels,
        credentials=_credentials(data.get("backend_auth"), where),
        task_owner=owner,
        cohort=CohortRule(
            require_breast_cancer=bool(cohort.get("require_breast_cancer", True)),
            extra_condition_codes=_str_list(cohort, "extra_condition_codes", where),
            care_team_members=_str_list(cohort, "care_team_members", where),
        ),
        webhook_url=webhook if isinstance(webhook, str) else None,
        evidence_ttl_days=int(numbers["evidence_ttl_days"]),
        retry_base_s=float(numbers["retry_base_s"]),
        retry_max_s=float(numbers["retry_max_s"]),
    )


def load_alerts_config(settings: Settings) -> AlertsConfig | None:
    """The configuration of ``HER2CDS_ALERTS_CONFIG``, or None when alerts are not configured."""
    path = settings.alerts_config
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"HER2CDS_ALERTS_CONFIG: cannot read JSON from {path}: {exc}") from exc
    return parse_alerts_config(data, settings, where=f"HER2CDS_ALERTS_CONFIG ({path})")


def _codes(condition: Mapping[str, Any]) -> list[tuple[str, str]]:
    code = condition.get("code")
    codings = code.get("coding", []) if isinstance(code, dict) else []
    return [(str(c.get("system", "")), str(c.get("code", ""))) for c in codings if isinstance(c, dict)]


def _status(condition: Mapping[str, Any], name: str) -> set[str]:
    value = condition.get(name)
    codings = value.get("coding", []) if isinstance(value, dict) else []
    return {str(c.get("code", "")) for c in codings if isinstance(c, dict)}


def is_breast_cancer(condition: Mapping[str, Any], extra_codes: Sequence[str] = ()) -> bool:
    """An active, not refuted breast-cancer Condition (SNOMED CT 254837009, ICD-10 C50.*, or an extra code).

    SNOMED CT descendants are not expanded (no terminology server): a site coding its Conditions with a more
    specific concept lists it in ``extra_condition_codes``.
    """
    if condition.get("resourceType") != "Condition":
        return False
    if not _status(condition, "clinicalStatus") & {"active", "recurrence", "relapse"}:
        return False
    if _status(condition, "verificationStatus") & {"refuted", "entered-in-error"}:
        return False
    for system, code in _codes(condition):
        if system == SNOMED and (code in BREAST_CANCER_SNOMED or code in extra_codes):
            return True
        if system in ICD10_SYSTEMS and (code.upper().startswith("C50") or code in extra_codes):
            return True
    return False


def in_cohort(
    rule: CohortRule, conditions: Sequence[Mapping[str, Any]], care_teams: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether a patient with these Conditions and active CareTeams may be alerted about."""
    if rule.require_breast_cancer and not any(
        is_breast_cancer(c, rule.extra_condition_codes) for c in conditions
    ):
        return False
    if rule.care_team_members:
        members = set(care_team_member_refs(care_teams))
        return bool(members & set(rule.care_team_members))
    return True


def care_team_member_refs(care_teams: Sequence[Mapping[str, Any]]) -> list[str]:
    """References of every participant member of the given CareTeams, in order."""
    refs: list[str] = []
    for team in care_teams:
        for participant in team.get("participant", []) or []:
            member = participant.get("member") if isinstance(participant, dict) else None
            if isinstance(member, dict) and isinstance(member.get("reference"), str):
                refs.append(member["reference"])
    return refs
