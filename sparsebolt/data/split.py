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
    # a class of two or more rows in both parts where the shares allow it, else any share
    low = np.minimum(counts - 1, 1)
    share = _rounded(exact, n_held, low, np.maximum(counts - 1, low))
    share = _rounded(exact, n_held, 0, counts, share)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    held = np.zeros(n, dtype=bool)
    for start, k in zip(starts, share):
        held[by_class[start:start + k]] = True
    return np.concatenate([by_class[held[by_class]], by_class[~held[by_class]]]).astype(np.int64)


def _rounded(exact, total, low, high, share=None):
    """int64 shares within [low, high] near ``exact`` that sum to ``total`` where the bounds
    allow: the floors, then one more (less) for the classes of the largest (smallest)
    remainders that have room."""
    share = np.clip(np.floor(exact).astype(np.int64) if share is None else share, low, high)
    while (gap := total - int(share.sum())) != 0:
        if gap > 0:
            room = np.flatnonzero(share < high)
            pick = room[np.argsort(share[room] - exact[room], kind="stable")[:gap]]
            share[pick] += 1
        else:
            room = np.flatnonzero(share > low)
            pick = room[np.argsort(exact[room] - share[room], kind="stable")[:-gap]]
            share[pick] -= 1
        if room.size == 0:
            break
    return share
