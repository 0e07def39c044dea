"""NeuronIndex: neurons added to built tables sit where a build puts them, and neurons scored
always lead every sparse inference set."""
import numpy as np
import pytest

from sparsebolt.lsh.config import LSHConfig

from .test_tables import _held


def test_neurons_added_to_built_tables_sit_where_a_build_puts_them_and_pins_stay():
    from sparsebolt.lsh.index import NeuronIndex
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((600, 16)).astype(np.float32)
    config = LSHConfig(family="dwta", k=2, n_tables=6, reservoir=8)   # buckets overflow: the reservoir rule
    whole = NeuronIndex(600, 16, config, 30, seed=3)
    whole.rebuild(weights)
    grown = NeuronIndex(550, 16, config, 27, seed=3)
    grown.rebuild(weights[:550])
    grown.add_neurons(weights[550:], 30)
    assert grown.dim == 600 and grown.n_active == 30 and sorted(grown.perm.tolist()) == list(range(600))
    np.testing.assert_array_equal(grown.tables.buckets, whole.tables.buckets)
    np.testing.assert_array_equal(grown.tables.counts, whole.tables.counts)
    # pinned labels keep their slots; a new neuron takes none of them
    pinned = NeuronIndex(550, 16, config, 27, seed=3)
    pinned.rebuild(weights[:550])
    keys = pinned.hash_fn.hash_dense(weights[550:])    # pin neuron 7 where the new ones go
    pinned.tables.insert_labels(keys, np.arange(51, dtype=np.int64), np.full(50, 7, dtype=np.int32), every=True)
    before = pinned.tables.pinned.copy()
    pinned.add_neurons(weights[550:], 30)
    np.testing.assert_array_equal(pinned.tables.pinned, before)
    t, b = np.nonzero(before)
    assert all(7 in pinned.tables.buckets[i, j, :before[i, j]] for i, j in zip(t, b))
    assert all(550 + n in _held(pinned.tables, t, keys[n, t]) or pinned.tables.counts[t, keys[n, t]] > 8
               for n in range(50) for t in range(6))


def test_neurons_scored_always_lead_every_sparse_inference_set_until_training():
    from sparsebolt.data.value import Value
    from sparsebolt.lsh.index import NeuronIndex
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((500, 16)).astype(np.float32)
    index = NeuronIndex(500, 16, LSHConfig(family="dwta", k=2, n_tables=6, reservoir=8), 20, seed=3)
    index.rebuild(weights)
    x = Value.dense(rng.standard_normal((7, 16)).astype(np.float32))
    plain = index.active(x, 20, ranked=True)
    index.score_always([499, 3])
    index.score_always([3])  # once
    assert index.always.tolist() == [3, 499]
    ranked = index.active(x, 20, ranked=True)
    # beside the width the tables fill, not in it (enough of them left the tables no room)
    assert ranked.shape == (7, 22) and all(set(row[:2]) == {3, 499} for row in ranked.tolist())
    assert all(set(p) <= set(r) for p, r in zip(plain.tolist(), ranked.tolist()))
    np.testing.assert_array_equal(index.active(x, 20), index.active(x, 20))  # training sets: unchanged
    assert not np.array_equal(plain, ranked)
    meta, arrays = index.get_state()
    back = NeuronIndex.from_state(meta, arrays)
    np.testing.assert_array_equal(back.always, index.always)
    with pytest.raises(ValueError, match="'always' of NeuronIndex must hold distinct"):
        NeuronIndex.from_state(meta, {**arrays, "always": np.array([3, 3], dtype=np.int32)})
    with pytest.raises(ValueError, match=r"The 'ids' parameter of NeuronIndex.score_always must be neuron ids in "
                                         r"\[0, 500\). Got \[500\] instead."):
        index.score_always([500])
    index.score_always([3], on=False)
    assert index.always.tolist() == [499]
    index.unfreeze()
    assert index.always.size == 0
