"""The reactor gate: a request goes out only once the association's reactor is parked, never while it has
just passed its checkpoint (pynetdicom's own ``_is_paused`` flag already reads true then)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from connectors.dicom.dimse import DimsePetSource
from connectors.dicom.dimse_gate import ReactorGate, park_reactor
from connectors.http import Timeouts
from tests.unit.connectors.dicom.test_dimse import FakePacs


def test_an_open_gate_lets_wait_through_and_nobody_is_parked() -> None:
    gate = ReactorGate()
    assert gate.is_set()
    assert gate.wait()
    assert not gate.close_and_wait_parked(timeout=0.05)
    assert not gate.is_set()
    assert not gate.wait(timeout=0.01)


def test_park_waits_for_a_reactor_that_already_passed_the_gate() -> None:
    gate = ReactorGate()
    assoc: Any = SimpleNamespace(_reactor_checkpoint=gate)
    passed, resume, done = threading.Event(), threading.Event(), threading.Event()

    def reactor() -> None:
        gate.wait()  # the gate is open: passes at once
        passed.set()
        resume.wait()  # descheduled between the checkpoint and its next look at the message queue
        gate.wait()  # next round: parks, because the sender closed the gate meanwhile
        done.set()

    thread = threading.Thread(target=reactor)
    thread.start()
    try:
        assert passed.wait(2.0)
        assert not park_reactor(assoc, timeout=0.05)  # not parked yet: the request must not go out
        resume.set()
        assert park_reactor(assoc, timeout=2.0)
        assert not done.is_set()
        gate.set()  # the request is over: the reactor runs again
        assert done.wait(2.0)
    finally:
        resume.set()
        gate.set()
        thread.join(2.0)


def test_without_a_gate_nothing_is_waited_for() -> None:
    assert park_reactor(SimpleNamespace(_reactor_checkpoint=threading.Event()), timeout=0.01)


def test_every_association_of_the_source_gets_a_gate() -> None:
    pacs = FakePacs([])
    try:
        source = DimsePetSource(
            "HER2CDS", "FAKEPACS", "127.0.0.1", pacs.port, Timeouts(connect_s=2.0, read_s=2.0)
        )
        with source._association(["1.2.840.10008.5.1.4.1.2.2.1"]) as assoc:
            gate = assoc._reactor_checkpoint
            assert isinstance(gate, ReactorGate)
            assert park_reactor(assoc, timeout=2.0)
            gate.set()
        for _ in range(20):  # queries on one source keep working, one gate per association
            assert source.find_pet_series() == []
    finally:
        pacs.server.shutdown()
