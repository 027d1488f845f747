"""Which backend embeds: the registry of embedder backends and :func:`make_embedder`.

A backend declares the precision it produces and the devices it runs on; the factory picks
one from the user's ``--precision`` and ``--device``. The built-in backends are registered in
:mod:`tecurate.embedding._backends`, then every installed plug-in: a package that names a
backend in the entry-point group ``tecurate.embedders`` (:func:`load_plugins`) adds one without
a fork of tecurate (a hosted API client, an in-house model), and its precision becomes a
``--precision`` choice.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points
from typing import Any, Protocol

from tecurate.embedding._embed import Embedder
from tecurate.embedding._store import ContentStore
from tecurate.errors import TecurateError
from tecurate.registry import Registry


class Backend(Protocol):
    """One way to turn texts into vectors."""

    @property
    def precision(self) -> str:
        """What the report records; ``--precision`` chooses among backends by it."""
        ...

    @property
    def devices(self) -> tuple[str, ...]:
        """Kinds of device it runs on: ``"cpu"``, ``"cuda"``."""
        ...

    def check(self) -> None:
        """Fail with a :class:`TecurateError` before any work when the backend cannot run here."""
        ...

    def build(self, name_or_path: str | None, *, device: str, store: ContentStore | None) -> Embedder:
        """The embedder for the model the user named, on a resolved ``device``."""
        ...


BACKENDS: Registry[Backend] = Registry("embedder backend")
"""Every embedder backend. Registration order is the order precisions are listed in; among
backends of one precision for one device the one registered last is used, so a plug-in (or a
test's fake) registered after the built-ins takes their place."""


ENTRY_POINT_GROUP = "tecurate.embedders"
"""Entry points of this group name a :class:`Backend`: an instance, or a class or function that
makes one with no arguments."""

PLUGIN_ERRORS: dict[str, str] = {}
"""Plug-ins that failed to load, by entry-point name: why. A broken plug-in does not break the
built-in backends; asking for a precision that only it would have provided says why it is missing."""


def load_plugins(group: str = ENTRY_POINT_GROUP) -> tuple[str, ...]:
    """Register the backend of every entry point in ``group`` not registered yet; their names.

    An entry point's name is its registry name. What it loads must have ``precision``, ``devices``,
    ``check`` and ``build``; anything else, or an import that fails, is kept in
    :data:`PLUGIN_ERRORS` instead.
    """
    added = []
    for point in entry_points(group=group):
        if point.name in BACKENDS or point.name in PLUGIN_ERRORS:
            continue
        try:
            backend = _as_backend(point.load())
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code: recorded, not fatal
            PLUGIN_ERRORS[point.name] = f"{point.value}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            continue
        BACKENDS.register(point.name, backend)
        added.append(point.name)
    return tuple(added)


def _as_backend(loaded: Any) -> Backend:
    backend = loaded() if isinstance(loaded, type) or (callable(loaded) and not hasattr(loaded, "build")) else loaded
    missing = [name for name in ("precision", "devices", "check", "build") if not hasattr(backend, name)]
    if missing:
        raise TypeError(f"not an embedder backend (no {', '.join(missing)})")
    return backend


def precisions() -> tuple[str, ...]:
    """The precisions some backend produces, in registration order."""
    return tuple(dict.fromkeys(backend.precision for backend in BACKENDS.values()))


def make_embedder(name_or_path: str | None = None, *, device: str = "auto", precision: str = "fp32",
                  store: ContentStore | None = None) -> Embedder:
    """The embedder for ``name_or_path`` at ``precision`` on ``device`` (``auto``: a GPU if any).

    ``store`` keeps what the backend derives from the model (its identity, the int8 model);
    :func:`tecurate.embedding.embed_texts` caches the vectors.
    """
    backend, device = choose_backend(precision, device)
    backend.check()
    return backend.build(name_or_path, device=device, store=store)


def choose_backend(precision: str, device: str, among: type = object) -> tuple[Backend, str]:
    """The backend of ``precision`` (an instance of ``among``) for ``device``, and the device
    resolved. A precision that runs on the CPU only takes ``auto`` as the CPU without probing."""
    fitting = [backend for backend in reversed(BACKENDS.values())
               if backend.precision == precision and isinstance(backend, among)]
    if not fitting:
        broken = "".join(f"; plug-in {name} did not load ({why})" for name, why in PLUGIN_ERRORS.items())
        raise TecurateError(f"unknown precision '{precision}'; use {' or '.join(precisions())}{broken}")
    if {kind for backend in fitting for kind in backend.devices} == {"cpu"}:
        if device not in ("auto", "cpu"):
            raise TecurateError(f"--precision {precision} runs on the CPU; use --precision fp32 with "
                                f"--device {device}")
        device = "cpu"
    else:
        device = resolve_device(device)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    for backend in fitting:
        if kind in backend.devices:
            return backend, device
    raise TecurateError(f"--precision {precision} cannot run on device '{device}'")


def resolve_device(device: str) -> str:
    """Check the device up front: a missing GPU should fail before minutes of work, not after."""
    if device == "cpu":
        return device
    if device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not _cuda_available():
            raise TecurateError(
                f"device '{device}' requested but no CUDA GPU is available; use --device cpu"
            )
        return device
    raise TecurateError(f"unknown device '{device}'; use cpu, cuda or auto")


def _cuda_available() -> bool:
    """``torch.cuda.is_available()``, without importing torch (~1.5 s) where no NVIDIA driver is
    loaded: a warm run on a CPU machine then never imports it."""
    if sys.platform == "darwin" or (sys.platform.startswith("linux")
                                    and not os.path.exists("/proc/driver/nvidia/version")):
        return False
    import torch

    return bool(torch.cuda.is_available())
