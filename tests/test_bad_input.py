"""Bad input gets a clear error that names the parameter or value, never a numba traceback."""
import os

import numpy as np
import pytest

import sparsebolt as sb

from .synthetic import clustered, small_model


@pytest.mark.parametrize("sparsity", [0.0, -0.1, 1.5, float("nan"), "0.1"])
def test_sparsity_outside_unit_interval(sparsity):
    with pytest.raises(ValueError, match=r"The 'sparsity' parameter of FullyConnected must be a number in \(0\.0, 1\.0\]\. Got"):
        sb.FullyConnected(10, sparsity=sparsity)


@pytest.mark.parametrize("name", ["beta1", "beta2"])
def test_adam_decays_must_be_below_one(name):
    # 1 would divide by zero in the bias correction of the first step
    with pytest.raises(ValueError, match=rf"The '{name}' parameter of Adam must be a number in \[0.0, 1.0\)\. Got 1.0"):
        sb.nn.optimizers.Adam(**{name: 1.0})
    assert getattr(sb.nn.optimizers.Adam(**{name: 0.0}), name) == 0.0


def test_sparsity_message_follows_the_template():
    with pytest.raises(ValueError) as err:
        sb.FullyConnected(10, sparsity=1.5)
    assert str(err.value) == "The 'sparsity' parameter of FullyConnected must be a number in (0.0, 1.0]. Got 1.5 instead."


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"'activation' .* one of 'linear', 'relu', 'tanh', 'sigmoid', 'softmax'\. Got 'gelu'"):
        sb.FullyConnected(10, activation="gelu")
    with pytest.raises(ValueError, match=r"'activation' parameter of Embedding"):
        sb.Embedding(10, activation="swish")
    with pytest.raises(ValueError, match=r"'sampling' .* 'dwta', 'srp', 'fast_srp', 'sparse_wta', 'random'"):
        sb.FullyConnected(10, sparsity=0.5, sampling="minhashx")
    with pytest.raises(ValueError, match=r"The 'metrics' parameter of evaluate must be one of 'precision@k', "
                                         r"'recall@k'.*Got 'precision@0' instead\."):
        small_model().evaluate(clustered(n=50), ["precision@0"])
    with pytest.raises(ValueError, match=r"'loss' parameter of Model must be one of"):
        small_model_with(loss="mse")
    with pytest.raises(ValueError, match=r"'optimizer' parameter of Model must be one of 'adam', 'sgd'"):
        small_model_with(optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"'family' parameter of LSHConfig"):
        sb.LSHConfig(family="simhash")


def small_model_with(**kw):
    inp = sb.Input(dim=20)
    out = sb.FullyConnected(5, activation="softmax")(inp)
    return sb.Model(inp, out, **kw)


def test_loss_and_output_activation_must_agree():
    inp = sb.Input(dim=20)
    out = sb.FullyConnected(5, activation="relu", name="scores")(inp)
    with pytest.raises(ValueError, match=r"^The 'loss' parameter of Model must be a loss for the activation 'relu' of "
                                         r"the output layer 'scores' \(none: give the output layer "
                                         r"activation='softmax' or 'sigmoid'\)\. Got CategoricalCrossEntropy, which "
                                         r"needs activation='softmax', instead\.$"):
        sb.Model(inp, out)
    out = sb.FullyConnected(5, activation="sigmoid", name="out")(inp)
    with pytest.raises(ValueError, match=r"^The 'loss' parameter of Model must be a loss for the activation 'sigmoid' "
                                         r"of the output layer 'out' \('binary_cross_entropy'\)\. Got "
                                         r"CategoricalCrossEntropy, which needs activation='softmax', instead\.$"):
        sb.Model(inp, out)
    assert sb.Model(inp, out, loss="binary_cross_entropy").loss.activation == "sigmoid"


def test_a_models_graph_is_refused_in_the_parameter_template():
    inp = sb.Input(dim=20)
    hidden = sb.Embedding(8, name="twin")(inp)
    with pytest.raises(ValueError, match=r"The 'inputs' parameter of Model must hold sb.Input nodes\. Got the output "
                                         r"of 'twin' instead\.$"):
        sb.Model(hidden, sb.FullyConnected(5, activation="softmax")(hidden))
    with pytest.raises(ValueError, match=r"The 'outputs' parameter of Model must be the output of a FullyConnected "
                                         r"layer\. Got the output of Embedding 'twin' instead\.$"):
        sb.Model(inp, hidden)
    out = sb.FullyConnected(5, activation="softmax", name="twin")(hidden)
    with pytest.raises(ValueError, match=r"The layers of a Model must have unique names\. Got \['twin'\] more than "
                                         r"once instead\.$"):
        sb.Model(inp, out)


def test_graph_misuse():
    inp = sb.Input(dim=20)
    layer = sb.FullyConnected(5, activation="softmax")
    layer(inp)
    with pytest.raises(ValueError, match="already part of a graph"):
        layer(inp)
    with pytest.raises(TypeError, match=r"^The 'inputs' parameter of FullyConnected 'fc' must be outputs of sb.Input "
                                        r"or of another layer\. Got ndarray instead\.$"):
        sb.FullyConnected(3, name="fc")(np.zeros((2, 20)))
    with pytest.raises(ValueError, match=r"^The 'inputs' parameter of FullyConnected 'fc' must be 1 node\(s\)\. Got 2 "
                                         r"instead\.$"):
        sb.FullyConnected(3, name="fc")(inp, sb.Input(dim=3))
    with pytest.raises(ValueError, match=r"^The 'inputs' parameter of Concatenate 'cat' must be at least 2 nodes\. Got 1 "
                                         r"instead\.$"):
        sb.Concatenate(name="cat")(inp)
    other = sb.Input(dim=3, name="extra")
    out = sb.FullyConnected(4, activation="softmax")(sb.Concatenate()(inp, other))
    with pytest.raises(ValueError, match=r"^The 'inputs' parameter of Model must hold every sb.Input the output depends "
                                         r"on\. Got 1 input\(s\), without Input 'extra' of dim 3, instead\.$"):
        sb.Model(inp, out)
    with pytest.raises(ValueError, match="'dim' parameter of Input must be an int >= 1. Got 0"):
        sb.Input(dim=0)


def test_batches_that_do_not_fit_the_model():
    model = small_model(n_features=2000, n_classes=500)
    data = clustered(n=20)
    good = data.batch(np.arange(4))
    bad_ids = data.batch(np.arange(4))
    bad_ids.inputs[0].ids[0] = 2000
    with pytest.raises(ValueError, match=r"Input 'inputlayer_\d+' expects feature ids in \[0, 2000\)\. Got id 2000"):
        model.train([bad_ids], epochs=1, verbose=False)
    for bad in (np.nan, np.inf, -np.inf):  # NaN scores would rank arbitrary ids (issue 15, finding 7)
        nan_vals = data.batch(np.arange(4))
        nan_vals.inputs[0].vals[nan_vals.inputs[0].offsets[2] + 1] = bad
        with pytest.raises(ValueError, match=rf"Input 'inputlayer_\d+' expects finite values\. Sample 2 has {bad}"):
            model.predict(nan_vals.inputs[0])
    dense = np.zeros((3, 2000), dtype=np.float32)
    dense[1, 5] = np.nan
    with pytest.raises(ValueError, match="expects finite values. Sample 1 has nan"):
        model.predict(sb.Value.dense(dense))
    for method, args in (("train_step", (1e-3,)), ("compute_gradients", ())):
        with pytest.raises(ValueError, match=rf"^The 'batch' parameter of {method} must have labels\. Got a batch "
                                             rf"without labels instead\.$"):
            getattr(model, method)(sb.data.Batch(good.inputs), *args)
    bad_labels = data.batch(np.arange(4))
    bad_labels.labels.ids[1] = 777
    with pytest.raises(ValueError, match=r"Labels must be ids in \[0, 500\) .* Got 777"):
        model.train([bad_labels], epochs=1, verbose=False)
    with pytest.raises(ValueError, match="expects dense rows of width 2000. Got shape"):
        model.predict(sb.Value.dense(np.zeros((3, 7))))
    wrong_dtype = sb.Value(2000, good.inputs[0].vals.astype(np.float64), good.inputs[0].ids, good.inputs[0].offsets)
    with pytest.raises(ValueError, match="must have 1-D float32 vals. Got float64"):
        model.predict(wrong_dtype)
    broken = sb.Value(2000, good.inputs[0].vals, good.inputs[0].ids, good.inputs[0].offsets[:-1])
    with pytest.raises(ValueError, match="inconsistent CSR arrays"):
        model.predict(broken)
    decreasing = good.inputs[0].offsets.copy()
    decreasing[1] = decreasing[2] + 1
    with pytest.raises(ValueError, match="inconsistent CSR arrays: offsets must start at 0, never decrease"):
        model.predict(sb.Value(2000, good.inputs[0].vals, good.inputs[0].ids, decreasing))
    negative = good.inputs[0].ids.copy()
    negative[4] = -3
    with pytest.raises(ValueError, match=r"expects feature ids in \[0, 2000\)\. Got id -3"):
        model.predict(sb.Value(2000, good.inputs[0].vals, negative, good.inputs[0].offsets))
    with pytest.raises(ValueError, match="The model has 1 input.* gives 2"):
        model.predict(sb.data.Batch([good.inputs[0], good.inputs[0]]))
    with pytest.raises(ValueError, match="'top_k' parameter of predict must be an int >= 1"):
        model.predict(good, top_k=0)


def test_training_parameters_are_checked():
    model, data = small_model(), clustered(n=50)
    with pytest.raises(ValueError, match="'learning_rate' parameter of train must be a number in \\(0.0, inf\\)"):
        model.train(data, learning_rate=-1, verbose=False)
    with pytest.raises(ValueError, match="'epochs' parameter of train must be an int >= 1. Got 0"):
        model.train(data, epochs=0, verbose=False)
    with pytest.raises(ValueError, match=r"^The 'metrics' parameter of train must be empty without a 'validation' "
                                         r"data set to compute them on\. Got \['precision@1'\] instead\.$"):
        model.train(data, metrics=["precision@1"], verbose=False)
    with pytest.raises(ValueError, match=r"^The 'data' parameter of train must give at least one batch\. Got none "
                                         r"instead\.$"):
        model.train([], verbose=False)
    with pytest.raises(ValueError, match="The 'n' parameter of set_num_threads"):
        sb.set_num_threads(0)
    with pytest.raises(ValueError, match="auc' metric needs a binary output"):
        model.evaluate(data, ["auc"])


def _tiny_model(inputs=None):
    inp = sb.Input(dim=20)
    out = sb.FullyConnected(4, activation="softmax")(sb.Embedding(8, activation="relu")(inp))
    return sb.Model(inputs if inputs is not None else inp, out)


def _tiny_data(weights=None):
    rng = np.random.default_rng(0)
    labels = sb.data.Labels(np.arange(33), rng.integers(0, 4, 32), weights)
    return sb.data.SparseDataset(np.arange(33) * 2, rng.integers(0, 20, 64), None, labels, 20, batch_size=16)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_label_weights_must_be_finite_and_not_negative(bad):
    # one NaN weight had made every output weight NaN, and predict then ranked at random
    weights = np.ones(32, dtype=np.float32)
    weights[7] = bad
    model = _tiny_model()
    with pytest.raises(ValueError, match=rf"Label weights must be finite and at least 0\. Sample 7 has {bad}"):
        model.train(_tiny_data(weights), verbose=False)
    assert all(np.isfinite(p.value).all() for p in model.parameters())


@pytest.mark.parametrize("ids, shown", [(np.array([2**32 + 7, 3]), "4294967303"), (np.array([1.5, 2.0]), "1.5"),
                                        (np.array([2.0, np.nan]), "nan")])
def test_ids_that_int32_cannot_hold_are_refused_not_wrapped(ids, shown):
    # a plain cast had made 2**32 + 7 the id 7 and 1.5 the id 1, inside every range check
    with pytest.raises(ValueError, match=rf"^The 'ids' parameter of csr_value must be whole numbers in \[-2147483648, "
                                         rf"2147483647\] \(int32\)\. Got {shown} instead\.$"):
        sb.data.csr_value(10, [0, 2], ids)
    with pytest.raises(ValueError, match=r"^The 'ids' parameter of Labels must be whole numbers"):
        sb.data.Labels([0, 1, 2], ids)
    with pytest.raises(ValueError, match=r"^The 'ids' parameter of SparseDataset must be whole numbers .* Got "
                                         rf"{shown} instead\.$"):
        sb.data.SparseDataset([0, 2], ids, None, sb.data.Labels([0, 1], [0]), 10)
    with pytest.raises(ValueError, match=r"^The 'offsets' parameter of Labels must be integers\. Got an array of <U1 "
                                         r"instead\.$"):
        sb.data.Labels(["0", "1"], [0])
    assert sb.data.csr_value(10, [0, 2], np.array([7, 3], dtype=np.int64)).ids.tolist() == [7, 3]
    assert sb.data.Labels([0, 1, 2], [1.0, 2.0]).ids.tolist() == [1, 2]


@pytest.mark.parametrize("marks", [np.nan, -1])
def test_an_indicator_matrix_holds_no_nan_or_negative_marks(marks):
    # every nonzero was a label: -1 for "not this class" (or NaN) labelled a row with every class
    y = np.where(np.eye(4)[np.arange(20) % 4] > 0, 1.0, marks)
    X = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    with pytest.raises(ValueError, match=r"The 'y' parameter of Model.evaluate must be an indicator matrix of "
                                         r"finite values >= 0"):
        _tiny_model().evaluate(X, y=y)


def test_neg_log_loss_needs_a_softmax_output():
    # of a sigmoid output it scored the positive labels only: 'always positive' scored 0.0
    inp = sb.Input(dim=20)
    model = sb.Model(inp, sb.FullyConnected(1, activation="sigmoid")(inp), loss="binary_cross_entropy")
    X = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    message = r"'metrics' parameter of (evaluate|train) must name metrics output '.*' gives: 'neg_log_loss' is"
    with pytest.raises(ValueError, match=message):
        model.evaluate(X, y=[[0]] * 10 + [[]] * 10, metrics=["neg_log_loss", "auc"])
    with pytest.raises(ValueError, match=message):  # before any step
        model.train(X, y=[[0]] * 10 + [[]] * 10, validation=(X, [[0]] * 10 + [[]] * 10), metrics=["neg_log_loss"],
                    verbose=False)
    assert model.steps == 0


def test_apply_gradients_checks_its_rate_names_and_shapes():
    model = _tiny_model()
    batch = next(iter(_tiny_data()))
    _, grads = model.compute_gradients(batch)
    name = next(n for n in grads if n.endswith("/W"))
    rows, values = grads[name]
    cases = [({"nope/W": grads[name]}, 1e-3, r"must name the model's parameters \(.*\)\. Got 'nope/W' instead"),
             ({name: (rows, values[:, :1])}, 1e-3, rf"must give '{name}' 1-D integer rows and values of shape"),
             ({name: (np.array([99]), values[:1])}, 1e-3, rf"must give '{name}' rows in \[0, 4\)\. Got row 99"),
             (grads, float("nan"), r"'learning_rate' parameter of Model.apply_gradients must be a number"),
             (grads, -1e-3, r"'learning_rate' parameter of Model.apply_gradients must be a number")]
    for bad, rate, message in cases:
        with pytest.raises(ValueError, match=message):
            model.apply_gradients(bad, rate, 16)
    assert model.steps == 0  # no step counted for a refused one
    with pytest.raises(ValueError, match=r"'learning_rate' parameter of train_step must be a number in \[0.0, inf\)"):
        model.train_step(batch, float("nan"))
    model.apply_gradients(grads, 1e-3, 16)
    assert model.steps == 1


def test_each_input_once_and_as_many_rows_in_each():
    inp = sb.Input(dim=20)
    with pytest.raises(ValueError, match=r"must hold each input once\. Got 'inputlayer.*' twice"):
        _tiny_model([inp, inp])
    a, b = sb.Input(dim=5), sb.Input(dim=5)
    model = sb.Model([a, b], sb.FullyConnected(3, activation="softmax")(sb.Concatenate()(a, b)))
    two, three = (sb.Value.dense(np.zeros((n, 5), np.float32)) for n in (2, 3))
    with pytest.raises(ValueError, match=r"Input '.*' has 3 samples but input '.*' has 2: each input needs one row"):
        model.predict(sb.data.Batch([two, three]))


def test_flags_and_counts_take_numpy_scalars_and_refuse_strings():
    model = _tiny_model()
    X = np.random.default_rng(0).random((8, 20)).astype(np.float32)
    assert model.predict(X, top_k=np.int64(3))[0].shape == (8, 3)
    with pytest.raises(ValueError, match=r"'sparse_inference' parameter of predict must be a bool\. Got 'False'"):
        model.predict(X, sparse_inference="False")  # a non-empty string had read as true
    with pytest.raises(ValueError, match=r"'verbose' parameter of Model.train must be a bool"):
        model.train(X, y=np.arange(8) % 4, verbose="no")
    sparse = sb.Input(dim=20)
    layer = sb.FullyConnected(400, activation="softmax", sparsity=0.1)
    sparse_model = sb.Model(sparse, layer(sb.Embedding(8)(sparse)))
    layer.set_sparsity(0.2, keep_tables=np.True_)
    sparse_model.pin_labels(X, y=np.arange(8), every_bucket=np.True_, verbose=False)


def test_write_svm_refuses_what_the_file_cannot_hold(tmp_path, monkeypatch):
    path = tmp_path / "a.svm"
    path.write_text("kept")
    weighted = sb.data.SparseDataset([0, 1], [3], None, sb.data.Labels([0, 1], [1], [0.5]), 10)
    with pytest.raises(ValueError, match=r"'dataset' parameter of write_svm must hold label weights of 1 \(an SVM "
                                         r"file holds none\)\. Got weight 0\.5 for label 1 of sample 0 instead"):
        sb.data.write_svm(path, weighted)
    wide = sb.data.SparseDataset([0, 1], [50], None, sb.data.Labels([0, 1], [0]), 10)
    with pytest.raises(ValueError, match=r"must hold feature ids in \[0, 10\) \(its dim\)\. Got 50 instead"):
        sb.data.write_svm(path, wide)
    fine = sb.data.SparseDataset([0, 1], [3], None, sb.data.Labels([0, 1], [4]), 10)
    with pytest.raises(ValueError, match=r"'n_labels' parameter of write_svm must be an int >= 5\. Got 2"):
        sb.data.write_svm(path, fine, n_labels=2)
    assert path.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["a.svm"]

    def interrupted(*args):  # the write is done, the rename fails: the file that was there stays
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sb.data.write_svm(path, fine)
    assert path.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["a.svm"]
    monkeypatch.undo()
    link = tmp_path / "link.svm"
    link.symlink_to(path)
    sb.data.write_svm(link, fine)  # through the link, as open(path, 'w') writes
    assert link.is_symlink() and [b.labels.ids.tolist() for b in sb.data.load_svm(path)] == [[4]]


def test_the_data_and_file_errors_survive_pickling():
    # a Ray worker's or a joblib process's error had come back as UnserializableException /
    # BrokenProcessPool: the errors could not be rebuilt from BaseException's one message
    import pickle

    from sparsebolt.data.csv import RowError
    for error in (sb.data.DataFormatError("a.svm", 3, "bad"), RowError("DataFrame", 7, "column 'b'"),
                  sb.io.ModelFileError("m.sbm", "x", "is corrupted")):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error) and again.reason == error.reason
