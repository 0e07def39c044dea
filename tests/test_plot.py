"""History.plot writes a PNG of the loss and metrics by epoch and by wall time."""
import builtins

import pytest

from .synthetic import clustered, small_model


def _history():
    data = clustered(n=300, n_classes=50)
    model = small_model(n_classes=50)
    return model.train(data, epochs=2, learning_rate=1e-2, validation=data, metrics=["precision@1", "recall@5"],
                       verbose=False)


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is in the [plot] and [test] extras")
    path = _history().plot(tmp_path / "history.png", title="clustered")
    data = (tmp_path / "history.png").read_bytes()
    assert path == str(tmp_path / "history.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_history_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    history = _history()
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'sparsebolt\[plot\]'"):
        history.plot(tmp_path / "history.png")
    assert not (tmp_path / "history.png").exists()


def test_empty_history_is_refused(tmp_path):
    from sparsebolt.train import History
    with pytest.raises(ValueError, match="at least one epoch"):
        History().plot(tmp_path / "h.png")


def test_a_write_that_fails_part_way_keeps_the_previous_file(tmp_path, monkeypatch):
    # savefig had written straight onto the file: a failure part-way left half a PNG in its place
    pytest.importorskip("matplotlib", reason="matplotlib is in the [plot] and [test] extras")
    from matplotlib.figure import Figure
    history, path = _history(), tmp_path / "history.png"
    path.write_bytes(b"the previous picture")
    path.chmod(0o640)

    def fail_part_way(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n half")
        raise OSError("No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Figure, "savefig", fail_part_way)
        with pytest.raises(OSError, match="No space left"):
            history.plot(path)
    assert path.read_bytes() == b"the previous picture"
    assert [p.name for p in tmp_path.iterdir()] == ["history.png"]  # no temporary file left
    history.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(FileNotFoundError, match="Cannot save .*: no directory"):
        history.plot(tmp_path / "missing" / "history.png")



def test_a_name_without_extension_gets_png_and_a_pipe_is_written_into(tmp_path):
    # the temporary file's random suffix had been read as the format ("Format '...' is not
    # supported"), and a pipe or device (os.devnull) had been replaced by a regular file
    pytest.importorskip("matplotlib", reason="matplotlib is in the [plot] and [test] extras")
    import os
    import stat
    import threading
    history = _history()
    assert history.plot(tmp_path / "curve") == str(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        history.plot(tmp_path / "folder.png")
    pipe, read = tmp_path / "pipe.svg", []  # a PNG needs a file it can seek in
    os.mkfifo(pipe)
    reader = threading.Thread(target=lambda: read.append(pipe.read_bytes()), daemon=True)
    reader.start()
    history.plot(pipe)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and b"<svg" in read[0]
