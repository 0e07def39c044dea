"""Data-parallel training on Ray with 2 workers on this machine: identical replicas, the
same accuracy as one worker, and a worker killed mid-epoch. One Ray instance serves the
module; the pure-NumPy parts (combining, checkpoints, shards) are tested without it."""
import csv
import os
import signal
import sys

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.distributed.data import (SvmFiles, batch_samples, epoch_batches, steps_per_epoch,
                                         worker_batch_sizes)
from sparsebolt.distributed.gradients import combine, join, split
from sparsebolt.distributed.replica import load_replica_state, replica_message
from sparsebolt.distributed.trainer import start_local_ray
from sparsebolt.io import restore_model_file, save_model_file
from sparsebolt.io._describe import describe_file
from sparsebolt.train.checkpoints import list_checkpoints

from ..conftest import shared_data
from ..synthetic import clustered, planted, small_model

N_SAMPLES, BATCH = 2048, 64


def _data(batch_size=BATCH, shuffle=False):
    return clustered(n=N_SAMPLES, batch_size=batch_size, shuffle=shuffle)


def _subset(data, rows):
    b = data.batch(rows)
    v = b.inputs[0]
    return sb.data.SparseDataset(v.offsets, v.ids, v.vals, b.labels, data.dim)


def _shards(rank, num_workers):
    """Worker ``rank``'s rows: rank, rank + N, ... of the synthetic data set."""
    data = _data()
    return _subset(data, np.arange(rank, data.n_samples, num_workers))


def _weights(model):
    return [p.value.copy() for p in model.parameters()]


def _assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    start_local_ray(ray, 2, False)
    yield ray
    ray.shutdown()


# --- without Ray ----------------------------------------------------------------------


def test_combine_sums_duplicate_rows_in_order_and_averages():
    a = {"W": (np.array([3, 1], np.int32), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))}
    b = {"W": (np.array([1, 7], np.int32), np.array([[10.0, 20.0], [5.0, 6.0]], np.float32)),
         "b": (np.array([0], np.int32), np.array([2.0], np.float32))}
    out = combine([a, b], 2)
    rows, vals = out["W"]
    assert rows.tolist() == [1, 3, 7]
    np.testing.assert_array_equal(vals, [[6.5, 12.0], [0.5, 1.0], [2.5, 3.0]])
    assert out["b"][0].tolist() == [0] and out["b"][1].tolist() == [1.0]
    assert combine([a], 1) is a


def test_split_by_row_range_and_join_round_trip():
    g = {"W": (np.array([9, 0, 5, 3], np.int32), np.arange(8, dtype=np.float32).reshape(4, 2)),
         "b": (np.array([1], np.int32), np.array([4.0], np.float32))}
    pieces = split(g, {"W": 10, "b": 10}, 3)  # ranges [0, 3), [3, 6), [6, 10)
    assert [p["W"][0].tolist() for p in pieces] == [[0], [5, 3], [9]]
    assert [p["b"][0].tolist() for p in pieces] == [[1], [], []]
    back = join(pieces)  # ranges in order, each range's rows as they came
    assert back["W"][0].tolist() == [0, 5, 3, 9]
    np.testing.assert_array_equal(back["W"][1], [[2, 3], [4, 5], [6, 7], [0, 1]])


def test_combined_gradient_matches_the_dense_sum():
    rng = np.random.default_rng(0)
    parts, dense = [], np.zeros((50, 4), np.float32)
    for _ in range(3):
        rows = rng.choice(50, 20, replace=False).astype(np.int32)
        vals = rng.standard_normal((20, 4)).astype(np.float32)
        dense[rows] += vals
        parts.append({"W": (rows, vals)})
    rows, vals = combine(parts, 3)["W"]
    got = np.zeros_like(dense)
    got[rows] = vals
    np.testing.assert_allclose(got, dense / 3, rtol=1e-6)


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


def test_checkpoint_refuses_a_model_of_another_shape(tmp_path):
    save_model_file(small_model(), tmp_path / "c.sbm")
    with pytest.raises(ValueError, match="different model"):
        restore_model_file(small_model(hidden=16), tmp_path / "c.sbm")


@pytest.mark.parametrize("header", [True, False])
def test_svm_byte_range_shards_hold_every_row_once(tmp_path, header):
    rng = np.random.default_rng(1)
    lines = []
    for i in range(257):
        feats = " ".join(f"{j}:{rng.random():.3f}" for j in sorted(rng.choice(40, rng.integers(1, 12), replace=False)))
        lines.append(f"{i % 9} {feats}")
    path = tmp_path / "train.svm"
    path.write_text((f"257 40 9\n" if header else "") + "\n".join(lines) + "\n")
    whole = sb.data.load_svm(path, batch_size=1000, n_features=40, n_labels=9)
    ref = next(iter(whole))
    for n in (1, 2, 3, 7):
        shards = [SvmFiles(path).load(r, n, 40, 9) for r in range(n)]
        assert sum(s.n_samples for s in shards) == 257
        labels = np.concatenate([s.labels.ids for s in shards])
        ids = np.concatenate([s.features.ids for s in shards])
        np.testing.assert_array_equal(labels, ref.labels.ids)
        np.testing.assert_array_equal(ids, ref.inputs[0].ids)


def test_epoch_plan_is_the_same_after_a_restart_and_differs_by_epoch():
    a = epoch_batches(100, 16, epoch=2, rank=1, seed=0, shuffle=True)
    assert [len(b) for b in a] == [16] * 6 + [4]
    assert sorted(np.concatenate(a).tolist()) == list(range(100))
    for x, y in zip(a, epoch_batches(100, 16, epoch=2, rank=1, seed=0, shuffle=True)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], epoch_batches(100, 16, epoch=3, rank=1, seed=0, shuffle=True)[0])


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


def test_without_ray_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'sparsebolt\[distributed\]'"):
        sb.distributed.train(small_model(), _shards, num_workers=2)


# --- on Ray -----------------------------------------------------------------------------


def _local_two_replicas(epochs, lr):
    """What 2 workers must compute, done in this process: two replicas, each batch's
    gradients combined in worker order and applied to both, then both replicas' missed
    labels pinned in worker order (label augmentation from the second epoch)."""
    before = sb.get_num_threads()
    sb.set_num_threads(1)
    try:
        reps = [small_model(), small_model()]
        reps[1].rename_layers(reps[0].layer_names())  # gradients are keyed by name
        shards = [_shards(r, 2) for r in range(2)]
        n_batches = shards[0].n_samples // BATCH
        assert all(s.n_samples == n_batches * BATCH for s in shards)
        for m in reps:
            for layer in m.sparse_layers():
                layer.index.set_schedule(n_batches, 2 * BATCH)
                layer.index.defer_labels = True
        for epoch in range(epochs):
            if epoch == 1:
                for m in reps:
                    m.freeze_tables(label_augmentation=True)
            plans = [epoch_batches(s.n_samples, BATCH, epoch, r, 0, True) for r, s in enumerate(shards)]
            for j in range(n_batches):
                grads = [reps[r].compute_gradients(shards[r].batch(plans[r][j]))[1] for r in range(2)]
                pins = []
                for m in reps:
                    pins.append(m.output.layer.index.deferred)
                    m.output.layer.index.deferred = []
                for m in reps:
                    m.apply_gradients(combine(grads, 2), lr, 2 * BATCH)
                    for p in pins:
                        m.output.layer.index.insert_deferred(p)
    finally:
        sb.set_num_threads(before)
    return reps


def test_the_local_clusters_workers_keep_the_drivers_priority(ray_cluster):
    # Ray's default worker niceness (15) starved the workers on a busy machine
    niceness = ray_cluster.get(ray_cluster.remote(lambda: os.nice(0)).remote())
    assert niceness == os.nice(0) and "RAY_worker_niceness" not in os.environ


def test_two_workers_keep_identical_replicas_equal_to_the_reference(ray_cluster):
    res = sb.distributed.train(small_model, _shards, num_workers=2, epochs=2, learning_rate=1e-2,
                               batch_size=2 * BATCH, verbose=False)
    assert res.stats["replicas_identical"]  # weights and hash tables, pinned labels included
    assert res.stats["steps"] == 2 * (N_SAMPLES // 2 // BATCH)
    assert 0 < res.stats["sparse_bytes_per_worker_step"] < res.stats["dense_bytes_per_worker_step"]
    index = res.model.output.layer.index
    assert index.frozen and index.labels_inserted > 0
    assert res.model.epochs == 2
    reference = _local_two_replicas(epochs=2, lr=1e-2)
    _assert_same(_weights(reps := reference[0]), _weights(reference[1]))
    _assert_same(_weights(res.model), _weights(reps))
    np.testing.assert_array_equal(index.tables.buckets, reps.output.layer.index.tables.buckets)
    assert index.labels_inserted == reps.output.layer.index.labels_inserted


def test_one_worker_trains_as_model_train_does(ray_cluster, one_thread):
    local = small_model()
    local.train(_data(), epochs=1, learning_rate=1e-2, verbose=False, label_augmentation=False)

    def whole(rank, num_workers):
        return _data()

    res = sb.distributed.train(small_model, whole, num_workers=1, epochs=1, learning_rate=1e-2,
                               batch_size=BATCH, shuffle=False, label_augmentation=False, verbose=False)
    _assert_same(_weights(res.model), _weights(local))


def test_sync_every_accumulates_batches_before_exchanging(ray_cluster):
    kw = dict(num_workers=2, epochs=1, learning_rate=1e-2, batch_size=2 * BATCH, sync_every=3, verbose=False)
    res = sb.distributed.train(small_model, _shards, exchange="driver", **kw)
    assert res.stats["steps"] == -(-(N_SAMPLES // 2 // BATCH) // 3)
    assert res.stats["replicas_identical"]
    # every exchange sums each row in worker order: the same bits whoever sums it
    for exchange in ("allgather", "reduce_scatter"):
        other = sb.distributed.train(small_model, _shards, exchange=exchange, **kw)
        assert other.stats["replicas_identical"]
        _assert_same(_weights(res.model), _weights(other.model))


def test_three_workers_share_two_cores_with_reduce_scatter(ray_cluster):
    res = sb.distributed.train(small_model, _shards, num_workers=3, epochs=1, learning_rate=1e-2,
                               batch_size=3 * BATCH, verbose=False)
    assert res.stats["exchange"] == "reduce_scatter" and res.stats["workers"] == 3
    assert res.stats["replicas_identical"]
    # shards of 683, 683 and 682 samples: 11 steps, the last of 43 + 43 + 42, every sample once
    assert res.stats["steps"] == 11
    assert res.stats["samples"] == N_SAMPLES


def test_svm_files_train_and_validate_by_path(ray_cluster, tmp_path):
    data = _data()
    f, lab = data.features, data.labels
    lines = []
    for i in range(data.n_samples):
        feats = " ".join(f"{j}:{v:.6g}" for j, v in zip(f.ids[f.offsets[i]:f.offsets[i + 1]].tolist(),
                                                       f.vals[f.offsets[i]:f.offsets[i + 1]].tolist()))
        lines.append(f"{lab.row(i)[0]} {feats}")
    path = tmp_path / "train.svm"
    path.write_text("\n".join(lines) + "\n")
    res = sb.distributed.train(small_model(), [path], num_workers=2, epochs=2, learning_rate=1e-2,
                               batch_size=2 * BATCH, validation=str(path), metrics=["precision@1"], verbose=False)
    assert res.stats["replicas_identical"]
    assert res.history["val_precision@1"][-1] > 0.3


class _KillWorker(sb.Callback):
    """SIGKILL worker ``rank``'s process once, after step ``at``."""

    def __init__(self, at, rank=1):
        self.at, self.rank, self.killed = at, rank, None

    def on_batch_end(self, step, logs, model):
        if self.killed is None and step == self.at:
            self.killed = logs["worker_pids"][self.rank]
            os.kill(self.killed, signal.SIGKILL)


def test_a_worker_killed_mid_epoch_is_restarted_from_the_checkpoint(ray_cluster, tmp_path):
    kw = dict(num_workers=2, epochs=2, learning_rate=1e-2, batch_size=2 * BATCH, checkpoint_every=4, verbose=False)
    clean = sb.distributed.train(small_model, _shards, **kw)
    killer = _KillWorker(at=6)  # epoch 1 has 16 steps: checkpoint at 4, killed after 6
    res = sb.distributed.train(small_model, _shards, checkpoint_dir=tmp_path, callbacks=[killer], **kw)
    assert killer.killed is not None
    assert res.stats["restarts"] == 1
    assert 0 < res.stats["steps_lost"] <= 4
    assert res.stats["replicas_identical"]
    assert sb.Model.load(list_checkpoints(tmp_path)[0]).steps == res.model.steps
    # the replayed steps see the same batches: the model is the uninterrupted run's
    _assert_same(_weights(res.model), _weights(clean.model))
    assert res.history["epoch"] == [1, 2]
    p1 = res.model.evaluate(_data(batch_size=512), ["precision@1"])["precision@1"]
    assert p1 > 0.3  # chance is 1/500; measured 0.476


def test_resume_continues_a_stopped_job_from_its_checkpoint(ray_cluster, tmp_path):
    kw = dict(num_workers=2, learning_rate=1e-2, batch_size=2 * BATCH, checkpoint_dir=tmp_path, verbose=False)
    first = sb.distributed.train(small_model, _shards, epochs=1, **kw)
    both = sb.distributed.train(small_model, _shards, epochs=2, resume=True, **kw)
    assert both.stats["steps"] == N_SAMPLES // 2 // BATCH  # only the second epoch ran
    assert both.history["epoch"] == [1, 2]
    straight = sb.distributed.train(small_model, _shards, epochs=2, **{**kw, "checkpoint_dir": tmp_path / "b"})
    _assert_same(_weights(both.model), _weights(straight.model))
    assert first.history["epoch"] == [1]
    # the checkpoints of Model.train with the job's section: sparsebolt info shows it
    described = describe_file(list_checkpoints(tmp_path)[0])
    assert described["checkpoint"]["epoch"] == 2 and described["checkpoint"]["distributed"]["num_workers"] == 2
    assert "a Ray job of 2 workers" in described["text"]
    with pytest.raises(ValueError, match="without checkpoints unless resume=True"):
        sb.distributed.train(small_model, _shards, epochs=3, **kw)


def test_model_train_resumes_a_ray_jobs_checkpoint(ray_cluster, tmp_path, one_thread):
    """One checkpoint format: a job's epoch-end checkpoint resumes in Model.train."""
    sb.distributed.train(small_model, _shards, num_workers=2, epochs=1, learning_rate=1e-2, batch_size=2 * BATCH,
                         checkpoint_dir=tmp_path, verbose=False)
    model = small_model()
    rate = sb.train.WarmupDecay(1e-2, warmup_steps=4, total_steps=100)
    history = model.train(_data(), epochs=2, learning_rate=rate, checkpoint_dir=tmp_path, resume=True, verbose=False)
    assert history["epoch"] == [1, 2] and model.epochs == 2
    job_steps = N_SAMPLES // (2 * BATCH)
    assert model.steps == job_steps + N_SAMPLES // BATCH
    # the job's epoch took 16 steps of two workers' batches: the schedule goes on from step 16
    # (it had counted the 32 batches)
    assert history["steps"] == [job_steps, N_SAMPLES // BATCH] and history["batches"] == [2 * job_steps, 32]
    assert history["learning_rate"][1] == rate(model.steps - 1)


def test_model_train_refuses_a_ray_jobs_checkpoint_taken_mid_epoch(ray_cluster, tmp_path):
    # its steps trained a batch on each worker: skipping as many single batches had trained
    # 3,008 samples of 2,048 in the resumed epoch
    sb.distributed.train(small_model, _shards, num_workers=2, epochs=1, learning_rate=1e-2, batch_size=2 * BATCH,
                         checkpoint_dir=tmp_path, checkpoint_every=5, verbose=False)
    os.remove(list_checkpoints(tmp_path)[0])  # the epoch's end: the newest left is mid-epoch
    assert describe_file(list_checkpoints(tmp_path)[0])["checkpoint"]["batch"] > 0
    with pytest.raises(ValueError, match="steps into epoch 1 of an sb.distributed.train job"):
        small_model().train(_data(), epochs=1, learning_rate=1e-2, checkpoint_dir=tmp_path, resume=True,
                            verbose=False)


# --- real data -------------------------------------------------------------------------

N_CLASSES = 3000


def _wordnet_slice(tmp_path):
    """The rows of the first N_CLASSES synsets of WordNet search, as small CSVs."""
    root = shared_data("wordnet_search")
    keep = None
    out = {}
    for split in ("train", "test"):
        with open(root / f"{split}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        if keep is None:
            keep = {}
            for _, lab in rows:
                if lab not in keep and len(keep) < N_CLASSES:
                    keep[lab] = len(keep)
        path = tmp_path / f"{split}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["query", "label"])
            w.writerows(r for r in rows if r[1] in keep)
        out[split] = path
    return out["train"], out["test"], keep


def test_two_workers_reach_the_one_worker_precision_on_wordnet(ray_cluster, tmp_path):
    train_csv, test_csv, vocab = _wordnet_slice(tmp_path)
    feat = sb.data.HashedTextFeaturizer(dim=1 << 16)
    test, _ = sb.data.load_text_csv(test_csv, "query", "label", feat, label_vocab=vocab, batch_size=2048)
    files = sb.distributed.TextCsvFiles(train_csv, "query", "label", feat, label_vocab=vocab)

    def factory():
        inp = sb.Input(dim=1 << 16)
        out = sb.FullyConnected(N_CLASSES, sparsity=0.05, activation="softmax")(sb.Embedding(128, "relu")(inp))
        return sb.Model(inp, out, seed=0)

    p1 = {}
    for n in (1, 2):
        # batch_size is the global batch: the same steps for 1 and 2 workers
        res = sb.distributed.train(factory, files, num_workers=n, epochs=6, learning_rate=5e-3,
                                   batch_size=128, validation=test, metrics=["precision@1"], verbose=False)
        p1[n] = res.history["val_precision@1"][-1]
    # measured on 1,263 held-out queries (chance is 1/3000), model seeds 0-3: 1 worker 0.2811,
    # 0.2660, 0.2898, 0.2732; 2 workers 0.2985, 0.2937, 0.2858, 0.2898 (-0.4 to +2.8 points;
    # the featurizer before e0b3ccd: -0.2 to +2.0). "Reaches" is the claim: two workers may
    # land above one by the seed's noise, not more than a point below
    assert p1[1] > 0.2
    assert p1[2] >= p1[1] - 0.01, p1


# --- every sample once an epoch ----------------------------------------------------------


def _row_numbered(tmp_path, n=301, n_files=2):
    """SVM files whose row i has label i, the longest rows first (as in WordNet search's
    synsets), with an empty line and a header in the first file: [paths], n_features."""
    rng = np.random.default_rng(3)
    lines = []
    for i in range(n):
        width = 400 if i < n // 10 else 2
        feats = " ".join(f"{j}:1" for j in sorted(rng.choice(1000, width, replace=False)))
        lines.append(f"{i} {feats}")
    cut = n // 3
    paths = [tmp_path / "a.svm", tmp_path / "b.svm"][:n_files]
    paths[0].write_text(f"{cut} 1000 {n}\n" + "\n".join(lines[:cut]) + "\n\n")
    paths[1].write_text("\n".join(lines[cut:]))  # no newline at the end
    return paths, 1000


@pytest.mark.parametrize("workers", [2, 3, 5, 7])
def test_svm_shards_of_skewed_rows_hold_every_sample_once_and_balance(tmp_path, workers):
    paths, dim = _row_numbered(tmp_path)
    shards = [SvmFiles(paths).load(r, workers, dim, 301) for r in range(workers)]
    sizes = [s.n_samples for s in shards]
    assert max(sizes) - min(sizes) <= 1
    np.testing.assert_array_equal(np.concatenate([s.labels.ids for s in shards]), np.arange(301))
    # the epoch plan of a global batch of 40 trains each shard's every row once
    batch_sizes = worker_batch_sizes(40, workers)
    steps = steps_per_epoch(sizes, batch_sizes)
    seen = []
    for r, (shard, b) in enumerate(zip(shards, batch_sizes)):
        plan = epoch_batches(shard.n_samples, b, epoch=1, rank=r, seed=0, shuffle=True)
        assert len(plan) <= steps
        seen.extend(shard.labels.ids[np.concatenate(plan)].tolist())
        assert sum(batch_samples(shard.n_samples, b, x, 1) for x in range(steps)) == shard.n_samples
    assert sorted(seen) == list(range(301))


def test_more_workers_than_samples_is_refused_by_name(tmp_path):
    path = tmp_path / "three.svm"
    path.write_text("0 1:1\n1 2:1\n2 3:1\n")
    with pytest.raises(ValueError, match="hold 3 samples, fewer than the 5 workers"):
        SvmFiles(path).load(0, 5, 10, 3)
    with pytest.raises(ValueError, match="at least num_workers=4. Got 3"):
        sb.distributed.train(small_model(), path, num_workers=4, batch_size=3)


def test_out_of_range_ids_in_a_shard_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.svm"
    path.write_text("0 1:1\n\n1 2:1\n2 30:1\n3 3:1\n")
    with pytest.raises(sb.data.DataFormatError, match=r"bad.svm, line 4: feature id 30 is out of range"):
        SvmFiles(path).load(1, 2, 10, 4)


def test_ray_epochs_train_every_sample_of_skewed_files(ray_cluster, tmp_path):
    paths, dim = _row_numbered(tmp_path)

    def model():
        inp = sb.Input(dim=dim)
        return sb.Model(inp, sb.FullyConnected(301, activation="softmax")(sb.Embedding(8, "relu")(inp)), seed=0)

    for workers in (2, 3, 5, 7):
        res = sb.distributed.train(model, paths, num_workers=workers, epochs=1, batch_size=32, verbose=False)
        assert res.history["samples"] == [301], workers
        assert res.stats["samples"] == 301
        assert res.stats["replicas_identical"]


def test_two_workers_with_readme_settings_reach_the_one_process_model(ray_cluster, one_thread):
    """README's settings (batch_size=256, learning_rate=1e-3, 3 epochs): batch_size is the
    global batch, so 2 workers take one process's steps. Measured: one process 0.894 P@1,
    2 workers 0.897; with 256 a worker (the old default, a 512 global batch) 0.689."""
    train, test = planted(batch_size=256)

    def build():
        inp = sb.Input(dim=20000)
        out = sb.FullyConnected(2000, sparsity=0.05, activation="softmax")(sb.Embedding(128, "relu")(inp))
        return sb.Model(inp, out, seed=0)

    local = build()
    local.train(train, epochs=3, learning_rate=1e-3, verbose=False)
    p_local = local.evaluate(test, ["precision@1"])["precision@1"]

    def halves(rank, num_workers):
        return train.subset(np.arange(rank, train.n_samples, num_workers))

    res = sb.distributed.train(build, halves, num_workers=2, epochs=3, learning_rate=1e-3, batch_size=256,
                               validation=test, verbose=False)
    assert p_local > 0.8  # chance is 1/2000
    assert abs(res.history["val_precision@1"][-1] - p_local) <= 0.02, (p_local, res.history)


def test_callbacks_see_the_epochs_model_on_the_driver(ray_cluster):
    class Grab(sb.Callback):
        def on_epoch_end(self, epoch, logs, model):
            self.weights, self.steps, self.epochs = _weights(model), model.steps, model.epochs

    grab = Grab()
    res = sb.distributed.train(small_model, _shards, num_workers=2, epochs=1, learning_rate=1e-2,
                               batch_size=2 * BATCH, callbacks=[grab], verbose=False)
    assert grab.steps == res.model.steps == N_SAMPLES // (2 * BATCH) and grab.epochs == 1
    _assert_same(grab.weights, _weights(res.model))


def test_shard_errors_come_back_as_themselves(ray_cluster, tmp_path):
    # a worker that failed to read its shard had come back as ActorDiedError, a file's bad
    # line as UnserializableException
    path = tmp_path / "bad.svm"
    path.write_text("".join(f"{i % 5} {i % 9}:1\n" for i in range(200)) + "1 3:x\n")
    with pytest.raises(sb.data.DataFormatError, match=r"bad.svm, line 201: expected a number after 'id:'"):
        sb.distributed.train(small_model(), path, num_workers=2, batch_size=32, verbose=False)

    def empty_second(rank, num_workers):
        data = _data()
        return _subset(data, np.arange(0 if rank == 0 else data.n_samples, data.n_samples))

    with pytest.raises(ValueError, match="was given no training samples"):
        sb.distributed.train(small_model(), empty_second, num_workers=2, batch_size=32, verbose=False)
    assert ray_cluster.is_initialized()  # a cluster the caller started stays up
