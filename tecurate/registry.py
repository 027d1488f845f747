"""One kind of registry for everything that varies: model families, embedder backends, gates,
renderers. Adding one of those is one module and one ``register`` call.

A registry keeps registration order (reports list families and gates in that order) and turns
an unknown name into the user error every CLI flag gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from tecurate.errors import TecurateError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items of one ``kind``, looked up by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a second item under one name is a programming error."""
        if name in self._items:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> T:
        """Remove and return ``name`` (plug-ins and tests that registered one for a while)."""
        return self._items.pop(name)

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise TecurateError(f"unknown {self.kind} '{name}'; choose from {', '.join(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def values(self) -> tuple[T, ...]:
        return tuple(self._items.values())

    def items(self) -> tuple[tuple[str, T], ...]:
        return tuple(self._items.items())
