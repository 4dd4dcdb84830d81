"""Demo data: each app registers a loader; `load_demo_data` runs them in order, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoLoader:
    name: str
    order: int
    load: Callable[[], str]


_LOADERS: dict[str, DemoLoader] = {}


def register_demo_loader(name: str, order: int, load: Callable[[], str]) -> None:
    _LOADERS[name] = DemoLoader(name=name, order=order, load=load)


def demo_loaders() -> list[DemoLoader]:
    return sorted(_LOADERS.values(), key=lambda loader: loader.order)


DEMO_PASSWORD = "paved-demo"  # noqa: S105  (documented demo login, only with local login on)
