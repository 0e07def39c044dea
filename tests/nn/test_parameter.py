import mmap
import os
import sys

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.nn.optimizers import Adam
from sparsebolt.nn.parameter import _HUGE_PAGES_FROM, _INIT_CHUNK, Parameter, sparse_zeros, uniform_float32


def test_chunked_initial_weights_are_those_of_one_float64_draw():
    # seeded models keep their weights: drawing a table in chunks must not change a value
    shape = (3 * _INIT_CHUNK // 7 + 5, 7)
    got = uniform_float32(np.random.default_rng(3), 0.25, shape)
    want = np.random.default_rng(3).uniform(-0.25, 0.25, shape).astype(np.float32)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(uniform_float32(np.random.default_rng(3), 0.25, 5),
                                  np.random.default_rng(3).uniform(-0.25, 0.25, 5).astype(np.float32))


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_a_draw_shared_among_threads_is_the_one_draw_and_leaves_the_generator_after_it(monkeypatch, threads):
    monkeypatch.setattr("sparsebolt.nn.parameter._PARALLEL_DRAW_FROM", 1000)
    monkeypatch.setattr("sparsebolt.nn.parameter.get_num_threads", lambda: threads)
    for shape in [(1000 * threads + 7, 3), (2 * _INIT_CHUNK + 11,)]:
        for buffered in (False, True):  # a 32-bit draw before leaves half a word buffered
            rng, ref = np.random.default_rng(5), np.random.default_rng(5)
            if buffered:
                rng.random(dtype=np.float32), ref.random(dtype=np.float32)
            got = uniform_float32(rng, 0.5, shape, lazy=True)
            np.testing.assert_array_equal(got, ref.uniform(-0.5, 0.5, shape).astype(np.float32))
            assert rng.bit_generator.state == ref.bit_generator.state
            assert rng.random(dtype=np.float32) == ref.random(dtype=np.float32)


@pytest.mark.parametrize("shape, dtype", [((3, 5), np.float32), ((_HUGE_PAGES_FROM // 64 + 3, 16), np.float32),
                                          ((_HUGE_PAGES_FROM // 8,), np.int64)])
def test_sparse_zeros_are_writable_zeros(shape, dtype):
    a = sparse_zeros(shape, dtype)
    assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    assert not a.any()
    a[-1] = 7
    a[0] = 3
    assert a[-1].tolist() == np.full(shape[1:], 7, dtype).tolist() and a.sum() == 10 * int(np.prod(shape[1:]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_writes_its_own_copy_of_sparse_zeros():
    a = sparse_zeros((_HUGE_PAGES_FROM // 4,))
    pid = os.fork()
    if pid == 0:
        try:
            a[:] = 1.0
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert not a.any()


def _huge_page_eligible(a):
    """Whether the kernel may back ``a``'s memory with transparent huge pages (smaps'
    THPeligible of the mapping holding its middle: numpy advises from a page boundary on),
    or None when it cannot tell."""
    address = a.ctypes.data + a.nbytes // 2
    try:
        with open("/proc/self/smaps") as f:
            inside = False
            for line in f:
                head = line.split()[0]
                if "-" in head and not head.endswith(":"):
                    lo, hi = (int(x, 16) for x in head.split("-"))
                    inside = lo <= address < hi
                elif inside and head == "THPeligible:":
                    return line.split()[1] == "1"
    except OSError:
        pass
    return None


def _in_own_mapping(a):
    """Whether ``a``'s memory is a mapping of its own (``sparse_zeros``), not numpy's."""
    while a is not None and not isinstance(a, mmap.mmap):
        a = a.obj if isinstance(a, memoryview) else getattr(a, "base", None)
    return a is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's transparent huge pages")
def test_moments_and_gradients_of_a_big_table_take_small_pages():
    # a lazy step writes a few rows: in huge pages each first write zeroes 2 MB (adult's first step, 165 ms)
    shape = (_HUGE_PAGES_FROM // 64, 16)
    if not _huge_page_eligible(np.zeros(shape, np.float32)):
        pytest.skip("numpy's arrays get no transparent huge pages here")
    p = Parameter("table", np.ones(shape, np.float32), np.zeros(shape[0], np.uint8), lazy=True)
    p.grad[5] = 1.0
    p.touched[5] = 1
    adam = Adam()
    adam.step([p], 0.1)
    m, v = adam.state["table"]
    assert [_huge_page_eligible(a) for a in (p.grad, m, v)] == [False] * 3
    assert (p.value[5] < 1).all() and (p.value[6] == 1).all() and m[5].all() and not m[6].any()


@pytest.mark.skipif(not hasattr(mmap, "MAP_PRIVATE"), reason="needs private anonymous mappings")
def test_a_big_lazy_table_takes_mappings_of_its_own_and_a_dense_parameter_numpys_memory():
    # the small pages come from a mapping of its own; numpy's memory, whose huge pages fault
    # in faster, serves a parameter every step writes whole (whether the kernel grants huge
    # pages is the system's call, so only the source is checked)
    shape = (_HUGE_PAGES_FROM // 64, 16)
    adam = Adam()
    for lazy in (True, False):
        p = Parameter(f"p{lazy}", np.ones(shape, np.float32), np.zeros(shape[0], np.uint8), lazy=lazy)
        p.grad[5] = 1.0
        p.touched[5] = 1
        adam.step([p], 0.1)
        assert [_in_own_mapping(a) for a in (p.grad, *adam.state[p.name])] == [lazy] * 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's transparent huge pages")
def test_an_input_table_takes_small_pages_and_keeps_its_draw():
    # filling a 100,000-row table in huge pages compacted memory for each (0.15 s of adult's fit)
    if not _huge_page_eligible(np.zeros((_HUGE_PAGES_FROM // 64, 16), np.float32)):
        pytest.skip("numpy's arrays get no transparent huge pages here")
    inp = sb.Input(dim=_HUGE_PAGES_FROM // 64)
    model = sb.Model(inp, sb.FullyConnected(2, activation="softmax")(sb.Embedding(16, name="emb")(inp)), seed=4)
    E = model.layer("emb").E.value
    assert _huge_page_eligible(E) is False and E.flags.writeable and _in_own_mapping(E)
    np.testing.assert_array_equal(E, uniform_float32(np.random.default_rng(4), 0.25, E.shape))
    assert not _in_own_mapping(uniform_float32(np.random.default_rng(4), 0.25, E.shape))


def test_input_tables_and_sparse_layers_are_lazy_and_dense_layers_not():
    inp = sb.Input(dim=1000)
    hidden = sb.FullyConnected(64, activation="relu", name="hidden")(sb.Embedding(32, name="emb")(inp))
    out = sb.FullyConnected(5000, sparsity=0.05, activation="softmax", name="out")(hidden)
    model = sb.Model(inp, out)
    assert {p.name: p.lazy for p in model.parameters()} == {
        "emb/E": True, "emb/b": False, "hidden/W": False, "hidden/b": False, "out/W": True, "out/b": True}
    model.layer("out").set_sparsity(1.0)
    assert not model.layer("out").W.lazy and not model.layer("out").b.lazy


def test_grown_moments_keep_their_rows_and_stay_sparse():
    shape = (_HUGE_PAGES_FROM // 64, 16)
    p = Parameter("table", np.ones(shape, np.float32), np.zeros(shape[0], np.uint8), lazy=True)
    p.grad[[3, 7]] = 1.0
    p.touched[[3, 7]] = 1
    adam = Adam()
    adam.step([p], 0.1)
    before = [a.copy() for a in adam.state["table"]]
    p = Parameter("table", np.ones((shape[0] + 2, shape[1]), np.float32), np.zeros(shape[0] + 2, np.uint8),
                  lazy=True)
    adam.resize([p])
    for old, new in zip(before, adam.state["table"]):
        assert new.shape == p.value.shape
        np.testing.assert_array_equal(new[:shape[0]], old)
        assert not new[shape[0]:].any()
        if _huge_page_eligible(np.zeros(shape, np.float32)):
            assert _huge_page_eligible(new) is False
