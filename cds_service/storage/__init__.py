"""The service database: tables, migrations, replay protection, audit, feedback, analyses and artifacts."""
