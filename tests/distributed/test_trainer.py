"""Data-parallel training on Ray with 2 workers on this machine: identical replicas, the
same accuracy as one worker, and a worker killed mid-epoch. One Ray instance serves the
module; the pure-NumPy parts are in test_gradients.py, test_replica.py and test_data.py."""
import csv
import os
import signal
import sys

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.distributed.data import epoch_batches
from sparsebolt.distributed.gradients import combine
from sparsebolt.distributed.trainer import start_local_ray
from sparsebolt.io._describe import describe_file
from sparsebolt.train.checkpoints import list_checkpoints

from ..conftest import shared_data
from ..synthetic import planted, small_model
from .helpers import BATCH, N_SAMPLES, _assert_same, _data, _row_numbered, _weights


def _subset(data, rows):
    b = data.batch(rows)
    v = b.inputs[0]
    return sb.data.SparseDataset(v.offsets, v.ids, v.vals, b.labels, data.dim)


def _shards(rank, num_workers):
    """Worker ``rank``'s rows: rank, rank + N, ... of the synthetic data set."""
    data = _data()
    return _subset(data, np.arange(rank, data.n_samples, num_workers))


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    start_local_ray(ray, 2, False)
    yield ray
    ray.shutdown()


# --- without Ray ----------------------------------------------------------------------


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
    with pytest.raises(ValueError, match=r"without checkpoints unless resume=True\. Got .*, which holds ckpt-\d+\.sbm, "
                                         r"instead \(pass resume=True to continue that run\)\.$"):
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
