"""FullyConnected's own settings (the shared forward and backward contract, sparse active
sets included, is in tests/nn/test_layer_contract.py)."""
import numpy as np
import pytest

import sparsebolt as sb

from ...synthetic import small_model


@pytest.mark.parametrize("sampling, message", [
    # LSHConfig's TypeError had said "unexpected keyword argument 'famly'", naming no parameter
    ({"famly": "srp"}, "The 'sampling' parameter of FullyConnected must be a dict of LSHConfig settings among "
                       "'family', 'k', 'n_tables', 'reservoir', 'rebuild_every', 'rehash_every'. Got {'famly': 'srp'} "
                       "instead."),
    ("minhash", "The 'sampling' parameter of FullyConnected must be one of 'dwta', 'srp', 'fast_srp', 'random'. "
                "Got 'minhash' instead."),
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
