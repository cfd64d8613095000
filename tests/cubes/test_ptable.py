"""Our ptable: zero mean, bounded, never negative, no published 1s or 2s, and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from cubes.model import load_model
from cubes.ptable import KEYS, PtableSpec, generate, pcv, read_csv


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    p = load_model().policy["ptable"]
    return generate(PtableSpec(p["max_noise"], p["variance"], p["no_small"], p["cap"]))


def test_every_row_has_exactly_zero_mean(table):
    assert (table.astype(int).sum(axis=1) == 0).all()


def test_noise_is_bounded_and_results_never_negative_nor_one_or_two(table):
    spec = load_model().policy["ptable"]
    assert np.abs(table).max() <= spec["max_noise"]
    published = np.arange(table.shape[0])[:, None] + table
    assert published.min() >= 0
    assert not ((published >= 1) & (published <= spec["no_small"])).any()
    assert (table[0] == 0).all()  # an empty cell stays empty


def test_variance_and_share_perturbed_for_ordinary_counts(table):
    spec = load_model().policy["ptable"]
    rows = table[10:].astype(float)
    assert np.allclose(rows.var(axis=1), spec["variance"], atol=0.15)
    assert (rows != 0).mean() >= 0.14  # at least ONS's share of perturbed cells


def test_shipped_csv_is_the_generated_table(table):
    model = load_model()
    assert (read_csv(model.ptable_path, model.policy["ptable"]["cap"]) == table).all()


def test_large_counts_reuse_the_last_250_rows():
    assert list(pcv(np.array([0, 5, 750, 751, 1000, 1001]), 750)) == [0, 5, 750, 501, 750, 501]


def test_cell_keys_spread_over_all_offsets(table):
    assert set(np.unique(table[100])) == {-3, -2, -1, 0, 1, 2, 3}
    assert table.shape[1] == KEYS
