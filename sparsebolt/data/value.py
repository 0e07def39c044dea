"""The batch tensor passed between layers."""
from __future__ import annotations

import numpy as np


class Value:
    """A batch of ``dim``-wide vectors, dense or sparse (CSR rows). A sparse layer's
    output has rows of equal width. The arrays are stored as given, unchecked: ``dense``,
    ``fixed_width`` and ``sb.data.csr_value`` make Values with the right dtypes.

    Parameters
    ----------
    dim : int
        The vectors' width.
    vals : ndarray
        Dense: float32 of shape (batch_size, dim). Sparse: float32 of shape (nnz,).
    ids : ndarray or None, default=None
        Sparse: int32 of shape (nnz,), the column of each value; None for dense.
    offsets : ndarray or None, default=None
        Sparse: int64 of shape (batch_size + 1,), row boundaries; None for dense.
    """

    __slots__ = ("dim", "vals", "ids", "offsets")

    def __init__(self, dim: int, vals: np.ndarray, ids: np.ndarray | None = None,
                 offsets: np.ndarray | None = None) -> None:
        self.dim = dim
        self.vals = vals
        self.ids = ids
        self.offsets = offsets

    @classmethod
    def dense(cls, vals: np.ndarray) -> Value:
        """A dense Value from a 2-D array of rows.

        Parameters
        ----------
        vals : array-like of shape (batch_size, dim)
            Converted to contiguous float32.

        Returns
        -------
        Value

        Raises
        ------
        ValueError
            When ``vals`` is not 2-D.
        """
        vals = np.ascontiguousarray(vals, dtype=np.float32)
        if vals.ndim != 2:
            raise ValueError(f"The 'vals' parameter of Value.dense must be a 2-D array [batch, dim]. Got an array "
                             f"of shape {vals.shape} instead.")
        return cls(vals.shape[1], vals)

    @classmethod
    def fixed_width(cls, dim: int, ids: np.ndarray, vals: np.ndarray) -> Value:
        """A sparse Value whose rows all hold ``width`` entries.

        Parameters
        ----------
        dim : int
            The vectors' width.
        ids : ndarray of shape (batch_size, width)
            int32 column ids.
        vals : ndarray of shape (batch_size, width)
            float32 values.

        Returns
        -------
        Value
            Views of ``ids`` and ``vals`` (flattened) where they are contiguous.
        """
        n, width = ids.shape
        offsets = np.arange(n + 1, dtype=np.int64) * width
        return cls(dim, vals.reshape(-1), ids.reshape(-1), offsets)

    @property
    def is_dense(self) -> bool:
        """Whether the values are dense (``ids`` is None)."""
        return self.ids is None

    @property
    def batch_size(self) -> int:
        """The number of rows."""
        return self.vals.shape[0] if self.is_dense else self.offsets.shape[0] - 1

    def row_offsets(self) -> np.ndarray:
        """Row boundaries of the flat value array, dense or sparse.

        Returns
        -------
        ndarray of int64, shape (batch_size + 1,)
        """
        if self.is_dense:
            return np.arange(self.vals.shape[0] + 1, dtype=np.int64) * self.dim
        return self.offsets

    def flat(self) -> np.ndarray:
        """The values as one flat array (a view).

        Returns
        -------
        ndarray of float32
        """
        return self.vals.reshape(-1)

    def to_dense(self) -> np.ndarray:
        """The rows as a dense array (dense values are returned as they are, not copied).

        Returns
        -------
        ndarray of float32, shape (batch_size, dim)
        """
        if self.is_dense:
            return self.vals
        out = np.zeros((self.batch_size, self.dim), dtype=np.float32)
        rows = np.repeat(np.arange(self.batch_size), np.diff(self.offsets))
        np.add.at(out, (rows, self.ids), self.vals)
        return out
