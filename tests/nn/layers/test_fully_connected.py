"""FullyConnected's own settings (the shared forward and backward contract, sparse active
sets included, is in tests/nn/test_layer_contract.py)."""
import warnings

import numpy as np
import pytest

import sparsebolt as sb

from ...synthetic import small_model


@pytest.mark.parametrize("sampling, message", [
    # LSHConfig's TypeError had said "unexpected keyword argument 'famly'", naming no parameter
    ({"famly": "srp"}, "The 'sampling' parameter of FullyConnected must be a dict of LSHConfig settings among "
                       "'family', 'k', 'n_tables', 'reservoir', 'rebuild_every', 'rehash_every'. Got {'famly': 'srp'} "
                       "instead."),
    ("minhash", "The 'sampling' parameter of FullyConnected must be one of 'dwta', 'srp', 'fast_srp', 'sparse_wta', "
                "'random'. Got 'minhash' instead."),
])
def test_fully_connected_sampling_names_its_settings_and_families(sampling, message):
    with pytest.raises(ValueError) as err:
        sb.FullyConnected(10, sparsity=0.5, sampling=sampling)
    assert str(err.value) == message
    assert sb.FullyConnected(10, sampling={"family": "srp", "k": 3}).sampling == sb.lsh.LSHConfig("srp", k=3)


def test_add_neurons_takes_one_bias_a_weight_row():
    layer = small_model(n_classes=4, hidden=3).output.layer
    with pytest.raises(ValueError) as err:
        layer.add_neurons(np.zeros((2, 3)), np.zeros(3))
    assert str(err.value) == ("The 'biases' parameter of add_neurons must hold one bias a row of 'weights' (2 rows). "
                              "Got 3 biases instead.")
    assert layer.dim == 4


def test_sparse_inference_computes_the_output_layers_best_ranked_share():
    from sparsebolt.data.batch import Batch
    from sparsebolt.lsh.index import INFERENCE_SHARE

    inp = sb.Input(dim=300)
    hidden = sb.FullyConnected(dim=400, sparsity=0.1, activation="relu")(sb.Embedding(dim=16)(inp))
    out = sb.FullyConnected(dim=1000, sparsity=0.05, activation="softmax")(hidden)
    model = sb.Model(inputs=inp, outputs=out, seed=0)
    rng = np.random.default_rng(0)
    x = sb.data.csr_value(300, np.arange(9, dtype=np.int64) * 5, rng.integers(0, 300, 40).astype(np.int32),
                          np.ones(40, dtype=np.float32))
    values = model.forward(Batch((x,)), sb.nn.layers.base.Context(sparse_inference=True))
    assert out.layer.n_active == 50 and out.layer.inference_width == int(np.ceil(INFERENCE_SHARE * 50)) < 50
    assert values[out].row_offsets().tolist() == list(range(0, 9 * out.layer.inference_width, out.layer.inference_width))
    # a hidden layer feeds the next one: it keeps its whole active set
    assert hidden.layer.inference_width == hidden.layer.n_active == 40
    assert np.diff(values[hidden].row_offsets()).tolist() == [40] * 8


def test_sparse_inference_warns_when_sparse_rows_miss_every_coordinate_its_hashes_read():
    # DWTA's 39 x 3 hashes read 936 of 20,000 coordinates; most planted rows hold none of them
    from ...synthetic import planted

    _, test = planted(n_train=10, n_test=200, seed=0)
    inp = sb.Input(dim=20000)
    out = sb.FullyConnected(dim=2000, sparsity=0.05, activation="softmax", sampling="dwta")(inp)
    model = sb.Model(inputs=inp, outputs=out)
    warned = r"of 200 sparse input rows hold none of the 936 of its 20,000.*sampling='sparse_wta'"
    with pytest.warns(RuntimeWarning, match=warned):
        model.evaluate(test.batch(np.arange(200)), sparse_inference=True)


def test_a_sparse_layer_on_a_wide_input_hashes_with_sparse_wta_by_default():
    inp = sb.Input(dim=4096)
    wide, hidden = sb.FullyConnected(1000, sparsity=0.05), sb.FullyConnected(1000, sparsity=0.05)
    hidden(wide(inp))
    after_narrow, after_embedding = sb.FullyConnected(1000, sparsity=0.05), sb.FullyConnected(1000, sparsity=0.05)
    chosen = sb.FullyConnected(1000, sparsity=0.05, sampling="dwta")
    after_narrow(sb.Input(dim=4095))
    after_embedding(sb.Embedding(32)(sb.Input(dim=20000)))
    chosen(sb.Input(dim=20000))
    assert wide.lsh_config().family == "sparse_wta"
    assert [fc.lsh_config().family for fc in (hidden, after_narrow, after_embedding, chosen)] == ["dwta"] * 4


def test_hashes_chosen_for_a_wide_inputs_sparse_rows_warn_once_on_dense_rows():
    rng = np.random.default_rng(0)
    dense = sb.data.Batch([sb.Value.dense(rng.random((8, 4096)))], sb.data.Labels.from_lists([[1]] * 8))
    sparse = sb.data.Batch([sb.data.csr_value(4096, np.arange(9) * 3, rng.integers(0, 4096, 24))],
                           sb.data.Labels.from_lists([[1]] * 8))
    for sampling, batch, warns in ((None, dense, True), ("sparse_wta", dense, False), (None, sparse, False)):
        inp = sb.Input(dim=4096)
        model = sb.Model(inp, sb.FullyConnected(500, sparsity=0.1, activation="softmax", sampling=sampling)(inp))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.train([batch, batch], epochs=1, verbose=False)
        said = [w for w in caught if "expects sparse rows" in str(w.message)]
        assert len(said) == int(warns), (sampling, [str(w.message) for w in caught])


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_inference_of_a_sparse_layer_on_sparse_rows_matches_dense_on_unseen_rows(seed):
    # test rows are fresh draws of their class; with DWTA (the default before sparse_wta) this
    # model's sparse P@1 was 0.15-0.17 against 1.0 dense
    from ...synthetic import planted

    train, test = planted(n_train=6000, n_test=1000, n_features=8192, n_classes=500, seed=seed)
    inp = sb.Input(dim=8192)
    out = sb.FullyConnected(dim=500, sparsity=0.1, activation="softmax")(inp)
    model = sb.Model(inputs=inp, outputs=out, seed=seed)
    model.train(train, epochs=3, learning_rate=1e-2, verbose=False)
    dense = model.evaluate(test)["precision@1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparse = model.evaluate(test, sparse_inference=True)["precision@1"]
    assert dense > 0.95 and sparse >= dense - 0.01
    # an Embedding in front: the tables hash its dense activation
    model = small_model(n_features=20000, n_classes=2000, sparsity=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.evaluate(test.batch(np.arange(200)), sparse_inference=True)
