"""Storage contention on SQLite (the default backend): threads × hook calls through the Flask app with real
client JWTs. No valid token refused, no audit row or evidence snapshot lost, replays refused by every worker,
and a token raced by several threads accepted once. See ``contention.py`` for what one run does."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cds_service.contention import check_replays_refused, check_run, rig

PROCESSES = 3
THREADS = 8
HOOKS_PER_THREAD = 10


def test_threads_by_hooks_refuse_no_valid_token_and_lose_no_row(tmp_path: Path) -> None:
    with rig(tmp_path, f"sqlite:///{tmp_path / 'contention.db'}") as made:
        run = made.run(PROCESSES, THREADS, HOOKS_PER_THREAD)
        check_run(made, run, PROCESSES * THREADS * HOOKS_PER_THREAD)
        check_replays_refused(made, run.answered[:8])


def test_a_token_raced_by_several_threads_is_accepted_once(tmp_path: Path) -> None:
    with rig(tmp_path, f"sqlite:///{tmp_path / 'race.db'}") as made:
        for _ in range(3):
            statuses = made.race(6)
            assert sorted(statuses) == [200] + [401] * 5
