"""Model graph behaviour: training learns, labels stay active, runs reproduce, graphs compose."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.nn.layers.base import Context

from ..synthetic import clustered, small_model


def test_sparse_model_learns_a_clustered_problem():
    data = clustered()
    model = small_model()
    history = model.train(data, epochs=4, learning_rate=1e-2, validation=data, metrics=["precision@1"],
                          verbose=False)
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history["val_precision@1"][-1] > 0.9
    sparse = model.evaluate(data, ["precision@1"], sparse_inference=True)["precision@1"]
    assert sparse > 0.85


def test_training_active_set_always_holds_the_labels():
    data = clustered(n=600, n_classes=500, batch_size=64)
    model = small_model(sparsity=0.01)  # 5 active neurons a sample
    out_layer = model.output.layer
    labels_rows = [[1, 2, 3, 4, 5, 6, 7], [0], [499, 498]] * 10   # more labels than the width
    batch = data.batch(np.arange(30))
    batch.labels = sb.data.Labels.from_lists(labels_rows)
    values = model.forward(batch, Context(training=True, labels=batch.labels))
    out = values[model.output]
    width = out.vals.size // 30
    assert width == 7
    for s, labels in enumerate(labels_rows):
        active = out.ids[s * width:(s + 1) * width]
        assert set(labels) <= set(active.tolist())
    for batch in data:
        out = model.forward(batch, Context(training=True, labels=batch.labels))[model.output]
        width = out.vals.size // batch.batch_size
        for s in range(batch.batch_size):
            assert batch.labels.row(s)[0] in out.ids[s * width:(s + 1) * width]
    assert out_layer.n_active == 5


def _train_weights(seed):
    data = clustered(n=800, seed=3)
    model = small_model(seed=seed)
    model.train(data, epochs=2, learning_rate=1e-2, verbose=False)
    return [p.value.copy() for p in model.parameters()]


def test_single_threaded_seeded_training_is_reproducible_bit_for_bit(one_thread):
    a, b = _train_weights(7), _train_weights(7)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    c = _train_weights(8)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_two_threads_give_the_same_weights_as_one():
    # gradients are summed per neuron in sample order, so the thread count does not matter
    before = sb.get_num_threads()
    try:
        sb.set_num_threads(1)
        one = _train_weights(5)
        sb.set_num_threads(min(2, sb._threads.numba.config.NUMBA_NUM_THREADS))
        two = _train_weights(5)
    finally:
        sb.set_num_threads(before)
    for x, y in zip(one, two):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_step_cost_counts_each_layers_multiply_adds():
    data = clustered(n=256, batch_size=256, shuffle=False)
    model = small_model(hidden=32, n_classes=500, sparsity=0.1)
    batch = next(iter(data))
    nnz = batch.inputs[0].ids.shape[0]
    # the embedding reads each nonzero into 32 values, the output's 50 active neurons read 32 each
    assert model.step_cost(batch) == pytest.approx(nnz * 32 + 256 * 32 * 50)


def test_dense_cost_counts_the_fully_connected_layers_that_read_a_layer():
    inp = sb.Input(dim=1000)
    hidden = sb.FullyConnected(64, activation="relu")(sb.Embedding(32)(inp))
    model = sb.Model(inp, sb.FullyConnected(500, sparsity=0.1, activation="softmax")(hidden))
    # what inference multiplies densely: 32 x 64, then all 500 outputs (not the 50 a training step computes)
    assert model.dense_cost() == 32 * 64 + 64 * 500
    # a layer reading the inputs (often sparse) runs its own kernel, not BLAS
    other = sb.Input(dim=50)
    joined = sb.Concatenate()([inp, other])
    model = sb.Model([inp, other], sb.FullyConnected(10, activation="softmax")(sb.FullyConnected(64)(joined)))
    assert model.dense_cost() == 64 * 10


@pytest.mark.skipif(sb._threads.numba.config.NUMBA_NUM_THREADS < 2, reason="needs numba started with 2+ threads")
def test_small_steps_run_serial_kernels_on_one_thread_and_large_ones_on_all(monkeypatch):
    data = clustered(n=256, batch_size=256, shuffle=False)
    model = small_model()
    seen = []
    forward = model.layers[0].forward
    monkeypatch.setattr(model.layers[0], "forward",
                        lambda x, ctx: seen.append((sb._threads.numba.get_num_threads(), ctx.serial)) or forward(x, ctx))
    batch = next(iter(data))
    before = sb.get_num_threads()
    try:
        sb.set_num_threads(2)
        monkeypatch.setattr("sparsebolt.nn.model.pool_slow", lambda: False)  # idle cores (a busy machine's is below)
        assert model.step_cost(batch) < sb._threads.SERIAL_WORK
        model.train_step(batch, 1e-3)
        monkeypatch.setattr("sparsebolt.nn.model.SERIAL_WORK", 0)
        model.train_step(batch, 1e-3)
        assert seen == [(1, True), (2, False)] and sb.get_num_threads() == 2
        # a pool slow to start a kernel (another process on the other core): serial even so
        monkeypatch.setattr("sparsebolt.nn.model.pool_slow", lambda: True)
        model.train_step(batch, 1e-3)
        assert seen[-1] == (1, True) and sb.get_num_threads() == 2
    finally:
        sb.set_num_threads(before)


def test_predict_returns_top_k_sorted_and_matches_evaluate():
    data = clustered(n=500)
    model = small_model()
    model.train(data, epochs=3, learning_rate=1e-2, verbose=False)
    ids, scores = model.predict(data, top_k=5)
    assert ids.shape == (500, 5) and scores.shape == (500, 5)
    assert np.all(np.diff(scores, axis=1) <= 0)
    truth = data.labels.ids
    p1 = np.mean(ids[:, 0] == truth)
    assert model.evaluate(data, ["precision@1"])["precision@1"] == pytest.approx(p1)
    single = model.predict(data.batch([3]), top_k=5)
    np.testing.assert_array_equal(single[0][0], ids[3])


def test_dense_and_multi_input_graph_with_concatenate_and_layer_norm():
    rng = np.random.default_rng(0)
    n = 400
    a_in, b_in = sb.Input(dim=50), sb.Input(dim=4)
    x = sb.Concatenate()(sb.Embedding(16, activation="relu")(a_in), b_in)
    x = sb.LayerNorm()(sb.FullyConnected(16, activation="tanh")(x))
    out = sb.FullyConnected(3, activation="softmax")(x)
    model = sb.Model(inputs=[a_in, b_in], outputs=out, seed=1)
    label = rng.integers(0, 3, n)
    dense = rng.normal(0, 1, (n, 4)).astype(np.float32)
    dense[np.arange(n), label] += 2.0
    ids = rng.integers(0, 50, (n, 5)).astype(np.int32)
    offsets = np.arange(n + 1, dtype=np.int64) * 5

    def batches():
        for lo in range(0, n, 50):
            rows = slice(lo, lo + 50)
            sparse = sb.data.csr_value(50, offsets[lo:lo + 51] - offsets[lo], ids[rows].reshape(-1))
            yield sb.data.Batch([sparse, sb.Value.dense(dense[rows])],
                                sb.data.Labels(np.arange(51), label[rows]))

    for _ in range(15):
        model.train(list(batches()), epochs=1, learning_rate=1e-2, verbose=False)
    assert model.evaluate(list(batches()), ["categorical_accuracy"])["categorical_accuracy"] > 0.85


def test_binary_cross_entropy_with_sigmoid_output_and_auc():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)
    inp = sb.Input(dim=6)
    out = sb.FullyConnected(1, activation="sigmoid")(sb.FullyConnected(8, activation="relu")(inp))
    model = sb.Model(inp, out, loss="binary_cross_entropy", optimizer=sb.SGD())
    rows = [[0] if v else [] for v in y]
    batches = [sb.data.Batch([sb.Value.dense(x[lo:lo + 100])], sb.data.Labels.from_lists(rows[lo:lo + 100]))
               for lo in range(0, n, 100)]
    model.train(batches, epochs=60, learning_rate=0.5, verbose=False)
    assert model.evaluate(batches, ["auc"])["auc"] > 0.95


def test_callbacks_see_every_batch_and_epoch():
    seen = {"batches": 0, "epochs": []}

    class Count(sb.Callback):
        def on_batch_end(self, step, logs, model):
            seen["batches"] += 1
            assert np.isfinite(logs["loss"])

        def on_epoch_end(self, epoch, logs, model):
            seen["epochs"].append(epoch)

    data = clustered(n=300, batch_size=100)
    small_model().train(data, epochs=2, learning_rate=1e-2, callbacks=[Count()], verbose=False)
    assert seen == {"batches": 6, "epochs": [0, 1]}


def test_tables_are_rebuilt_on_schedule():
    data = clustered(n=1000, batch_size=100)
    model = small_model(sampling=sb.LSHConfig(family="dwta", k=3, n_tables=8, reservoir=16,
                                              rebuild_every=3, rehash_every=7))
    index = model.output.layer.index
    bins = index.hash_fn.bins.copy()
    model.train(data, epochs=2, learning_rate=1e-2, verbose=False, label_augmentation=False)
    # 20 batches: rebuilds at 3,6,9,12,15,18 and rehashes (with a rebuild) at 7,14; +1 at build
    assert index.rebuilds == 1 + 6 + 2
    assert not np.array_equal(bins, index.hash_fn.bins)


def test_label_augmentation_freezes_the_tables_from_the_second_epoch():
    data = clustered(n=1000, batch_size=100)
    model = small_model(sampling=sb.LSHConfig(family="dwta", k=3, n_tables=8, reservoir=16,
                                              rebuild_every=3, rehash_every=7))
    index = model.output.layer.index
    model.train(data, epochs=2, learning_rate=1e-2, verbose=False)
    # the first epoch's 10 batches only: rebuilds at 3, 6, 9 and a rehash at 7
    assert index.rebuilds == 1 + 3 + 1
    assert index.frozen and index.labels_inserted > 0
    t, b = np.nonzero(index.tables.pinned)
    pinned_ids = {int(index.tables.buckets[t[i], b[i], r]) for i in range(t.size)
                  for r in range(index.tables.pinned[t[i], b[i]])}
    assert pinned_ids and pinned_ids <= set(data.labels.ids.tolist())


def test_label_augmentation_counts_epochs_across_train_calls(tmp_path):
    """One epoch per call must reach the second epoch too: the count lives on the model
    and survives save and load."""
    data = clustered(n=1000, batch_size=100)
    config = sb.LSHConfig(family="dwta", k=3, n_tables=8, reservoir=16, rebuild_every=3, rehash_every=7)
    model = small_model(sampling=config)
    index = model.output.layer.index
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    assert model.epochs == 1 and not index.frozen and index.labels_inserted == 0
    model.save(tmp_path / "one.sbm")
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    assert model.epochs == 2 and index.frozen and index.labels_inserted > 0
    loaded = sb.Model.load(tmp_path / "one.sbm")
    assert loaded.epochs == 1
    loaded.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    assert loaded.output.layer.index.frozen and loaded.output.layer.index.labels_inserted > 0


def test_train_step_alone_follows_the_streaming_schedule():
    data = clustered(n=7000, batch_size=100)
    model = small_model()
    index = model.output.layer.index
    for batch in data:
        model.train_step(batch, 1e-2)
    # tables every 6,400 samples when nothing says how long an epoch is
    assert index.rebuild_every == 64 and index.rebuilds == 2


def test_fused_softmax_input_gradient_equals_the_unfused_one():
    data = clustered(n=64, batch_size=64)
    model = small_model(sparsity=0.05)
    batch = next(iter(data))
    layer, hidden = model.output.layer, model.output.inputs[0]

    def output_input_grad(fused):
        ctx = Context(training=True, labels=batch.labels, salt=1, softmax_ce=fused)
        values = model.forward(batch, ctx)
        loss, dz = model.loss(values[model.output], batch.labels)
        dx = layer.backward([values[hidden]], values[model.output], dz, [True], ctx, preactivation=True)[0]
        layer.W.pending = None
        layer.b.grad[...] = 0
        return values[model.output].vals.copy(), dx.copy(), loss

    acts_fused, dx_fused, loss_fused = output_input_grad(True)
    acts, dx, loss = output_input_grad(False)
    np.testing.assert_allclose(acts_fused, acts, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dx_fused, dx, rtol=1e-4, atol=1e-7)
    assert loss_fused == pytest.approx(loss, rel=1e-6)


def test_output_sparsity_defaults_from_the_width_and_hidden_layers_stay_dense():
    def build(n_classes):
        inp = sb.Input(dim=50)
        h = sb.FullyConnected(dim=16, activation="relu")(inp)
        out = sb.FullyConnected(dim=n_classes, activation="softmax")(h)
        sb.Model(inputs=inp, outputs=out)
        return h.layer, out.layer

    hidden, out = build(100)
    assert hidden.sparsity == 1.0 and out.sparsity == 1.0 and out.index is None
    hidden, out = build(30_000)
    assert hidden.sparsity == 1.0 and out.sparsity == 0.005 and out.n_active == 150
    assert build(5_000)[1].sparsity == 0.02


def test_set_sparsity_changes_a_trained_model_without_touching_its_weights():
    data = clustered(n=1000, batch_size=100)
    model = small_model(sparsity=0.1)
    model.train(data, epochs=2, learning_rate=1e-2, verbose=False)
    layer = model.output.layer
    weights = layer.W.value.copy()
    dense_ids, dense_scores = model.predict(data, top_k=3)
    assert layer.index.labels_inserted > 0
    pinned = layer.index.tables.buckets.copy()
    model.set_sparsity(layer.name, 0.04)          # tables with pinned labels are kept by default
    assert layer.n_active == 20 and layer.index.n_active == 20
    np.testing.assert_array_equal(layer.index.tables.buckets, pinned)
    ids, _ = model.predict(data, top_k=3, sparse_inference=True)
    assert ids.shape == (1000, 3) and (ids >= 0).all()
    model.set_sparsity(layer.name, 0.02, keep_tables=False)
    assert layer.n_active == 10 and layer.index.config == sb.autotune(500, 32, 0.02)
    assert layer.index.labels_inserted == 0
    ids, _ = model.predict(data, top_k=3, sparse_inference=True)
    assert ids.shape == (1000, 3) and (ids >= 0).all()
    np.testing.assert_array_equal(layer.W.value, weights)
    model.set_sparsity(layer, 1.0)
    assert layer.index is None
    ids, scores = model.predict(data, top_k=3, sparse_inference=True)
    np.testing.assert_array_equal(ids, dense_ids)
    np.testing.assert_allclose(scores, dense_scores, rtol=1e-5)
    model.set_sparsity(layer, 0.05)
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False, label_augmentation=False)
    assert layer.index.rebuilds > 1                # training goes on sparsely
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    assert layer.index.frozen and layer.index.labels_inserted > 0   # a third epoch augments at once


def test_set_sparsity_rejects_bad_values_and_unknown_layers():
    model = small_model()
    with pytest.raises(ValueError, match=r"The 'sparsity' parameter of set_sparsity must be a number in \(0.0, 1.0\]. Got 1.5 instead."):
        model.set_sparsity(model.output.layer, 1.5)
    with pytest.raises(ValueError, match=r"^The 'layer' parameter of set_sparsity must be a FullyConnected layer of "
                                         r"this model or its name \('fullyconnected_\d+'\)\. Got 'nope' instead\.$"):
        model.set_sparsity("nope", 0.1)
    with pytest.raises(ValueError, match=r"^The 'name' parameter of Model.layer must be the name of one of the "
                                         r"model's layers \('embedding_\d+', 'fullyconnected_\d+'\)\. Got 'nope' "
                                         r"instead\.$"):
        model.layer("nope")
    with pytest.raises(ValueError, match="The 'keep_tables' parameter of set_sparsity must be a bool or None"):
        model.set_sparsity(model.output.layer, 0.1, keep_tables="yes")
    with pytest.raises(ValueError, match="must be a FullyConnected layer"):
        model.set_sparsity(model.output.inputs[0].layer, 0.1)
    with pytest.raises(ValueError, match="must be a FullyConnected layer"):
        model.set_sparsity(model.output.inputs[0].layer.name, 0.1)


@pytest.mark.parametrize("hidden_layer", ["embedding", "fully_connected"])
def test_compute_then_apply_gradients_equals_a_train_step(hidden_layer):
    def build():
        inp = sb.Input(dim=2000)
        if hidden_layer == "embedding":
            h = sb.Embedding(dim=32, activation="relu")(inp)
        else:
            h = sb.FullyConnected(dim=32, activation="relu")(inp)   # over the sparse input
        h = sb.LayerNorm()(h)
        out = sb.FullyConnected(dim=500, sparsity=0.1, activation="softmax")(h)
        return sb.Model(inputs=inp, outputs=out, seed=3)

    data = clustered(n=100, batch_size=10, shuffle=False)
    fused, split = build(), build()
    for batch in data:
        loss_a = fused.train_step(batch, 1e-2)
        loss_b, grads = split.compute_gradients(batch)
        # only touched rows travel: the 500 x 32 output matrix sends its active rows
        rows, values = grads[split.output.layer.W.name]
        assert rows.size < 500 and values.shape == (rows.size, 32)
        split.apply_gradients(grads, 1e-2, batch.batch_size)
        assert loss_a == loss_b
    for pa, pb in zip(fused.parameters(), split.parameters()):
        np.testing.assert_array_equal(pa.value, pb.value)


def test_a_graph_thousands_of_layers_deep_needs_no_recursion():
    # issue 15, finding 3: the graph walk was recursive, and a model file chaining 3,000
    # layers raised RecursionError on load
    x = inp = sb.Input(dim=50)
    x = sb.Embedding(dim=4)(x)
    for _ in range(3000):
        x = sb.LayerNorm()(x)
    model = sb.Model(inp, sb.FullyConnected(3, activation="softmax")(x), build=False)
    assert len(model.nodes) == 3003 and model.nodes[0] is inp and model.nodes[-1] is model.output
    assert all(n.inputs[0] is prev for prev, n in zip(model.nodes[1:], model.nodes[2:]))


def test_unnamed_layers_are_numbered_by_their_model_the_same_in_every_build():
    first, second = small_model(), small_model()  # no global counter: the second build names alike
    assert first.layer_names() == second.layer_names() == ["inputlayer_1", "embedding_1", "fullyconnected_1"]
    inp = sb.Input(dim=10)
    h = sb.FullyConnected(8, activation="relu", name="fullyconnected_1")(inp)
    out = sb.FullyConnected(4, activation="softmax")(h)
    assert sb.Model(inp, out).layer_names() == ["inputlayer_1", "fullyconnected_1", "fullyconnected_2"]


def test_rename_layers_renames_parameters_too():
    model = small_model()
    model.rename_layers(["in", "emb", "out"])
    assert [p.name for p in model.parameters()] == ["emb/E", "emb/b", "out/W", "out/b"]
    with pytest.raises(ValueError, match=r"^The 'names' parameter of rename_layers must be one name a layer \(the "
                                         r"model has 3 layers\)\. Got \['a', 'b'\] instead\.$"):
        model.rename_layers(["a", "b"])


def test_train_step_checks_its_batch_as_compute_gradients_does():
    model = small_model()
    bad = sb.data.Batch((sb.data.csr_value(2000, np.array([0, 1]), np.array([5000], np.int32)),),
                        sb.data.Labels.from_lists([[0]]))
    for step in (lambda: model.train_step(bad, 1e-3), lambda: model.compute_gradients(bad)):
        with pytest.raises(ValueError, match=r"feature ids in \[0, 2000\). Got id 5000"):
            step()
    labels = sb.data.Labels.from_lists([[0], [1]])
    with pytest.raises(TypeError, match=r"Input 'inputlayer_\d+' must be given a Value. Got ndarray"):
        model.train_step(sb.data.Batch((np.zeros((2, 2000), np.float32),), labels), 1e-3)
    listed = sb.data.Value(2000, np.ones(2, np.float32), [3, 4], np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="must have 1-D int32 ids. Got list"):
        model.train_step(sb.data.Batch((listed,), labels), 1e-3)
    assert model.steps == 0


@pytest.mark.skipif(sb._threads.numba.config.NUMBA_NUM_THREADS < 2, reason="needs numba started with 2+ threads")
def test_a_step_that_fails_inside_gives_the_threads_back(monkeypatch):
    model = small_model()
    batch = next(iter(clustered(n=64, batch_size=64, shuffle=False)))

    def fail(*a):
        raise RuntimeError("inside the step")
    monkeypatch.setattr(model.layers[0], "forward", fail)
    before = sb.get_num_threads()
    try:
        sb.set_num_threads(2)
        with pytest.raises(RuntimeError, match="inside the step"):
            model.train_step(batch, 1e-3)
        assert sb.get_num_threads() == 2
    finally:
        sb.set_num_threads(before)


def test_no_package_attribute_shadows_a_submodule_of_the_same_name():
    """``sb.lsh.autotune`` was both a module and the function that hid it."""
    import importlib
    import pkgutil
    for info in pkgutil.walk_packages(sb.__path__, "sparsebolt."):
        if info.name.split(".")[-1].startswith("_") or info.name.startswith(("sparsebolt.serve", "sparsebolt.cli",
                                                                             "sparsebolt.distributed.worker")):
            continue
        parent, _, child = info.name.rpartition(".")
        module = importlib.import_module(info.name)
        assert getattr(importlib.import_module(parent), child) is module, info.name


def test_every_get_state_is_json_meta_and_named_arrays():
    import json
    model, data = small_model(), clustered(n=256)
    model.train(data, epochs=1, learning_rate=1e-2, verbose=False)
    index = model.output.layer.index
    for obj in (model, data, model.optimizer, *model.layers, index, index.hash_fn, index.tables):
        meta, arrays = obj.get_state()
        json.dumps(meta)
        assert isinstance(arrays, dict) and all(isinstance(a, np.ndarray) for a in arrays.values()), obj


@pytest.mark.parametrize("layout", ["fortran", "strided"])
def test_a_state_with_arrays_in_any_layout_predicts_and_trains_as_the_contiguous_one(layout):
    # the kernels' row prefetches are typed for C-contiguous arrays; set_state makes them so
    model = small_model()
    model.train(clustered(n=300), epochs=1, learning_rate=1e-2, verbose=False)
    meta, arrays = model.get_state()
    other = {k: (np.asfortranarray(a) if layout == "fortran" else np.repeat(a, 2, axis=-1)[..., ::2])
             if a.ndim == 2 else a.copy() for k, a in arrays.items()}
    assert any(not a.flags.c_contiguous for a in other.values())
    copies = []
    for state in ({k: a.copy() for k, a in arrays.items()}, other):  # each model trains its own arrays
        m = sb.Model.from_config(model.get_config(), build=False)
        m.set_state(meta, state)
        copies.append(m)
    test = clustered(n=300, shuffle=False)
    np.testing.assert_array_equal(copies[0].predict(test, top_k=3)[0], copies[1].predict(test, top_k=3)[0])
    for m in copies:
        m.train(clustered(n=300), epochs=1, learning_rate=1e-2, verbose=False)
    for a, b in zip(copies[0].parameters(), copies[1].parameters()):
        np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("kw, message", [
    # int() had made 1.7 and True seed 1, and -1 failed later in NumPy
    ({"seed": 1.7}, "The 'seed' parameter of Model must be an int >= 0. Got 1.7 instead."),
    ({"seed": True}, "The 'seed' parameter of Model must be an int >= 0. Got True instead."),
    ({"seed": "x"}, "The 'seed' parameter of Model must be an int >= 0. Got 'x' instead."),
    ({"seed": -1}, "The 'seed' parameter of Model must be an int >= 0. Got -1 instead."),
    # built, then training failed with an AttributeError
    ({"optimizer": 42}, "The 'optimizer' parameter of Model must be an optimizer name ('adam', 'sgd') or instance "
                        "(sb.Adam, sb.SGD). Got 42 instead."),
    ({"build": "no"}, "The 'build' parameter of Model must be a bool. Got 'no' instead."),
])
def test_model_checks_its_seed_optimizer_and_build(kw, message):
    inp = sb.Input(dim=20)
    out = sb.FullyConnected(4, activation="softmax")(inp)
    with pytest.raises(ValueError) as err:
        sb.Model(inp, out, **kw)
    assert str(err.value) == message
    model = sb.Model(inp, out, optimizer=sb.SGD(), seed=np.int64(3), build=np.bool_(True))
    assert model.seed == 3 and type(model.seed) is int


def test_layer_names_whose_arrays_would_collide_are_refused():
    inp = sb.Input(dim=20_000)
    a, b = sb.Embedding(8, name="emb")(inp), sb.Embedding(8, name="emb/rows")(inp)
    model = sb.Model(inp, sb.FullyConnected(2, activation="softmax", name="out")(sb.Concatenate(name="cat")(a, b)))
    with pytest.raises(ValueError, match="has the array 'layers/emb/rows/E' of another layer"):
        model.layer("emb").get_state = lambda: ({}, {"rows/E": np.zeros(1)})  # as a compact table would
        model.get_state()


def test_custom_classes_cannot_be_saved(tmp_path):
    class MyLoss(sb.CategoricalCrossEntropy):
        pass

    inp = sb.Input(dim=10)
    model = sb.Model(inp, sb.FullyConnected(4, activation="softmax")(inp), loss=MyLoss())
    with pytest.raises(TypeError, match="Cannot save a model whose loss is a MyLoss"):
        model.save(tmp_path / "m.sbm")
    assert not (tmp_path / "m.sbm").exists()
