"""Integration fixtures: a thin list of imports of the fixture modules."""

from tests.integration.fhir_server import fhir_server  # noqa: F401
