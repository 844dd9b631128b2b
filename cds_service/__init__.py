"""The CDS Hooks service. ``create_app`` is the only wiring point (ARCHITECTURE §1, §4).

``create_app(settings)`` builds every component once: storage (its schema checked, never migrated here:
``her2-cds migrate`` does that), the JWT verifier over the trusted
clients (unless ``HER2CDS_AUTH=off``), the HTTP session for the FHIR fallback, the prefetch resolver, the
hook service over ``connectors.fhir.mapping`` and ``rules.assess``, and the Flask blueprints. Without an
explicit ``Settings`` it reads the environment through ``Settings.from_env`` (the only place that does).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

from flask import Flask

from cds_service.settings import AuthMode, Settings, SettingsError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from cds_service.auth import TrustedClient
    from cds_service.hooks.service import EmbeddedPrefetch, PetLookup
    from cds_service.pet.wiring import PetSide
    from cds_service.storage.store import Storage
    from cds_service.tracing import Tracing
    from rules.domain import Assessment

log = logging.getLogger(__name__)

__all__ = ["PET_EXTENSION_KEY", "RETENTION_KEY", "check_configuration", "create_app"]


def prepare_directories(settings: Settings) -> None:
    """Create the data directory (SQLite) and the Prometheus multiprocess directory when missing.

    Both may sit on empty volumes (the chart mounts ``/tmp`` and the data directory as ``emptyDir``); an
    unwritable one is a configuration error naming the variable, not a traceback per worker.
    """
    wanted = []
    if settings.database_url.startswith("sqlite:"):
        wanted.append(("HER2CDS_DATA_DIR", settings.data_dir))
    if settings.prometheus_multiproc_dir is not None:
        wanted.append(("PROMETHEUS_MULTIPROC_DIR", settings.prometheus_multiproc_dir))
    for variable, directory in wanted:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"{variable}: cannot create {directory} ({exc.strerror})") from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise SettingsError(f"{variable}: {directory} is not writable by this user")


def open_storage(settings: Settings) -> Storage:
    """The service database, its schema checked (``SettingsError`` saying to run ``her2-cds migrate``)."""
    from cds_service.storage.store import SchemaVersionError, Storage, StorageConfigError

    try:
        storage = Storage(settings.database_url)
    except StorageConfigError as exc:
        raise SettingsError(f"HER2CDS_DATABASE_URL: {exc}") from exc
    try:
        storage.check_schema()
    except SchemaVersionError as exc:
        storage.dispose()
        raise SettingsError(str(exc)) from exc
    return storage


def trusted_clients(settings: Settings) -> tuple[TrustedClient, ...]:
    """The trusted EHR clients of ``HER2CDS_TRUSTED_CLIENTS`` (``SettingsError`` when unusable or empty)."""
    from cds_service.auth import TrustedClientsError, load_trusted_clients

    if settings.trusted_clients_path is None:
        raise SettingsError("HER2CDS_TRUSTED_CLIENTS is required when HER2CDS_AUTH=jwt")
    try:
        return load_trusted_clients(settings.trusted_clients_path)
    except TrustedClientsError as exc:
        raise SettingsError(f"HER2CDS_TRUSTED_CLIENTS: {exc}") from exc


def check_configuration(settings: Settings) -> None:
    """What ``create_app`` would refuse, checked once before any worker starts (``her2-cds serve``):
    directories, trusted clients and the database schema. Raises ``SettingsError``."""
    prepare_directories(settings)
    if settings.auth is AuthMode.JWT:
        trusted_clients(settings)
    open_storage(settings).dispose()


RETENTION_KEY = "her2cds.retention"
"""Where the app keeps its periodic retention task (``storage.retention.RetentionTask``)."""

PET_EXTENSION_KEY = "her2cds.pet"
"""``app.extensions`` key of the ``PetSide`` that ``create_app`` built (None when a lookup was given)."""


def _load_fhir_models() -> None:
    """Import the ``fhir.resources`` model classes the pathology mapping parses with now, when a worker
    starts, rather than in its first hook (about 0.3 s of imports and schema building)."""
    from fhir.resources.R4B import get_fhir_model_class

    from connectors.fhir.mapping import USED_TYPES

    for kind in sorted(USED_TYPES):
        get_fhir_model_class(kind)


def create_app(
    settings: Settings | None = None,
    *,
    pet_lookup: PetLookup | None = None,
    embedded_prefetch: EmbeddedPrefetch | None = None,
    span_exporter: SpanExporter | None = None,
) -> Flask:
    """Build the Flask app.

    ``pet_lookup`` (a ``service.PetLookup``) is the PET seam; without one, ``pet.wiring.build_pet_side``
    builds the PET side over ``HER2CDS_DICOM_SOURCE``: the series index the hook reads, filled by a
    background indexer whose first pass readiness waits for, and the background analyses (kept in
    ``app.extensions[PET_EXTENSION_KEY]``). ``embedded_prefetch`` (an ``EmbeddedPrefetch``) serves prefetch
    from in-process data in demo mode (no FHIR server needed). ``span_exporter`` (tests) turns tracing on
    with that exporter whatever ``HER2CDS_TRACING`` says (``cds_service.tracing``).
    """
    from cds_service import cors, errors, health, openapi
    from cds_service.analytics import routes as feedback_report
    from cds_service.auth import JwtVerifier
    from cds_service.evidence import routes as evidence
    from cds_service.hooks import routes as hooks
    from cds_service.hooks.access import ClientAuth
    from cds_service.hooks.mapping_cache import AssessMemo, MappingCache
    from cds_service.hooks.prefetch import PrefetchResolver, fhir_client_factory, templates
    from cds_service.hooks.registry import EXTENSION_KEY, Components
    from cds_service.hooks.service import EvidenceLink, HookService
    from cds_service.observability import configure_logging, default_metrics
    from cds_service.storage.retention import RetentionPolicy, RetentionTask
    from connectors.fhir.mapping import pathology_from_resources
    from rules.assess import assess

    settings = settings or Settings.from_env(os.environ)
    configure_logging(settings.log_level)
    tracing = _tracing(settings, span_exporter)
    metrics = default_metrics()
    if settings.auth is AuthMode.OFF:
        log.warning(
            "HER2CDS_AUTH=off: CDS client authentication is DISABLED. Demo and development only; never "
            "expose this service to a network."
        )
    elif settings.link_secret is None:
        log.warning(
            "HER2CDS_LINK_SECRET is not set: evidence links are signed with a key kept in the data "
            "directory; a deployment with several replicas must set the same HER2CDS_LINK_SECRET on each."
        )
    prepare_directories(settings)
    storage = open_storage(settings)
    if tracing is not None:
        tracing.instrument_engine(storage.engine)
    retention = RetentionTask(
        storage,
        RetentionPolicy(audit_days=settings.audit_retention_days, interval_s=settings.purge_interval_s),
        on_purge=lambda n: log.info(
            "retention purge: %d evidence snapshots, %d audit records, %d token ids deleted",
            n.evidence,
            n.audit,
            n.jti,
        ),
        on_error=lambda exc: log.error("retention purge failed (%s); retried later", type(exc).__name__),
    ).start()

    client_auth = None
    if settings.auth is AuthMode.JWT:
        client_auth = ClientAuth(
            JwtVerifier(
                trusted_clients(settings),
                replay_store=storage,
                on_rejection=metrics.record_jwt_rejection,
                on_jwks_fetch=metrics.record_jwks_fetch,
            )
        )

    keys = templates(settings.site.prefetch_templates)
    _load_fhir_models()
    pet_lookup, pet_side = _pet(settings, storage, pet_lookup)
    readiness = health.ReadinessCheck(storage.ping, pet_index=pet_side.ready if pet_side else None)

    def evidence_link(patient_id: str, assessment: Assessment) -> EvidenceLink:
        payload = evidence.build_payload(patient_id, assessment)
        snapshot = storage.new_evidence(dict(payload), settings.evidence_ttl_s)
        return EvidenceLink(url=evidence.link_url(settings, snapshot.id), snapshot=snapshot)

    hook_service = HookService(
        settings=settings,
        resolver=PrefetchResolver(
            fhir_client_factory(settings),
            keys,
            on_query=lambda seconds, failed: metrics.observe_upstream("fhir", seconds, failed=failed),
        ),
        map_pathology=MappingCache(
            functools.partial(pathology_from_resources, max_narrative_chars=settings.max_narrative_chars),
            max_entries=settings.mapping_cache_entries,
            ttl_s=settings.mapping_cache_ttl_s,
        ),
        assess=AssessMemo(
            assess, max_entries=settings.mapping_cache_entries, ttl_s=settings.mapping_cache_ttl_s
        ),
        pet_lookup=pet_lookup,
        embedded_prefetch=embedded_prefetch,
        evidence_link=evidence_link,
    )

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if tracing is not None:
        tracing.instrument_app(app)
    app.extensions[RETENTION_KEY] = retention
    app.extensions[PET_EXTENSION_KEY] = pet_side
    # A larger body is refused with 413 before it is read (Werkzeug; rendered as an OperationOutcome).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions[EXTENSION_KEY] = Components(
        settings=settings,
        hook_service=hook_service,
        storage=storage,
        client_auth=client_auth,
        prefetch_keys=keys,
        readiness=readiness,
        metrics=metrics,
    )
    errors.register_error_handlers(app)
    cors.register_cors(app, settings.cors_origins)
    hooks.register_request_context(app)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(evidence.bp)
    from cds_service.alerts import subscriptions, worklist
    from cds_service.alerts.config import load_alerts_config
    from cds_service.alerts.service import attach_alerts

    alerts_config = load_alerts_config(settings)  # raises SettingsError: a bad file fails at start-up
    if alerts_config is not None:
        app.extensions[worklist.ALERT_EVIDENCE_DAYS_KEY] = alerts_config.evidence_ttl_days
        attach_alerts(app, settings, storage, pet_lookup)  # the loop runs with service_loop.interval_s
    app.register_blueprint(worklist.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(feedback_report.bp)
    if settings.demo:
        from cds_service.demo import console as demo_console

        app.register_blueprint(demo_console.bp)
    return app


def _tracing(settings: Settings, exporter: SpanExporter | None) -> Tracing | None:
    """OpenTelemetry tracing per ``HER2CDS_TRACING`` (None when off); a missing extra is a configuration
    error."""
    from cds_service.tracing import start_tracing

    try:
        return start_tracing(settings.tracing, exporter=exporter)
    except ImportError as exc:
        raise SettingsError(f"HER2CDS_TRACING={settings.tracing.value}: {exc}") from exc


def _pet(settings: Settings, storage: Storage, lookup: PetLookup | None) -> tuple[PetLookup, PetSide | None]:
    """The given PET lookup, or the PET side built over ``HER2CDS_DICOM_SOURCE`` and its lookup."""
    if lookup is not None:
        return lookup, None
    from cds_service.pet.wiring import build_pet_side

    side = build_pet_side(settings, storage)
    return side.lookup, side
