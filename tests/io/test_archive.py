"""The zip of .npy members under a JSON manifest: its layout, CRC-32 checks, truncated,
foreign, compressed or damaged files refused naming them, and saves that are atomic, clean
up after killed writers and keep the file's mode."""
import json
import os
import stat
import zipfile

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.io import Archive, ModelFileError, _archive

from ..synthetic import clustered
from .helpers import W, data_offset, flip_byte, same_weights, trained


def test_the_file_is_plain_npy_members_and_json_with_aligned_data(saved):
    model, _, path = saved
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        # the oldest version that reads it: 4 with a table saved by its rows, 3 with compact moments
        table_rows = any(k.startswith("layers/") and "/rows/" in k for k in manifest["arrays"])
        compact = any(k.startswith("optimizer/rows/") for k in manifest["arrays"])
        assert manifest["format"] == "sparsebolt-model"
        assert manifest["format_version"] == (4 if table_rows else 3 if compact else 2)
        for key, entry in manifest["arrays"].items():
            info = zf.getinfo(entry["member"])
            assert info.compress_type == zipfile.ZIP_STORED
            arr = np.load(zf.open(entry["member"]), allow_pickle=False)
            assert arr.dtype.str == entry["dtype"] and list(arr.shape) == entry["shape"]
            assert data_offset(path, key) % 64 == 0
    np.testing.assert_array_equal(np.load(zipfile.ZipFile(path).open(manifest["arrays"][W]["member"])),
                                  model.output.layer.W.value)


@pytest.mark.parametrize("keep_fraction", [0.5, 0.999])
def test_a_truncated_file_is_refused_naming_it(saved, tmp_path, keep_fraction):
    _, _, path = saved
    raw = path.read_bytes()
    cut = tmp_path / "cut.sbm"
    cut.write_bytes(raw[:int(len(raw) * keep_fraction)])
    with pytest.raises(ModelFileError, match=r"cut\.sbm is not a complete sparsebolt model file.*truncated"):
        sb.Model.load(cut)


def test_a_flipped_byte_in_the_weights_is_detected(saved, tmp_path):
    _, _, path = saved
    bad = tmp_path / "bad.sbm"
    bad.write_bytes(path.read_bytes())
    flip_byte(bad, data_offset(bad, W) + 1000)
    member = json.loads(zipfile.ZipFile(bad).read("manifest.json"))["arrays"][W]["member"]
    expected = rf"bad\.sbm: member '{member}' \(array '{W}'\) is corrupted: its CRC-32 is 0x[0-9a-f]{{8}}, the manifest says"
    with pytest.raises(ModelFileError, match=expected):
        sb.Model.load(bad)
    # memory-mapped loads skip the content checksums unless asked (docs/file-format.md)
    sb.Model.load(bad, mmap=True)
    with pytest.raises(ModelFileError, match=expected):
        sb.Model.load(bad, mmap=True, verify=True)
    with pytest.raises(ModelFileError, match=expected):
        sb.io.verify(bad)
    sb.io.verify(path)


def test_a_flipped_byte_in_the_manifest_is_detected(saved, tmp_path):
    _, _, path = saved
    bad = tmp_path / "bad.sbm"
    bad.write_bytes(path.read_bytes())
    info = zipfile.ZipFile(bad).getinfo("manifest.json")
    flip_byte(bad, info.header_offset + 30 + len("manifest.json") + 40)
    with pytest.raises(ModelFileError, match=r"bad\.sbm: member 'manifest.json' is corrupted \(Bad CRC-32"):
        sb.Model.load(bad)


def test_files_that_are_not_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at .*missing.sbm"):
        sb.Model.load(tmp_path / "missing.sbm")
    (tmp_path / "empty.sbm").write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty.sbm is not a complete sparsebolt model file"):
        sb.Model.load(tmp_path / "empty.sbm")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="other.zip has no manifest.json: it is a zip file but not a sparsebolt"):
        sb.Model.load(tmp_path / "other.zip")


def test_a_compressed_or_deeply_nested_manifest_is_refused(saved, tmp_path):
    # issue 15, findings 3 and 4: a deflated manifest could inflate to any size; a deep one
    # raised RecursionError
    _, _, path = saved
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp_path / "deflated.sbm", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename),
                          zipfile.ZIP_DEFLATED if info.filename == "manifest.json" else zipfile.ZIP_STORED)
    with pytest.raises(ModelFileError, match="'manifest.json' is compressed"):
        sb.Model.load(tmp_path / "deflated.sbm")
    with zipfile.ZipFile(tmp_path / "deep.sbm", "w") as zf:
        zf.writestr("manifest.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        sb.Model.load(tmp_path / "deep.sbm")


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(saved, tmp_path, monkeypatch):
    model, _, path = saved
    target = tmp_path / "m.sbm"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    def crash(tmp, final):
        raise OSError("disk gone")

    monkeypatch.setattr(_archive, "_commit", crash)
    model.steps += 1
    try:
        with pytest.raises(OSError, match="disk gone"):
            model.save(target)
    finally:
        model.steps -= 1
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.sbm"]


def test_a_save_into_a_missing_directory_names_the_path_given(saved, tmp_path):
    model, _, _ = saved
    target = tmp_path / "absent" / "m.sbm"
    with pytest.raises(FileNotFoundError, match=rf"Cannot save '{target}': no directory '{tmp_path / 'absent'}'"):
        model.save(target)


def test_a_save_to_a_directory_or_no_name_names_the_path_given_and_writes_nothing(saved, tmp_path, monkeypatch):
    model, _, _ = saved
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path / "folder")
    # the error had named the temporary file, written first (for '', in the parent directory)
    with pytest.raises(IsADirectoryError, match=rf"Cannot save '{tmp_path / 'folder'}': expected a file name, not "
                                                r"a directory"):
        model.save(tmp_path / "folder")
    with pytest.raises(ValueError, match=r"Cannot save '': expected a file name\."):
        model.save("")
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_a_save_cleans_up_after_killed_writers_and_keeps_the_file_mode(saved, tmp_path):
    # issue 15, finding 8: a killed save leaves its temporary file; a later save of the same
    # file removes those of writers that are gone (not a live writer's); the file keeps the
    # mode of the one it replaces, or the umask's, not mkstemp's 0600
    import subprocess
    import sys
    model, _, _ = saved
    target = tmp_path / "m.sbm"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    orphan = tmp_path / f".m.sbm.{dead}.abc123.tmp"
    live = tmp_path / f".m.sbm.{os.getppid()}.def456.tmp"
    other = tmp_path / f".other.sbm.{dead}.x.tmp"
    for f in (orphan, live, other):
        f.write_bytes(b"partial")
    old_mask = os.umask(0o022)
    try:
        model.save(target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
        os.chmod(target, 0o640)
        model.save(target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    finally:
        os.umask(old_mask)
    assert not orphan.exists() and live.exists() and other.exists()


def test_a_memory_mapped_model_trains_without_touching_its_file_and_can_be_saved_over_it(saved, tmp_path):
    _, _, path = saved
    target = tmp_path / "m.sbm"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()
    model = sb.Model.load(target, mmap=True)
    model.train(clustered(n=300), epochs=1, learning_rate=1e-2, verbose=False)
    assert target.read_bytes() == before
    model.save(target)
    assert same_weights(sb.Model.load(target), model)


def test_archive_reads_arrays_by_key(saved):
    model, _, path = saved
    with Archive(path) as archive:
        np.testing.assert_array_equal(archive.array(W, mmap=True), model.output.layer.W.value)
        assert "optimizer/m/out/W" in archive.keys()


def test_a_damaged_npy_header_brace_names_the_member(tmp_path):
    # NumPy reads the header as a Python literal: a '}' turned '(' failed in its tokenizer,
    # a TokenError traceback instead of the file's error
    path = str(tmp_path / "m.sbm")
    trained()[0].save(path)
    with Archive(path) as archive:
        key = archive.keys()[0]
    start = data_offset(path, key)
    raw = bytearray(open(path, "rb").read())
    raw[raw.rindex(b"}", 0, start)] = ord("(")
    open(path, "wb").write(raw)
    for load in (sb.Model.load, sb.io.verify):
        with pytest.raises(ModelFileError, match=rf"\(array '{key}'\) has a damaged \.npy header"):
            load(path)
