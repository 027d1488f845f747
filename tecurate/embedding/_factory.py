"""Which backend embeds: the registry of embedder backends and :func:`make_embedder`.

A backend declares the precision it produces and the devices it runs on; the factory picks
one from the user's ``--precision`` (a precision, a backend's name, or ``auto``: chosen from
the host, :func:`resolve_precision`) and ``--device``. The built-in backends are registered in
:mod:`tecurate.embedding._backends`, then every installed plug-in: a package that names a
backend in the entry-point group ``tecurate.embedders`` (:func:`load_plugins`) adds one without
a fork of tecurate (a hosted API client, an in-house model), and its precision becomes a
``--precision`` choice.
"""

from __future__ import annotations

import importlib.util
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


AUTO = "auto"
"""``--precision auto``: int8 on a CPU with VNNI int8 instructions, fp32 elsewhere."""
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
"""CPU flags (``/proc/cpuinfo``) of int8 dot-product instructions: where int8 pays (~2x fp32;
on AVX2 alone it measured 1.48x, ``benchmarks/RESULTS.md``)."""
INT8_WITHIN_TOLERANCE = True
"""The evidence behind ``auto`` (``benchmarks/precision_tolerance.py``, ``benchmarks/RESULTS.md``
section 5): on four real tables (credit_data, mlc_churn, Males, attrition; 2,000 rows, seeds 0-2)
int8 vs fp32 at the same seed changed 0 of 12 verdicts, 1 of 60 gate statuses and the headline
rates by 0.016 on average; fp32 at one seed vs the next changed 1 of 8 verdicts, 1 of 40 gate
statuses and the rates by 0.030. Were it False, ``auto`` would stay fp32 everywhere."""

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


def precision_choices() -> tuple[str, ...]:
    """What ``--precision`` takes: ``auto``, a precision, or one backend by its name. Read when
    checked, so a plug-in backend registered later (``tecurate.embedders``) is a choice too."""
    return (AUTO, *precisions(), *BACKENDS.names())


def make_embedder(name_or_path: str | None = None, *, device: str = "auto", precision: str = "fp32",
                  store: ContentStore | None = None) -> Embedder:
    """The embedder for ``name_or_path`` at ``precision`` on ``device`` (``auto``: a GPU if any).

    ``precision`` is a precision, a backend's name or ``auto`` (:func:`resolve_precision`); the
    embedder's ``precision_reason`` says which backend runs and why, for the report. ``store``
    keeps what the backend derives from the model (its identity, the ONNX model);
    :func:`tecurate.embedding.embed_texts` caches the vectors.
    """
    precision, device, reason = resolve_precision(precision, device)
    backend, device = choose_backend(precision, device)
    backend.check()
    embedder = backend.build(name_or_path, device=device, store=store)
    name = next((n for n in BACKENDS.names() if BACKENDS[n] is backend), "?")
    try:
        embedder.precision_reason = f"{name}: {reason}"  # type: ignore[attr-defined]
    except AttributeError:  # an embedder with slots or a read-only property keeps its own
        pass
    return embedder


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo``; None where it cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def _onnx_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def resolve_precision(precision: str, device: str,
                      flags: frozenset[str] | None | bool = True) -> tuple[str, str, str]:
    """``(precision or backend name, device, reason)``: ``auto`` decided from this host.

    ``auto`` is int8 on a CPU with VNNI (:data:`VNNI_FLAGS`) when the ONNX packages are installed
    and the tolerance study holds (:data:`INT8_WITHIN_TOLERANCE`), fp32 elsewhere and on CUDA
    (fp16 was never measured within tolerance on a GPU). ``flags`` replaces ``/proc/cpuinfo`` in
    tests (``True``: read it). Any other value passes through with the user's choice as reason.
    """
    if precision != AUTO:
        return precision, device, f"--precision {precision} asked for"
    device = resolve_device(device)
    if device.startswith("cuda"):
        return "fp32", device, "auto on CUDA: fp32 (fp16 not measured within the audit's tolerance on a GPU)"
    found = cpu_flags() if flags is True else flags
    if found is None:
        return "fp32", device, "auto: fp32, the CPU's flags cannot be read here"
    vnni = sorted(set(found) & set(VNNI_FLAGS))
    if not vnni:
        return "fp32", device, "auto: fp32, the CPU has no VNNI int8 instructions (avx512_vnni, avx_vnni)"
    if not INT8_WITHIN_TOLERANCE:
        return "fp32", device, (f"auto: fp32; the CPU has {', '.join(vnni)}, but int8 failed the audit's "
                                "tolerance study")
    if not _onnx_installed():
        return "fp32", device, (f"auto: fp32; the CPU has {', '.join(vnni)}, but int8 needs onnxruntime and "
                                "onnx (pip install 'tecurate[fast]')")
    return "int8", device, (f"auto: int8, the CPU has {', '.join(vnni)} and int8 audits agree with fp32 "
                            "within the seed-to-seed tolerance")


def choose_backend(precision: str, device: str, among: type = object) -> tuple[Backend, str]:
    """The backend of ``precision`` (or named ``precision``; an instance of ``among``) for
    ``device``, and the device resolved. A precision that runs on the CPU only takes ``auto``
    as the CPU without probing."""
    if precision == AUTO:
        precision, device, _ = resolve_precision(precision, device)
    if precision in BACKENDS and isinstance(BACKENDS[precision], among):
        fitting = [BACKENDS[precision]]
    else:
        fitting = [backend for backend in reversed(BACKENDS.values())
                   if backend.precision == precision and isinstance(backend, among)]
    if not fitting:
        broken = "".join(f"; plug-in {name} did not load ({why})" for name, why in PLUGIN_ERRORS.items())
        raise TecurateError(f"unknown precision '{precision}'; use {' or '.join((AUTO, *precisions()))} "
                            f"or a backend's name ({', '.join(BACKENDS.names())}){broken}")
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
