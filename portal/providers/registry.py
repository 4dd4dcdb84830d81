"""Provider registries: name -> factory, filled lazily by importing the provider's folder."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class ProviderRegistry[T]:
    """Maps a provider name to a zero-argument factory. Modules register themselves on import;
    `resolve` imports `portal.providers.<module>` for a name it does not know yet."""

    def __init__(self, capability: str, modules: dict[str, str]) -> None:
        self.capability = capability
        self.modules = modules  # provider name -> module under portal.providers
        self.factories: dict[str, Callable[[], T]] = {}

    def register(self, name: str) -> Callable[[Callable[[], T]], Callable[[], T]]:
        def decorator(factory: Callable[[], T]) -> Callable[[], T]:
            self.factories[name] = factory
            return factory

        return decorator

    def resolve(self, name: str) -> T:
        if name not in self.factories and name in self.modules:
            importlib.import_module(f"portal.providers.{self.modules[name]}")
        factory = self.factories.get(name)
        if factory is None:
            known = ", ".join(sorted(set(self.modules) | set(self.factories)))
            raise ImproperlyConfigured(
                f"Unknown {self.capability} provider {name!r}; known providers: {known}"
            )
        return factory()

    def names(self) -> list[str]:
        return sorted(set(self.modules) | set(self.factories))


GIT_HOSTS: ProviderRegistry[Any] = ProviderRegistry(
    "git", {"local": "local_git", "github": "github", "gitlab": "gitlab"}
)
DEPLOYERS: ProviderRegistry[Any] = ProviderRegistry(
    "deploy", {"gitops": "gitops", "argocd": "argocd"}
)
CLUSTERS: ProviderRegistry[Any] = ProviderRegistry(
    "cluster", {"gitops": "gitops", "kubernetes": "kubernetes"}
)
ON_CALL: ProviderRegistry[Any] = ProviderRegistry(
    "on-call", {"pagerduty": "pagerduty", "opsgenie": "opsgenie"}
)
