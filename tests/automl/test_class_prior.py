"""Automatic training of a sparse softmax output adds a weight of the classes' log training
counts to their biases, the weight its held-out rows choose: a sparse output learns from
sampled classes and ranks a frequent one too low when every class is scored."""
import numpy as np

import sparsebolt as sb
import sparsebolt.automl.udt as udt_module

WEIGHTS = udt_module.PRIOR_WEIGHTS


def _popular(n, seed, n_users=3000, n_classes=2000, share=0.8):
    """A row's label is, with probability ``share``, a Zipf draw over every class, else one
    of its user's three favorite classes."""
    rng = np.random.default_rng(seed)
    favorite = np.random.default_rng(99).integers(0, n_classes, (n_users, 3))
    p = 1.0 / np.arange(1, n_classes + 1) ** 1.1
    users = rng.integers(0, n_users, n)
    labels = np.where(rng.random(n) < share, rng.choice(n_classes, n, p=p / p.sum()),
                      favorite[users, rng.integers(0, 3, n)])
    return [{"user": f"u{u}", "item": f"c{c}"} for u, c in zip(users, labels)]


def _fit(rows, weights, monkeypatch):
    monkeypatch.setattr(udt_module, "PRIOR_WEIGHTS", weights)
    udt = sb.UniversalDeepTransformer({"user": sb.types.categorical(), "item": sb.types.categorical()},
                                      target="item")
    history = udt.train(rows, verbose=False)
    return udt, history


def test_held_out_rows_choose_a_prior_that_lifts_frequent_classes(monkeypatch):
    train, test = _popular(20000, 0), _popular(3000, 1)
    seen = {r["item"] for r in train}
    test = [r for r in test if r["item"] in seen]
    plain, plain_history = _fit(train, (0.0,), monkeypatch)
    adjusted, history = _fit(train, WEIGHTS, monkeypatch)
    assert adjusted.model.output.layer.sparsity < 1.0 and plain_history.prior_weight == 0.0
    assert history.prior_weight > 0.0
    # the same training, then each bias moved by the weight times log(1 + the class's rows
    # among those trained on, the held-out ones left out)
    counts = np.bincount([adjusted.featurizer.labels.index[r["item"]] for r in train],
                         minlength=adjusted.n_classes)
    shift = adjusted.model.output.layer.b.value - plain.model.output.layer.b.value
    trained = np.expm1(shift.astype(np.float64) / history.prior_weight)
    np.testing.assert_allclose(trained, np.round(trained), atol=0.05)
    assert np.all(np.round(trained) <= counts) and np.round(trained).sum() == history.epochs[0]["samples"]
    before = plain.evaluate(test, metrics=["precision@1"])["precision@1"]
    after = adjusted.evaluate(test, metrics=["precision@1"])["precision@1"]
    assert after > before + 0.01


def test_a_dense_output_keeps_its_biases(monkeypatch):
    rows = _popular(3000, 0, n_users=50, n_classes=20)
    udt, history = _fit(rows, WEIGHTS, monkeypatch)
    plain, _ = _fit(rows, (0.0,), monkeypatch)
    assert udt.model.output.layer.sparsity == 1.0 and history.prior_weight == 0.0
    np.testing.assert_array_equal(udt.model.output.layer.b.value, plain.model.output.layer.b.value)


def test_streamed_rows_take_the_prior_from_the_counts_of_the_rows_trained_on(monkeypatch, tmp_path):
    # streamed, the counts come from the first epoch's pass over the chunks (the held-out rows
    # of the first chunk left out), with no pass of their own over the file
    rows = _popular(20000, 0)
    path = tmp_path / "rows.csv"
    path.write_text("user,item\n" + "".join(f"{r['user']},{r['item']}\n" for r in rows))
    monkeypatch.setattr(udt_module, "PRIOR_WEIGHTS", WEIGHTS)
    seen = []
    adjust = udt_module.UniversalDeepTransformer._adjust_for_prior
    monkeypatch.setattr(udt_module.UniversalDeepTransformer, "_adjust_for_prior",
                        lambda self, val, counts, metric: seen.append(counts) or adjust(self, val, counts, metric))
    udt = sb.UniversalDeepTransformer({"user": sb.types.categorical(), "item": sb.types.categorical()},
                                      target="item")
    history = udt.train(path, verbose=False, max_in_memory_rows=8192)
    assert udt.model.output.layer.sparsity < 1.0 and history.prior_weight > 0.0
    (counts,) = seen
    assert counts.sum() == history.epochs[0]["samples"]
    index = udt.featurizer.labels.index
    every = np.bincount([index[r["item"]] for r in rows], minlength=udt.n_classes)
    assert np.all(counts <= every) and (every - counts).sum() == 20000 - history.epochs[0]["samples"]
    # the held-out rows are the first chunk's: the later chunks count whole
    later = np.bincount([index[r["item"]] for r in rows[8192:]], minlength=udt.n_classes)
    assert np.all(counts >= later)
