"""LSHConfig and autotune: tables fit the active set and at most 64 GiB, the table in
docs/autotune.md is what autotune chooses, and the rebuild schedule and its cost."""
import os
import re

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.lsh.config import LSHConfig, autotune, rebuild_cost, schedule


def test_autotune_fits_the_active_size_and_explicit_settings_are_kept():
    for dim, s in [(670_091, 0.005), (100_000, 0.005), (117_659, 0.01), (2_000, 0.1)]:
        c = autotune(dim, 128, s)
        load = dim / 2 ** c.range_pow
        # the tables can supply the active set from buckets, not from random padding
        assert c.n_tables * min(load, c.reservoir) >= s * dim
        assert c.table_bytes() < 1 << 30
    explicit = LSHConfig(family="srp", k=6, n_tables=10, reservoir=32)
    assert explicit.range_pow == 6


@pytest.mark.parametrize("dim, d_in, sparsity", [(2_000, 20_000, 0.05), (2_000, 20_000, 0.02), (500, 8_192, 0.1),
                                                (100_000, 1 << 18, 0.005), (1_000, 50_000_000, 0.01)])
def test_sparse_wta_tables_cover_the_input_once_with_buckets_of_an_eighth_of_the_active_set(dim, d_in, sparsity):
    c = autotune(dim, d_in, sparsity, "sparse_wta")
    binsize = 1 << c.k
    assert c.range_pow == c.k and c.n_tables <= 4096
    assert c.n_tables * binsize >= d_in > (c.n_tables - 1) * binsize
    load, target = dim / binsize, max(1.0, round(sparsity * dim) / 8)
    if c.n_tables < 4096:  # the table cap can force wider bins
        assert target / 2 ** 0.5 <= max(load, 1.0) * (1 + 1e-9) and load <= target * 2 ** 0.5 * (1 + 1e-9)
    assert c.reservoir == min(1024, max(8, int(np.ceil(2 * max(load, 1.0)))))


def test_tables_beyond_64_gib_are_refused_before_anything_is_allocated():
    big = r"k=10, n_tables=24, reservoir=128\) must take at most 68,719,476,736 bytes .* Got 13,297,218,748,416 bytes"
    with pytest.raises(ValueError, match=big):
        LSHConfig(family="dwta", k=10, n_tables=24, reservoir=128)
    assert LSHConfig(family="dwta", k=10, n_tables=1, reservoir=7).table_bytes() == 1 << 35
    with pytest.raises(ValueError, match="k=30, n_tables=1, reservoir=64"):
        LSHConfig(family="srp", k=30, n_tables=1, reservoir=64)
    # the layer's paths to wider tables refuse them and keep the tables they have
    data = sb.data.SparseDataset(np.array([0, 1, 2], dtype=np.int64), np.array([0, 1], dtype=np.int32), None,
                                 sb.data.Labels(np.arange(3), np.array([0, 1])), 10, batch_size=2)
    inp = sb.Input(dim=10)
    sampling = LSHConfig(family="dwta", k=2, n_tables=24, reservoir=128)
    out = sb.FullyConnected(dim=50, sparsity=0.1, activation="softmax", sampling=sampling)(inp)
    model = sb.Model(inp, out)
    with pytest.raises(ValueError, match="k=10, n_tables=24, reservoir=128"):
        out.layer.rebuild_tables(k=10)
    with pytest.raises(ValueError, match="k=10, n_tables=96, reservoir=128"):
        model.prepare_sparse_inference(data, extra_hashes=8, verbose=False)
    assert out.layer.sampling == sampling and out.layer.index.config == sampling


def test_schedule_from_data_size():
    assert schedule(1000, 256) == (10, 250)
    assert schedule(100, 64) == (5, 25)
    assert schedule(None, 256) == (25, 500)
    # a rebuild costing 3 batches is spread over at least 30
    assert schedule(1000, 256, rebuild_cost=3.0) == (30, 250)
    assert schedule(10, 256, rebuild_cost=3.0) == (30, 30)


def test_rebuild_cost_grows_with_width_and_shrinks_with_batch():
    c = autotune(670_091, 128, 0.005)
    wide = rebuild_cost(670_091, 128, c, 3350, 256)
    assert 1 < wide < 6  # a rebuild took 0.5-0.6 s against a 0.18-0.25 s step at this shape
    assert rebuild_cost(670_091, 128, c, 3350, 1024) < wide
    assert rebuild_cost(670_091, 128, LSHConfig(family="random", k=0, n_tables=0, reservoir=0), 3350, 256) == 0


def _autotune_md_rows(pattern):
    """The cells of docs/autotune.md's table rows that match ``pattern``, commas dropped."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "autotune.md")
    return [[c.strip().replace(",", "") for c in line.strip("|\n").split("|")] for line in open(path)
            if re.match(pattern, line)]


def test_the_table_in_docs_autotune_md_is_what_autotune_chooses():
    rows = _autotune_md_rows(r"\| [\d,]+ \| 0\.")
    assert len(rows) >= 6
    for row in rows:
        dim, sparsity, active, k, range_pow, _, reservoir, n_tables = row[:8]
        c = autotune(int(dim), 128, float(sparsity))
        assert (c.k, c.range_pow, c.reservoir, c.n_tables) == (int(k), int(range_pow), int(reservoir), int(n_tables))


def test_the_sparse_wta_table_in_docs_autotune_md_is_what_autotune_chooses():
    rows = _autotune_md_rows(r"\| [\d,]+ \| [\d,]+ \| 0\.")
    assert len(rows) >= 4
    for row in rows:
        dim, d_in, sparsity, _, k, _, reservoir, n_tables = row[:8]
        c = autotune(int(dim), int(d_in), float(sparsity), "sparse_wta")
        assert (c.k, c.reservoir, c.n_tables) == (int(k), int(reservoir), int(n_tables))
