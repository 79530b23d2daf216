"""Library behind tasks.py: one module per tool or concern (kind, docker, kubectl, chaos, verify, ...)."""
