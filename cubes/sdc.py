"""Statistical disclosure control for the public and business tiers.

Pure functions on arrays of cells, so each rule is tested on its own. Follows the cell-key method of
the ABS and ONS table builders and the defaults in ``tiers.yaml`` (see README, "Disclosure control"):

* counts: perturbed from the ptable by (count, cell key), then suppressed below the threshold, and
  also when the cell holds fewer households than the household threshold (the unit of protection);
* sparsity: a table whose non-zero interior cells are too often 1s and 2s (in households) is refused;
* magnitudes: sums only for cells with enough households that pass the p% and (n, k) dominance rules,
  perturbed by a fraction of the largest contribution chosen by the cell key; a mean is the protected
  sum divided by the protected count;
* shares: from protected parts, suppressed when a part is, and 0 % / 100 % hidden in small cells.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from cubes.ptable import KEYS, pcv, read_csv

SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class CountRules:
    threshold: int
    household_threshold: int
    rounding_base: int
    cap: int


@cache
def load_ptable(path: str, cap: int) -> np.ndarray:
    return read_csv(__import__("pathlib").Path(path), cap)


def cell_keys(key_sums: np.ndarray) -> np.ndarray:
    """Cell key = sum of the records' keys mod 256 (the same set of records, the same key)."""
    return np.asarray(key_sums, dtype=np.int64) % KEYS


def perturb_counts(counts: np.ndarray, key_sums: np.ndarray, ptable: np.ndarray, cap: int) -> np.ndarray:
    """True count + the ptable's offset for (count, cell key); never negative by construction."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = ptable[pcv(counts, cap), cell_keys(key_sums)]
    return counts + offsets.astype(np.int64)


def protect_counts(
    counts: np.ndarray, key_sums: np.ndarray, households: np.ndarray, ptable: np.ndarray, rules: CountRules
) -> tuple[np.ndarray, np.ndarray]:
    """Published values and a suppression mask for one count measure over many cells."""
    value = perturb_counts(counts, key_sums, ptable, rules.cap)
    suppressed = (value < rules.threshold) | (np.asarray(households) < rules.household_threshold)
    if rules.rounding_base > 1:
        value = (np.round(value / rules.rounding_base) * rules.rounding_base).astype(np.int64)
    return value, suppressed


def sparsity_refused(households: np.ndarray, max_ones: float, max_ones_twos: float) -> bool:
    """ABS sparsity check on interior cells: too many 1s, or 1s and 2s, among the non-zero cells."""
    h = np.asarray(households)
    nonzero = h[h > 0]
    if len(nonzero) == 0:
        return False
    ones = np.count_nonzero(nonzero == 1) / len(nonzero)
    ones_twos = np.count_nonzero(nonzero <= 2) / len(nonzero)
    return bool(ones > max_ones or ones_twos > max_ones_twos)


def _magnitude_noise(ckey: np.ndarray, measure: str) -> np.ndarray:
    """A value in [-1, 1] fixed by the cell key and the measure: the same cell always moves the same way."""
    salt = int.from_bytes(hashlib.sha256(measure.encode()).digest()[:2], "little")
    k = (np.asarray(ckey, dtype=np.int64) * 97 + salt) % KEYS
    v = (k + 0.5) / KEYS * 2 - 1
    return np.where(np.abs(v) < 0.2, np.sign(v) * 0.2 + v, v).clip(-1, 1)  # never (almost) zero noise


def protect_sums(
    sums: np.ndarray,
    contributors: np.ndarray,
    top1: np.ndarray,
    top2: np.ndarray,
    key_sums: np.ndarray,
    measure: str,
    min_households: int,
    p_percent: float,
    dom_n: int,
    dom_k: float,
    noise: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Protected sums and a suppression mask (few contributors, p% rule, (n, k) dominance)."""
    x = np.asarray(sums, dtype=float)
    t1 = np.nan_to_num(np.asarray(top1, dtype=float))
    t2 = np.nan_to_num(np.asarray(top2, dtype=float))
    n = np.asarray(contributors)
    absx = np.abs(x)
    few = n < min_households
    # p% rule: what the second-largest contributor can learn of the largest must stay uncertain by p%.
    p_rule = (absx - np.abs(t1) - np.abs(t2)) < (p_percent / 100.0) * np.abs(t1)
    top = np.abs(t1) + (np.abs(t2) if dom_n >= 2 else 0)
    dominance = top > (dom_k / 100.0) * np.where(absx > 0, absx, np.inf)
    suppressed = few | p_rule | dominance
    perturbed = x + noise * np.abs(t1) * _magnitude_noise(cell_keys(key_sums), measure)
    return perturbed, suppressed


def protect_shares(
    num: np.ndarray,
    num_sup: np.ndarray,
    den: np.ndarray,
    den_sup: np.ndarray,
    households: np.ndarray,
    min_households_extremes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Share (percent) of two protected counts; suppressed with either part, or at 0/100 % in small cells."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(den > 0, 100.0 * num / den, np.nan)
    share = np.clip(share, 0, 100)
    extreme = ((share <= 0) | (share >= 100)) & (np.asarray(households) < min_households_extremes)
    suppressed = np.asarray(num_sup) | np.asarray(den_sup) | np.isnan(share) | extreme
    return share, suppressed
