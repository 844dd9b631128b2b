"""Deployment settings: one frozen ``Settings``, built once from ``HER2CDS_*`` environment variables.

This module is the only place in the project that reads the environment (``ARCHITECTURE.md`` §4). Every
value is validated when the settings are built, so a misconfigured pod fails at start-up (readiness) with a
message that says which variable to fix, never at the first hook call. Clinical parameters are not
settings: they live in ``rules/parameters.py``.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from connectors.urls import normalise_url

PREFIX = "HER2CDS_"

LINK_SECRET_MIN_LENGTH = 32
"""Minimum length of ``HER2CDS_LINK_SECRET`` in characters (e.g. ``secrets.token_urlsafe(32)`` gives 43)."""

LINK_SECRET_FILE = "link-secret"  # noqa: S105 - a file name, not a secret
"""Where, in the data directory, the evidence-link key is kept when ``HER2CDS_LINK_SECRET`` is not set."""


COHORT_KEY_FILE = "cohort-key"
"""Where, in the data directory, the cohort tool's patient-key secret is kept when ``HER2CDS_COHORT_KEY`` is
not set."""


@functools.cache
def _data_dir_secret(data_dir: Path, name: str, variable: str) -> str:
    """A random key kept in ``data_dir/name``, created once (exclusively, mode 0600) by whichever process
    comes first, so that every process of one host uses the same key; ``variable`` names the setting that
    replaces the file (for the error message)."""
    path = data_dir / name
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exists:
        for _ in range(50):  # another process may be writing it right now
            text = path.read_text(encoding="ascii").strip()
            if len(text) >= LINK_SECRET_MIN_LENGTH:
                return text
            time.sleep(0.02)
        raise SettingsError(
            f"{path} does not hold a usable key; delete it or set {PREFIX}{variable}"
        ) from exists
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key


def _data_dir_link_secret(data_dir: Path) -> str:
    """The evidence-link key kept in ``data_dir`` (shared by every worker process of one host)."""
    return _data_dir_secret(data_dir, LINK_SECRET_FILE, "LINK_SECRET")


"""Link-signing key of this process when authentication is off (demo, development): drawn once at import,
so gunicorn workers forked from one master share it, and links die with the process."""


class SettingsError(ValueError):
    """A ``HER2CDS_*`` variable is missing or invalid; the message names the variable and what to fix."""


class AuthMode(StrEnum):
    """Client authentication mode (``HER2CDS_AUTH``): ``jwt`` in every deployment, ``off`` for the demo
    only."""

    JWT = "jwt"
    OFF = "off"


class TracingMode(StrEnum):
    """OpenTelemetry tracing (``HER2CDS_TRACING``, ``cds_service.tracing``): ``off`` (default), ``console``
    (spans on standard error, development) or ``otlp`` (to the collector named by the standard
    ``OTEL_EXPORTER_OTLP_*`` variables)."""

    OFF = "off"
    CONSOLE = "console"
    OTLP = "otlp"


def normalise_base_url(url: str) -> str:
    """Normalise a FHIR base URL for exact allow-list comparison (:func:`connectors.urls.normalise_url`).

    Scheme and host are lower-cased, default ports (80 for http, 443 for https) dropped, dot segments
    resolved, a trailing ``/`` removed. A URL that cannot be a base — query string, fragment, credentials,
    encoded separators — is returned unchanged, so it never matches an allow-list entry.
    """
    text = url.strip()
    parts = urlsplit(text)
    normal = normalise_url(text)
    if normal is None or parts.query or parts.fragment:
        return text
    return normal.rstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteLink:
    """An absolute link shown on every card (label and guideline pages; Oracle Health strips unlisted
    links)."""

    label: str
    url: str


def _site_link(item: Any, where: str) -> SiteLink:
    """A ``{"label", "url"}`` member of the site configuration, with an absolute http(s) URL."""
    if not isinstance(item, dict) or not isinstance(item.get("label"), str):
        raise SettingsError(f"{where} needs a string 'label' and an absolute 'url'")
    url = item.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise SettingsError(f"{where}.url must be an absolute http(s) URL")
    return SiteLink(label=item["label"], url=url)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """Site configuration (``HER2CDS_SITE_CONFIG``, a JSON file).

    ``links``: absolute links added to every card. ``pathology_cards``: whether pathology-only cards
    (scenarios (k), (l), (g), (c) without PET) are shown (``clinical-logic.md`` §14 step 1; default on).
    ``suggestions``: whether cards offer to create a Task for IHC re-review or tumour-board review (CH-26:
    off by default). ``prefetch_templates``: per-key template overrides for site-specific pathology codes
    (``cds-hooks.md`` §13). ``smart_app``: an optional SMART app launched from PET cards (``{"label",
    "url"}``, the app's launch URL; CDS Hooks link type ``smart``). ``source_url``: the absolute URL every
    card's ``source.url`` points to (default: the service's ``/clinical-basis`` page under
    ``HER2CDS_PUBLIC_URL``).
    """

    links: tuple[SiteLink, ...] = ()
    pathology_cards: bool = True
    suggestions: bool = False
    prefetch_templates: Mapping[str, str] = field(default_factory=dict)
    smart_app: SiteLink | None = None
    source_url: str | None = None

    @classmethod
    def from_json(cls, data: Any, *, origin: str = "site configuration") -> SiteConfig:
        """Build from parsed JSON, raising ``SettingsError`` naming the offending member."""
        if not isinstance(data, dict):
            raise SettingsError(f"{origin}: must be a JSON object")
        known = {"links", "pathology_cards", "suggestions", "prefetch_templates", "smart_app", "source_url"}
        unknown = set(data) - known
        if unknown:
            raise SettingsError(f"{origin}: unknown members {sorted(unknown)}")
        links = [_site_link(item, f"{origin}: links[{i}]") for i, item in enumerate(data.get("links", []))]
        smart = data.get("smart_app")
        smart_app = _site_link(smart, f"{origin}: smart_app") if smart is not None else None
        templates = data.get("prefetch_templates", {})
        if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
        ):
            raise SettingsError(f"{origin}: prefetch_templates must map keys to template strings")
        flags = {}
        for name in ("pathology_cards", "suggestions"):
            value = data.get(name, cls.__dataclass_fields__[name].default)
            if not isinstance(value, bool):
                raise SettingsError(f"{origin}: {name} must be true or false")
            flags[name] = value
        source_url = data.get("source_url")
        if source_url is not None and (
            not isinstance(source_url, str) or urlsplit(source_url).scheme not in ("http", "https")
        ):
            raise SettingsError(f"{origin}: source_url must be an absolute http(s) URL")
        return cls(
            links=tuple(links),
            prefetch_templates=dict(templates),
            smart_app=smart_app,
            source_url=source_url,
            **flags,
        )

    @classmethod
    def load(cls, path: Path) -> SiteConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{PREFIX}SITE_CONFIG: cannot read JSON from {path}: {exc}") from exc
        return cls.from_json(data, origin=f"{PREFIX}SITE_CONFIG ({path})")


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _number(
    environ: Mapping[str, str], name: str, default: float, *, integer: bool = False, zero: bool = False
) -> float:
    """A positive number (``zero``: or 0) from the environment, or ``default`` when unset."""
    raw = environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError as exc:
        kind = "an integer" if integer else "a number"
        raise SettingsError(f"{PREFIX}{name} must be {kind}, got {raw!r}") from exc
    if value < 0 or (value == 0 and not zero) or value != value:
        raise SettingsError(f"{PREFIX}{name} must be positive{' or 0' if zero else ''}, got {raw!r}")
    return value


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    return int(_number(environ, name, default, integer=True))


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = environ.get(PREFIX + name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _path(environ: Mapping[str, str], name: str, *, must_exist: bool = True) -> Path | None:
    raw = environ.get(PREFIX + name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    if must_exist and not path.is_file():
        raise SettingsError(f"{PREFIX}{name}: file {raw!r} does not exist")
    return path


def _check_dicom_source(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == "file" and parts.path:
        return value
    if parts.scheme in ("http", "https") and parts.hostname:
        return value
    if parts.scheme == "dimse" and parts.hostname and parts.username and parts.port:
        return value
    raise SettingsError(
        f"{PREFIX}DICOM_SOURCE must be file:///dir, https://host/dicom-web or dimse://CALLED_AET@host:port, "
        f"got {value!r}"
    )


def _data_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(PREFIX + "DATA_DIR", "").strip() or ".var").absolute()


def patient_id_system_from_env(environ: Mapping[str, str]) -> str | None:
    """``HER2CDS_PATIENT_ID_SYSTEM`` alone (``her2-cds pet analyze``, which needs no other setting)."""
    return environ.get(PREFIX + "PATIENT_ID_SYSTEM", "").strip() or None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_from_env(environ: Mapping[str, str]) -> str:
    """``HER2CDS_LOG_LEVEL`` alone, checked (the command line sets up its logs before any other setting)."""
    level = (environ.get(PREFIX + "LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def receiver_dicom_dir(environ: Mapping[str, str]) -> Path:
    """Where ``her2-cds receive`` stores without ``--dicom-dir``: the folder of a ``file://``
    ``HER2CDS_DICOM_SOURCE`` (the folder the service reads), else ``dicom`` in ``HER2CDS_DATA_DIR``."""
    source = environ.get(PREFIX + "DICOM_SOURCE", "").strip()
    if source.startswith("file:"):
        return Path(unquote(urlsplit(source).path))
    return _data_dir(environ) / "dicom"


def _check_database_url(url: str) -> None:
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise SettingsError(f"{PREFIX}DATABASE_URL must be sqlite:///… or postgresql+psycopg://…")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    """The settings of ``her2-cds migrate``: the database and the data directory that holds SQLite.

    Read alone so that the schema migration (the chart's pre-install/pre-upgrade Job) needs nothing but the
    database's Secret.
    """

    data_dir: Path = Path(".var")
    database_url: str = "sqlite:///.var/her2cds.db"

    def __post_init__(self) -> None:
        _check_database_url(self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DatabaseSettings:
        """``HER2CDS_DATA_DIR`` and ``HER2CDS_DATABASE_URL`` (default: SQLite in the data directory)."""
        data_dir = _data_dir(environ)
        url = environ.get(PREFIX + "DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'her2cds.db'}"
        return cls(data_dir=data_dir, database_url=url)


_LIMIT_FLOORS: dict[str, int] = {
    "max_request_bytes": 64 * 1024,
    "max_bundle_entries": 100,
    "max_narrative_chars": 10_000,
    "max_json_depth": 16,
}
"""The input limits and the least value each may be set to (below that, ordinary hook calls would fail)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every deployment setting, validated. Build with ``Settings.from_env(os.environ)`` or directly in
    tests.

    Durations carry their unit in the name; ``fhir_allowlist`` holds normalised base URLs
    (``normalise_base_url``). ``patient_id_system`` (``HER2CDS_PATIENT_ID_SYSTEM``) is the FHIR
    ``Patient.identifier.system`` whose value equals the DICOM PatientID; unset, the FHIR Patient id and every
    identifier value are tried (``docs/configuration.md``). ``link_secret`` (``HER2CDS_LINK_SECRET``,
    the same on every replica; unset, a key kept in the data directory) signs evidence-page links, which stay
    valid ``evidence_ttl_s`` seconds (``HER2CDS_EVIDENCE_TTL_S``, default one hour). Retention
    (``cds_service.storage.retention``): hook audit records are kept ``audit_retention_days`` days
    (``HER2CDS_AUDIT_RETENTION_DAYS``, default 365) and the purge runs every ``purge_interval_s`` seconds
    (``HER2CDS_PURGE_INTERVAL_S``, default 600), deleting expired evidence snapshots and token ids too.
    ``alerts_config`` (``HER2CDS_ALERTS_CONFIG``) is the site's review-alert configuration file
    (``cds_service.alerts.config``); unset, no alerts are raised.

    The PET series index: ``pet_scan_interval_s`` (``HER2CDS_PET_SCAN_INTERVAL_S``) is the period of the
    service's scan of an embedded DICOM folder, ``pet_sync_interval_s`` (``HER2CDS_PET_SYNC_INTERVAL_S``) that
    of its incremental sync of a PACS (0: none in the service, ``her2-cds sync`` runs elsewhere), and
    ``pet_index_max_age_s`` (``HER2CDS_PET_INDEX_MAX_AGE_S``) the age past which cards state that the index
    is stale.

    Input bounds (``docs/configuration.md``, "Input limits"), so that the work of one request stays within the
    hook budget: ``max_request_bytes`` (``HER2CDS_MAX_REQUEST_BYTES``, a larger body is refused with 413; also
    the largest FHIR response read), ``max_bundle_entries`` (``HER2CDS_MAX_BUNDLE_ENTRIES``, entries of all
    Bundles in one request, and of one FHIR search), ``max_narrative_chars`` (``HER2CDS_MAX_NARRATIVE_CHARS``,
    the longest string, and the longest report text read), ``max_json_depth`` (``HER2CDS_MAX_JSON_DEPTH``,
    nesting of arrays and objects); beyond the last three a request gets 400.

    ``tracing`` (``HER2CDS_TRACING``): OpenTelemetry tracing of the service (``cds_service.tracing``).

    ``mapping_cache_entries`` (``HER2CDS_MAPPING_CACHE_ENTRIES``, 0: off) and ``mapping_cache_ttl_s``
    (``HER2CDS_MAPPING_CACHE_TTL_S``) bound the per-worker memo of the pathology mapping of identical prefetch
    (``cds_service.hooks.mapping_cache``).
    """

    public_url: str | None = None
    auth: AuthMode = AuthMode.JWT
    trusted_clients_path: Path | None = None
    fhir_allowlist: tuple[str, ...] = ()
    discovery_requires_jwt: bool = True
    cors_origins: tuple[str, ...] = ()
    hook_budget_ms: int = 1000
    http_connect_timeout_s: float = 2.0
    http_read_timeout_s: float = 5.0
    data_dir: Path = Path(".var")
    dicom_source: str = "file:.var/dicom"
    dimse_aet: str = "HER2CDS"
    dicom_auth_file: Path | None = None
    patient_id_system: str | None = None
    database_url: str = "sqlite:///.var/her2cds.db"
    site: SiteConfig = field(default_factory=SiteConfig)
    log_level: str = "INFO"
    demo: bool = False
    prometheus_multiproc_dir: Path | None = None
    link_secret: str | None = field(default=None, repr=False)
    evidence_ttl_s: int = 3600
    audit_retention_days: int = 365
    purge_interval_s: float = 600.0
    cohort_key: str | None = field(default=None, repr=False)
    alerts_config: Path | None = None
    pet_index_max_age_s: float = 900.0
    pet_scan_interval_s: float = 2.0
    pet_sync_interval_s: float = 60.0
    max_request_bytes: int = 10 * 1024 * 1024
    max_bundle_entries: int = 1000
    max_narrative_chars: int = 100_000
    max_json_depth: int = 64
    tracing: TracingMode = TracingMode.OFF
    mapping_cache_entries: int = 256
    mapping_cache_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        self._check_auth()
        self._check_links()
        self._check_urls()
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        _check_database_url(self.database_url)
        _check_dicom_source(self.dicom_source)
        self._check_pet_index()

    def _check_pet_index(self) -> None:
        if self.pet_index_max_age_s <= 0 or self.pet_scan_interval_s <= 0:
            raise SettingsError(
                f"{PREFIX}PET_INDEX_MAX_AGE_S and {PREFIX}PET_SCAN_INTERVAL_S must be positive seconds"
            )
        if self.pet_sync_interval_s < 0:
            raise SettingsError(f"{PREFIX}PET_SYNC_INTERVAL_S must be 0 (off) or positive seconds")
        interval = self.pet_index_interval_s
        if interval and interval >= self.pet_index_max_age_s:
            raise SettingsError(
                f"{PREFIX}PET_INDEX_MAX_AGE_S ({self.pet_index_max_age_s:g} s) must exceed the index "
                f"interval ({interval:g} s), or every card would call the index stale"
            )

    @property
    def pet_index_interval_s(self) -> float:
        """Seconds between the service's own index passes over ``dicom_source`` (0: none): the folder scan
        interval for ``file://`` sources, the PACS sync interval otherwise."""
        if urlsplit(self.dicom_source).scheme == "file":
            return self.pet_scan_interval_s
        return self.pet_sync_interval_s

    def _check_auth(self) -> None:
        if self.auth is AuthMode.JWT:
            if not self.public_url:
                raise SettingsError(
                    f"{PREFIX}PUBLIC_URL is required when {PREFIX}AUTH=jwt (JWT aud is built from it)"
                )
            if self.trusted_clients_path is None:
                raise SettingsError(f"{PREFIX}TRUSTED_CLIENTS is required when {PREFIX}AUTH=jwt")
        if "*" in self.cors_origins and not (self.demo or self.auth is AuthMode.OFF):
            raise SettingsError(f"{PREFIX}CORS_ORIGINS='*' is allowed only in development (demo or AUTH=off)")

    def _check_links(self) -> None:
        if self.link_secret is not None and len(self.link_secret) < LINK_SECRET_MIN_LENGTH:
            raise SettingsError(
                f"{PREFIX}LINK_SECRET must be at least {LINK_SECRET_MIN_LENGTH} characters of random text"
            )
        if self.cohort_key is not None and len(self.cohort_key) < LINK_SECRET_MIN_LENGTH:
            raise SettingsError(
                f"{PREFIX}COHORT_KEY must be at least {LINK_SECRET_MIN_LENGTH} characters of random text"
            )
        if self.evidence_ttl_s <= 0:
            raise SettingsError(f"{PREFIX}EVIDENCE_TTL_S must be a positive number of seconds")
        if self.audit_retention_days <= 0:
            raise SettingsError(f"{PREFIX}AUDIT_RETENTION_DAYS must be a positive number of days")
        if self.purge_interval_s <= 0:
            raise SettingsError(f"{PREFIX}PURGE_INTERVAL_S must be a positive number of seconds")
        if self.mapping_cache_entries < 0 or self.mapping_cache_ttl_s <= 0:
            raise SettingsError(
                f"{PREFIX}MAPPING_CACHE_ENTRIES must be 0 (off) or more, {PREFIX}MAPPING_CACHE_TTL_S positive"
            )
        for name, least in _LIMIT_FLOORS.items():
            value = getattr(self, name)
            if value < least:
                raise SettingsError(f"{PREFIX}{name.upper()} must be at least {least}, got {value}")

    @property
    def link_signing_key(self) -> str:
        """The key that signs evidence-page links: ``HER2CDS_LINK_SECRET``, or when it is not set a random key
        kept in the data directory (shared by the workers of one host, not by replicas on other hosts: a
        deployment with several replicas sets ``HER2CDS_LINK_SECRET``, as the Helm chart does)."""
        return self.link_secret if self.link_secret is not None else _data_dir_link_secret(self.data_dir)

    @property
    def cohort_hash_key(self) -> str:
        """The secret of the cohort tool's ``patient_key`` (HMAC-SHA256): ``HER2CDS_COHORT_KEY``, or when it
        is not set a random key kept in the data directory (file ``cohort-key``, mode 0600), so that the same
        patient gets the same key on every run of one site and unrelated keys at another site."""
        if self.cohort_key is not None:
            return self.cohort_key
        return _data_dir_secret(self.data_dir, COHORT_KEY_FILE, "COHORT_KEY")

    def _check_urls(self) -> None:
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise SettingsError(
                    f"{PREFIX}PUBLIC_URL must be an absolute http(s) URL, got {self.public_url!r}"
                )
        for entry in self.fhir_allowlist:
            if normalise_base_url(entry) != entry or not entry.startswith(("http://", "https://")):
                raise SettingsError(
                    f"{PREFIX}FHIR_ALLOWLIST entry {entry!r} is not a normalised http(s) base URL"
                )

    @property
    def base_url(self) -> str:
        """The external base URL without a trailing slash ('' when unset, e.g. in the demo)."""
        return (self.public_url or "").rstrip("/")

    @property
    def budget_s(self) -> float:
        """The hook budget in seconds."""
        return self.hook_budget_ms / 1000.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every ``HER2CDS_*`` variable (ARCHITECTURE.md §4), raising ``SettingsError``."""
        raw_auth = environ.get(PREFIX + "AUTH", "jwt").strip().lower() or "jwt"
        try:
            auth = AuthMode(raw_auth)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}AUTH must be 'jwt' or 'off', got {raw_auth!r}") from exc
        demo = _bool(environ, "DEMO", False)
        raw_tracing = environ.get(PREFIX + "TRACING", "").strip().lower() or "off"
        try:
            tracing = TracingMode(raw_tracing)
        except ValueError as exc:
            raise SettingsError(
                f"{PREFIX}TRACING must be 'off', 'console' or 'otlp', got {raw_tracing!r}"
            ) from exc
        database = DatabaseSettings.from_env(environ)
        data_dir = database.data_dir
        site_path = _path(environ, "SITE_CONFIG")
        allowlist = tuple(normalise_base_url(u) for u in _list(environ, "FHIR_ALLOWLIST"))
        return cls(
            public_url=environ.get(PREFIX + "PUBLIC_URL", "").strip() or None,
            auth=auth,
            trusted_clients_path=_path(environ, "TRUSTED_CLIENTS"),
            fhir_allowlist=allowlist,
            discovery_requires_jwt=_bool(environ, "DISCOVERY_REQUIRES_JWT", True),
            cors_origins=_list(environ, "CORS_ORIGINS"),
            hook_budget_ms=int(_number(environ, "HOOK_BUDGET_MS", 1000, integer=True)),
            http_connect_timeout_s=_number(environ, "HTTP_CONNECT_TIMEOUT_S", 2.0),
            http_read_timeout_s=_number(environ, "HTTP_READ_TIMEOUT_S", 5.0),
            data_dir=data_dir,
            dicom_source=(
                environ.get(PREFIX + "DICOMWEB", "").strip()
                or environ.get(PREFIX + "DICOM_SOURCE", "").strip()
                or (data_dir / "dicom").as_uri()
            ),
            dimse_aet=environ.get(PREFIX + "DIMSE_AET", "").strip() or "HER2CDS",
            dicom_auth_file=_path(environ, "DICOM_AUTH_FILE"),
            patient_id_system=patient_id_system_from_env(environ),
            database_url=database.database_url,
            site=SiteConfig.load(site_path) if site_path else SiteConfig(),
            log_level=log_level_from_env(environ),
            demo=demo,
            link_secret=environ.get(PREFIX + "LINK_SECRET", "").strip() or None,
            evidence_ttl_s=int(_number(environ, "EVIDENCE_TTL_S", 3600, integer=True)),
            audit_retention_days=int(_number(environ, "AUDIT_RETENTION_DAYS", 365, integer=True)),
            purge_interval_s=_number(environ, "PURGE_INTERVAL_S", 600.0),
            cohort_key=environ.get(PREFIX + "COHORT_KEY", "").strip() or None,
            alerts_config=_path(environ, "ALERTS_CONFIG"),
            pet_index_max_age_s=_number(environ, "PET_INDEX_MAX_AGE_S", 900.0),
            pet_scan_interval_s=_number(environ, "PET_SCAN_INTERVAL_S", 2.0),
            pet_sync_interval_s=_number(environ, "PET_SYNC_INTERVAL_S", 60.0, zero=True),
            max_request_bytes=_integer(environ, "MAX_REQUEST_BYTES", 10 * 1024 * 1024),
            max_bundle_entries=_integer(environ, "MAX_BUNDLE_ENTRIES", 1000),
            max_narrative_chars=_integer(environ, "MAX_NARRATIVE_CHARS", 100_000),
            max_json_depth=_integer(environ, "MAX_JSON_DEPTH", 64),
            tracing=tracing,
            mapping_cache_entries=int(
                _number(environ, "MAPPING_CACHE_ENTRIES", 256, integer=True, zero=True)
            ),
            mapping_cache_ttl_s=_number(environ, "MAPPING_CACHE_TTL_S", 60.0),
            prometheus_multiproc_dir=Path(environ["PROMETHEUS_MULTIPROC_DIR"])
            if environ.get("PROMETHEUS_MULTIPROC_DIR")
            else None,
        )

    def fhir_server_allowed(self, fhir_server: str, client_servers: tuple[str, ...] = ()) -> bool:
        """True when ``fhir_server`` exactly matches (after normalisation) an allow-list entry and, when
        the calling client's trust entry lists FHIR servers, one of those too (CH-10, ``cds-hooks.md`` §9).
        """
        base = normalise_base_url(fhir_server)
        if base not in self.fhir_allowlist:
            return False
        return not client_servers or base in {normalise_base_url(s) for s in client_servers}
