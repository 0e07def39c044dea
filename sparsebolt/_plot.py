"""Pictures of training runs, drawn with matplotlib (the optional ``[plot]`` extra)."""
from __future__ import annotations

import os
import stat
from typing import Any, Sequence

from ._files import written_beside


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Plotting needs matplotlib: pip install 'sparsebolt[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_history(epochs: Sequence[dict], path: str | os.PathLike, title: str | None = None) -> str:
    """Draw the loss and each ``val_`` metric of ``epochs`` (a History's logs) against the
    epoch (left) and the cumulative training wall time (right) into the PNG ``path``."""
    if not epochs:
        raise ValueError("History.plot needs at least one epoch of logs. Got an empty History.")
    path = os.fspath(path)
    if not os.path.splitext(path)[1]:  # as savefig(path) named it: the format's extension added
        path += ".png"
    target = os.path.realpath(path)  # a link is written through, as savefig(path) did, not replaced
    if os.path.isdir(target):
        raise IsADirectoryError(f"Cannot save {path!r}: it is a directory; give a file name.")
    if not os.path.isdir(os.path.dirname(target)):  # else the error would name the temporary file
        raise FileNotFoundError(f"Cannot save {path!r}: no directory {os.path.dirname(target)!r}.")
    plt = pyplot()
    names = ["loss"] + sorted({k for e in epochs for k in e if k.startswith("val_")})
    epoch_no = [e.get("epoch", i + 1) for i, e in enumerate(epochs)]
    wall, total = [], 0.0
    for e in epochs:
        total += e.get("seconds", 0.0)
        wall.append(total)
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 2.8 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        values = [e.get(name) for e in epochs]
        for col, (x, xlabel) in enumerate(((epoch_no, "epoch"), (wall, "training wall time (s)"))):
            ax = axes[row][col]
            ax.plot(x, [float("nan") if v is None else v for v in values], "o-")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        _save(fig, target)
    finally:
        plt.close(fig)
    return path


def _save(fig, target):
    """``fig`` as ``target`` (a name with an extension, the format), written beside it and
    renamed over it: a failure part-way leaves the file there before as it was. A device or
    pipe is written into, not replaced by a file."""
    fmt = os.path.splitext(target)[1][1:]
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        fig.savefig(target, dpi=100, format=fmt)
        return
    with written_beside(target, f".{os.path.basename(target)}.") as tmp:
        fig.savefig(tmp, dpi=100, format=fmt)
