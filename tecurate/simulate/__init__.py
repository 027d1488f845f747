"""``tecurate simulate``: self-consuming training loops, raw features vs text embeddings.

A model-free core (the class prior as a multinomial resampling chain, checked against its
closed forms) and the model loop on a real table: generations trained on mixtures of fresh
real rows and rows made by the previous generation, per route, α, schedule and filter. The
report is plain JSON data with its own schema (:func:`schema`), a terminal table and an HTML
page of trajectory plots.
"""

from tecurate.simulate._html import render_html
from tecurate.simulate._loop import GenerationResult, SplitResult, Trajectory, sample_labels
from tecurate.simulate._model import Classifier, Generative, fit_classifier
from tecurate.simulate._prior import MODES, gini, prior_chain
from tecurate.simulate._report import SCHEMA_VERSION, SimulationReport, SummaryRow, schema, summarize
from tecurate.simulate._run import simulate
from tecurate.simulate._schedule import SCHEDULE_KINDS, Schedule, parse_schedule
from tecurate.simulate._schedule import sizes as schedule_sizes
from tecurate.simulate._settings import (
    SETTINGS,
    SHARED,
    SIMULATE,
    SYNTHETIC_KINDS,
    SimulateConfig,
    parse_filter,
    simulate_config,
)
from tecurate.simulate._terminal import outcome_line, summary_table

__all__ = [
    "MODES",
    "SCHEDULE_KINDS",
    "SCHEMA_VERSION",
    "SETTINGS",
    "SHARED",
    "SIMULATE",
    "SYNTHETIC_KINDS",
    "Classifier",
    "GenerationResult",
    "Generative",
    "Schedule",
    "SimulateConfig",
    "SimulationReport",
    "SplitResult",
    "SummaryRow",
    "Trajectory",
    "fit_classifier",
    "gini",
    "outcome_line",
    "parse_filter",
    "parse_schedule",
    "prior_chain",
    "render_html",
    "sample_labels",
    "schedule_sizes",
    "schema",
    "simulate",
    "simulate_config",
    "summarize",
    "summary_table",
]
