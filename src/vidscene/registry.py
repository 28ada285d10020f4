"""A small name → factory registry shared by every stage (detectors, segmenters, attributes).

Stages register implementations with a decorator, in the spirit of timm's ``register_model``;
callers create them by the same name the CLI flag uses (``--detector fast``), so adding an
implementation never means editing an if-chain elsewhere.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from vidscene.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories returning ``T``; ``kind`` names the family in error messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: ``@DETECTORS.register("fast")`` above a class or factory function."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories and self._factories[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return decorate

    def add(self, name: str, factory: Callable[..., T]) -> None:
        """Register without a decorator (used for entry-point plugins)."""
        self.register(name)(factory)

    def create(self, name: str, **kwargs: object) -> T:
        """Build the implementation called ``name``; unknown names raise :class:`ConfigError`."""
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r} (known: {known})") from None
        try:
            inspect.signature(factory).bind(**kwargs)
        except TypeError:
            raise ConfigError(f"{self.kind} {name!r} does not take "
                              f"{', '.join(sorted(kwargs))}") from None
        return factory(**kwargs)

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name`` (``ConfigError`` if unknown)."""
        if name not in self._factories:
            raise ConfigError(f"unknown {self.kind} {name!r}")
        return self._factories[name]

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
