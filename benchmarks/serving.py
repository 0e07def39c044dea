"""Serving benchmark: load time of a 670K-output model file and HTTP prediction latency.

Builds the Amazon-670K-shaped model of ``extreme_classification.py`` (135,909 sparse inputs
-> 128 ReLU -> 670,091 softmax at sparsity 0.005), trains it for a few batches of the same
synthetic data (so Adam's moments exist and the file is a real checkpoint), saves it and
measures:

- save time and file size (with optimizer state, and the serving file without it);
- load time, plain (read into memory, every array's CRC-32 checked) and memory-mapped
  (copy-on-write, checksums not read), each with the file evicted from the page cache
  first ("cold", ``posix_fadvise(DONTNEED)`` on this file only) and with it cached ("warm"),
  plus the first single-sample prediction after the mapped load;
- in-process single-sample latency of ``model.predict`` (sparse and dense inference);
- a bounded load test of ``sparsebolt serve`` (a subprocess on 127.0.0.1) from this
  process over keep-alive HTTP connections: requests/s and p50/p99 latency of
  single-sample ``POST /predict`` requests at 1 and 4 concurrent connections, for a server
  with sparse and one with dense inference, beside the in-process latency of the same
  samples, so the server's overhead (HTTP, JSON, validation, a thread hop) is visible.

Run alone on the machine (the repository's convention on shared hosts):
    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/serving.py --json results/serving.json
Smoke test: ``--outputs 20000 --requests 200 --seconds 2``.
"""
import argparse
import gc
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import format_table, git_revision, log, machine_info, set_threads, versions, write_json  # noqa: E402
from extreme_classification import BatchList, SyntheticXC, build_sparsebolt, sb_batch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402

BATCH = 256


def evict(path):
    """Drop this file's pages from the page cache (no other file is touched)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path):
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def timed_load(path, cold, repeats, first_request=None, **kw):
    """Median seconds of ``Model.load(path, **kw)`` (and of load + one prediction)."""
    loads, firsts = [], []
    for _ in range(repeats):
        gc.collect()
        evict(path) if cold else warm(path)
        t = time.perf_counter()
        model = sb.Model.load(path, **kw)
        loads.append(time.perf_counter() - t)
        if first_request is not None:
            value, sparse = first_request
            model.predict(value, top_k=5, sparse_inference=sparse)
            firsts.append(time.perf_counter() - t)
        del model
    return statistics.median(loads), (statistics.median(firsts) if firsts else None)


def percentile(xs, q):
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def in_process_latency(model, values, sparse, n):
    """(p50 ms, p99 ms, requests/s) of single-sample model.predict over ``n`` calls."""
    for v in values[:20]:
        model.predict(v, top_k=5, sparse_inference=sparse)
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        model.predict(values[i % len(values)], top_k=5, sparse_inference=sparse)
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    return percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3, n / wall


def start_server(path, threads, sparse, request_timeout):
    cmd = [sys.executable, "-m", "sparsebolt.cli", "serve", path, "--host", "127.0.0.1", "--port", "0",
           "--threads", str(threads), "--request-timeout", str(request_timeout)] + (["--sparse-inference"] if sparse else [])
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    if "serving on http://" not in line:
        raise RuntimeError(f"server did not start: {line} {proc.stderr.read()}")
    host, port = line.strip().rsplit("//", 1)[1].split(":")
    while True:
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                break
        except OSError:
            time.sleep(0.02)
    return proc, host, int(port), time.perf_counter() - t


def load_test(host, port, bodies, concurrency, seconds, max_requests):
    """Keep-alive clients posting single-sample bodies until ``seconds`` pass or
    ``max_requests`` are done: (requests/s, p50 ms, p99 ms, n, errors)."""
    lock = threading.Lock()
    state = {"next": 0, "errors": 0}
    latencies = [[] for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds

    def client(k):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"content-type": "application/json"}
        while time.perf_counter() < deadline:
            with lock:
                i = state["next"]
                if i >= max_requests:
                    break
                state["next"] = i + 1
            t = time.perf_counter()
            conn.request("POST", "/predict", body=bodies[i % len(bodies)], headers=headers)
            r = conn.getresponse()
            r.read()
            latencies[k].append(time.perf_counter() - t)
            if r.status != 200:
                with lock:
                    state["errors"] += 1
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    lat = [x for xs in latencies for x in xs]
    return len(lat) / wall, percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3, len(lat), state["errors"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="load time and HTTP serving latency of a 670K-output model")
    p.add_argument("--outputs", type=int, default=670_091)
    p.add_argument("--train-batches", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="load measurements per setting (median)")
    p.add_argument("--requests", type=int, default=3000, help="most single-sample requests a sparse run")
    p.add_argument("--dense-requests", type=int, default=300, help="most requests a dense run")
    p.add_argument("--seconds", type=float, default=20.0, help="longest a load-test run lasts")
    p.add_argument("--request-timeout", type=float, default=5.0,
                   help="the server's --request-timeout (slow clients are dropped after it)")
    p.add_argument("--dir", default=None, help="where to write the model files (default: a temp dir)")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    if args.seconds <= args.request_timeout:
        p.error("--seconds must exceed --request-timeout, or no slow client is ever dropped")
    return args


MALFORMED = [b'{"ids": [1,', b'{"ids": [1, 2], "values": [NaN, 1.0]}', b'{"ids": [1], "values": [1e999]}',
             b'{"ids": [-1]}', b'{"ids": [99999999]}', b'{"ids": "x"}', b'[]', b'{"samples": []}',
             b'{"ids": [1], "top_k": 0}', b'\xff\xfe', b'{"ids": [1], "values": [4e38]}']


def peak_rss_mb(pid):
    """The process's peak resident set (VmHWM), MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def hostile_load_test(host, port, bodies, seconds, max_requests, normal=4, malformed=2, slow=8):
    """``load_test`` with ``normal`` well-formed clients while ``malformed`` clients post bad
    bodies in a loop and ``slow`` clients send a request a byte a second, reconnecting when
    the server drops them. Returns the well-formed clients' (requests/s, p50, p99, n, errors),
    the malformed responses by status, and how many slow connections the server closed."""
    import socket
    stop = threading.Event()
    statuses = {}
    dropped = [0]
    lock = threading.Lock()

    def bad_client(k):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        i = k
        while not stop.is_set():
            try:
                conn.request("POST", "/predict", body=MALFORMED[i % len(MALFORMED)],
                             headers={"content-type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
            i += 1
        conn.close()

    def slow_client():
        while not stop.is_set():
            sock = socket.create_connection((host, port), timeout=60)
            try:
                sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                             b"content-length: 100000\r\n\r\n{")
                while not stop.wait(1.0):
                    sock.sendall(b" ")
            except OSError:
                with lock:
                    dropped[0] += 1
            finally:
                sock.close()

    others = [threading.Thread(target=bad_client, args=(k,)) for k in range(malformed)]
    others += [threading.Thread(target=slow_client) for _ in range(slow)]
    for th in others:
        th.start()
    try:
        result = load_test(host, port, bodies, normal, seconds, max_requests)
    finally:
        stop.set()
        for th in others:
            th.join()
    return result, statuses, dropped[0]


def main(argv=None):
    args = parse_args(argv)
    threads = set_threads(args.threads)
    results = {"args": vars(args), "machine": machine_info(), "versions": versions(), "threads": threads,
               "git": git_revision(ROOT)}
    gen = SyntheticXC(n_labels=args.outputs, seed=0)
    n_samples = max(1, args.train_batches) * BATCH
    train, test = gen.splits(n_samples, 512)
    model, _, _ = build_sparsebolt(args.outputs, seed=0)
    batches = BatchList([sb_batch(train, np.arange(lo, lo + BATCH)) for lo in range(0, n_samples, BATCH)], BATCH)
    t = time.perf_counter()
    model.train(batches, epochs=1, learning_rate=1e-3, verbose=False)
    log(f"built and trained {args.train_batches} batches in {time.perf_counter() - t:.1f} s")
    values = [sb_batch(test, np.array([i])).inputs[0] for i in range(512)]
    bodies = [json.dumps({"ids": v.ids.tolist(), "values": v.vals.tolist(), "top_k": 5}).encode() for v in values]
    # untimed: on a cold numba cache (a fresh clone's first run) the prediction kernels
    # compile here, not inside the first timed load + prediction
    for sparse in (True, False):
        model.predict(values[0], top_k=5, sparse_inference=sparse)

    directory = args.dir or tempfile.mkdtemp(prefix="sparsebolt-serving-")
    full, serving = os.path.join(directory, "model-full.sbm"), os.path.join(directory, "model.sbm")
    t = time.perf_counter()
    model.save(full)
    save_full = time.perf_counter() - t
    t = time.perf_counter()
    model.save(serving, optimizer_state=False)
    save_serving = time.perf_counter() - t
    results["files"] = {"full_bytes": os.path.getsize(full), "serving_bytes": os.path.getsize(serving),
                        "save_full_s": save_full, "save_serving_s": save_serving}
    log(f"saved {os.path.getsize(full) / 1e9:.2f} GB in {save_full:.2f} s, serving file "
        f"{os.path.getsize(serving) / 1e9:.2f} GB in {save_serving:.2f} s")
    del model, batches, train
    gc.collect()

    loads = []
    for label, path, kw, first in (
            ("plain, full file (read + CRC-32)", full, {}, None),
            ("plain, serving file (read + CRC-32)", serving, {}, (values[0], True)),
            ("mmap, serving file", serving, {"mmap": True}, (values[0], True)),
            ("mmap, serving file, first dense prediction", serving, {"mmap": True}, (values[0], False))):
        for cold in (True, False):
            seconds, first_s = timed_load(path, cold, args.repeats, first, **kw)
            loads.append({"load": label, "cache": "cold" if cold else "warm", "seconds": seconds,
                          "with_first_prediction_s": first_s})
            log(f"load {label} ({'cold' if cold else 'warm'}): {seconds * 1e3:.1f} ms"
                + (f", +first prediction {first_s * 1e3:.1f} ms" if first_s is not None else ""))
    results["loads"] = loads

    served = sb.Model.load(serving, mmap=True)
    latency = []
    for mode, sparse, n in (("sparse", True, args.requests), ("dense", False, args.dense_requests)):
        p50, p99, rps = in_process_latency(served, values, sparse, n)
        row = {"inference": mode, "in_process": {"p50_ms": p50, "p99_ms": p99, "requests_s": rps}, "http": []}
        log(f"in-process {mode}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, {rps:,.0f}/s")
        proc, host, port, ready = start_server(serving, args.threads, sparse, args.request_timeout)
        row["server_ready_s"] = ready
        try:
            conn = http.client.HTTPConnection(host, port)
            conn.request("POST", "/predict", body=bodies[1], headers={"content-type": "application/json"})
            got = json.loads(conn.getresponse().read())
            want = served.predict(values[1], top_k=5, sparse_inference=sparse)[0][0].tolist()
            assert got["ids"] == want, (got, want)
            conn.close()
            for concurrency in (1, 4):
                rps, p50, p99, count, errors = load_test(host, port, bodies, concurrency, args.seconds, n)
                row["http"].append({"concurrency": concurrency, "requests_s": rps, "p50_ms": p50, "p99_ms": p99,
                                    "requests": count, "errors": errors})
                log(f"http {mode} x{concurrency}: {rps:,.0f}/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms ({count} requests, "
                    f"{errors} errors)")
            if sparse:
                # for the whole --seconds, longer than the request timeout, so slow clients get dropped
                (rps, p50, p99, count, errors), statuses, dropped = hostile_load_test(host, port, bodies,
                                                                                      args.seconds, 10**9)
                row["hostile"] = {"requests_s": rps, "p50_ms": p50, "p99_ms": p99, "requests": count,
                                  "errors": errors, "malformed_statuses": {str(k): v for k, v in statuses.items()},
                                  "slow_connections_dropped": dropped}
                log(f"http {mode} x4 + 2 malformed + 8 slow clients: {rps:,.0f}/s, p50 {p50:.3f} ms, p99 "
                    f"{p99:.3f} ms ({count} requests, {errors} errors); malformed clients got {statuses}, "
                    f"{dropped} slow connections closed by the server")
            row["server_peak_rss_mb"] = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
        latency.append(row)
    results["latency"] = latency
    report(results)
    if args.json:
        write_json(args.json, results)
    if not args.dir:
        for path in (full, serving):
            os.unlink(path)
        os.rmdir(directory)


def report(r):
    f = r["files"]
    print(f"\nmodel 135,909 -> 128 -> {r['args']['outputs']:,} (sparsity 0.005); {r['threads']['sparsebolt']} threads")
    print(f"file with optimizer state {f['full_bytes'] / 1e9:.2f} GB (saved in {f['save_full_s']:.2f} s); "
          f"serving file {f['serving_bytes'] / 1e9:.2f} GB ({f['save_serving_s']:.2f} s)\n")
    rows = [(x["load"], x["cache"], f"{x['seconds'] * 1e3:,.1f}",
             "" if x["with_first_prediction_s"] is None else f"{x['with_first_prediction_s'] * 1e3:,.1f}")
            for x in r["loads"]]
    print(format_table(["load", "page cache", "load ms", "+ first prediction ms"], rows, "llrr"))
    rows = []
    for x in r["latency"]:
        ip = x["in_process"]
        rows.append((x["inference"], "in-process", f"{ip['requests_s']:,.0f}", f"{ip['p50_ms']:.3f}", f"{ip['p99_ms']:.3f}"))
        for h in x["http"]:
            rows.append((x["inference"], f"HTTP, {h['concurrency']} connection(s)", f"{h['requests_s']:,.0f}",
                         f"{h['p50_ms']:.3f}", f"{h['p99_ms']:.3f}"))
        h = x.get("hostile")
        if h:
            rows.append((x["inference"], f"HTTP, 4 connections + 2 malformed + 8 slow ({h['errors']} failed of "
                         f"{h['requests']}; malformed clients got {h['malformed_statuses']}; "
                         f"{h['slow_connections_dropped']} slow connections closed)", f"{h['requests_s']:,.0f}",
                         f"{h['p50_ms']:.3f}", f"{h['p99_ms']:.3f}"))
    print()
    print(format_table(["inference", "path", "requests/s", "p50 ms", "p99 ms"], rows, "llrrr"))
    print("server peak RSS: " + ", ".join(f"{x['inference']} {x['server_peak_rss_mb']:,.0f} MB" for x in r["latency"]))


if __name__ == "__main__":
    main()
