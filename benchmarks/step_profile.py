"""Where a sparse training step's time goes, and the memory floor of its lazy Adam.

On ``extreme_classification.py``'s Amazon-670K-shaped task (135,909 -> 128 ReLU -> 670,091
softmax at sparsity 0.005, batch 256, 2 threads) this measures:

  - the mean training step with table rebuilds switched off, and each kernel's share of it
    (cProfile of the compiled kernels' calls: their own time is the kernel's);
  - how many distinct output rows a batch touches (the rows lazy Adam must update);
  - the machine's read-and-write memory bandwidth (a compiled pass over three arrays larger
    than any cache, as Adam's pass over weights and both moments is), and the time Adam's
    traffic on those rows takes at that bandwidth (at 100K outputs the three arrays are
    small enough to sit partly in cache, and Adam beats it);
  - a table rebuild, and its share of a step under the schedule ``Model.train`` uses for
    an epoch of 256 batches.

Run alone on the machine:
    flock /tmp/sparsebolt-bench.lock python benchmarks/step_profile.py [--json out.json]
Smoke test: python benchmarks/step_profile.py --quick
"""
import argparse
import cProfile
import os
import pstats
import sys
import time

import numpy as np
from numba import njit, prange

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import format_table, git_revision, log, machine_info, set_threads, write_json  # noqa: E402
from extreme_classification import (SPARSITY, SyntheticXC, build_sparsebolt, epoch_rows,  # noqa: E402
                                    sb_batch)

import sparsebolt as sb  # noqa: E402
from sparsebolt.nn.model import Context  # noqa: E402

# float32 weights and the two Adam moments, each read and written once a touched row
ADAM_BYTES_PER_WEIGHT = 3 * 2 * 4


@njit(parallel=True, cache=True)
def _stream(a, b, c, n_chunks):
    """One read and one write of each of three float32 arrays, in ``n_chunks`` parallel runs."""
    n = a.shape[0]
    for t in prange(n_chunks):
        for i in range(t * n // n_chunks, (t + 1) * n // n_chunks):
            a[i] = a[i] * np.float32(0.9) + b[i]
            b[i] = b[i] * np.float32(0.99) + c[i]
            c[i] = c[i] + np.float32(1.0)


def bandwidth(n_floats, repeats=3):
    """Best read+write bandwidth (bytes/s) of ``_stream`` over three arrays of n floats."""
    arrays = [np.ones(n_floats, dtype=np.float32) for _ in range(3)]
    _stream(*arrays, sb.get_num_threads())
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        _stream(*arrays, sb.get_num_threads())
        best = min(best, time.perf_counter() - t)
    return 6 * n_floats * 4 / best


def touched_rows(model, emb, fc, batches):
    """Distinct output rows in each batch's active sets (labels included), at the current weights."""
    out = []
    for b in batches:
        ctx = Context(training=True, labels=b.labels, salt=1)
        h = model.forward(b, ctx, skip_output=True)[model.output.inputs[0]]
        width = max(fc.n_active, b.labels.max_per_row())
        ids = fc.index.active(h, width, b.labels.offsets, b.labels.ids, 1)
        out.append(np.unique(ids).size)
    return out


def kernel_times(profile, n_steps):
    """{kernel: ms a step} of the compiled kernels (``sparsebolt/kernels``) in a profile."""
    stats = pstats.Stats(profile).stats
    out = {}
    for (path, _, name), (_, _, own, _, _) in stats.items():
        if os.sep + "kernels" + os.sep in path:
            out[name] = out.get(name, 0.0) + own * 1e3 / n_steps
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outputs", type=int, default=670_091)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--warm-steps", type=int, default=40, help="steps trained before measuring")
    p.add_argument("--steps", type=int, default=30, help="steps measured")
    p.add_argument("--quick", action="store_true", help="smoke test: 100K outputs, 4 + 4 steps")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.outputs, args.warm_steps, args.steps = 100_000, 4, 4
    if args.steps < 2 or args.warm_steps < 0:
        p.error("--steps must be at least 2 (half are timed plainly, half profiled) and --warm-steps at least 0")
    set_threads(args.threads)
    bs = args.batch_size
    n = bs * (args.warm_steps + args.steps)
    gen = SyntheticXC(n_labels=args.outputs, seed=0)
    train, _ = gen.splits(n, 10)
    batches = [sb_batch(train, r) for r in epoch_rows(n, bs, 0, 0)]
    model, emb, fc = build_sparsebolt(args.outputs, 0)
    log(f"{args.outputs:,} outputs at sparsity {SPARSITY}: {fc.index.config}, {fc.n_active} active a sample")

    fc.index.rebuild_every = fc.index.rehash_every = 10**9
    warm, timed = batches[:args.warm_steps], batches[args.warm_steps:]
    for b in warm:
        model.train_step(b, 1e-3)
    t = time.perf_counter()
    for b in timed[:len(timed) // 2]:
        model.train_step(b, 1e-3)
    step_ms = (time.perf_counter() - t) * 1e3 / (len(timed) // 2)
    profile = cProfile.Profile()
    profile.enable()
    for b in timed[len(timed) // 2:]:
        model.train_step(b, 1e-3)
    profile.disable()
    kernels = kernel_times(profile, len(timed) - len(timed) // 2)
    touched = touched_rows(model, emb, fc, timed[:4])

    bw = bandwidth((16 if args.quick else 128) * 1024 * 1024)
    d_in = fc.W.value.shape[1]
    adam_floor_ms = np.mean(touched) * d_in * ADAM_BYTES_PER_WEIGHT / bw * 1e3

    fc.index.set_schedule(256, bs)
    rebuild_s = []
    for _ in range(3):
        t = time.perf_counter()
        fc.index.rebuild(fc.W.value)
        rebuild_s.append(time.perf_counter() - t)
    rebuild_ms = float(np.median(rebuild_s)) * 1e3

    rows = [[name, f"{ms:.1f}", f"{100 * ms / step_ms:.0f}%"] for name, ms in kernels.items() if ms >= 0.05]
    print(format_table(["kernel", "ms a step", "share"], rows, aligns="lrr"))
    print(f"\nstep without rebuilds: {step_ms:.1f} ms ({bs / step_ms * 1e3:.0f} samples/s), mean of "
          f"{len(timed) // 2} steps after {args.warm_steps}")
    print(f"rows touched a batch: {np.mean(touched):,.0f} of {args.outputs:,} "
          f"({100 * np.mean(touched) / args.outputs:.0f}%), from {bs} x {fc.n_active} active")
    print(f"memory read+write bandwidth: {bw / 1e9:.1f} GB/s; lazy Adam's traffic on those rows "
          f"({ADAM_BYTES_PER_WEIGHT} B a weight, {np.mean(touched) * d_in * ADAM_BYTES_PER_WEIGHT / 1e9:.2f} GB) "
          f"take {adam_floor_ms:.1f} ms at that bandwidth")
    print(f"table rebuild: {rebuild_ms:.0f} ms, every {fc.index.rebuild_every} batches in an epoch of 256: "
          f"{rebuild_ms / fc.index.rebuild_every:.1f} ms a step")
    if args.json:
        write_json(args.json, {"args": vars(args), "machine": machine_info(),
                               "revision": git_revision(os.path.dirname(os.path.abspath(__file__))),
                               "lsh": fc.index.config.to_dict(), "step_ms": step_ms, "kernels_ms": kernels,
                               "touched_rows": touched, "bandwidth_bytes_per_s": bw,
                               "adam_floor_ms": adam_floor_ms, "rebuild_ms": rebuild_ms,
                               "rebuild_every": fc.index.rebuild_every})


if __name__ == "__main__":
    main()
