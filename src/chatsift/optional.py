"""Importing an optional dependency with a message that says how to install it.

chatsift's extras (topics, web, ray, cloud, hf) and a few heavy packages are imported where they
are used; a missing one must end in a one-line error naming the package and the pip command, not a
traceback from deep inside a stage.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from chatsift.errors import ChatsiftError, ConfigError


def require(module: str, needed_for: str, install: str, *, package: str | None = None,
            error: type[ChatsiftError] = ConfigError) -> ModuleType:
    """``module`` imported, or ``error("<needed_for> needs <package>: <install>")`` when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise error(f"{needed_for} needs {package or module}: {install}") from None
