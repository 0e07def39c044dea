"""A model's state in its file: round trips that predict and train on identically, format
versions, tables and moments saved by their trained rows, and states that do not fit their
config refused as the file's error."""
import json
import os

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import Archive, ModelFileError, restore_model_file, save_model_file

from ..synthetic import small_model
from .helpers import W, _table_model, crafted, rewrite, same_weights, trained


@pytest.mark.parametrize("mmap", [False, True])
def test_round_trip_predicts_identically_and_continues_training_identically(tmp_path, mmap, one_thread):
    model, data = trained()
    index = model.output.layer.index
    assert index.frozen and index.labels_inserted > 0   # the tables hold pinned labels
    model.save(tmp_path / "m.sbm")
    loaded = sb.Model.load(tmp_path / "m.sbm", mmap=mmap)
    assert loaded.get_config() == json.loads(json.dumps(model.get_config()))
    assert loaded.steps == model.steps and same_weights(loaded, model)
    for sparse in (False, True):
        ids, scores = model.predict(data, top_k=5, sparse_inference=sparse)
        ids2, scores2 = loaded.predict(data, top_k=5, sparse_inference=sparse)
        np.testing.assert_array_equal(ids2, ids)
        np.testing.assert_array_equal(scores2, scores)
    state = data.get_state()
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    data.set_state(*state)
    loaded.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    assert same_weights(loaded, model)
    assert loaded.optimizer.step_count == model.optimizer.step_count


@pytest.mark.parametrize("sampling", ["srp", "fast_srp", "sparse_wta", "random"])
def test_every_hash_family_round_trips(tmp_path, sampling):
    model, data = trained(epochs=1, sampling=sampling, n_classes=500)
    model.save(tmp_path / "m.sbm")
    loaded = sb.Model.load(tmp_path / "m.sbm")
    for a, b in zip(model.predict(data, top_k=3, sparse_inference=True),
                    loaded.predict(data, top_k=3, sparse_inference=True)):
        np.testing.assert_array_equal(a, b)


def test_multi_input_graph_with_sgd_and_layer_norm_round_trips(tmp_path):
    a_in, b_in = sb.Input(dim=50, name="words"), sb.Input(dim=4, name="dense")
    x = sb.Concatenate(name="cat")(sb.Embedding(16, activation="relu", name="emb")(a_in), b_in)
    x = sb.LayerNorm(name="norm")(sb.FullyConnected(16, activation="tanh", name="hidden")(x))
    out = sb.FullyConnected(3, activation="sigmoid", name="out")(x)
    model = sb.Model([a_in, b_in], out, loss="binary_cross_entropy", optimizer=sb.SGD(), seed=3)
    rng = np.random.default_rng(0)
    sparse = sb.data.csr_value(50, np.arange(11) * 2, rng.integers(0, 50, 20))
    batch = sb.data.Batch([sparse, sb.Value.dense(rng.normal(size=(10, 4)))], sb.data.Labels.from_lists([[0]] * 10))
    model.train([batch], epochs=3, learning_rate=0.1, verbose=False)
    model.save(tmp_path / "m.sbm")
    loaded = sb.Model.load(tmp_path / "m.sbm")
    assert [type(x.layer).__name__ for x in loaded.nodes] == [type(x.layer).__name__ for x in model.nodes]
    assert isinstance(loaded.optimizer, sb.SGD) and loaded.optimizer.step_count == 3
    np.testing.assert_array_equal(loaded.predict(batch, top_k=3)[1], model.predict(batch, top_k=3)[1])


def test_without_optimizer_state_the_file_is_smaller_and_predicts_the_same(saved, tmp_path):
    model, data, path = saved
    model.save(tmp_path / "small.sbm", optimizer_state=False)
    assert os.path.getsize(tmp_path / "small.sbm") < 0.5 * os.path.getsize(path)
    loaded = sb.Model.load(tmp_path / "small.sbm")
    np.testing.assert_array_equal(loaded.predict(data, top_k=3)[0], model.predict(data, top_k=3)[0])
    assert loaded.optimizer.state == {}
    skipped = sb.Model.load(path, optimizer_state=False)
    assert skipped.optimizer.state == {} and same_weights(skipped, model)


@pytest.mark.parametrize("version, message", [
    (5, r"has format version 5 \(written by sparsebolt 9\.0\); this sparsebolt reads versions up to 4: upgrade"),
    ("1.0", r"has the unknown format version '1\.0'; this sparsebolt reads versions 1 to 4"),
    (0, r"has the unknown format version 0"),
])
def test_an_unknown_or_newer_format_version_is_refused_naming_it(saved, tmp_path, version, message):
    _, _, path = saved
    other = tmp_path / "other.sbm"
    rewrite(path, other, manifest_fn=lambda m: dict(m, format_version=version, sparsebolt_version="9.0"))
    with pytest.raises(ModelFileError, match=r"other\.sbm " + message):
        sb.Model.load(other)


def test_moments_of_a_table_few_rows_moved_are_saved_as_those_rows_and_load_the_same(tmp_path):
    # a lazy Adam step moves a few rows of a large table: the rest of its moments are zeros
    inp = sb.Input(dim=20_000)
    out = sb.FullyConnected(4, activation="softmax", name="out")(sb.Embedding(64, name="emb")(inp))
    model = sb.Model(inp, out, seed=0)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 300, 64).astype(np.int32)
    x = scipy_sparse.csr_matrix((np.ones(64, np.float32), ids, np.arange(0, 65, 2)), shape=(32, 20_000))
    y = rng.integers(0, 4, 32)

    def train(m):
        m.train(x, y=y, epochs=1, batch_size=8, verbose=False)

    train(model)
    train(model)
    path = tmp_path / "m.sbm"
    model.save(path)
    with Archive(path) as archive:
        assert archive.manifest["format_version"] == sb.io.FORMAT_VERSION == 4
        rows = archive.array("optimizer/rows/emb/E")
        assert rows.tolist() == sorted(set(ids.tolist()))
        assert archive.array("optimizer/m/emb/E").shape == (rows.shape[0], 64)
        assert "optimizer/rows/out/W" not in archive.keys()  # every row moved: whole
        # the table too keeps only its trained rows; the others are drawn again on loading
        np.testing.assert_array_equal(archive.array("layers/emb/rows/E"), rows)
        np.testing.assert_array_equal(archive.array("layers/emb/E"), model.layer("emb").E.value[rows])
    assert path.stat().st_size < 0.1 * 20_000 * 64 * 4  # neither the table's untrained rows nor their moments
    loaded = sb.Model.load(path)
    for name, (m, v) in model.optimizer.state.items():
        np.testing.assert_array_equal(loaded.optimizer.state[name][0], m)
        np.testing.assert_array_equal(loaded.optimizer.state[name][1], v)
    train(model)
    train(loaded)
    for a, b in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


def test_a_table_is_saved_as_its_trained_rows_only_when_they_are_at_most_half(tmp_path):
    for n_trained, compact in ((300, True), (10_001, False)):
        model = _table_model(np.random.default_rng(1).permutation(20_000)[:n_trained].astype(np.int32))
        path = tmp_path / f"m{n_trained}.sbm"
        model.save(path, optimizer_state=False)
        with Archive(path) as archive:
            assert ("layers/emb/rows/E" in archive.keys()) == compact
            assert archive.manifest["format_version"] == (4 if compact else 2)
        loaded = sb.Model.load(path)
        np.testing.assert_array_equal(loaded.layer("emb").E.value, model.layer("emb").E.value)
        # and so on, file after file
        loaded.save(tmp_path / "again.sbm", optimizer_state=False)
        np.testing.assert_array_equal(sb.Model.load(tmp_path / "again.sbm").layer("emb").E.value,
                                      model.layer("emb").E.value)


def test_an_embedding_beside_one_named_after_its_rows_round_trips(tmp_path):
    # 'emb/rows' files its table under layers/emb/rows/E, which 'emb' must not take for its own rows
    inp = sb.Input(dim=100)
    a, b = sb.Embedding(8, name="emb")(inp), sb.Embedding(8, name="emb/rows")(inp)
    model = sb.Model(inp, sb.FullyConnected(2, activation="softmax", name="out")(sb.Concatenate(name="cat")(a, b)))
    model.save(tmp_path / "m.sbm")
    for x, y in zip(sb.Model.load(tmp_path / "m.sbm").parameters(), model.parameters()):
        np.testing.assert_array_equal(x.value, y.value)


def test_a_table_whose_redrawn_rows_differ_from_the_saved_model_s_is_refused(tmp_path):
    model = _table_model(np.arange(0, 600, 2, dtype=np.int32))
    path = tmp_path / "m.sbm"
    model.save(path)
    init = lambda m: m["state"]["layers"]["emb"]["init"]  # noqa: E731
    cases = [
        # another generator state draws other numbers than the file's table had
        (lambda m: init(m)["pcg64"].__setitem__(0, str(int(init(m)["pcg64"][0]) + 1)), "differs from the saved model's"),
        # the rows alone do not make a compact table: E is then the whole table's shape, or refused
        (lambda m: init(m).pop("crc32"), r"The array 'E' of Embedding must be float32\[20000, 64\]"),
        (lambda m: m["state"]["layers"]["emb"].pop("init"), r"The array 'E' of Embedding must be float32\[20000, 64\]"),
        (lambda m: init(m).__setitem__("bound", "big"), "'init' of Embedding must be a generator state"),
        (lambda m: init(m)["pcg64"].__setitem__(0, str(2 ** 128)), "'init' of Embedding must be a generator state"),
        (lambda m: init(m)["pcg64"].__setitem__(1, "\u00b2"), "'init' of Embedding must be a generator state"),
        (lambda m: init(m).__setitem__("crc32", 2 ** 40), "'init.crc32' of Embedding must be a CRC-32"),
        # a table of 10^12 rows: refused before it is allocated
        (lambda m: m["model"]["inputs"][0].__setitem__("dim", 10 ** 12), "larger than this machine's memory"),
    ]
    for change, message in cases:
        def edit(manifest):
            manifest = json.loads(json.dumps(manifest))
            change(manifest)
            return manifest
        bad = tmp_path / "bad.sbm"
        rewrite(path, bad, manifest_fn=edit)
        with pytest.raises(ModelFileError, match=message):
            sb.Model.load(bad)


def test_a_table_built_before_its_draw_was_recorded_is_saved_whole(tmp_path):
    model = _table_model(np.arange(0, 600, 2, dtype=np.int32))
    model.save(tmp_path / "m.sbm")
    old = tmp_path / "old.sbm"
    meta, arrays = model.get_state()
    del meta["layers"]["emb"]["init"]
    rows = arrays.pop("layers/emb/rows/E")
    arrays["layers/emb/E"] = model.layer("emb").E.value
    assert rows.shape[0] == 300
    sb.io.write_model_file(old, model.get_config(), meta, arrays)
    loaded = sb.Model.load(old)
    loaded.save(tmp_path / "again.sbm")
    with Archive(tmp_path / "again.sbm") as archive:
        assert "layers/emb/rows/E" not in archive.keys() and archive.array("layers/emb/E").shape == (20_000, 64)
    np.testing.assert_array_equal(sb.Model.load(tmp_path / "again.sbm").layer("emb").E.value,
                                  model.layer("emb").E.value)


def test_a_version_2_file_with_whole_moments_still_loads(saved, tmp_path):
    model, _, path = saved
    old = tmp_path / "old.sbm"
    rewrite(path, old, manifest_fn=lambda m: dict(m, format_version=2))
    loaded = sb.Model.load(old)
    for name, (m, v) in model.optimizer.state.items():
        np.testing.assert_array_equal(loaded.optimizer.state[name][0], m)


def test_a_version_1_file_still_loads(saved, tmp_path):
    model, _, path = saved
    old = tmp_path / "old.sbm"
    rewrite(path, old, manifest_fn=lambda m: dict(m, format_version=1))
    for a, b in zip(sb.Model.load(old).parameters(), model.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


def test_arrays_that_would_index_out_of_bounds_are_refused(saved, tmp_path):
    _, _, path = saved
    for key, change in (("layers/out/index/perm", lambda a: a + 1),
                        ("layers/out/index/tables/buckets", lambda a: a - 1),
                        ("layers/out/index/hash/bins", lambda a: a * 1000)):
        crafted(path, tmp_path / "crafted.sbm", key, change)
        short = key.rsplit("/", 1)[1]
        with pytest.raises(ModelFileError, match=rf"crafted\.sbm holds a model state that does not fit its config "
                                                 rf"\(The array '{short}' of \w+ must hold values in \[0, \d+\)"):
            sb.Model.load(tmp_path / "crafted.sbm", mmap=True)
    crafted(path, tmp_path / "crafted.sbm", W, lambda a: a[:-1])
    with pytest.raises(ModelFileError, match=r"The array 'W' of FullyConnected must be float32\[500, 32\]\. Got float32\[499, 32\]"):
        sb.Model.load(tmp_path / "crafted.sbm")


def test_an_index_whose_padding_could_loop_forever_is_refused(saved, tmp_path):
    # in range but all zeros: active sets padded from it would never fill (issue 15, finding 1)
    _, _, path = saved
    crafted(path, tmp_path / "crafted.sbm", "layers/out/index/perm", np.zeros_like)
    with pytest.raises(ModelFileError, match=r"The array 'perm' of NeuronIndex must be a permutation of 0\.\.499"):
        sb.Model.load(tmp_path / "crafted.sbm")
    with Archive(path) as archive:
        manifest = archive.manifest
    layer = manifest["state"]["layers"]["out"]
    layer["index"]["n_active"] = 501
    rewrite(path, tmp_path / "wide.sbm", manifest_fn=lambda m: {**m, "state": manifest["state"]})
    with pytest.raises(ModelFileError, match="'n_active' of NeuronIndex must be at most dim=500. Got 501"):
        sb.Model.load(tmp_path / "wide.sbm")


def test_sizes_a_file_names_are_checked_against_its_arrays_before_anything_is_allocated(saved, tmp_path):
    # issue 15, finding 3: these raised MemoryError (or took 14-34 s and 1.8 GB)
    _, _, path = saved

    def layer_dim(m):
        m["model"]["layers"][-1]["config"]["dim"] = 10**12
        return m

    def index_dim(m):
        m["state"]["layers"]["out"]["index"]["dim"] = 2**40
        return m

    def reservoir(m):
        m["state"]["layers"]["out"]["index"]["config"]["reservoir"] = 10**6
        return m

    def huge_reservoir(m):
        m["state"]["layers"]["out"]["index"]["config"]["reservoir"] = 10**9
        return m

    for change, message in ((layer_dim, r"The array 'W' of FullyConnected must be float32\[1000000000000, 32\]"),
                            (index_dim, "must index 500 neurons of width 32. Got 1099511627776 of 32"),
                            (reservoir, r"'tables/buckets' of NeuronIndex must have the shape \[\d+, \d+, 1000000\]"),
                            (huge_reservoir, r"The tables of LSHConfig \(k=\d+, n_tables=\d+, reservoir=1000000000\) "
                                             r"must take at most")):
        rewrite(path, tmp_path / "big.sbm", manifest_fn=change)
        with pytest.raises(ModelFileError, match=message):
            sb.Model.load(tmp_path / "big.sbm")


@pytest.mark.parametrize("where", ["optimizer", "layer", "hash"])
def test_a_state_entry_that_is_no_table_is_the_files_error(tmp_path, where):
    # a list or number where the manifest holds a table had raised AttributeError ('get')
    path, bad = str(tmp_path / "m.sbm"), str(tmp_path / "bad.sbm")
    trained()[0].save(path)

    def edit(manifest):
        state = manifest["state"]
        if where == "optimizer":
            state["optimizer"] = 0
        elif where == "layer":
            state["layers"]["out"] = []
        else:
            state["layers"]["out"]["index"]["hash"] = "x"
        return manifest

    rewrite(path, bad, manifest_fn=edit)
    with pytest.raises(ModelFileError, match=r"holds a model state that does not fit its config \('.*' object has "
                                             r"no attribute 'get'\)"):
        sb.Model.load(bad, verify=False)


def _key_toggled(path, tmp_path, config_of, key):
    """A copy of the model file at ``path`` whose config ``config_of(manifest['model'])``
    lacks ``key``, or holds it too when it had none."""
    def edit(manifest):
        config = config_of(manifest["model"])
        if key in config:
            del config[key]
        else:
            config[key] = True
        return manifest

    bad = tmp_path / "bad.sbm"
    rewrite(path, bad, manifest_fn=edit)
    return bad


@pytest.mark.parametrize("layer, key, got", [
    (0, "activation", r"one without \['activation'\]"),  # had loaded as 'linear': other scores
    (1, "sampling", r"one without \['sampling'\]"),  # had loaded as None
    (1, "bias", r"one with \['bias'\] too"),
])
def test_a_layer_config_without_a_key_it_writes_is_the_files_error_naming_layer_and_key(saved, tmp_path, layer, key, got):
    bad = _key_toggled(saved[2], tmp_path, lambda model: model["layers"][layer]["config"], key)
    name = saved[0].get_config()["layers"][layer]["config"]["name"]
    with pytest.raises(ModelFileError, match=rf"bad.sbm: member 'manifest.json' has a model config that cannot be "
                                             rf"built \(The config of layer '{name}' \(\w+\) must have the keys "
                                             rf"\[.*\]\. Got {got} instead\.\)"):
        sb.Model.load(bad)


@pytest.mark.parametrize("key, got", [
    ("beta1", r"one without \['beta1'\]"),  # had trained on at 0.9
    ("amsgrad", r"one with \['amsgrad'\] too"),
])
def test_an_optimizer_config_without_a_key_it_writes_is_the_files_error(saved, tmp_path, key, got):
    bad = _key_toggled(saved[2], tmp_path, lambda model: model["optimizer"], key)
    with pytest.raises(ModelFileError, match=rf"bad.sbm: member 'manifest.json' has a model config that cannot be "
                                             rf"built \(The config of optimizer 'adam' must have the keys \['beta1', "
                                             rf"'beta2', 'eps'\]\. Got {got} instead\.\)"):
        sb.Model.load(bad)


def test_a_bugs_attribute_error_in_set_state_is_not_reported_as_a_damaged_file(saved, monkeypatch):
    # only a JSON value's (a list where a table belongs) is the file's fault
    monkeypatch.setattr(sb.Model, "set_state", lambda model, meta, arrays: model.misspelt)
    with pytest.raises(AttributeError, match="'Model' object has no attribute 'misspelt'"):
        sb.Model.load(saved[2])


def test_checkpoint_refuses_a_model_of_another_shape(tmp_path):
    save_model_file(small_model(), tmp_path / "c.sbm")
    with pytest.raises(ValueError, match="different model"):
        restore_model_file(small_model(hidden=16), tmp_path / "c.sbm")
