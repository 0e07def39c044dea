"""Holding rows out by class: a seeded order of rows whose first ones keep each class's share."""
from __future__ import annotations

import numpy as np


def stratified_order(classes: np.ndarray, n_held: int, seed: int) -> np.ndarray:
    """A seeded order of the rows whose first ``n_held`` hold each class in its share of the
    rows (largest remainders round it), at least one row of a class of two or more and never
    all of a class's rows; each class's rows in a random order, as a shuffle would take them.

    Parameters
    ----------
    classes : int[n]
        Each row's class.
    n_held : int
        Rows to hold out, 0 to n.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    int64[n]
        A permutation of the rows, the held-out ones first.
    """
    n = classes.shape[0]
    if not 0 <= n_held <= n:
        raise ValueError(f"n_held must be in [0, {n}]. Got {n_held} instead.")
    perm = np.random.default_rng(seed).permutation(n)
    by_class = perm[np.argsort(classes[perm], kind="stable")]
    _, counts = np.unique(classes, return_counts=True)
    exact = n_held * counts / max(n, 1)
    share = np.floor(exact).astype(np.int64)
    extra = n_held - int(share.sum())
    share[np.argsort(share - exact, kind="stable")[:extra]] += 1
    # a class of two or more rows in both parts, its rows taken from the largest shares
    low = np.minimum(counts - 1, 1)
    high = np.maximum(counts - 1, low)
    for c in np.flatnonzero(share < low):
        donor = int(np.argmax(share - low))
        if share[donor] <= low[donor]:
            break
        share[donor] -= 1
        share[c] += 1
    for c in np.flatnonzero(share > high):
        taker = int(np.argmax(high - share))
        if share[taker] >= high[taker]:
            break
        share[c] -= 1
        share[taker] += 1
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    held = np.zeros(n, dtype=bool)
    for start, k in zip(starts, share):
        held[by_class[start:start + k]] = True
    return np.concatenate([by_class[held[by_class]], by_class[~held[by_class]]]).astype(np.int64)
