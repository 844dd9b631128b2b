"""Errors of the rules package: programmer errors only.

Absent or unusable clinical data is never an exception here; it is a result (``UNKNOWN``, ``NEEDS_REVIEW``,
caveats). ``RulesError`` signals a call that breaks an invariant, such as an impossible domain object.
"""


class RulesError(ValueError):
    """A domain object or rules call that violates an invariant; the message says what to fix."""
