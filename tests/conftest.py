from pathlib import Path

import numpy as np
import pytest

import sparsebolt as sb

# real data sets live beside the repository in ../shared/data; a user's clone has none
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(name):
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the shared data set {name!r} at {path} (absent outside the team's machines)")
    return path


def random_csr(rng, n, dim, nnz_per_row):
    """CSR rows with distinct ids per row and random positive values."""
    ids = np.concatenate([rng.choice(dim, size=nnz_per_row, replace=False) for _ in range(n)])
    offsets = np.arange(n + 1, dtype=np.int64) * nnz_per_row
    vals = rng.uniform(0.1, 1.0, ids.shape[0]).astype(np.float32)
    return sb.data.csr_value(dim, offsets, ids, vals)


@pytest.fixture
def one_thread():
    """Run the test single-threaded (reproducible), restoring the thread count after."""
    before = sb.get_num_threads()
    sb.set_num_threads(1)
    yield
    sb.set_num_threads(before)
