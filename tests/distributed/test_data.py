"""Training files as shards: SVM byte ranges hold every row once and balance skewed rows, an
epoch's plan is the same after a restart, and bad shards are refused naming the file."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.distributed.data import (SvmFiles, as_spec, batch_samples, epoch_batches, load_shard,
                                         steps_per_epoch, worker_batch_sizes)

from ..synthetic import small_model
from .helpers import _row_numbered


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
    with pytest.raises(ValueError, match=r"^The 'batch_size' parameter of sb.distributed.train must be at least "
                                         r"num_workers=4 \(it is the global batch, split across the workers\)\. Got 3 "
                                         r"instead\.$"):
        sb.distributed.train(small_model(), path, num_workers=4, batch_size=3)


def test_out_of_range_ids_in_a_shard_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.svm"
    path.write_text("0 1:1\n\n1 2:1\n2 30:1\n3 3:1\n")
    with pytest.raises(sb.data.DataFormatError, match=r"bad.svm, line 4: feature id 30 is out of range"):
        SvmFiles(path).load(1, 2, 10, 4)


def test_no_training_files_are_refused_naming_the_parameter_given():
    # SvmFiles and TextCsvFiles had named sb.distributed.train's 'train_files'
    expected = "must be a file path or a non-empty list of them. Got [] instead."
    for make, owner in ((lambda: as_spec([]), "The 'train_files' parameter of sb.distributed.train"),
                        (lambda: SvmFiles([]), "The 'paths' parameter of SvmFiles"),
                        (lambda: sb.distributed.TextCsvFiles([], "text", "label", sb.data.HashedTextFeaturizer(dim=64)),
                         "The 'paths' parameter of TextCsvFiles")):
        with pytest.raises(ValueError) as err:
            make()
        assert str(err.value) == f"{owner} {expected}"


def test_a_train_files_callable_and_a_text_featurizer_that_do_not_fit_are_refused_in_the_template(tmp_path):
    with pytest.raises(TypeError, match=r"^The 'train_files' parameter of sb.distributed.train, a callable, must return "
                                        r"a sb.data.SparseDataset for \(rank, num_workers\)\. Got list for \(1, 2\) "
                                        r"instead\.$"):
        load_shard(lambda rank, num_workers: [], 1, 2, 10, 3)
    path = tmp_path / "t.csv"
    path.write_text("text,label\nred,a\nblue,b\n")
    files = sb.distributed.TextCsvFiles(path, "text", "label", sb.data.HashedTextFeaturizer(dim=64))
    with pytest.raises(ValueError, match=r"^The 'featurizer' parameter of TextCsvFiles must hash into the model's 128 "
                                         r"input features\. Got a featurizer of dim 64 instead\.$"):
        files.load(0, 1, 128, 2)
    assert files.load(0, 1, 64, 2).n_samples == 2
