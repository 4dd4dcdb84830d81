"""Attacks from docs/security.md, replayed end to end: each is refused and writes nothing."""
