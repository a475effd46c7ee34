"""Compression methods behind one small interface, one module per method.

Adding a method means adding one module here that defines a `@register`ed subclass of
`CompressionMethod`, and one YAML in `conf/compression/`. Modules are discovered on import.
"""

import importlib
import pkgutil

from compsafe.compression.base import (
    REGISTRY,
    CompressionMethod,
    CompressionSpec,
    get_method,
    parse_spec,
    register,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "REGISTRY",
    "CompressionMethod",
    "CompressionSpec",
    "get_method",
    "parse_spec",
    "register",
]
