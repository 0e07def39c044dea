"""Checkpoints: a resumed seeded run ends with the weights of an uninterrupted one, also
after a real SIGKILL in the middle of writing a checkpoint."""
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import Archive, ModelFileError
from sparsebolt.io._model import restore_model_file
from sparsebolt.io._describe import describe_file
from sparsebolt.train.checkpoints import list_checkpoints

from ..synthetic import clustered, flat_validation, small_model
from .crash_train import EPOCHS, EVERY, run
from ..io.helpers import data_offset, flip_byte, rewrite, same_weights

ROOT = Path(__file__).resolve().parents[2]
STEPS = EPOCHS * 7   # 800 samples in batches of 128


class Stop(Exception):
    pass


class StopAt(sb.Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, step, logs, model):
        if step == self.step:
            raise Stop


class FirstStep(sb.Callback):
    def on_train_begin(self, model):
        self.steps = model.steps


@pytest.fixture(scope="module")
def uninterrupted():
    before = sb.get_num_threads()
    sb.set_num_threads(1)
    try:
        return run()
    finally:
        sb.set_num_threads(before)


def names(directory):
    return [os.path.basename(p) for p in list_checkpoints(directory)]


def test_resuming_an_interrupted_run_gives_the_weights_of_an_uninterrupted_one(tmp_path, uninterrupted, one_thread):
    reference, ref_history = uninterrupted
    with pytest.raises(Stop):
        run(checkpoint_dir=tmp_path, checkpoint_every=EVERY, keep=2, callbacks=[StopAt(14)])
    assert names(tmp_path) == ["ckpt-0000000012.sbm", "ckpt-0000000008.sbm"]
    described = describe_file(list_checkpoints(tmp_path)[0])
    assert described["checkpoint"] == {"epoch": 1, "batch": 5} and described["steps"] == 12
    first = FirstStep()
    model, history = run(checkpoint_dir=tmp_path, checkpoint_every=EVERY, keep=2, resume=True, callbacks=[first])
    assert first.steps == 12   # epoch 2, 5 of its 7 batches trained, tables frozen with labels pinned
    assert model.steps == STEPS and same_weights(model, reference)
    assert history["loss"] == ref_history["loss"]
    assert names(tmp_path) == [f"ckpt-{STEPS:010d}.sbm", "ckpt-0000000020.sbm"]
    # a finished run resumes to nothing more
    again, history = run(checkpoint_dir=tmp_path, resume=True)
    assert same_weights(again, reference) and history["loss"] == ref_history["loss"]


def test_a_checkpoint_without_an_epoch_count_resumes_as_the_uninterrupted_run(tmp_path, uninterrupted, one_thread,
                                                                             monkeypatch):
    """Files written before models counted epochs: the run's own finished epochs stand in,
    so label augmentation still starts in the second epoch."""
    reference, _ = uninterrupted
    write_state = sb.Model.get_state

    def without_epochs(model, optimizer_state=True):
        meta, arrays = write_state(model, optimizer_state)
        del meta["epochs"]
        return meta, arrays

    monkeypatch.setattr(sb.Model, "get_state", without_epochs)
    with pytest.raises(Stop):
        run(checkpoint_dir=tmp_path, callbacks=[StopAt(9)])   # checkpoints at each epoch's end only
    monkeypatch.undo()
    assert describe_file(list_checkpoints(tmp_path)[0])["epochs"] is None
    model, _ = run(checkpoint_dir=tmp_path, resume=True)
    assert model.epochs == EPOCHS and same_weights(model, reference)


@pytest.mark.parametrize("where", ["rename", "write"])
def test_a_run_killed_mid_checkpoint_resumes_from_the_last_good_one(tmp_path, uninterrupted, one_thread, where):
    reference, _ = uninterrupted
    marker = tmp_path / "stopped"
    directory = tmp_path / "ckpt"
    child = subprocess.Popen([sys.executable, "-m", "tests.train.crash_train", str(directory), str(marker), where, "3"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "the training process never reached its third checkpoint"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    leftovers = [n for n in os.listdir(directory) if n.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt-0000000012.sbm.")
    assert names(directory) == ["ckpt-0000000008.sbm", "ckpt-0000000004.sbm"]
    first = FirstStep()
    model, _ = run(checkpoint_dir=directory, checkpoint_every=EVERY, resume=True, callbacks=[first])
    assert first.steps == 8
    assert same_weights(model, reference)
    assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]


def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(tmp_path, uninterrupted, one_thread):
    reference, _ = uninterrupted
    with pytest.raises(Stop):
        run(checkpoint_dir=tmp_path, checkpoint_every=EVERY, callbacks=[StopAt(13)])
    newest = list_checkpoints(tmp_path)[0]
    with Archive(newest) as archive:
        weights = next(k for k in archive.keys() if k.startswith("layers/fullyconnected") and k.endswith("/W"))
    flip_byte(newest, data_offset(newest, weights) + 8)
    first = FirstStep()
    with pytest.warns(RuntimeWarning, match=r"Skipping a damaged checkpoint: .*ckpt-0000000012\.sbm: member .* is corrupted"):
        model, _ = run(checkpoint_dir=tmp_path, checkpoint_every=EVERY, resume=True, callbacks=[first])
    assert first.steps == 8 and same_weights(model, reference)


class _GrowsAfterFirstEpoch(sb.train.Constant):
    """1e-2, in steps of twice the data's batch size from the second epoch."""
    max_batch_growth = 2

    def __init__(self):
        super().__init__(1e-2)

    def on_epoch_end(self, epoch, logs):
        self.batch_growth = 2


def _growing_run(**train_kw):
    model = small_model()
    history = model.train(clustered(n=800), epochs=EPOCHS, learning_rate=_GrowsAfterFirstEpoch(), verbose=False,
                          **train_kw)
    return model, history


def test_a_run_resumes_at_the_grown_batch_size_it_stopped_at(tmp_path, one_thread):
    reference, ref_history = _growing_run()
    assert ref_history["batches"] == [7, 4, 4]
    with pytest.raises(Stop):
        _growing_run(checkpoint_dir=tmp_path, checkpoint_every=2, callbacks=[StopAt(11)])
    assert describe_file(list_checkpoints(tmp_path)[0])["checkpoint"] == {"epoch": 1, "batch": 3}
    model, history = _growing_run(checkpoint_dir=tmp_path, checkpoint_every=2, resume=True)
    assert history["batches"] == [7, 4, 4] and same_weights(model, reference)


def test_a_run_resumed_after_an_epoch_takes_the_schedules_next_batch_size(tmp_path, one_thread):
    reference, _ = _growing_run()
    with pytest.raises(Stop):  # the first epoch is 7 steps; its end-of-epoch checkpoint is the newest
        _growing_run(checkpoint_dir=tmp_path, callbacks=[StopAt(9)])
    model, history = _growing_run(checkpoint_dir=tmp_path, resume=True)
    assert history["batches"] == [7, 4, 4] and same_weights(model, reference)


def _plateau_run(warmup=0, **train_kw):
    model = small_model()
    # a flat metric: every epoch after the first is a plateau, which doubles the batch twice
    # and then halves the rate
    schedule = sb.train.WarmupPlateau(1e-2, warmup, "val_flat", patience=1, max_batch_growth=4)
    history = model.train(clustered(n=800), epochs=5, learning_rate=schedule, verbose=False, **flat_validation(),
                          **train_kw)
    return model, history


@pytest.mark.parametrize("warmup", [0, 3])
def test_a_resumed_run_brings_its_schedule_back_to_where_it_stood(tmp_path, one_thread, warmup):
    # a warm-up's end is counted in steps: replayed without them, every finished epoch had
    # looked like warm-up and lost its plateau (resumed batches 7, 7, 4, 4, 2 where 7, 7, 4,
    # 2, 2 were due)
    reference, ref_history = _plateau_run(warmup)
    if warmup == 0:
        assert ref_history["batches"] == [7, 7, 4, 2, 2]
        assert ref_history["learning_rate"] == [1e-2, 1e-2, 1e-2, 1e-2, 5e-3]
    with pytest.raises(Stop):
        _plateau_run(warmup, checkpoint_dir=tmp_path, checkpoint_every=1, callbacks=[StopAt(16)])
    model, history = _plateau_run(warmup, checkpoint_dir=tmp_path, checkpoint_every=1, resume=True)
    assert history["batches"] == ref_history["batches"] and history["steps"] == ref_history["steps"]
    assert history["learning_rate"] == ref_history["learning_rate"]
    assert same_weights(model, reference)


def test_resuming_with_a_schedule_the_logs_cannot_bring_back_is_refused(tmp_path):
    small_model().train(clustered(n=800), epochs=1, learning_rate=1e-2, verbose=False, checkpoint_dir=tmp_path)
    schedule = sb.train.WarmupPlateau(1e-2, 0, "val_precision@1")  # the first epoch had no validation
    with pytest.raises(ValueError, match=r"Resuming from .*ckpt-0000000007\.sbm: the schedule WarmupPlateau\(.*\) "
                                         r"cannot be brought back to where it stood from epoch 1's logs: .*"
                                         r"'val_precision@1'.*Resume with the schedule and validation"):
        small_model().train(clustered(n=800), epochs=3, learning_rate=schedule, verbose=False, resume=True,
                            checkpoint_dir=tmp_path, validation=clustered(n=200, seed=1), metrics=["precision@1"])


def test_checkpoint_parameters_are_checked(tmp_path):
    model, data = small_model(), clustered(n=300)
    with pytest.raises(ValueError, match="The 'checkpoint_every' parameter of train must be an int >= 1. Got 0 instead."):
        model.train(data, checkpoint_dir=tmp_path, checkpoint_every=0, verbose=False)
    with pytest.raises(ValueError, match="The 'keep' parameter of train must be an int >= 1. Got 0 instead."):
        model.train(data, checkpoint_dir=tmp_path, keep=0, verbose=False)
    with pytest.raises(ValueError, match=r"^The 'resume' parameter of train must be False without a 'checkpoint_dir' "
                                         r"to resume from\. Got True instead\.$"):
        model.train(data, resume=True, verbose=False)
    model.train(data, epochs=2, checkpoint_dir=tmp_path, verbose=False)   # one at the end of each epoch
    assert names(tmp_path) == ["ckpt-0000000006.sbm", "ckpt-0000000003.sbm"]
    with pytest.raises(ValueError, match=r"The 'checkpoint_dir' parameter of train must be a directory without "
                                         r"checkpoints unless resume=True\. Got .*, which holds ckpt-0000000006\.sbm, "
                                         r"instead \(pass resume=True to continue that run\)\.$"):
        small_model().train(data, checkpoint_dir=tmp_path, verbose=False)
    other = small_model(hidden=16)
    with pytest.raises(ValueError, match=r"ckpt-0000000006\.sbm was written by a different model \(its layers differ\)"):
        other.train(data, checkpoint_dir=tmp_path, resume=True, verbose=False)


def _nan_metric_run(**train_kw):
    # the validation rows carry no labels: their neg_log_loss is NaN every epoch
    model, data, rows = small_model(), clustered(n=800), clustered(n=40, seed=1)
    unlabeled = sb.data.SparseDataset(rows.features.offsets, rows.features.ids, None,
                                      sb.data.Labels(np.zeros(41, dtype=np.int64), np.zeros(0, dtype=np.int64)),
                                      rows.features.dim, batch_size=64, shuffle=False)
    history = model.train(data, epochs=3, learning_rate=1e-2, validation=unlabeled, metrics=["neg_log_loss"],
                          verbose=False, **train_kw)
    return model, history


def test_a_run_whose_logs_hold_nan_checkpoints_and_resumes(tmp_path, one_thread):
    reference, ref_history = _nan_metric_run()
    assert all(math.isnan(v) for v in ref_history["val_neg_log_loss"])
    with pytest.raises(Stop):
        _nan_metric_run(checkpoint_dir=tmp_path, checkpoint_every=3, callbacks=[StopAt(16)])
    model, history = _nan_metric_run(checkpoint_dir=tmp_path, checkpoint_every=3, resume=True)
    assert same_weights(model, reference) and history["loss"] == ref_history["loss"]
    assert all(math.isnan(v) for v in history["val_neg_log_loss"]) and len(history.epochs) == 3


def test_a_run_resumed_from_an_epochs_last_step_logs_that_epochs_rate(tmp_path, one_thread):
    # 7 steps an epoch, a checkpoint every 3: step 63 ends epoch 9 with no step of it left
    model, data = small_model(), clustered(n=800)
    schedule = sb.train.WarmupDecay(1e-2, 5, 70)
    reference = model.train(data, epochs=10, learning_rate=schedule, verbose=False)
    with pytest.raises(Stop):
        small_model().train(clustered(n=800), epochs=10, learning_rate=sb.train.WarmupDecay(1e-2, 5, 70),
                            verbose=False, checkpoint_dir=tmp_path, checkpoint_every=3, callbacks=[StopAt(64)])
    assert describe_file(list_checkpoints(tmp_path)[0])["checkpoint"] == {"epoch": 8, "batch": 7}
    history = small_model().train(clustered(n=800), epochs=10, learning_rate=sb.train.WarmupDecay(1e-2, 5, 70),
                                  verbose=False, checkpoint_dir=tmp_path, checkpoint_every=3, resume=True)
    assert history["learning_rate"] == reference["learning_rate"]


def test_a_checkpoint_that_fails_half_way_in_leaves_the_model_as_it_was(tmp_path):
    # its state failed at the output's index after the other layers had taken theirs: the
    # resume skipped it and 'started from the beginning' on half its weights
    small_model(name="out").train(clustered(n=800), epochs=1, learning_rate=1e-2, verbose=False,
                                  checkpoint_dir=tmp_path / "ckpt")
    newest = list_checkpoints(tmp_path / "ckpt")[0]
    bad = str(tmp_path / "bad.sbm")

    def misfit(manifest):
        manifest["state"]["layers"]["out"]["index"]["n_active"] = 7
        return manifest

    rewrite(newest, bad, manifest_fn=misfit)
    fresh, untouched = small_model(name="fresh_out"), small_model(name="fresh_out")
    names = fresh.layer_names()
    with pytest.raises(ModelFileError, match="holds a model state that does not fit its config"):
        restore_model_file(fresh, bad)
    assert fresh.layer_names() == names and same_weights(fresh, untouched)


def test_a_resume_mid_epoch_needs_batches_of_the_same_size(tmp_path):
    # counted at the new size, 3 batches of 128 were skipped where 3 of 64 had been trained:
    # 192 rows never trained that epoch, and nothing said so
    with pytest.raises(Stop):
        small_model().train(clustered(n=800, batch_size=64), epochs=1, verbose=False, checkpoint_dir=tmp_path,
                            checkpoint_every=3, callbacks=[StopAt(4)])
    with pytest.raises(ValueError, match=r"The checkpoint is 3 batches \(192 samples\) into epoch 1, but the "
                                         r"data's first 3 batches hold 384 samples: resume on the same data in "
                                         r"batches of the same size"):
        small_model().train(clustered(n=800, batch_size=128), epochs=1, verbose=False, checkpoint_dir=tmp_path,
                            resume=True)
    history = small_model().train(clustered(n=800, batch_size=64), epochs=1, verbose=False, checkpoint_dir=tmp_path,
                                  resume=True)
    assert history["samples"] == [800]


@pytest.mark.parametrize("edit", [{}, {"epoch": "x"}, {"batch": -5}, {"history": 3}, {"data_state": [1]},
                                  {"batch_growth": 0}, {"seconds": "x"}])
def test_a_damaged_training_position_is_skipped_before_any_state_is_restored(tmp_path, edit):
    # an empty table had raised KeyError 'history', a string epoch a TypeError
    directory = tmp_path / "ckpt"
    small_model(name="out").train(clustered(n=800), epochs=1, learning_rate=1e-2, verbose=False,
                                  checkpoint_dir=directory)
    newest = list_checkpoints(directory)[0]

    def damage(manifest):
        manifest["training"] = dict(manifest["training"], **edit) if edit else {}
        return manifest

    rewrite(newest, newest + ".x", manifest_fn=damage)
    os.replace(newest + ".x", newest)
    fresh, untouched = small_model(name="out"), small_model(name="out")
    with pytest.warns(RuntimeWarning, match=r"Skipping a damaged checkpoint: .* holds a damaged training position"):
        fresh.train(clustered(n=800), epochs=1, learning_rate=1e-30, verbose=False, checkpoint_dir=directory,
                    resume=True)
    untouched.train(clustered(n=800), epochs=1, learning_rate=1e-30, verbose=False)
    assert same_weights(fresh, untouched)
