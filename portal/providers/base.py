"""Contracts shared by every provider, starting with the error taxonomy the run engine obeys.

| Exception                | Meaning                              | What the engine does             |
|--------------------------|--------------------------------------|----------------------------------|
| TransientProviderError   | timeout, 5xx, 429 (with retry_after) | retries the step with backoff    |
| PermanentProviderError   | bad input, 4xx, authentication       | fails the step with the message  |
| ProviderNotConfigured    | missing credentials or settings      | fails the step; `check` reports  |
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base class: something an outside system (or our embedded stand-in) refused or failed."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}" if self.provider else self.message


class TransientProviderError(ProviderError):
    """Worth retrying: the same call may succeed later."""

    def __init__(
        self, message: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Retrying will not help; the message says what to fix."""


class ProviderNotConfigured(PermanentProviderError):
    """The provider lacks the settings or credentials it needs."""
