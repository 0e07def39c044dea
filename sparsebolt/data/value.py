"""The batch tensor passed between layers."""
import numpy as np


class Value:
    """A batch of ``dim``-wide vectors: dense ``vals : float32[B, dim]`` (``ids`` is None),
    or sparse CSR rows ``offsets : int64[B + 1]``, ``ids : int32[nnz]``, ``vals : float32[nnz]``.
    A sparse layer's output has rows of equal width."""

    __slots__ = ("dim", "vals", "ids", "offsets")

    def __init__(self, dim, vals, ids=None, offsets=None):
        self.dim = dim
        self.vals = vals
        self.ids = ids
        self.offsets = offsets

    @classmethod
    def dense(cls, vals):
        """From a 2-D array of rows (converted to contiguous float32)."""
        vals = np.ascontiguousarray(vals, dtype=np.float32)
        if vals.ndim != 2:
            raise ValueError(f"Dense values must be a 2-D array [batch, dim]. Got shape {vals.shape}.")
        return cls(vals.shape[1], vals)

    @classmethod
    def fixed_width(cls, dim, ids, vals):
        """Sparse rows of equal width from ``ids, vals : [B, width]``."""
        n, width = ids.shape
        offsets = np.arange(n + 1, dtype=np.int64) * width
        return cls(dim, vals.reshape(-1), ids.reshape(-1), offsets)

    @property
    def is_dense(self):
        return self.ids is None

    @property
    def batch_size(self):
        return self.vals.shape[0] if self.is_dense else self.offsets.shape[0] - 1

    def row_offsets(self):
        """Row boundaries of the flat value array, dense or sparse."""
        if self.is_dense:
            return np.arange(self.vals.shape[0] + 1, dtype=np.int64) * self.dim
        return self.offsets

    def flat(self):
        """The values as one flat array (a view)."""
        return self.vals.reshape(-1)

    def to_dense(self):
        """float32[B, dim]"""
        if self.is_dense:
            return self.vals
        out = np.zeros((self.batch_size, self.dim), dtype=np.float32)
        rows = np.repeat(np.arange(self.batch_size), np.diff(self.offsets))
        np.add.at(out, (rows, self.ids), self.vals)
        return out
