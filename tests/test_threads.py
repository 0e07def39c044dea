"""numba's OpenMP workers sleep when idle unless the user chose otherwise, and no other
library's OpenMP runtime is told to."""
import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

ROOT = Path(__file__).resolve().parents[1]

# with OMP_DISPLAY_ENV=VERBOSE each libgomp prints its settings on stderr as it loads: numba's
# while sparsebolt is imported, scikit-learn's own copy (where its wheel ships one) after it.
# GOMP_SPINCOUNT tells the policies apart (0 passive, 300000 unset, 30000000000 active).
_PROBE = """
import os, sys
sys.stderr.write("numba\\n"); sys.stderr.flush()
import sparsebolt
print(os.environ.get("OMP_WAIT_POLICY"))
sys.stderr.write("sklearn\\n"); sys.stderr.flush()
import sklearn.ensemble
"""


def _spin_counts(env):
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env={**env, "OMP_DISPLAY_ENV": "VERBOSE"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    spins, owner = {}, None
    for line in out.stderr.splitlines():
        if line in ("numba", "sklearn"):
            owner = line
        elif "GOMP_SPINCOUNT" in line:
            spins[owner] = int(line.split("=")[1].strip().strip("'"))
    return out.stdout.strip(), spins


@pytest.mark.skipif(numba.threading_layer() != "omp", reason="numba runs on the OpenMP (libgomp) threading layer "
                                                              f"only; here it is {numba.threading_layer()!r}")
def test_idle_openmp_workers_sleep_unless_the_user_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    seen, spins = _spin_counts(env)
    assert seen == "None"  # taken away again once numba's pool started
    assert spins["numba"] == 0
    assert spins.get("sklearn", 300_000) == 300_000
    seen, spins = _spin_counts({**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert seen == "ACTIVE" and spins["numba"] > 300_000
