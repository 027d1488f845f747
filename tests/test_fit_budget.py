"""``--max-fit-rows``: the grid fits on a stratified sample above the budget, and nothing changes below it."""

from __future__ import annotations

import numpy as np

from conftest import NumbersEmbedder
from tecurate import AuditConfig, audit
from tecurate.grid import fit_rows


def test_at_or_below_the_budget_every_row_is_kept_as_is():
    train = np.arange(10, 510)
    y = np.arange(600) % 3
    assert fit_rows(train, y, 500, seed=0) is train
    assert fit_rows(train, y, 10**9, seed=0) is train


def test_above_the_budget_a_stratified_seeded_subset():
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=5000, p=[0.7, 0.25, 0.05])
    train = np.sort(rng.choice(5000, 4000, replace=False))
    chosen = fit_rows(train, y, 1000, seed=3)
    assert chosen.size == 1000 and np.all(np.isin(chosen, train)) and np.all(np.diff(chosen) > 0)
    shares = np.bincount(y[chosen], minlength=3) / chosen.size
    assert np.allclose(shares, np.bincount(y[train], minlength=3) / train.size, atol=0.01)
    assert np.array_equal(chosen, fit_rows(train, y, 1000, seed=3))
    assert not np.array_equal(chosen, fit_rows(train, y, 1000, seed=4))
    assert set(y[fit_rows(train, y, 100, seed=0)]) == {0, 1, 2}  # every class keeps a row


def test_an_audit_over_the_budget_says_so_and_one_under_it_does_not(table):
    settings = dict(target="label", shift_col="region", min_domain_rows=100, n_configs=2, n_bootstrap=100,
                    use_cache=False, families=("logreg",))
    small = audit(str(table), AuditConfig(**settings), embedder=NumbersEmbedder()).to_dict()
    same = audit(str(table), AuditConfig(**settings, max_fit_rows=10**6), embedder=NumbersEmbedder()).to_dict()
    assert not any("--max-fit-rows" in w for w in small["warnings"])
    assert [m["splits"] for m in small["models"]] == [m["splits"] for m in same["models"]]
    sampled = audit(str(table), AuditConfig(**settings, max_fit_rows=100), embedder=NumbersEmbedder()).to_dict()
    assert any("sample of 100 of the 210" in w and "--max-fit-rows" in w for w in sampled["warnings"])
