"""threadpoolctl sees fastloss's OpenMP runtime and its limits take effect, in a fresh process
with only NumPy and fastloss imported (no torch, JAX or Dask, which bring their own pools)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("threadpoolctl", reason="threadpoolctl is a test extra (pip install threadpoolctl)")

SCRIPT = """
import json, sys
import numpy as np
import fastloss, threadpoolctl
found = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
before = fastloss.max_threads()
x = np.linspace(-1, 1, 1 << 18, dtype=np.float32)
full = fastloss.mse_loss(x, x[::-1].copy())
with threadpoolctl.threadpool_limits(1, user_api="openmp"):
    limited = fastloss.max_threads()
    one = fastloss.mse_loss(x, x[::-1].copy())
after = fastloss.max_threads()
others = sorted(m for m in ("torch", "jax", "dask") if m in sys.modules)
print(json.dumps({"openmp": len(found), "before": before, "limited": limited, "after": after,
                  "same": bool(one == full), "others": others}))
"""


def test_threadpool_limits_reach_fastloss_in_a_fresh_process() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    assert r["others"] == []
    assert r["openmp"] >= 1, "threadpool_info() lists no OpenMP runtime for fastloss"
    assert r["limited"] == 1
    assert r["after"] == r["before"] >= 1
    assert r["same"]  # results do not depend on the thread count
