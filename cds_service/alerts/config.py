"""The site's alert configuration (``HER2CDS_ALERTS_CONFIG``, a JSON file; ``docs/alerts.md``).

.. code-block:: json

    {
      "fhir_base_url": "https://ehr.example.org/fhir/r4",
      "channels": ["fhir-task", "worklist"],
      "backend_auth": {"token_endpoint": "https://ehr.example.org/oauth2/token", "client_id": "…",
                       "private_key_file": "/secrets/alerts-key.pem", "algorithm": "RS384", "key_id": "k1",
                       "scope": "system/Patient.rs system/Condition.rs system/Observation.rs …"},
      "task_owner": "Group/oncology-t-dxd-review",
      "task_owner_roles": ["http://snomed.info/sct|309295000"],
      "cohort": {"require_breast_cancer": true, "care_team_members": ["Practitioner/onc-1"],
                 "organizations": ["Organization/breast-oncology"]},
      "webhook_url": "https://hooks.example.org/her2cds",
      "email": {"host": "smtp.example.org", "port": 587, "security": "starttls", "username": "her2cds",
                "password_file": "/secrets/smtp-password", "from": "her2cds@example.org",
                "to": ["onc-review@example.org"], "interval_h": 24, "content": "counts",
                "worklist_reviewer": "oncology review team"},
      "service_loop": {"interval_s": 60, "deliver_interval_s": 15},
      "subscriptions": {"enabled": true},
      "evidence_ttl_days": 30,
      "retry_base_s": 30, "retry_max_s": 3600
    }

``fhir_base_url`` must be on ``HER2CDS_FHIR_ALLOWLIST`` (the same rule as a hook's FHIR fallback).
``channels``: ``fhir-task`` (a FHIR Task on that server) and ``webhook`` go through the outbox; the worklist
page always lists every alert; ``email`` sends a digest (``cds_service.alerts.digest``). Cohort: an active
breast-cancer Condition (SNOMED CT 254837009 or ICD-10 C50.*, plus ``extra_condition_codes``) is required
unless ``require_breast_cancer`` is false; with ``care_team_members`` the patient also needs an active
CareTeam naming one of them; with ``organizations`` the patient's ``managingOrganization``, an Organization
among their ``generalPractitioner``, or the ``managingOrganization`` of an active CareTeam must be one of
them. Task owner: the first current participant of an active CareTeam whose role matches
``task_owner_roles`` (``system|code``; default SNOMED CT 309295000 "Clinical oncologist" and the NUCC
taxonomy codes for medical oncology and haematology/oncology), else ``task_owner``. ``service_loop``: the
web service runs the FHIR poll, Subscriptions and delivery itself every ``interval_s`` (absent or 0: it
does not; use ``her2-cds alerts sync``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cds_service.alerts.backend_auth import BackendCredentials
from cds_service.settings import Settings, SettingsError, normalise_base_url

__all__ = [
    "CHANNELS",
    "ONCOLOGY_ROLES",
    "AlertsConfig",
    "CohortRule",
    "EmailConfig",
    "LoopConfig",
    "in_cohort",
    "load_alerts_config",
    "patient_organizations",
    "treating_oncologist",
]

CHANNELS: Final = frozenset({"fhir-task", "webhook", "worklist", "email"})
OUTBOX_CHANNELS: Final = frozenset({"fhir-task", "webhook"})
BREAST_CANCER_SNOMED: Final = frozenset({"254837009"})
SNOMED: Final = "http://snomed.info/sct"
ICD10_SYSTEMS: Final = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"})
NUCC: Final = "http://nucc.org/provider-taxonomy"
ONCOLOGY_ROLES: Final[tuple[tuple[str, str], ...]] = (
    (SNOMED, "309295000"),  # Clinical oncologist (occupation)
    (NUCC, "207RX0202X"),  # Internal Medicine, Medical Oncology
    (NUCC, "207RH0003X"),  # Internal Medicine, Hematology & Oncology
)
"""Care-team roles taken as the treating oncologist unless ``task_owner_roles`` says otherwise."""
OWNER_TYPES: Final = ("Practitioner/", "PractitionerRole/")
POOL_TYPES: Final = ("Organization/", "PractitionerRole/", "Group/", "Practitioner/", "CareTeam/")
CONTENT_LEVELS: Final = ("counts", "titles")


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortRule:
    """Who may be alerted about: an active breast-cancer Condition, optionally a care-team member."""

    require_breast_cancer: bool = True
    extra_condition_codes: tuple[str, ...] = ()
    care_team_members: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()

    @property
    def needs_care_teams(self) -> bool:
        """Whether the rule reads the patient's CareTeams."""
        return bool(self.care_team_members or self.organizations)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig:
    """The e-mail digest: SMTP server and security, sender, recipients, how often and what it says.

    ``security``: ``starttls`` (default; the server must offer STARTTLS), ``tls`` (implicit TLS) or ``none``
    (a relay on the same host only). ``content``: ``counts`` (default: numbers of open alerts by state and
    age, and the worklist link) or ``titles`` (also the card title of each scenario with its count); never
    patient identifiers. ``worklist_reviewer``: the name a worklist link in the digest records with
    acknowledgements; no link without it. ``ca_file``: a PEM bundle of the CA that signed the SMTP server's
    certificate (a site's internal CA; default: the system's CA store).
    """

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str
    recipients: tuple[str, ...]
    interval_h: float = 24.0
    content: str = "counts"
    worklist_reviewer: str | None = None
    timeout_s: float = 30.0
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopConfig:
    """The in-service alert loop: FHIR poll every ``interval_s`` (0: no loop), delivery every
    ``deliver_interval_s``."""

    interval_s: float = 0.0
    deliver_interval_s: float = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """Validated alert settings (see the module docstring)."""

    fhir_base_url: str
    channels: tuple[str, ...] = ("fhir-task", "worklist")
    credentials: BackendCredentials | None = None
    task_owner: str | None = None
    task_owner_roles: tuple[tuple[str, str], ...] = ONCOLOGY_ROLES
    cohort: CohortRule = CohortRule()
    webhook_url: str | None = None
    email: EmailConfig | None = None
    loop: LoopConfig = LoopConfig()
    subscriptions: bool = False
    subscription_topics: tuple[str, ...] = ()
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


def _system_code(value: str, where: str) -> tuple[str, str]:
    system, sep, code = value.rpartition("|")
    if not sep or not system or not code:
        raise SettingsError(f"{where}: task_owner_roles entries are system|code, got {value!r}")
    return system, code


def _positive(data: Mapping[str, Any], name: str, default: float, where: str, *, zero: bool = False) -> float:
    value = data.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or (not zero and not value):
        raise SettingsError(f"{where}: {name} must be a positive number")
    return float(value)


def _loop(data: Any, where: str) -> LoopConfig:
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: service_loop must be an object")
    return LoopConfig(
        interval_s=_positive(data, "interval_s", 0.0, f"{where}: service_loop", zero=True),
        deliver_interval_s=_positive(data, "deliver_interval_s", 15.0, f"{where}: service_loop"),
    )


def _password(data: Mapping[str, Any], at: str, security: str, username: Any) -> str | None:
    if not data.get("password_file"):
        return None
    try:
        password = Path(str(data["password_file"])).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{at}: cannot read password_file ({exc.strerror})") from exc
    if not (isinstance(username, str) and username):
        raise SettingsError(f"{at}: password_file needs username")
    if security == "none":
        raise SettingsError(f"{at}: a password is never sent without TLS (security starttls or tls)")
    return password


def _email(data: Any, where: str) -> EmailConfig:
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: email must be an object")
    at = f"{where}: email"
    host, sender = data.get("host"), data.get("from")
    if not isinstance(host, str) or not host or not isinstance(sender, str) or "@" not in sender:
        raise SettingsError(f"{at} needs host and from")
    recipients = _str_list(data, "to", at)
    if not recipients or not all("@" in r for r in recipients):
        raise SettingsError(f"{at}: to must list at least one address")
    security = data.get("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        raise SettingsError(f"{at}: security must be starttls, tls or none")
    content = data.get("content", "counts")
    if content not in CONTENT_LEVELS:
        raise SettingsError(f"{at}: content must be one of {list(CONTENT_LEVELS)}")
    port = data.get("port", 587 if security == "starttls" else 465 if security == "tls" else 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise SettingsError(f"{at}: port must be a TCP port number")
    username = data.get("username")
    password = _password(data, at, security, username)
    reviewer = data.get("worklist_reviewer")
    return EmailConfig(
        host=host,
        port=port,
        security=security,
        username=username if isinstance(username, str) and username else None,
        password=password,
        sender=sender,
        recipients=recipients,
        interval_h=_positive(data, "interval_h", 24.0, at),
        content=content,
        worklist_reviewer=reviewer if isinstance(reviewer, str) and reviewer else None,
        timeout_s=_positive(data, "timeout_s", 30.0, at),
        ca_file=Path(str(data["ca_file"])) if data.get("ca_file") else None,
    )


def _owner(data: Mapping[str, Any], where: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    owner = data.get("task_owner")
    if owner is not None and (not isinstance(owner, str) or not owner.startswith(POOL_TYPES)):
        raise SettingsError(
            f"{where}: task_owner must be a reference such as Group/onc-pool (Organization, "
            "PractitionerRole, Group, Practitioner or CareTeam)"
        )
    roles = ONCOLOGY_ROLES
    if "task_owner_roles" in data:
        roles = tuple(_system_code(v, where) for v in _str_list(data, "task_owner_roles", where))
    return owner, roles


def _cohort(cohort: Mapping[str, Any], where: str) -> CohortRule:
    organizations = _str_list(cohort, "organizations", where)
    if not all(o.startswith("Organization/") for o in organizations):
        raise SettingsError(f"{where}: cohort.organizations must be Organization references")
    return CohortRule(
        require_breast_cancer=bool(cohort.get("require_breast_cancer", True)),
        extra_condition_codes=_str_list(cohort, "extra_condition_codes", where),
        care_team_members=_str_list(cohort, "care_team_members", where),
        organizations=organizations,
    )


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
    owner, roles = _owner(data, where)
    if "email" in channels and data.get("email") is None:
        raise SettingsError(f"{where}: the email channel needs email settings")
    subscriptions = data.get("subscriptions", {})
    if not isinstance(subscriptions, dict):
        raise SettingsError(f"{where}: subscriptions must be an object")
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
        task_owner_roles=roles,
        cohort=_cohort(cohort, where),
        webhook_url=webhook if isinstance(webhook, str) else None,
        email=_email(data.get("email"), where) if "email" in channels else None,
        loop=_loop(data.get("service_loop", {}), where),
        subscriptions=bool(subscriptions.get("enabled", False)),
        subscription_topics=_str_list(subscriptions, "topics", f"{where}: subscriptions"),
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
    rule: CohortRule,
    conditions: Sequence[Mapping[str, Any]],
    care_teams: Sequence[Mapping[str, Any]],
    patient: Mapping[str, Any] | None = None,
) -> bool:
    """Whether a patient with these Conditions, active CareTeams and Patient resource may be alerted
    about."""
    if rule.require_breast_cancer and not any(
        is_breast_cancer(c, rule.extra_condition_codes) for c in conditions
    ):
        return False
    if rule.care_team_members:
        members = set(care_team_member_refs(care_teams))
        if not members & set(rule.care_team_members):
            return False
    if rule.organizations:
        return bool(set(patient_organizations(patient, care_teams)) & set(rule.organizations))
    return True


def _ref(value: Any) -> str | None:
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def patient_organizations(
    patient: Mapping[str, Any] | None, care_teams: Sequence[Mapping[str, Any]]
) -> list[str]:
    """The Organizations a patient is cared for by: ``Patient.managingOrganization``, Organizations among
    ``Patient.generalPractitioner``, and the ``managingOrganization`` of each given CareTeam."""
    refs: list[str] = []
    if patient is not None:
        refs.append(_ref(patient.get("managingOrganization")) or "")
        refs.extend(_ref(g) or "" for g in patient.get("generalPractitioner", []) or [])
    for team in care_teams:
        refs.extend(_ref(o) or "" for o in team.get("managingOrganization", []) or [])
    return [r for r in refs if r.startswith("Organization/")]


def _current(period: Any, today: str) -> bool:
    if not isinstance(period, dict):
        return True
    end = period.get("end")
    start = period.get("start")
    return not (isinstance(end, str) and end[:10] < today) and not (
        isinstance(start, str) and start[:10] > today
    )


def treating_oncologist(
    care_teams: Sequence[Mapping[str, Any]], roles: Sequence[tuple[str, str]], *, today: str
) -> str | None:
    """The first Practitioner or PractitionerRole reference among the current participants of the given
    active CareTeams whose role has a Coding in ``roles`` (``today``: ISO date, for participant periods)."""
    wanted = set(roles)
    for team in care_teams:
        if team.get("status", "active") != "active":
            continue
        for participant in team.get("participant", []) or []:
            if not isinstance(participant, dict) or not _current(participant.get("period"), today):
                continue
            member = _ref(participant.get("member"))
            if member is None or not member.startswith(OWNER_TYPES):
                continue
            for role in participant.get("role", []) or []:
                codings = role.get("coding", []) if isinstance(role, dict) else []
                if any(
                    isinstance(c, dict) and (str(c.get("system", "")), str(c.get("code", ""))) in wanted
                    for c in codings
                ):
                    return member
    return None


def care_team_member_refs(care_teams: Sequence[Mapping[str, Any]]) -> list[str]:
    """References of every participant member of the given CareTeams, in order."""
    refs: list[str] = []
    for team in care_teams:
        for participant in team.get("participant", []) or []:
            member = participant.get("member") if isinstance(participant, dict) else None
            if isinstance(member, dict) and isinstance(member.get("reference"), str):
                refs.append(member["reference"])
    return refs
