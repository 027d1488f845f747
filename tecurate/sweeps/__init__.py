"""``tecurate sweep``: which serialization, curation and embedder make a table's text embeddings
trustworthy? Every template × curation × embedder is one audit of the same rows, splits,
configurations and seeds (shared work comes from the caches), scored, ranked with ties inside
the seed spread, and rendered as a terminal table, JSON (own schema) and an HTML leaderboard.
"""

from tecurate.sweeps._html import render_html
from tecurate.sweeps._report import SCHEMA_VERSION, Combination, SweepReport, schema
from tecurate.sweeps._run import sweep
from tecurate.sweeps._score import SPURIOUS_WEIGHT, TERMS, Spread, rank, score_terms
from tecurate.sweeps._settings import DEFAULT_EMBEDDER, REPLACED, SETTINGS, SWEEP, SweepConfig, sweep_config
from tecurate.sweeps._terminal import outcome_line, summary_table

__all__ = [
    "DEFAULT_EMBEDDER",
    "REPLACED",
    "SCHEMA_VERSION",
    "SETTINGS",
    "SPURIOUS_WEIGHT",
    "SWEEP",
    "TERMS",
    "Combination",
    "Spread",
    "SweepConfig",
    "SweepReport",
    "outcome_line",
    "rank",
    "render_html",
    "schema",
    "score_terms",
    "summary_table",
    "sweep",
    "sweep_config",
]
