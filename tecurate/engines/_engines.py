"""The built-in engines. A new engine is a module and one line here."""

from __future__ import annotations

from tecurate.engines._engine import ENGINES
from tecurate.engines._local import LocalEngine
from tecurate.engines._ray import RayEngine

ENGINES.register("local", LocalEngine())
ENGINES.register("ray", RayEngine())
