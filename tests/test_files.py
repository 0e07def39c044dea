"""Writing a file beside another and renaming it over: the mode it takes, and a failure that
leaves the file there before as it was."""
import os
import stat

import pytest

from sparsebolt._files import file_mode, written_beside


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_027():
    before = os.umask(0o027)
    yield
    os.umask(before)


def test_a_new_file_takes_the_umasks_mode_and_a_replacement_the_replaced_files(tmp_path, umask_027):
    assert file_mode(tmp_path / "absent") == 0o640
    (tmp_path / "f").write_text("x")
    os.chmod(tmp_path / "f", 0o604)
    assert file_mode(tmp_path / "f") == 0o604


def test_the_file_written_replaces_the_old_one_as_the_block_ends_and_a_failure_leaves_it(tmp_path, umask_027):
    path = tmp_path / "f.txt"
    with written_beside(str(path), ".f.txt.") as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and _mode(tmp) == 0o640  # not mkstemp's 0o600
        with open(tmp, "w") as f:
            f.write("first")
        assert not path.exists()
    assert path.read_text() == "first" and _mode(path) == 0o640
    os.chmod(path, 0o600)
    with written_beside(str(path), ".f.txt.") as tmp:
        with open(tmp, "w") as f:
            f.write("second")
        assert path.read_text() == "first"
    assert path.read_text() == "second" and _mode(path) == 0o600
    with pytest.raises(RuntimeError, match="part-way"):
        with written_beside(str(path), ".f.txt.") as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("failed part-way")
    assert path.read_text() == "second" and os.listdir(tmp_path) == ["f.txt"]
