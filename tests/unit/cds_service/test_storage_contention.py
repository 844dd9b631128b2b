"""Storage contention on SQLite (the default backend): worker processes × threads × hook calls through the
Flask app with real client JWTs, beside CPU-bound work. No valid token refused, no audit row or evidence
snapshot lost, replays refused by every worker, and a token raced by several threads accepted once. See
``contention.py`` for what one run does; the same run on PostgreSQL is in ``tests/integration``."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cds_service.contention import (
    HOOKS_PER_THREAD,
    PROCESSES,
    RACERS,
    THREADS,
    check_replays_refused,
    check_run,
    rig,
)


def test_workers_by_threads_by_hooks_refuse_no_valid_token_and_lose_no_row(tmp_path: Path) -> None:
    with rig(tmp_path, f"sqlite:///{tmp_path / 'contention.db'}") as made:
        run = made.run(PROCESSES, THREADS, HOOKS_PER_THREAD)
        check_run(made, run, PROCESSES * THREADS * HOOKS_PER_THREAD)
        check_replays_refused(made, run.answered[:8])


def test_a_token_raced_by_several_threads_is_accepted_once(tmp_path: Path) -> None:
    with rig(tmp_path, f"sqlite:///{tmp_path / 'race.db'}") as made:
        for _ in range(3):
            assert sorted(made.race(RACERS)) == [200] + [401] * (RACERS - 1)
