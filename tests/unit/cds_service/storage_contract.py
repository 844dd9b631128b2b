"""The storage behaviour every backend must show; run on SQLite (unit) and on a real PostgreSQL (integration).

A test module subclasses :class:`StorageContract` and provides a ``storage_url`` fixture naming a fresh,
empty database for each test. Concurrency tests use separate :class:`Storage` instances (own engines and
connections), as separate gunicorn workers or replicas would, in threads and in spawned processes.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from cds_service.storage import audit
from cds_service.storage.retention import PurgeCounts, RetentionPolicy, purge_by_age
from cds_service.storage.series_index import IndexedSeries, SeriesIndex, SeriesTriage
from cds_service.storage.store import (
    AnalysisStatus,
    AuditedCard,
    FeedbackOutcome,
    FeedbackRecord,
    HookAuditRecord,
    HookOutcome,
    ReplayedTokenError,
    SchemaVersionError,
    Storage,
    TokenUse,
    expected_schema_revision,
)
from cds_service.storage.tables import evidence_snapshots, hook_audit, hook_audit_card, jti_replay, metadata
from rules.domain import Tracer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ISS = "https://ehr.example.org/fhir"
SERIES = "1.2.826.0.1.3680043.8.498.1"
STUDY = "1.2.826.0.1.3680043.8.498.2"


class Clock:
    """A settable UTC clock for the storage under test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def audit_record(
    hook_instance: str, received_at: datetime = T0, cards: tuple[str, ...] = ()
) -> HookAuditRecord:
    return HookAuditRecord(
        hook_instance=hook_instance,
        service_id="her2-pet-review",
        hook="patient-view",
        received_at=received_at,
        duration_ms=3.5,
        outcome=HookOutcome.CARDS if cards else HookOutcome.NO_CARDS,
        rules_version="1.0.0",
        cards=tuple(AuditedCard(uuid=u, topic="her2-low-no-pet") for u in cards),
        iss=ISS,
    )


def count_rows(storage: Storage, table: Any) -> int:
    with storage.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def claim_in_process(url: str, series: str, worker: str, barrier: Any, results: Any) -> None:
    """Runs in a spawned process: one "replica" claiming a series once all replicas are ready."""
    storage = Storage(url)
    try:
        with storage.engine.connect():
            pass  # connect before the race so that all claims start together
        barrier.wait(timeout=60)
        results.put((worker, storage.claim_analysis(series, worker, stale_after_s=300)))
    finally:
        storage.dispose()


class StorageContract:
    """Behaviour shared by both backends. Subclasses provide the ``storage_url`` fixture."""

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def make_storage(self, storage_url: str) -> Iterator[Callable[..., Storage]]:
        created: list[Storage] = []

        def make(clock: Callable[[], datetime] | None = None) -> Storage:
            storage = Storage(storage_url, clock=clock) if clock is not None else Storage(storage_url)
            created.append(storage)
            return storage

        make().migrate()
        yield make
        for storage in created:
            storage.dispose()

    @pytest.fixture
    def storage(self, make_storage: Callable[..., Storage], clock: Clock) -> Storage:
        return make_storage(clock)

    # -- schema ------------------------------------------------------------------------------------------

    def test_migrations_match_the_table_definitions(self, storage: Storage) -> None:
        storage.migrate()  # a second run is a no-op
        with storage.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                == "0006_alert_loop_subscriptions"
                == expected_schema_revision()
            )
        assert storage.check_schema() == "0006_alert_loop_subscriptions"

    def test_schema_check_names_the_command_and_downgrade_allows_a_rollback(self, storage: Storage) -> None:
        assert storage.migrate("0002_pictures_evidence") == "0002_pictures_evidence"
        with pytest.raises(SchemaVersionError, match=r"older than this release.*run `her2-cds migrate`"):
            storage.check_schema()
        assert storage.migrate() == "0006_alert_loop_subscriptions"
        with storage.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_later_release'"))
        with pytest.raises(SchemaVersionError, match="newer than this release"):
            storage.check_schema()
        with storage.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0006_alert_loop_subscriptions'"))

    def test_a_pass_lease_is_taken_once_per_interval_and_expires(
        self, storage: Storage, clock: Clock
    ) -> None:
        assert storage.claim_lease("alerts-pass", "a", min_gap_s=50, lease_s=600)
        assert not storage.claim_lease("alerts-pass", "b", min_gap_s=50, lease_s=600)
        storage.finish_lease("alerts-pass", "a")
        assert not storage.claim_lease("alerts-pass", "b", min_gap_s=50, lease_s=600)
        clock.advance(60)
        assert storage.claim_lease("alerts-pass", "b", min_gap_s=50, lease_s=600)
        clock.advance(601)
        assert storage.claim_lease("alerts-pass", "a", min_gap_s=50, lease_s=600)
        assert storage.claim_lease("other-pass", "b", min_gap_s=50, lease_s=600)

    def test_subscriptions_are_kept_once_per_topic(self, storage: Storage) -> None:
        assert storage.save_subscription("s1", topic="https://ehr.test/topic", secret_hash="h" * 64)
        assert not storage.save_subscription("s2", topic="https://ehr.test/topic", secret_hash="h" * 64)
        storage.set_subscription_remote("s1", "Subscription/9")
        storage.record_subscription_event("s1")
        (record,) = storage.subscriptions()
        assert (record.id, record.remote_ref, record.events) == ("s1", "Subscription/9", 1)
        assert record.last_event_at is not None
        storage.delete_subscription("s1")
        assert storage.get_subscription("s1") is None

    def test_heartbeat_is_kept_per_component(self, storage: Storage, clock: Clock) -> None:
        assert storage.last_success("sync") is None
        storage.record_heartbeat("sync")
        first = storage.last_success("sync")
        assert first is not None
        clock.advance(600)
        storage.record_heartbeat("sync")
        assert storage.last_success("sync") == pytest.approx(first + 600)
        assert storage.last_success("receive") is None

    # -- PET pictures and evidence snapshots -------------------------------------------------------------

    def test_picture_round_trip_and_replace(self, storage: Storage) -> None:
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
        assert storage.get_picture(SERIES) is None
        storage.save_picture(SERIES, png)
        assert storage.get_picture(SERIES) == png
        storage.save_picture(SERIES, png[:100])
        assert storage.get_picture(SERIES) == png[:100]
        with pytest.raises(ValueError, match="PNG"):
            storage.save_picture(SERIES, b"GIF89a")

    def test_evidence_snapshot_expires(self, storage: Storage, clock: Clock) -> None:
        payload = {"patientRef": "opaque", "cards": ["her2-low-pet-avid"], "pet": {"lesions": [1.5]}}
        first = storage.save_evidence(payload, ttl_s=600)
        second = storage.save_evidence(payload, ttl_s=60)
        assert first != second
        assert len(first) == 43
        assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert storage.get_evidence(first) == payload
        assert storage.get_evidence("x" * 43) is None
        assert storage.get_evidence(first, clock.now + timedelta(seconds=601)) is None
        clock.advance(61)
        assert storage.get_evidence(second) is None
        assert storage.get_evidence(first) == payload
        assert storage.purge_expired_evidence() == 1
        assert storage.purge_expired_evidence(clock.now + timedelta(seconds=600)) == 1
        assert storage.get_evidence(first, T0) is None
        with pytest.raises(ValueError, match="ttl_s"):
            storage.save_evidence(payload, ttl_s=0)

    def test_audit_tables_have_no_patient_columns(self, storage: Storage) -> None:
        inspector = inspect(storage.engine)
        for table in ("hook_audit", "hook_audit_card", "card_feedback", "jti_replay"):
            columns = {c["name"] for c in inspector.get_columns(table)}
            assert not any("patient" in c or "name" in c for c in columns), (table, columns)

    def test_ping(self, storage: Storage) -> None:
        assert storage.ping() is True

    # -- JWT replay cache --------------------------------------------------------------------------------

    def test_jti_replay_detected(self, storage: Storage) -> None:
        expires = T0 + timedelta(minutes=5)
        assert storage.check_and_store(ISS, "jti-1", expires) is True
        assert storage.check_and_store(ISS, "jti-1", expires) is False
        assert storage.check_and_store("https://other.example/fhir", "jti-1", expires) is True

    def test_jti_replay_across_two_storage_instances(
        self, make_storage: Callable[..., Storage], clock: Clock
    ) -> None:
        first, second = make_storage(clock), make_storage(clock)
        expires = T0 + timedelta(minutes=5)
        assert first.check_and_store(ISS, "shared", expires) is True
        assert second.check_and_store(ISS, "shared", expires) is False

    def test_expired_jti_entry_is_reusable_and_purged(self, storage: Storage, clock: Clock) -> None:
        assert storage.check_and_store(ISS, "old", T0 + timedelta(seconds=60)) is True
        assert storage.check_and_store(ISS, "young", T0 + timedelta(seconds=600)) is True
        clock.advance(61)
        assert storage.check_and_store(ISS, "old", T0 + timedelta(seconds=300)) is True
        assert storage.check_and_store(ISS, "old", T0 + timedelta(seconds=300)) is False
        assert storage.purge_expired_jti(T0 + timedelta(seconds=301)) == 1
        assert storage.check_and_store(ISS, "young", T0 + timedelta(seconds=600)) is False

    def test_concurrent_jti_exactly_one_accepted(
        self, make_storage: Callable[..., Storage], clock: Clock
    ) -> None:
        instances = [make_storage(clock) for _ in range(6)]
        barrier = threading.Barrier(len(instances))

        def attempt(storage: Storage) -> bool:
            barrier.wait()
            return storage.check_and_store(ISS, "race", T0 + timedelta(minutes=5))

        with ThreadPoolExecutor(len(instances)) as pool:
            results = list(pool.map(attempt, instances))
        assert sorted(results) == [False] * 5 + [True]

    def test_naive_datetime_refused(self, storage: Storage) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            storage.check_and_store(ISS, "naive", datetime(2026, 3, 1, 12, 5))

    def test_seen_is_a_read_of_live_entries(self, storage: Storage, clock: Clock) -> None:
        assert storage.seen(ISS, "jti-seen") is False
        assert storage.check_and_store(ISS, "jti-seen", T0 + timedelta(seconds=60)) is True
        assert storage.seen(ISS, "jti-seen") is True
        assert storage.seen("https://other.example/fhir", "jti-seen") is False
        clock.advance(61)
        assert storage.seen(ISS, "jti-seen") is False

    # -- one write per hook call -------------------------------------------------------------------------

    def test_record_call_writes_token_audit_and_evidence_together(self, storage: Storage) -> None:
        token = TokenUse(iss=ISS, jti="call-1", expires_at=T0 + timedelta(minutes=5))
        snapshot = storage.new_evidence({"patientRef": "opaque", "cards": ["her2-low-no-pet"]}, ttl_s=600)
        assert storage.get_evidence(snapshot.id) is None  # made, not written
        audit_id = storage.record_call(
            audit_record("hi-1", cards=("card-1",)), token=token, evidence=[snapshot]
        )
        (row,) = storage.hook_audits("hi-1")
        assert (row["id"], row["cards"]) == (audit_id, (("card-1", "her2-low-no-pet"),))
        assert storage.get_evidence(snapshot.id) == {"patientRef": "opaque", "cards": ["her2-low-no-pet"]}
        assert storage.seen(ISS, "call-1") is True
        assert storage.record_call(None, token=TokenUse(iss=ISS, jti="call-2", expires_at=T0)) is None

    def test_record_call_with_a_consumed_token_writes_nothing(self, storage: Storage) -> None:
        expires = T0 + timedelta(minutes=5)
        assert storage.check_and_store(ISS, "taken", expires) is True
        snapshot = storage.new_evidence({"patientRef": "opaque"}, ttl_s=600)
        with pytest.raises(ReplayedTokenError):
            storage.record_call(
                audit_record("hi-replayed", cards=("card-r",)),
                token=TokenUse(iss=ISS, jti="taken", expires_at=expires),
                evidence=[snapshot],
            )
        assert storage.hook_audits("hi-replayed") == ()
        assert storage.get_evidence(snapshot.id) is None
        assert count_rows(storage, hook_audit_card) == 0

    def test_concurrent_calls_with_one_token_exactly_one_written(
        self, make_storage: Callable[..., Storage], clock: Clock
    ) -> None:
        instances = [make_storage(clock) for _ in range(6)]
        barrier = threading.Barrier(len(instances))
        token = TokenUse(iss=ISS, jti="raced", expires_at=T0 + timedelta(minutes=5))

        def attempt(index: int) -> bool:
            storage = instances[index]
            snapshot = storage.new_evidence({"attempt": index}, ttl_s=600)
            barrier.wait()
            try:
                storage.record_call(audit_record(f"race-{index}"), token=token, evidence=[snapshot])
            except ReplayedTokenError:
                return False
            return True

        with ThreadPoolExecutor(len(instances)) as pool:
            results = list(pool.map(attempt, range(len(instances))))
        assert results.count(True) == 1
        assert count_rows(instances[0], hook_audit) == 1
        assert count_rows(instances[0], evidence_snapshots) == 1
        assert instances[0].hook_audits(f"race-{results.index(True)}") != ()

    def test_feedback_with_a_consumed_token_writes_nothing(self, storage: Storage) -> None:
        item = FeedbackRecord(
            card_uuid="card-f",
            service_id="her2-pet-review",
            outcome=FeedbackOutcome.ACCEPTED,
            outcome_timestamp=T0,
            accepted_suggestions=("s-1",),
        )
        token = TokenUse(iss=ISS, jti="feedback-1", expires_at=T0 + timedelta(minutes=5))
        assert storage.record_feedback([item], token=token) == 1
        assert storage.seen(ISS, "feedback-1") is True
        again = FeedbackRecord(
            card_uuid="card-g",
            service_id="her2-pet-review",
            outcome=FeedbackOutcome.ACCEPTED,
            outcome_timestamp=T0,
        )
        with pytest.raises(ReplayedTokenError):
            storage.record_feedback([again], token=token)
        assert storage.feedback_for_card("card-g") == ()
        assert storage.feedback_for_card("card-f") == (item,)

    # -- retention ---------------------------------------------------------------------------------------

    def test_purge_by_age(self, storage: Storage, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(audit, "PURGE_BATCH", 2)  # several batches
        for day in range(5):
            storage.record_hook(
                audit_record(f"old-{day}", T0 - timedelta(days=40 + day), cards=(f"old-card-{day}",))
            )
        storage.record_hook(audit_record("recent", T0 - timedelta(days=29), cards=("recent-card",)))
        short = storage.save_evidence({"n": 1}, ttl_s=60)
        long = storage.save_evidence({"n": 2}, ttl_s=7200)
        storage.check_and_store(ISS, "short", T0 + timedelta(seconds=30))
        storage.check_and_store(ISS, "long", T0 + timedelta(hours=2))
        clock.advance(3600)
        policy = RetentionPolicy(audit_days=30, interval_s=600)
        assert purge_by_age(storage, policy) == PurgeCounts(evidence=1, audit=5, jti=1)
        assert purge_by_age(storage, policy) == PurgeCounts(evidence=0, audit=0, jti=0)
        assert [r["hook_instance"] for r in storage.hook_audits("recent")] == ["recent"]
        assert all(storage.hook_audits(f"old-{day}") == () for day in range(5))
        assert count_rows(storage, hook_audit_card) == 1
        assert storage.get_evidence(short, T0) is None  # deleted, not only expired
        assert storage.get_evidence(long) == {"n": 2}
        assert count_rows(storage, jti_replay) == 1
        assert storage.seen(ISS, "long") is True

    # -- audit and feedback ------------------------------------------------------------------------------

    def test_hook_audit_round_trip(self, storage: Storage) -> None:
        record = HookAuditRecord(
            hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            service_id="her2-pet-review",
            hook="patient-view",
            received_at=T0,
            duration_ms=42.5,
            outcome=HookOutcome.CARDS,
            rules_version="1.0.0",
            cards=(AuditedCard(uuid="card-1", topic="her2-low-no-pet"), AuditedCard(uuid="card-2")),
            iss=ISS,
            tenant="site-a",
        )
        audit_id = storage.record_hook(record)
        storage.record_hook(
            HookAuditRecord(
                hook_instance="other",
                service_id="her2-pet-review",
                hook="patient-view",
                received_at=T0,
                duration_ms=1,
                outcome="no_cards",  # type: ignore[arg-type]  # coerced at the boundary
                rules_version="1.0.0",
                cards=(AuditedCard(uuid="card-1", topic="served-again"),),
            )
        )
        (row,) = storage.hook_audits(record.hook_instance)
        assert row["id"] == audit_id
        assert (row["service_id"], row["hook"], row["outcome"], row["duration_ms"]) == (
            "her2-pet-review",
            "patient-view",
            "cards",
            42.5,
        )
        assert row["received_at"] == T0
        assert row["cards"] == (("card-1", "her2-low-no-pet"), ("card-2", None))
        assert storage.hook_audits("other")[0]["cards"] == ()

    def test_feedback_stored_once_with_utc_timestamps(self, storage: Storage) -> None:
        paris = timezone(timedelta(hours=2))
        overridden = FeedbackRecord(
            card_uuid="card-1",
            service_id="her2-pet-review",
            outcome=FeedbackOutcome.OVERRIDDEN,
            outcome_timestamp=datetime(2026, 3, 1, 14, 30, tzinfo=paris),
            override_code="already-reviewed",
            override_system="urn:her2-pet-cds:override-reason",
            user_comment="discussed at tumour board",
        )
        accepted = FeedbackRecord(
            card_uuid="card-1",
            service_id="her2-pet-review",
            outcome=FeedbackOutcome.ACCEPTED,
            outcome_timestamp=T0 + timedelta(hours=1),
            accepted_suggestions=("sugg-1",),
        )
        assert storage.record_feedback([overridden, accepted]) == 2
        assert storage.record_feedback([overridden]) == 0  # a client retry
        stored = storage.feedback_for_card("card-1")
        assert stored == (overridden, accepted)
        assert stored[0].outcome_timestamp.utcoffset() == timedelta(0)
        assert stored[0].outcome_timestamp == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)

    # -- PET analyses ------------------------------------------------------------------------------------

    def test_claim_save_and_read_analysis(self, storage: Storage, clock: Clock) -> None:
        assert storage.claim_analysis(SERIES, "w1", 300, study_uid=STUDY, patient_id="PID-7") is True
        assert storage.claim_analysis(SERIES, "w2", 300) is False
        assert storage.claim_analysis(SERIES, "w1", 300) is False
        clock.advance(10)
        facts = {"tracer": "ZR89_TRASTUZUMAB", "lesions": [{"suv_max": 7.25}]}
        assert storage.save_analysis(
            SERIES, worker_id="w1", status=AnalysisStatus.DONE, facts=facts, analysis_version="1.0.0"
        )
        record = storage.get_analysis(SERIES)
        assert record is not None
        assert (record.status, record.facts, record.claimed_by, record.attempts) == (
            AnalysisStatus.DONE,
            facts,
            "w1",
            1,
        )
        assert (record.study_instance_uid, record.patient_id, record.analysis_version) == (
            STUDY,
            "PID-7",
            "1.0.0",
        )
        assert record.claimed_at == T0
        assert record.updated_at == T0 + timedelta(seconds=10)
        assert "PID-7" not in repr(record)
        assert storage.get_analysis("1.2.3.unknown") is None

    def test_done_analysis_reclaimed_only_for_another_version(self, storage: Storage) -> None:
        storage.claim_analysis(SERIES, "w1", 300)
        storage.save_analysis(
            SERIES, worker_id="w1", status=AnalysisStatus.DONE, facts={}, analysis_version="1"
        )
        assert storage.claim_analysis(SERIES, "w2", 300) is False
        assert storage.claim_analysis(SERIES, "w2", 300, analysis_version="1") is False
        assert storage.claim_analysis(SERIES, "w2", 300, analysis_version="2") is True

    def test_stale_claim_taken_over_and_old_worker_fenced(self, storage: Storage, clock: Clock) -> None:
        assert storage.claim_analysis(SERIES, "w1", 300) is True
        clock.advance(299)
        assert storage.claim_analysis(SERIES, "w2", 300) is False
        clock.advance(2)
        assert storage.claim_analysis(SERIES, "w2", 300) is True
        assert (
            storage.save_analysis(SERIES, worker_id="w1", status=AnalysisStatus.DONE, facts={"x": 1}) is False
        )
        assert (
            storage.save_analysis(SERIES, worker_id="w2", status=AnalysisStatus.DONE, facts={"x": 2}) is True
        )
        record = storage.get_analysis(SERIES)
        assert record is not None
        assert (record.facts, record.attempts) == ({"x": 2}, 2)

    def test_failed_analysis_retried_after_back_off(self, storage: Storage, clock: Clock) -> None:
        storage.claim_analysis(SERIES, "w1", 300)
        assert storage.save_analysis(SERIES, worker_id="w1", status=AnalysisStatus.FAILED, error="no SUV")
        assert storage.claim_analysis(SERIES, "w2", 300) is False
        clock.advance(301)
        assert storage.claim_analysis(SERIES, "w2", 300) is True

    def test_save_analysis_validates(self, storage: Storage) -> None:
        storage.claim_analysis(SERIES, "w1", 300)
        with pytest.raises(ValueError, match="facts"):
            storage.save_analysis(SERIES, worker_id="w1", status=AnalysisStatus.DONE)
        with pytest.raises(ValueError, match="final status"):
            storage.save_analysis(SERIES, worker_id="w1", status=AnalysisStatus.RUNNING)
        with pytest.raises(ValueError, match="stale_after_s"):
            storage.claim_analysis(SERIES, "w1", 0)

    def test_concurrent_claims_from_threads_exactly_one_wins(
        self, make_storage: Callable[..., Storage], clock: Clock
    ) -> None:
        instances = [make_storage(clock) for _ in range(8)]
        barrier = threading.Barrier(len(instances))

        def attempt(index: int) -> bool:
            barrier.wait()
            return instances[index].claim_analysis(SERIES, f"worker-{index}", 300)

        with ThreadPoolExecutor(len(instances)) as pool:
            results = list(pool.map(attempt, range(len(instances))))
        assert results.count(True) == 1
        record = instances[0].get_analysis(SERIES)
        assert record is not None
        assert record.claimed_by == f"worker-{results.index(True)}"

    def test_concurrent_claims_from_processes_exactly_one_wins(
        self, storage_url: str, storage: Storage
    ) -> None:
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(3), context.Queue()
        processes = [
            context.Process(
                target=claim_in_process, args=(storage_url, SERIES, f"replica-{i}", barrier, results)
            )
            for i in range(3)
        ]
        for process in processes:
            process.start()
        outcomes = dict(results.get(timeout=120) for _ in processes)
        for process in processes:
            process.join(timeout=30)
        assert [p.exitcode for p in processes] == [0, 0, 0]
        winners = [worker for worker, won in outcomes.items() if won]
        assert len(winners) == 1
        record = storage.get_analysis(SERIES)
        assert record is not None
        assert record.claimed_by == winners[0]

    # -- PET series index and source states (cds_service.storage.series_index) ---------------------------

    def test_series_index_upsert_find_and_source_states(self, storage: Storage, clock: Clock) -> None:
        index = SeriesIndex(storage, clock=clock)
        row = IndexedSeries(
            series_uid=SERIES,
            study_uid=STUDY,
            source="https://pacs.example/dicom-web",
            patient_id="PID-7",
            series_date=date(2025, 5, 25),
            series_time=time(9, 30, 15),
            instance_count=40,
            related_sr=("1.2.3.9",),
            triage=SeriesTriage.HER2,
            tracer=Tracer.ZR89_TRASTUZUMAB,
        )
        index.upsert([row])
        clock.advance(60)
        changed = replace(row, related_seg=("1.2.3.10",))
        index.upsert([changed])  # listed again with a new SEG: one row, updated
        storage.claim_analysis(SERIES, "w1", 300, study_uid=STUDY, patient_id="PID-7")
        (entry,) = index.find(patient_ids=["PID-7", "other"], study_uids=["9.9"])
        assert entry.series == changed
        assert entry.analysis is not None
        assert entry.analysis.claimed_by == "w1"
        assert index.find(study_uids=[STUDY])[0].series == changed
        index.record_failure(changed.source, "SourceUnavailableError: refused")
        clock.advance(1)
        index.record_success(changed.source, started_at=clock.now - timedelta(seconds=5))
        state = index.states([changed.source, "never-seen"])
        assert set(state) == {changed.source}
        assert not state[changed.source].failed
        assert state[changed.source].watermark == clock.now - timedelta(seconds=5)
        assert state[changed.source].last_success_at == clock.now
        clock.advance(1)
        index.record_failure(changed.source, "SourceUnavailableError: refused again")
        failed = index.state(changed.source)
        assert failed is not None
        assert failed.failed
        assert failed.failure_reason == "SourceUnavailableError: refused again"

    def test_index_pass_lease_one_pass_per_interval(self, storage: Storage, clock: Clock) -> None:
        index = SeriesIndex(storage, clock=clock)
        source = "file:///dicom"
        assert index.claim_pass(source, "a", min_gap_s=2, lease_s=300)
        assert not index.claim_pass(source, "b", min_gap_s=2, lease_s=300)  # a's pass is running
        clock.advance(5)
        assert not index.claim_pass(source, "b", min_gap_s=2, lease_s=300)  # still running
        index.finish_pass(source, "b")  # not b's lease: nothing released
        assert not index.claim_pass(source, "b", min_gap_s=2, lease_s=300)
        index.finish_pass(source, "a")
        state = index.state(source)
        assert state is not None
        assert (state.pass_owner, state.pass_finished_at) == (None, clock.now)
        assert index.claim_pass(source, "b", min_gap_s=2, lease_s=300)  # ended, interval passed
        index.finish_pass(source, "b")
        assert not index.claim_pass(source, "a", min_gap_s=2, lease_s=300)  # b's pass just started
        clock.advance(3)
        assert index.claim_pass(source, "a", min_gap_s=2, lease_s=300)
        clock.advance(301)  # a died holding the lease
        assert index.claim_pass(source, "b", min_gap_s=2, lease_s=300)
