"""Item-item co-occurrence beside a model that predicts a user's next item from their history
(temporal tracking whose items are the target): the network's log-probabilities plus ``weight``
times each item's summed cosine similarity to the user's past items (item-based collaborative
filtering, Sarwar et al. 2001), and, where the held-out rows show that users do not come back
to an item, the past items left out of the ranking. Automatic training chooses both on its
held-out rows (docs/automl.md, "Items bought together").
"""
from __future__ import annotations

import numpy as np

from .._state import take
from ..data.value import Value
from ..kernels import cooccurrence as kernels

# the most similar items kept an item: all of them while the table holds at most
# NEIGHBOR_BUDGET entries, else the NEIGHBOR_BUDGET / n_items best (never fewer than
# MIN_NEIGHBORS). Kept at 200 / 500 / 1,000 / all, MovieLens' recall@10 (items sharing users
# with up to 1,681 others) was 0.1812 / 0.1853 / 0.1863 / 0.1864.
NEIGHBOR_BUDGET, MIN_NEIGHBORS = 1 << 24, 200
# a table holding at least this share of all item pairs, over at most DENSE_ITEMS items, is
# also kept as a matrix (not saved), whose rows add up vectorised: 14x faster than the lists
# on MovieLens' held-out rows (every item there is every other one's neighbor)
DENSE_SHARE, DENSE_ITEMS = 0.25, 4096
# the weights of the similarity score automatic training chooses from, by the held-out rows'
# top-k metric (0 where the network alone ranks best)
HISTORY_WEIGHTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
_OWNER = "the item neighbors of UniversalDeepTransformer"
_NO_MATRIX = np.zeros((0, 0), dtype=np.float32)


def user_sets(users, items, n_items):
    """(offsets int64[U + 1], items int32[nnz]): each user's distinct items, for users
    0 .. U - 1 (``users`` int[n], each row's user; ``items`` int[n], its class id below
    ``n_items``, or below 0 for none, left out)."""
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    n_users = int(users.max()) + 1 if users.size else 0
    keep = items >= 0
    pairs = np.unique(users[keep] * n_items + items[keep])  # by user, then item
    offsets = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // n_items, minlength=n_users), out=offsets[1:])
    return offsets, (pairs % n_items).astype(np.int32)


def blended_probability(scores, log_norm):
    """exp(scores - log_norm) (arrays that broadcast) as float32: the probabilities of
    ``ItemNeighbors.blend``'s scores; 0 where a row has nothing left (-inf - -inf)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.exp(scores - log_norm), nan=0.0).astype(np.float32)


class ItemNeighbors:
    """Each item's most similar items (CSR over class ids; ``NEIGHBOR_BUDGET``) and how a ranking
    takes them: ``weight`` on their summed similarity, ``exclude`` the past items."""

    def __init__(self, offsets, ids, vals, weight=0.0, exclude=False):
        self.offsets, self.ids, self.vals = offsets, ids, vals
        self.weight = float(weight)
        self.exclude = bool(exclude)
        self._matrix = None

    @classmethod
    def fit(cls, user_offsets, user_items, n_items):
        """From users' item sets (``user_sets``) of class ids below ``n_items``."""
        users = kernels.item_users(user_offsets, user_items, n_items)  # built once for both passes
        counts = kernels.neighbor_counts(user_offsets, user_items, *users,
                                         max(MIN_NEIGHBORS, NEIGHBOR_BUDGET // max(n_items, 1)))
        offsets = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        ids = np.empty(offsets[-1], dtype=np.int32)
        vals = np.empty(offsets[-1], dtype=np.float32)
        kernels.item_neighbors(user_offsets, user_items, *users, offsets, ids, vals)
        return cls(offsets, ids, vals)

    @property
    def n_items(self):
        return self.offsets.shape[0] - 1

    def _table(self, n_items):
        """The CSR arrays for an output of ``n_items`` (classes added after the fit have none)."""
        offsets = self.offsets
        if n_items > self.n_items:
            offsets = np.concatenate([offsets, np.full(n_items - self.n_items, offsets[-1], dtype=np.int64)])
        return offsets, self.ids, self.vals

    def _dense(self, n_items):
        """The table as a float32[n_items, n_items] matrix, where ``DENSE_SHARE`` / ``DENSE_ITEMS``
        say so (built once), else None."""
        if n_items > DENSE_ITEMS or self.offsets[-1] < DENSE_SHARE * n_items * (n_items - 1):
            return None
        if self._matrix is None or self._matrix.shape[0] != n_items:
            self._matrix = np.empty((n_items, n_items), dtype=np.float32)
            kernels.dense_neighbors(self.offsets, self.ids, self.vals, self._matrix)
        return self._matrix

    def scores(self, past, n_items):
        """float32[n, n_items]: each row's summed similarity of every item to its past items
        (``past``: offsets int64[n + 1], class ids int32[m])."""
        out = np.empty((past[0].shape[0] - 1, n_items), dtype=np.float32)
        matrix = self._dense(n_items)
        kernel = kernels.history_scores_serial if out.shape[0] == 1 else kernels.history_scores
        kernel(past[0], past[1], *self._table(n_items), _NO_MATRIX if matrix is None else matrix, out)
        return out

    def blend(self, output, past):
        """(scores, log_norm): of ``output`` (a Value of the rows' probabilities over the
        classes, dense or the retrieved ones), the log-scores with the similarity and the
        exclusion applied (a Value of its shape; -inf for what is left out) and each row's
        log-normaliser (float32[B]): a blended probability is exp(score - log_norm)."""
        vals = output.flat().copy()
        out_ids = output.ids if output.ids is not None else np.zeros(0, dtype=np.int32)
        log_norm = np.empty(output.batch_size, dtype=np.float32)
        kernel = kernels.blend_history_serial if output.batch_size == 1 else kernels.blend_history
        kernel(vals, output.row_offsets(), out_ids, output.is_dense, past[0], past[1], self.scores(past, output.dim),
               self.weight, self.exclude, log_norm)
        if output.is_dense:
            return Value.dense(vals.reshape(output.vals.shape)), log_norm
        return Value(output.dim, vals, output.ids, output.offsets), log_norm

    @staticmethod
    def probabilities(scores, log_norm):
        """The blended probabilities of ``blend``'s (scores, log_norm), a Value alike."""
        p = blended_probability(scores.flat(), np.repeat(log_norm, np.diff(scores.row_offsets())))
        if scores.is_dense:
            return Value.dense(p.reshape(scores.vals.shape))
        return Value(scores.dim, p, scores.ids, scores.offsets)

    def get_state(self):
        return ({"weight": self.weight, "exclude": self.exclude},
                {"offsets": self.offsets, "ids": self.ids, "vals": self.vals})

    @classmethod
    def from_state(cls, meta, arrays, n_items):
        """Checked: ids within the ``n_items`` classes, offsets increasing."""
        n = arrays["offsets"].shape[0] - 1 if "offsets" in arrays else -1
        if not 0 <= n <= n_items:
            raise ValueError(f"The array 'offsets' of {_OWNER} must have at most {n_items + 1} entries.")
        offsets = take(_OWNER, arrays, "offsets", (n + 1,), np.int64, 0)
        if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ValueError(f"The array 'offsets' of {_OWNER} must start at 0 and never decrease.")
        ids = take(_OWNER, arrays, "ids", (offsets[-1],), np.int32, 0, n_items)
        vals = take(_OWNER, arrays, "vals", (offsets[-1],), np.float32)
        weight, exclude = meta.get("weight"), meta.get("exclude")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"The saved setting 'weight' of {_OWNER} must be a number >= 0. Got {weight!r} instead.")
        if not isinstance(exclude, bool):
            raise ValueError(f"The saved setting 'exclude' of {_OWNER} must be true or false. Got {exclude!r} instead.")
        return cls(offsets, ids, vals, weight, exclude)
