"""The demo: synthetic patients (FHIR and PET) made by the project's own code, and the demo console."""
