"""The model's token budget: how many tokens each text takes, and what a text too long loses.

A sentence-transformers model reads at most ``max_seq_length`` tokens ([CLS] and [SEP]
included) and silently cuts the rest, so on a wide table the embedding sees only the first
columns. An embedder that knows its tokenizer offers a :class:`TokenBudget` as its optional
``token_budget`` attribute; :func:`measure_truncation` then counts the tokens of every distinct
text, names the columns that start past the cut and finds what would fit (another template, or
columns to drop). Counting uses the ``tokenizers`` package only: a warm run still never
imports torch, transformers or sentence-transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tecurate.errors import TecurateError

if TYPE_CHECKING:
    import pandas as pd

    from tecurate.data import Serializer

EXAMINED = 2000
"""Most truncated texts whose columns and alternatives are examined (evenly spread, the longest
always among them): counting every text is cheap, locating every column in each is not."""
_TRANSFORMER = "sentence_transformers.models.Transformer"
_SHOWN_DROPS = 10
"""Longest --drop-cols a message spells out; the report lists any."""
_QUANTILES = {"p50": 50, "p90": 90, "p99": 99}


@dataclass(frozen=True)
class TokenBudget:
    """A model's tokenizer (never truncating, never padding) and the most tokens it reads."""

    tokenizer: Any
    """A ``tokenizers.Tokenizer``."""
    max_tokens: int
    lower_case: bool = False
    _recent: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """The counts of the last call's texts: the embed stage sorts its misses by tokens, then the
    truncation report counts the same texts again (~0.4 s for credit_data's 4,400 on 2 cores)."""

    @classmethod
    def from_folder(cls, folder: str | Path) -> TokenBudget | None:
        """The budget of a local sentence-transformers folder: its transformer module's
        ``tokenizer.json`` and ``sentence_bert_config.json``; None when either is missing."""
        folder = Path(folder)
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
            sub = next((m.get("path", "") for m in modules if m.get("type") == _TRANSFORMER), "")
        except (OSError, ValueError, TypeError, AttributeError):
            sub = ""
        base = folder / sub
        try:
            settings = json.loads((base / "sentence_bert_config.json").read_text(encoding="utf-8"))
            max_tokens = int(settings["max_seq_length"])
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if not (base / "tokenizer.json").is_file() or max_tokens < 1:
            return None
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
        except Exception:  # noqa: BLE001 - an unreadable tokenizer means an unknown budget, not a failed audit
            return None
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(tokenizer, max_tokens, bool(settings.get("do_lower_case", False)))

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens of each text as the model would see it uncut, special tokens included."""
        known = self._recent
        counted = {text: known.get(text) for text in texts}
        new = [text for text, count in counted.items() if count is None]
        if new:
            counted.update(zip(new, (len(e.ids) for e in self.tokenizer.encode_batch_fast(self._prepared(new)))))
        known.clear()
        known.update(counted)
        return np.fromiter((counted[text] for text in texts), dtype=np.int64, count=len(texts))

    def cuts(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """For each text, the character where the model stops reading (its length when it reads
        all), and the start character of each of its tokens (special tokens left out)."""
        cut = np.empty(len(texts), dtype=np.int64)
        starts = []
        for k, (text, encoding) in enumerate(zip(texts, self.tokenizer.encode_batch(self._prepared(texts)))):
            content = np.array([o[0] for o, special in zip(encoding.offsets, encoding.special_tokens_mask)
                                if not special], dtype=np.int64)
            kept = self.max_tokens - (len(encoding.ids) - content.size)
            cut[k] = content[kept] if 0 <= kept < content.size else len(text)
            starts.append(content)
        return cut, starts

    def _prepared(self, texts: Sequence[str]) -> list[str]:
        return [t.lower() for t in texts] if self.lower_case else list(texts)


def token_budget_of(embedder: object) -> TokenBudget | None:
    """The embedder's token budget; None when it does not say (a test fake, a remote model)."""
    return getattr(embedder, "token_budget", None)


def text_lengths(texts: Sequence[str], embedder: object) -> np.ndarray:
    """What each text costs the embedder: its tokens up to the model's cut where the embedder
    knows its tokenizer (a batch pads to its longest), else its characters.

    Batches of texts sorted by tokens rather than characters pad less where lengths vary
    (``benchmarks/RESULTS.md``, token-length bucketing: 9.5% fewer padded tokens on
    ggplot2movies/movies, 2.8% on credit_data); the counting pass costs ~1/50 of the int8 encoding, and
    the truncation report reads its counts back instead of counting again (:attr:`TokenBudget._recent`).
    """
    budget = token_budget_of(embedder)
    if budget is None or not texts:
        return np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.minimum(budget.counts(texts), budget.max_tokens)


@dataclass(frozen=True)
class Truncation:
    """What the model's token limit cut, as the report's ``embedding.truncation`` records it."""

    max_tokens: int
    n_texts: int
    """Distinct texts counted."""
    n_truncated: int
    share_truncated: float
    tokens: dict[str, int]
    """Token-count quantiles of the distinct texts (p50, p90, p99, max)."""
    n_examined: int
    """Truncated texts whose columns were located (all of them, up to :data:`EXAMINED`)."""
    columns_beyond: list[dict[str, Any]]
    """``{"column", "share"}``: a column that starts past the cut, and the share of distinct
    texts where it does (estimated from the examined ones); most often first."""
    templates: dict[str, float]
    """For each other built-in template, the share of the examined texts it would still cut."""
    drop_cols: list[str] | None
    """Columns whose dropping brings every examined text within the limit (None: nothing to
    drop, or no set found)."""


def measure_truncation(texts: Sequence[str], budget: TokenBudget, serializer: Serializer,
                       frame: pd.DataFrame) -> Truncation:
    """Count the tokens of the distinct ``texts`` (``serializer``'s texts of ``frame``'s rows,
    row-aligned) and, for the truncated ones, what is lost and what would fit."""
    first: dict[str, int] = {}
    for row, text in enumerate(texts):
        first.setdefault(text, row)
    unique = list(first)
    counts = budget.counts(unique) if unique else np.zeros(0, dtype=np.int64)
    over = np.flatnonzero(counts > budget.max_tokens)
    quantiles = ({name: int(np.percentile(counts, q, method="higher")) for name, q in _QUANTILES.items()}
                 | {"max": int(counts.max())}) if unique else {}
    examined = _spread(over, counts)
    rows = [first[unique[i]] for i in examined]
    beyond, templates, drop = _losses([unique[i] for i in examined], counts[examined], budget, serializer,
                                      frame.iloc[rows]) if rows else ({}, {}, None)
    scale = over.size / max(len(unique), 1) / max(len(rows), 1)
    columns = [{"column": c, "share": round(n * scale, 6)}
               for c, n in sorted(beyond.items(), key=lambda item: -item[1]) if n]
    return Truncation(budget.max_tokens, len(unique), int(over.size), round(over.size / max(len(unique), 1), 6),
                      quantiles, len(rows), columns, templates, drop)


def _spread(over: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """At most :data:`EXAMINED` of the truncated texts, evenly spread, the longest included."""
    if over.size <= EXAMINED:
        return over
    chosen = set(over[np.linspace(0, over.size - 1, EXAMINED - 1).astype(np.int64)].tolist())
    chosen.add(int(over[np.argmax(counts[over])]))
    return np.array(sorted(chosen), dtype=np.int64)


def _losses(texts: list[str], counts: np.ndarray, budget: TokenBudget, serializer: Serializer,
            frame: pd.DataFrame) -> tuple[dict[str, int], dict[str, float], list[str] | None]:
    """(texts where each column starts past the cut, the share each other built-in template
    would still cut, columns to drop so that every one fits)."""
    from tecurate.data import BUILTIN_TEMPLATES, make_serializer

    cut, token_starts = budget.cuts(texts)
    starts = serializer.column_starts(frame)
    names = list(starts)
    matrix = np.stack([starts[c] for c in names], axis=1)
    beyond = {c: int(n) for c, n in zip(names, ((matrix >= cut[:, None]) & (matrix >= 0)).sum(axis=0))}
    columns = list(serializer.columns)
    templates = {}
    for template in BUILTIN_TEMPLATES:
        if template != serializer.template:
            again = budget.counts(make_serializer(template, columns).serialize(frame))
            templates[template] = round(float(np.mean(again > budget.max_tokens)), 6)
    drop = (_columns_to_drop(counts, matrix, token_starts, names, budget, serializer, frame)
            if serializer.template in BUILTIN_TEMPLATES else None)
    return beyond, templates, drop


def _columns_to_drop(counts: np.ndarray, matrix: np.ndarray, token_starts: list[np.ndarray], names: list[str],
                     budget: TokenBudget, serializer: Serializer, frame: pd.DataFrame) -> list[str] | None:
    """Greedily drop the column holding the most tokens of the texts still too long, until a
    re-serialization without them fits; each column's tokens are those starting in its text."""
    from tecurate.data import make_serializer

    cost = np.zeros(matrix.shape, dtype=np.int64)
    for k, tokens in enumerate(token_starts):
        present = np.flatnonzero(matrix[k] >= 0)
        order = present[np.argsort(matrix[k, present], kind="stable")]
        owner = np.searchsorted(matrix[k, order], tokens, side="right") - 1
        np.add.at(cost[k], order[owner[owner >= 0]], 1)
    remaining, dropped = counts.copy(), []
    while len(dropped) < len(names) - 1:
        long = remaining > budget.max_tokens
        if not long.any():
            kept = [c for c in serializer.columns if str(c) not in dropped]
            try:
                again = budget.counts(make_serializer(serializer.template, kept).serialize(frame))
            except TecurateError:
                return None
            if not (again > budget.max_tokens).any():
                return [str(c) for c in serializer.columns if str(c) in dropped]
            remaining, long = again, again > budget.max_tokens
        load = cost[long].sum(axis=0)
        load[[names.index(c) for c in dropped]] = -1
        column = int(np.argmax(load))
        dropped.append(names[column])
        remaining = remaining - cost[:, column]
    return None


def describe_truncation(truncation: Truncation) -> str:
    """One sentence: how many texts are cut, what the model never sees, and what would fit."""
    t = truncation
    text = (f"{t.n_truncated} of {t.n_texts} distinct texts ({t.share_truncated:.0%}) exceed the model's "
            f"{t.max_tokens} tokens (longest {t.tokens.get('max', 0)}) and are cut")
    if t.columns_beyond:
        shown = ", ".join(f"{c['column']} ({c['share']:.0%})" for c in t.columns_beyond[:8])
        more = f" and {len(t.columns_beyond) - 8} more" if len(t.columns_beyond) > 8 else ""
        text += f": the embedding never sees {shown}{more}"
    fits = [f"--template {name} still cuts {share:.0%} of them" for name, share in t.templates.items()]
    if t.drop_cols and len(t.drop_cols) <= _SHOWN_DROPS:
        fits.append(f"--drop-cols '{','.join(t.drop_cols)}' fits every one")
    elif t.drop_cols:
        fits.append(f"dropping {len(t.drop_cols)} columns (embedding.truncation.drop_cols in the report) "
                    "fits every one")
    return text + ("; " + "; ".join(fits) if fits else "")
