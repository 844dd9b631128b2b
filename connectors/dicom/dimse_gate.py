"""A pause gate for pynetdicom's association reactor that knows when the reactor is really paused.

pynetdicom (2.x and 3.0) runs a reactor thread per association that takes any DIMSE message off the queue
and serves it as a request unless it is paused. Before a ``send_c_find``/``send_c_get``/``send_c_move`` the
sending thread clears the reactor's checkpoint Event and waits until the reactor's ``_is_paused`` flag is
set. The flag is set just *before* the reactor waits on the checkpoint and cleared just after: a reactor
that passed the wait before the clear, but has not yet cleared the flag, looks paused. The request goes out,
the reactor resumes, and if the first response is already decoded it takes it off the queue and drops it
("Received unexpected C-FIND service message"). A pending C-FIND response lost that way silently removes a
match, for example the reader's SR series of a study (seen against Orthanc on a loaded machine: about 1
in 20 listings of 32 studies lost a series).

``ReactorGate`` replaces the checkpoint (``Association._reactor_checkpoint``) when the connection opens,
before the reactor starts, with an Event-compatible gate that counts the threads parked on it.
``park_reactor`` closes the gate and waits until the reactor is parked, so the request is sent only when no
thread can take its responses but the sender. Only the attribute name ``_reactor_checkpoint`` is borrowed
from pynetdicom; everything else uses the public ``threading`` API.
"""

from __future__ import annotations

import threading

from pynetdicom.association import Association
from pynetdicom.events import Event

CHECKPOINT_ATTRIBUTE = "_reactor_checkpoint"


class ReactorGate:
    """An Event (``set``, ``clear``, ``is_set``, ``wait``) that also tells whether a thread is parked on
    it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._open = True
        self._parked = 0

    def is_set(self) -> bool:
        with self._condition:
            return self._open

    def set(self) -> None:
        with self._condition:
            self._open = True
            self._condition.notify_all()

    def clear(self) -> None:
        with self._condition:
            self._open = False

    def wait(self, timeout: float | None = None) -> bool:
        """Return at once when open; otherwise park until opened (or ``timeout`` seconds pass)."""
        with self._condition:
            if self._open:
                return True
            self._parked += 1
            self._condition.notify_all()
            try:
                return self._condition.wait_for(lambda: self._open, timeout)
            finally:
                self._parked -= 1

    def close_and_wait_parked(self, timeout: float) -> bool:
        """Close the gate and wait until a thread is parked on it; False after ``timeout`` seconds."""
        with self._condition:
            self._open = False
            return self._condition.wait_for(lambda: self._parked > 0, timeout)


def install_gate(event: Event) -> None:
    """``EVT_CONN_OPEN`` handler: give the new association a ``ReactorGate`` before its reactor starts."""
    setattr(event.assoc, CHECKPOINT_ATTRIBUTE, ReactorGate())


def park_reactor(assoc: Association, timeout: float) -> bool:
    """Pause the association's reactor for certain before a request; False when it did not park in time
    (its thread has ended, e.g. after an abort). Without a gate (another pynetdicom) it does nothing."""
    gate = getattr(assoc, CHECKPOINT_ATTRIBUTE, None)
    if not isinstance(gate, ReactorGate):
        return True
    return gate.close_and_wait_parked(timeout)
