"""One registry helper for everything selectable by name (compression methods, scorers, tasks).

Entries are added as their modules are imported (`import_submodules` imports a package's
modules once, so adding a method, scorer or task means adding a module); a name registered
twice is a programming error, an unknown name asked for by a user a one-line ConfigError.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType
from typing import Generic, TypeVar

from compsafe.errors import ConfigError, choices

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """Name -> entry. `what` names the kind in errors, `key` is the config key users set."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__()
        self.what, self.key = what, key

    def add(self, name: str, entry: T) -> T:
        if name in self:
            raise ValueError(f"{self.what} {name!r} registered twice")
        self[name] = entry
        return entry

    def register(self, cls: T) -> T:
        """Class decorator: register `cls` under its `name` attribute."""
        return self.add(cls.name, cls)  # type: ignore[attr-defined]

    def lookup(self, name: str) -> T:
        """The entry called `name`, or a ConfigError that lists the valid names."""
        if name not in self:
            raise ConfigError(self.key, name, choices(self))
        return self[name]


def import_submodules(package: str, path: Iterable[str]) -> list[ModuleType]:
    """Import every module of a package (its `__name__` and `__path__`), in name order."""
    names = sorted(module.name for module in pkgutil.iter_modules(path))
    return [importlib.import_module(f"{package}.{name}") for name in names]
