"""A training run that stops dead in the middle of a checkpoint, for test_checkpoints.py.

    python -m tests.train.crash_train DIR MARKER WHERE N

trains the run of ``run()`` with checkpoints in DIR. On the N-th checkpoint it writes
MARKER and then waits to be killed: with WHERE=rename the temporary file is complete but
not yet renamed; with WHERE=write it is half written (some arrays in, no zip directory).
"""
import sys
import time

import sparsebolt as sb
from sparsebolt.io import _archive

from ..synthetic import clustered, small_model

EPOCHS, EVERY = 3, 4


def run(model=None, **train_kw):
    """The seeded single-threaded run every test in test_checkpoints.py trains."""
    data = clustered(n=800)
    model = model or small_model()
    history = model.train(data, epochs=EPOCHS, learning_rate=1e-2, verbose=False, **train_kw)
    return model, history


def _wait_to_be_killed(marker):
    with open(marker, "w") as f:
        f.write("stopped")
    time.sleep(600)
    sys.exit("not killed")


def main(directory, marker, where, n):
    sb.set_num_threads(1)
    seen = {"commits": 0, "arrays": 0}
    commit, write_array = _archive._commit, _archive._write_array

    def paused_commit(tmp, path):
        seen["commits"] += 1
        if where == "rename" and seen["commits"] == n:
            _wait_to_be_killed(marker)
        commit(tmp, path)

    def paused_write_array(zf, f, member, key, arr):
        if where == "write" and seen["commits"] == n - 1 and member == "arrays/00004.npy":
            f.flush()
            _wait_to_be_killed(marker)
        return write_array(zf, f, member, key, arr)

    _archive._commit, _archive._write_array = paused_commit, paused_write_array
    run(checkpoint_dir=directory, checkpoint_every=EVERY)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
