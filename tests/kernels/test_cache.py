"""A seeded run gives the same bits whether numba compiles the kernels in the process or
loads them from its cache: parallel code loaded from the cache can be optimized apart from
freshly compiled code (numba#10617), and a fastmath reduction then sums in another order."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RUN = """
import hashlib
import numpy as np
import sparsebolt as sb
from tests.synthetic import clustered, small_model
sb.set_num_threads(1)
model = small_model()
model.train(clustered(n=800), epochs=2, learning_rate=1e-2, verbose=False)
model.prepare_sparse_inference(clustered(n=800, shuffle=False), verbose=False)
rows = [{"t": f"w{i % 7} w{i % 11} w{i % 5} word{i % 3}", "x": i % 13, "y": str(i % 3)} for i in range(300)]
udt = sb.UniversalDeepTransformer({"t": sb.types.text(), "x": sb.types.numerical(), "y": sb.types.categorical()},
                                  target="y", input_dim=4096, embedding_dim=32)
udt.train(rows, epochs=2, verbose=False)
h = hashlib.sha256()
for p in model.parameters() + udt.model.parameters():
    h.update(np.ascontiguousarray(p.value).tobytes())
h.update(model.output.layer.index.tables.buckets.tobytes())
print(h.hexdigest())
"""


def _run(cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_compiled_and_cached_kernels_give_the_same_weights(tmp_path):
    compiled = _run(tmp_path)      # an empty cache: every kernel compiled in the process
    assert any(tmp_path.rglob("*.nbi"))
    assert _run(tmp_path) == compiled  # every kernel loaded from the cache
