"""A replica's model goes between processes as a model file's state and resumes bit for bit;
a model of custom classes is refused before any worker starts."""
import os

import pytest

import sparsebolt as sb
from sparsebolt.distributed.replica import build_replica, load_replica_state, replica_message
from sparsebolt.io import restore_model_file, save_model_file

from ..synthetic import small_model
from .helpers import _assert_same, _data, _weights


def test_checkpoint_round_trip_resumes_bit_for_bit(tmp_path, one_thread):
    data = _data(shuffle=False)
    batches = list(data)
    a = small_model()
    for b in batches[:10]:
        a.train_step(b, 1e-2)
    path = tmp_path / "ckpt.sbm"
    save_model_file(a, path, extra={"training": {"epoch": 3}})
    assert sb.Model.load(path).steps == 10  # an ordinary model file
    b_model = small_model()  # other layer names (counted per process): they take the saved ones
    assert restore_model_file(b_model, path)["training"] == {"epoch": 3}
    c_model = small_model(seed=7)  # other weights and hash seeds: all are replaced
    c_model.rename_layers(a.layer_names())  # as a worker does
    load_replica_state(c_model, a.get_state())  # as between processes
    for b in batches[10:20]:
        a.train_step(b, 1e-2)
        b_model.train_step(b, 1e-2)
        c_model.train_step(b, 1e-2)
    _assert_same(_weights(a), _weights(b_model))
    _assert_same(_weights(a), _weights(c_model))
    assert os.listdir(tmp_path) == ["ckpt.sbm"]  # no temporary file left


def test_a_model_with_custom_classes_is_refused_before_any_worker_starts():
    class MyLayer(sb.FullyConnected):
        pass

    inp = sb.Input(dim=10)
    model = sb.Model(inp, MyLayer(4, activation="softmax", name="mine")(inp))
    message = (r"Cannot train layer 'mine' of class MyLayer: distributed replicas and checkpoints are model "
               r"files, which hold the built-in layers only")
    with pytest.raises(TypeError, match=message):
        replica_message(model)
    with pytest.raises(TypeError, match=message):   # a builder too, before Ray is asked for anything
        sb.distributed.train(lambda: model, "no-such-file.svm")


def test_a_factory_of_no_model_is_refused_in_the_parameter_template_on_a_worker_too():
    with pytest.raises(TypeError, match=r"^The 'model_or_config' parameter of sb.distributed.train, a callable, must "
                                        r"return a sb.Model\. Got NoneType from it instead\.$"):
        build_replica(lambda: None)
