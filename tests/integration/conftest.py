"""Integration fixtures: a thin list of imports of the fixture modules."""

from tests.integration.fhir_server import fhir_server  # noqa: F401
from tests.integration.orthanc import orthanc, orthanc_factory  # noqa: F401
from tests.integration.postgres import postgres_server, postgres_url  # noqa: F401
