"""Bad input gets a clear error that names the parameter or value, never a numba traceback."""
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
    with pytest.raises(ValueError, match=r"'sampling' .* 'dwta', 'srp', 'fast_srp', 'random'"):
        sb.FullyConnected(10, sparsity=0.5, sampling="minhashx")
    with pytest.raises(ValueError, match=r"Unknown metric 'precision@0'.*'precision@k', 'recall@k'"):
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
    out = sb.FullyConnected(5, activation="relu")(inp)
    with pytest.raises(ValueError, match="CategoricalCrossEntropy needs the output layer .* activation='softmax'"):
        sb.Model(inp, out)


def test_graph_misuse():
    inp = sb.Input(dim=20)
    layer = sb.FullyConnected(5, activation="softmax")
    layer(inp)
    with pytest.raises(ValueError, match="already part of a graph"):
        layer(inp)
    with pytest.raises(TypeError, match="must be called on the output of sb.Input"):
        sb.FullyConnected(3)(np.zeros((2, 20)))
    other = sb.Input(dim=3)
    out = sb.FullyConnected(4, activation="softmax")(sb.Concatenate()(inp, other))
    with pytest.raises(ValueError, match="depends on Input .* not in the model's inputs"):
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
    with pytest.raises(ValueError, match="'metrics' parameter of train needs a 'validation'"):
        model.train(data, metrics=["precision@1"], verbose=False)
    with pytest.raises(ValueError, match="no batches"):
        model.train([], verbose=False)
    with pytest.raises(ValueError, match="The 'n' parameter of set_num_threads"):
        sb.set_num_threads(0)
    with pytest.raises(ValueError, match="auc' metric needs a binary output"):
        model.evaluate(data, ["auc"])
