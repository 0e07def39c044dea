"""The multi-label SVM loader: format variants, streaming across chunks, clear errors."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data import DataFormatError, load_svm


def _write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _all_rows(data):
    feats, labels = [], []
    for batch in data.ordered():
        v = batch.inputs[0]
        for s in range(batch.batch_size):
            lo, hi = v.offsets[s], v.offsets[s + 1]
            feats.append(list(zip(v.ids[lo:hi].tolist(), [round(float(x), 6) for x in v.vals[lo:hi]])))
            labels.append(batch.labels.row(s).tolist())
    return feats, labels


def test_reads_labels_features_and_header(tmp_path):
    path = _write(tmp_path, "3 10 5\n1,4 0:0.5 9:1.25\n0 3:2e-1\n 7:1\n")
    data = load_svm(path, batch_size=2)
    assert (data.n_samples, data.n_features, data.n_labels) == (3, 10, 5)
    feats, labels = _all_rows(data)
    assert labels == [[1, 4], [0], []]
    assert feats == [[(0, 0.5), (9, 1.25)], [(3, 0.2)], [(7, 1.0)]]
    assert [b.batch_size for b in data] == [2, 1]


def test_without_header_sizes_come_from_a_scan(tmp_path):
    path = _write(tmp_path, "2 5:1\n\n0,3 1:-1.5\r\n")
    data = load_svm(path)
    assert (data.n_samples, data.n_features, data.n_labels) == (2, 6, 4)
    assert _all_rows(data)[0] == [[(5, 1.0)], [(1, -1.5)]]


def test_streams_in_chunks_and_batches_cross_chunk_boundaries(tmp_path):
    rng = np.random.default_rng(0)
    lines, expected = [], []
    for i in range(500):
        ids = sorted(rng.choice(1000, 5, replace=False).tolist())
        lines.append(f"{i % 7} " + " ".join(f"{j}:{j / 10:.1f}" for j in ids))
        expected.append([(j, round(float(np.float32(j / 10)), 6)) for j in ids])
    path = _write(tmp_path, "\n".join(lines) + "\n")
    data = sb.data.SvmDataset(path, batch_size=64, chunk_bytes=1024, n_features=1000, n_labels=7)
    feats, labels = _all_rows(data)
    assert feats == expected and labels == [[i % 7] for i in range(500)]
    assert sum(b.batch_size for b in data) == 500 and len(data) == 8
    shuffled = sb.data.SvmDataset(path, batch_size=64, chunk_bytes=1024, shuffle=True, seed=1)
    seen = sorted(tuple(b.labels.ids.tolist()) for b in shuffled)
    assert sum(len(x) for x in seen) == 500


@pytest.mark.parametrize("text, line, words", [
    ("1 0:1\n2 3:x\n", 2, "expected a number"),
    ("1 0:1\n1 0:1\nfoo 3:1\n", 3, "integer labels"),
    ("1 0:1\n1 7\n", 2, "expected ':'"),
    ("1 0:1\n1 -3:1\n", 2, "non-negative integer id"),
    ("1,,2 0:1\n", 1, "integer labels"),
    ("1 0:1\n1 2147483648:1\n", 2, "integer id (at most 2,147,483,647)"),
    ("1 0:1\n1 12345678901234567890123:1\n", 2, "integer id (at most 2,147,483,647)"),
    ("1 0:1\n99999999999999999999 3:1\n", 2, "integer labels (at most 2,147,483,647)"),
    ("1 0:1\n\n2 3:1 7:1e39\n", 3, "feature 7 has a value beyond float32's range"),  # issue 15, finding 6
])
def test_malformed_line_names_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(DataFormatError) as err:
        load_svm(path)
    assert f"{path}, line {line}" in str(err.value) and words in str(err.value)


def test_ids_with_leading_zeros(tmp_path):
    # 18 or more leading zeros had been cut at a digit count and read as a missing ':'
    path = _write(tmp_path, "0000000000000000000000003 000000000000000000000007:0.5 8:1e00000000000000000001\n")
    feats, labels = _all_rows(load_svm(path))
    assert labels == [[3]] and feats == [[(7, 0.5), (8, 10.0)]]


def test_malformed_line_after_a_header_counts_the_header(tmp_path):
    path = _write(tmp_path, "2 10 3\n1 0:1\n1 0:zz\n")
    data = load_svm(path)
    with pytest.raises(DataFormatError, match=r"line 3"):
        list(data)


def test_blank_only_lines_are_empty_lines_not_samples(tmp_path):
    path = _write(tmp_path, "2 5:1 \n \t\n\t\n0,3 1:-1.5\t\r\n   \n")
    data = load_svm(path)
    assert data.n_samples == 2
    feats, labels = _all_rows(data)
    assert labels == [[2], [0, 3]]
    assert feats == [[(5, 1.0)], [(1, -1.5)]]


def test_ids_beyond_the_header_sizes_are_reported(tmp_path):
    path = _write(tmp_path, "2 10 3\n1 0:1\n1 12:1\n")
    with pytest.raises(DataFormatError, match=r"line 3: feature id 12 is out of range"):
        list(load_svm(path))


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DataFormatError, match="no samples"):
        load_svm(_write(tmp_path, ""))
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        load_svm(tmp_path / "nothing.txt")
    with pytest.raises(ValueError, match="The 'batch_size' parameter of load_svm must be an int >= 1. Got 0 instead."):
        load_svm(_write(tmp_path, "1 0:1\n", "one.txt"), batch_size=0)


@pytest.mark.parametrize("kw, message", [
    ({"shuffle": "no"}, "The 'shuffle' parameter of load_svm must be a bool. Got 'no' instead."),  # read as true
    ({"seed": -1}, "The 'seed' parameter of load_svm must be an int >= 0 or a list of them. Got -1 instead."),
])
def test_shuffle_and_seed_are_checked(tmp_path, kw, message):
    path = _write(tmp_path, "1 0:1\n")
    with pytest.raises(ValueError) as err:
        load_svm(path, **kw)
    assert str(err.value) == message
    assert load_svm(path, shuffle=np.bool_(True), seed=np.int64(2)).shuffle is True


def test_trains_from_an_svm_file(tmp_path):
    rng = np.random.default_rng(0)
    owned = rng.integers(0, 300, (20, 6))
    lines = []
    for i in range(600):
        c = i % 20
        lines.append(f"{c} " + " ".join(f"{j}:1" for j in sorted(set(owned[c].tolist()))))
    path = _write(tmp_path, "\n".join(lines) + "\n")
    data = load_svm(path, batch_size=50, shuffle=True)
    inp = sb.Input(dim=data.n_features)
    out = sb.FullyConnected(data.n_labels, sparsity=0.5, activation="softmax")(sb.Embedding(16, "relu")(inp))
    model = sb.Model(inp, out)
    model.train(data, epochs=5, learning_rate=1e-2, verbose=False)
    assert model.evaluate(data, ["precision@1"])["precision@1"] > 0.95


def test_a_header_that_miscounts_the_rows_is_refused(tmp_path):
    # issue 15, finding 9
    for text, got in (("3 10 2\n1 0:1\n0 1:1\n", "has 2"), ("1 10 2\n1 0:1\n0 1:1\n", "has more")):
        data = load_svm(_write(tmp_path, text))
        with pytest.raises(DataFormatError, match=f"line 1: the header counts .* samples, but the file {got}"):
            list(data)


def test_a_stray_id_that_would_size_the_input_past_memory_names_its_line(tmp_path, capsys):
    # issue 15, finding 9: one 2147483646:1 made a 2^31-wide input and a 256 GiB allocation
    from sparsebolt.cli import main
    path = _write(tmp_path, "1 0:1 3:1\n0 2:1\n1 2147483646:1\n0 1:1\n")
    config = tmp_path / "c.toml"
    config.write_text('[[model.layers]]\ntype = "Embedding"\ndim = 32\n[[model.layers]]\ntype = "FullyConnected"\n'
                      'activation = "softmax"\n')
    assert main(["train", str(config), str(path), "-o", str(tmp_path / "m.sbm"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "2,147,483,647 features wide (the largest feature id, 2,147,483,646, is on line 3)" in err, err
