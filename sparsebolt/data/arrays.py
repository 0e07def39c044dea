"""NumPy and SciPy data in: a feature matrix ``X`` and labels ``y`` as a SparseDataset.

SciPy is not a dependency: a matrix can only be a ``scipy.sparse`` one when the caller has
imported ``scipy.sparse``, so the check looks it up in ``sys.modules`` instead of importing it.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._validation import _fail, check_int, check_type
from .batch import Batch, Labels, SparseDataset
from .csr import entry_row


def _scipy_sparse(x: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def is_array_data(x: Any) -> bool:
    """Whether ``x`` is a matrix of samples (SciPy sparse, NumPy or a pandas DataFrame)
    rather than a data set of Batches."""
    return _scipy_sparse(x) or isinstance(x, np.ndarray) or type(x).__module__.split(".")[0] == "pandas"


def _csr_of(owner: str, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """(offsets int64[N + 1], ids int32[nnz], vals float32[nnz], shape) of a matrix. A CSR
    matrix of int32 indices and float32 values is used without copying them (the offsets,
    N + 1 of them, are copied to int64); other sparse formats go through ``tocsr``."""
    if _scipy_sparse(x):
        if x.ndim != 2:
            _fail(owner, "X", "a 2-D matrix of samples by features", f"a {x.ndim}-D sparse array")
        if x.format != "csr":
            x = x.tocsr()
        if x.dtype.kind not in "biuf":
            _fail(owner, "X", "a matrix of real numbers", f"dtype {x.dtype}")
        return (x.indptr.astype(np.int64), x.indices.astype(np.int32, copy=False),
                _float32_values(owner, x.data), x.shape)
    dense = np.asarray(x)
    if dense.ndim != 2:
        _fail(owner, "X", "a 2-D matrix of samples by features", f"shape {dense.shape}")
    if dense.dtype.kind not in "biuf":
        _fail(owner, "X", "a matrix of real numbers", f"dtype {dense.dtype}")
    rows, ids = np.nonzero(dense)
    offsets = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=offsets[1:])
    return offsets, ids.astype(np.int32), _float32_values(owner, dense[rows, ids]), dense.shape


def _float32_values(owner: str, values: np.ndarray) -> np.ndarray:
    """``values`` as float32, refusing a finite value float32 cannot hold (it would read as
    infinity, and be refused as not finite, which it was not)."""
    with np.errstate(over="ignore"):  # refused below, by name
        out = values.astype(np.float32, copy=False)
    if values.dtype.kind == "f" and values.dtype.itemsize > 4 and not np.isfinite(out).all():
        over = np.isfinite(values) & ~np.isfinite(out)
        if over.any():
            _fail(owner, "X", f"values within float32's range (magnitude at most {np.finfo(np.float32).max:.4g})",
                  float(values[np.argmax(over)]))
    return out


def _check_label_ids(owner: str, ids: np.ndarray, n_labels: int, what: str) -> np.ndarray:
    if ids.dtype.kind not in "iu":
        _fail(owner, "y", f"{what} of integer label ids (map class names to ids first, or use "
              f"sparsebolt.sklearn.SparseClassifier)", ids.dtype)
    if ids.size and (ids.min() < 0 or ids.max() >= n_labels):
        bad = ids[(ids < 0) | (ids >= n_labels)][0]
        _fail(owner, "y", f"{what} of label ids in [0, {n_labels}), the model's outputs", int(bad))
    return ids.astype(np.int32, copy=False)


def labels_of(owner: str, y: Any, n_samples: int, n_labels: int) -> Labels:
    """Labels from one integer id a sample (int[N]), one list of ids a sample, or an
    indicator matrix (N x n_labels, SciPy sparse or dense; a nonzero marks a label)."""
    if _scipy_sparse(y) or (isinstance(y, np.ndarray) and y.ndim == 2):
        shape = y.shape
        if len(shape) != 2 or shape[1] != n_labels:
            _fail(owner, "y", f"an indicator matrix with one column per output ({n_labels})", f"shape {shape}")
        values = y.data if _scipy_sparse(y) else y
        bad = ~np.isfinite(values) | (values < 0) if values.dtype.kind in "fiub" else None
        if bad is None or bad.any():
            _fail(owner, "y", "an indicator matrix of finite values >= 0 (a nonzero marks a label)",
                  values.dtype if bad is None else values[bad].reshape(-1)[0].item())
        if _scipy_sparse(y):
            y = y.tocsr()
            keep = y.data != 0
            rows = np.repeat(np.arange(shape[0]), np.diff(y.indptr))[keep]
            ids = y.indices[keep]
        else:
            rows, ids = np.nonzero(y)
        offsets = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=offsets[1:])
        labels = Labels(offsets, ids)
    elif isinstance(y, (list, tuple)) and y and all(isinstance(r, (list, tuple, np.ndarray)) for r in y):
        flat = np.asarray([i for r in y for i in r])
        ids = _check_label_ids(owner, flat if flat.size else flat.astype(np.int32), n_labels, "lists")
        offsets = np.zeros(len(y) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in y], out=offsets[1:])
        labels = Labels(offsets, ids)
    else:
        ids = np.asarray(y)
        if ids.ndim != 1:
            _fail(owner, "y", "one label id a sample (1-D), lists of ids, or an indicator matrix",
                  f"shape {ids.shape}")
        labels = Labels(np.arange(ids.shape[0] + 1, dtype=np.int64), _check_label_ids(owner, ids, n_labels, "one id a sample"))
    if labels.batch_size != n_samples:
        _fail(owner, "y", f"labels for each of the {n_samples} samples of X", f"{labels.batch_size} label rows")
    return labels


def to_dataset(owner: str, x: Any, y: Any, n_features: int, n_labels: int, batch_size: int = 256,
               shuffle: bool = False, seed: Any = 0, labels_required: bool = False) -> SparseDataset:
    """A SparseDataset of the samples of ``x`` (N x n_features) and labels ``y`` (None:
    no labels, for prediction). Errors follow the parameter message template of ``owner``."""
    batch_size = check_int(owner, "batch_size", batch_size, 1)
    shuffle = check_type(owner, "shuffle", shuffle, (bool, np.bool_), "a bool")
    offsets, ids, vals, shape = _csr_of(owner, x)
    if shape[1] != n_features:
        _fail(owner, "X", f"a matrix of {n_features} feature columns, the model input's width", f"shape {shape}")
    if shape[0] == 0:
        _fail(owner, "X", "a matrix of at least one sample", f"shape {shape}")
    finite = np.isfinite(vals)
    if not finite.all():
        k = int(np.argmin(finite))
        _fail(owner, "X", f"finite (no NaN or infinity); sample {entry_row(offsets, k)} is not", float(vals[k]))
    if y is None:
        if labels_required:
            _fail(owner, "y", "the labels of X's samples", None)
        labels = Labels(np.zeros(shape[0] + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    else:
        labels = labels_of(owner, y, shape[0], n_labels)
    return SparseDataset(offsets, ids, vals, labels, n_features, batch_size=batch_size, shuffle=bool(shuffle),
                         seed=seed)


def as_data(owner: str, model: Any, data: Any, y: Any, batch_size: int | None, shuffle: bool | None,
            labels_required: bool, default_shuffle: bool = False) -> Any:
    """``data`` itself when it is a data set of Batches, else the SparseDataset of the
    matrix ``data`` and labels ``y`` for ``model`` (one input). Shuffling, when asked, is
    seeded from the model's seed and its epoch count, so a seeded run repeats."""
    if not is_array_data(data):
        _check_batches(owner, "data", data)
        for name, value in (("y", y), ("batch_size", batch_size), ("shuffle", shuffle)):
            if value is not None:
                _fail(owner, name, "None when the data is a data set of Batches (it is for a matrix X)",
                      value)
        return data
    if len(model.inputs) != 1:
        _fail(owner, "X", f"a data set of Batches for a model of {len(model.inputs)} inputs (a matrix feeds "
              "a model of one)", type(data).__name__)
    return to_dataset(owner, data, y, model.inputs[0].dim, model.output.dim,
                      batch_size=256 if batch_size is None else batch_size,
                      shuffle=default_shuffle if shuffle is None else shuffle,
                      seed=[model.seed, model.epochs], labels_required=labels_required)


def as_validation(owner: str, model: Any, validation: Any, batch_size: int | None) -> Any:
    """A pair ``(X_val, y_val)`` (or a list of the two) as a SparseDataset for ``model``; a
    data set of Batches or None unchanged; a matrix without its labels refused before any
    training."""
    if isinstance(validation, (tuple, list)) and len(validation) == 2 and is_array_data(validation[0]):
        return as_data(owner, model, validation[0], validation[1], batch_size, None, True)
    if is_array_data(validation):
        _fail(owner, "validation", "a pair (X_val, y_val) of samples and their labels, or a data set of Batches",
              f"a {type(validation).__name__} without labels")
    if validation is not None:
        _check_batches(owner, "validation", validation)
    return validation


def _check_batches(owner: str, name: str, data: Any) -> None:
    """Refuse a list or tuple that is not of Batches: rows as lists are no matrix here (NumPy
    makes one of them), and each would fail deep inside as an object without ``inputs``."""
    if isinstance(data, (list, tuple)) and not all(isinstance(b, Batch) for b in data):
        matrix = "a matrix of samples" if name == "data" else "a pair (X_val, y_val) whose X_val is a matrix"
        _fail(owner, name, f"a data set of Batches (a SparseDataset, load_svm's) or {matrix} (a NumPy array, "
              "SciPy sparse matrix or DataFrame; np.asarray makes one of a list of rows)",
              f"a {type(data).__name__} of {type(next(b for b in data if not isinstance(b, Batch))).__name__}")
