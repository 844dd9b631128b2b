"""Review alerts that do not wait for a chart to be opened (``docs/alerts.md``): triggers (stored PET
analyses, FHIR changes), the scenario-change state machine, delivery (FHIR Task, webhook) through an
outbox, and the review worklist."""
