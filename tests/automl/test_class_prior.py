"""Automatic training of a sparse softmax output adds a weight of the classes' log training
counts to their biases, the weight its held-out rows choose: a sparse output learns from
sampled classes and ranks a frequent one too low when every class is scored. A dense one of
more than two classes, one a row, over a text input takes a fixed negative weight: it ranks
a frequent class too high."""
import numpy as np
import pytest

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
    # a train with epochs given trains from the learnt biases and puts the chosen shift back
    adjusted.train(train, epochs=1, learning_rate=1e-9, verbose=False)
    np.testing.assert_allclose(adjusted.model.output.layer.b.value, plain.model.output.layer.b.value + shift,
                               atol=1e-5)


def _dense_fit(rows, weight, monkeypatch, user=None, **target):
    # the user's id as a text: the shift is for models over text
    monkeypatch.setattr(udt_module, "DENSE_PRIOR_WEIGHT", weight)
    udt = sb.UniversalDeepTransformer({"user": user or sb.types.text(), "item": sb.types.categorical(**target)},
                                      target="item")
    return udt, udt.train(rows, verbose=False)


def test_a_dense_output_lowers_frequent_classes_by_a_fixed_weight(monkeypatch):
    # the held-out rows choose nothing: the same training, then each bias moved by the
    # fixed weight times log(1 + the class's rows trained on: every row, as the network was
    # trained again on them all; the held-out ones left out where it was not)
    rows = _popular(3000, 0, n_users=50, n_classes=20)
    for share in (udt_module.REFIT_HELD_OUT_SHARE, 1.0):
        monkeypatch.setattr(udt_module, "REFIT_HELD_OUT_SHARE", share)
        udt, history = _dense_fit(rows, -0.25, monkeypatch)
        plain, plain_history = _dense_fit(rows, 0.0, monkeypatch)
        assert udt.model.output.layer.sparsity == 1.0
        assert history.prior_weight == -0.25 and plain_history.prior_weight == 0.0
        assert (history.refit_epochs == history.best_epoch) == (share < 1.0)  # 300 of 3,000 rows held out
        counts = np.bincount([udt.featurizer.labels.index[r["item"]] for r in rows], minlength=udt.n_classes)
        shift = udt.model.output.layer.b.value - plain.model.output.layer.b.value
        trained = np.expm1(shift.astype(np.float64) / -0.25)
        np.testing.assert_allclose(trained, np.round(trained), atol=0.05)
        rows_trained = len(rows) if history.refit_epochs else history.epochs[0]["samples"]
        assert np.all(np.round(trained) <= counts) and np.round(trained).sum() == rows_trained
        assert np.corrcoef(shift, counts)[0, 1] < -0.9


def test_the_next_train_starts_from_the_learnt_biases(monkeypatch, tmp_path):
    # the shift comes out before training again (also after save and load), so trains in a
    # row do not pile shifts onto the biases; a train with epochs given puts the same back
    rows = _popular(3000, 0, n_users=50, n_classes=20)
    udt, history = _dense_fit(rows, -0.25, monkeypatch)
    first = udt.model.output.layer.b.value.copy()
    learnt = first - udt.prior_shift
    assert history.prior_weight == -0.25 and np.abs(udt.prior_shift).max() > 1.0
    udt.save(tmp_path / "m.sbm")
    loaded = sb.UniversalDeepTransformer.load(tmp_path / "m.sbm")
    np.testing.assert_array_equal(loaded.prior_shift, udt.prior_shift)
    for model in (udt, loaded):
        seen = []
        model.model.train = lambda *a, train=model.model.train, m=model, **k: (
            seen.append(m.model.output.layer.b.value.copy()) or train(*a, **k))
        assert model.train(rows, epochs=1, learning_rate=1e-9, verbose=False).prior_weight == 0.0
        np.testing.assert_allclose(seen[0], learnt, atol=1e-6)  # what training started from
        np.testing.assert_array_equal(model.prior_shift, udt.prior_shift)
        np.testing.assert_allclose(model.model.output.layer.b.value, first, atol=1e-5)
    for _ in range(2):  # piled, the biases' spread would grow by the shift's each time
        with pytest.warns(RuntimeWarning, match="held out and then trained on too"):  # the same rows again
            assert udt.train(rows, verbose=False).prior_weight == -0.25
    assert np.std(udt.model.output.layer.b.value) < np.std(first) + 0.5 * np.std(udt.prior_shift)


def test_a_first_train_that_fails_after_the_shift_keeps_none(monkeypatch):
    # the network goes with the failed first train, and the shift it had added with it
    rows = _popular(3000, 0, n_users=50, n_classes=20)

    def fail(model):
        raise RuntimeError("after the shift")

    monkeypatch.setattr(udt_module, "can_pin", fail)
    udt = sb.UniversalDeepTransformer({"user": sb.types.text(), "item": sb.types.categorical()}, target="item")
    try:
        udt.train(rows, verbose=False)
    except RuntimeError:
        pass
    assert udt.model is None and udt.prior_shift is None


def test_a_class_introduced_after_the_shift_is_taken_out_with_the_others(monkeypatch):
    # introduce_label fits the new neuron against the shifted biases: it takes the live
    # classes' mean shift, so the next train does not start it lower against them
    rows = _popular(3000, 0, n_users=50, n_classes=20)
    udt, _ = _dense_fit(rows, -0.25, monkeypatch)
    live = udt.prior_shift.copy()
    forgotten = udt.featurizer.labels.index["c3"]
    udt.forget("c3")
    assert udt.prior_shift[forgotten] == 0.0
    k = udt.introduce_label([{"user": "u1"}, {"user": "u2"}], "fresh")
    assert k == forgotten and udt.prior_shift.shape[0] == udt.model.output.layer.dim
    others = np.arange(live.shape[0]) != k
    np.testing.assert_allclose(udt.prior_shift[k], live[others].mean(), rtol=1e-5)
    k2 = udt.introduce_label([{"user": "u3"}], "newer")
    assert k2 == live.shape[0] and udt.prior_shift.shape[0] == live.shape[0] + 1 and udt.prior_shift[k2] < -0.5


def test_dense_outputs_of_two_classes_several_a_row_or_no_text_keep_their_biases(monkeypatch):
    # a typed table without text averages its epochs, and the shift lost there
    rows = _popular(3000, 0, n_users=50, n_classes=20)
    several = [dict(r, item=f"{r['item']};c{(int(r['item'][1:]) + 1) % 20}") for r in rows]
    two = [dict(r, item=f"c{int(r['item'][1:]) % 2}") for r in rows]
    for data, target in ((several, {"delimiter": ";"}), (two, {}), (rows, {"user": sb.types.categorical()})):
        udt, history = _dense_fit(data, -0.25, monkeypatch, **target)
        plain, _ = _dense_fit(data, 0.0, monkeypatch, **target)
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
                        lambda self, val, counts, metric, weight=None: seen.append(counts)
                        or adjust(self, val, counts, metric, weight))
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
