"""Framework-light helpers shared by every app (env parsing, redaction, sandboxed templating)."""
