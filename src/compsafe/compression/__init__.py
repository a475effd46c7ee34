"""Compression methods behind one small interface, one module per method.

Adding a method means adding one module here that defines a `@register`ed subclass of
`CompressionMethod`, and one YAML in `conf/compression/`. Modules are discovered on import.
"""

from compsafe.compression.base import (
    REGISTRY,
    CompressionMethod,
    CompressionSpec,
    get_method,
    parse_spec,
    register,
)
from compsafe.registry import import_submodules

import_submodules(__name__, __path__)

__all__ = [
    "REGISTRY",
    "CompressionMethod",
    "CompressionSpec",
    "get_method",
    "parse_spec",
    "register",
]
