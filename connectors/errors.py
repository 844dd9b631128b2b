"""Errors raised by connectors.

``ConnectorError`` is the base; each error may carry the ``SourceRef`` it concerns and is raised ``from`` the
library exception that caused it, so the cause stays in the traceback while callers catch one hierarchy.
"""

from __future__ import annotations

from rules.domain import SourceRef


class ConnectorError(Exception):
    """Base of every connector error."""

    def __init__(self, message: str, *, source: SourceRef | None = None) -> None:
        super().__init__(message)
        self.source = source


class SourceUnavailableError(ConnectorError):
    """The upstream system could not be reached or answered with a failure.

    Timeouts, connection errors, 5xx and 429 after retries, refused or aborted associations, and failed or
    empty DIMSE statuses all end here.
    """


class DeadlineExceededError(SourceUnavailableError):
    """The time budget of the work (a hook's deadline) was used up before the upstream answered."""


class RequestRefusedError(SourceUnavailableError):
    """The upstream answered but refused the request (401/403, 400, a redirect that is never followed, an
    OperationOutcome instead of data): the data cannot be obtained from it as configured. ``status`` is the
    HTTP status (200 for an OperationOutcome body)."""

    def __init__(self, message: str, *, source: SourceRef | None = None, status: int) -> None:
        super().__init__(message, source=source)
        self.status = status


class NotFoundError(ConnectorError):
    """The upstream system answered that the requested item does not exist."""


class InvalidSourceDataError(ConnectorError):
    """The upstream data is malformed or cannot be interpreted; the item is skipped with this reason."""


class SuvNotComputableError(InvalidSourceDataError):
    """The PET headers do not allow a correct SUV (spec/pet-dicom.md refusals); never a guessed number."""
