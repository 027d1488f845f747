"""Heavy libraries imported on first use, so ``tecurate --help`` and a warm audit pay only for
what they touch.

``pd = lazy("pandas")`` binds a module whose real import runs at its first attribute access
(:class:`importlib.util.LazyLoader`). ``import tecurate.cli`` loads every subpackage (the
settings registry reads each stage's knobs), and pandas, scipy.stats and scikit-learn cost
~2 s and ~200 MB at start-up; the command that never reads a table or fits a model (``--help``,
``schema``, ``compare``) never loads them. A name already imported is returned as it is.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()


def lazy(name: str) -> ModuleType:
    """``name``, loaded when an attribute of it is first read."""
    with _LOCK:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module

