"""The UDT readies a sparse output for sparse inference after training: on inputs unlike
any training row, sparse inference stays within a point of dense inference."""
import csv
import warnings

import numpy as np
import pytest

import sparsebolt as sb

from ..synthetic import planted_rows


def _accuracy(udt, rows, sparse):
    predicted = [p[0][0] for p in udt.predict_batch([{"text": r["text"]} for r in rows], sparse_inference=sparse)]
    return float(np.mean([p == r["label"] for p, r in zip(predicted, rows)]))


def test_sparse_inference_on_unseen_rows_is_within_a_point_of_dense(one_thread):
    rng = np.random.default_rng(0)
    train, test = planted_rows(rng, 12000), planted_rows(rng, 2000)
    udt = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "label": sb.types.categorical()},
                                      target="label", sparsity=0.02, embedding_dim=64, input_dim=1 << 16)
    udt.train(train, epochs=8, verbose=False)
    layer = udt.model.output.layer
    trained_tables = layer.sampling.n_tables // 4
    assert layer.sparsity == 0.01 and layer.index.tables.pinned.any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # readied by train: no warning
        dense, sparse = _accuracy(udt, test, False), _accuracy(udt, test, True)
    assert dense > 0.8 and sparse >= dense - 0.01, (dense, sparse)

    # the next train starts from the training settings, and readies the tables again after
    udt._training_tables()
    assert layer.sampling is None and layer.sparsity == 0.02 and layer.index.config.n_tables == trained_tables
    # with training's tables and no pins, sparse inference misses what dense inference finds,
    # and says so (as after training on streamed rows)
    with pytest.warns(UserWarning, match="no pinned training labels .* call prepare_sparse_inference"):
        assert _accuracy(udt, test, True) < dense - 0.02
    # readied again by hand, from the rows as given (held-out slice included)
    assert udt.prepare_sparse_inference(train, verbose=False) > 0
    assert layer.sampling.n_tables == 4 * trained_tables and _accuracy(udt, test, True) >= dense - 0.01
    udt.train(train[:2000], epochs=1, verbose=False)
    assert layer.sampling.n_tables == 4 * trained_tables and layer.sparsity == 0.01


def test_streamed_training_readies_sparse_inference_too(tmp_path):
    rng = np.random.default_rng(1)
    rows, test = planted_rows(rng, 6000, n_classes=200), planted_rows(rng, 1000, n_classes=200)
    path = tmp_path / "train.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([r["text"], r["label"]] for r in rows)
    udt = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "label": sb.types.categorical()},
                                      target="label", sparsity=0.05, embedding_dim=32, input_dim=1 << 14)
    udt.train(str(path), epochs=8, max_in_memory_rows=1000, verbose=False)
    layer = udt.model.output.layer
    assert layer.index.frozen and layer.index.tables.pinned.any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # readied by train (it had warned: no pinned training labels)
        dense, sparse = _accuracy(udt, test, False), _accuracy(udt, test, True)
        udt.evaluate(str(path), metrics=["precision@1"], sparse_inference=True)
    assert dense > 0.8 and sparse >= dense - 0.01, (dense, sparse)
