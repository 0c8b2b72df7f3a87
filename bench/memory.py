"""Peak memory of one call of a peer, measured in a fresh interpreter (Linux only).

The parent (measure_peak_memory) runs ``run.py --peak-memory-child SPEC``, which calls
peak_memory_child: a fresh process, so no earlier allocation is reused.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from typing import Any, Dict, Optional

import numpy as np
from cases import Case, build_cases
from peers import Shape, torch

RUN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")  # the child's entry point


def proc_status_kib(field: str) -> Optional[int]:
    """A "VmRSS" / "VmHWM" line of /proc/self/status, in KiB; None where it does not exist."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def peak_memory_child(spec: str) -> int:
    """In a fresh process: the extra peak RSS of one call of a peer, printed as JSON.

    spec = "case;shape;peer;threads".  The libraries are warmed up on a small problem of
    the same kind, then the full inputs (and the peer's preallocated buffers) are made,
    the peak RSS is reset to the current RSS (writing 5 to /proc/self/clear_refs), one
    call runs, and the growth of the peak (VmHWM - VmRSS before) is the answer: every page
    the call touched beyond what was resident, the returned gradient included.
    """
    case_name, shape_text, peer, threads_text = spec.split(";")
    shape = tuple(int(d) for d in shape_text.split("x"))
    threads = int(threads_text)
    if torch is not None:
        torch.set_num_threads(threads)
    case = next(c for c in build_cases()[0] if c.name == case_name)
    build = case.peers[peer]
    rng = np.random.default_rng(0)
    small = tuple(min(d, 2) for d in shape[:-1]) + shape[-1:]
    warm = build(case.make_inputs(small, rng), threads)
    if warm is None:
        print(json.dumps({"error": "not available"}))
        return 0
    warm(), warm()
    del warm
    inputs = case.make_inputs(shape, rng)
    run = build(inputs, threads)
    assert run is not None
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
    except OSError as exc:
        print(json.dumps({"error": f"cannot reset the peak RSS: {exc}"}))
        return 0
    before = proc_status_kib("VmRSS")
    result = run()
    peak = proc_status_kib("VmHWM")
    if before is None or peak is None:
        print(json.dumps({"error": "no /proc/self/status"}))
        return 0
    print(json.dumps({"extra_bytes": (peak - before) * 1024, "grad_bytes": inputs.args[0].nbytes}))
    del result
    return 0


def measure_peak_memory(case: Case, shape: Shape, peer: str, threads: int) -> Dict[str, Any]:
    """Run peak_memory_child in a fresh interpreter (so no earlier allocation is reused)."""
    spec = f"{case.name};{'x'.join(map(str, shape))};{peer};{threads}"
    try:
        proc = subprocess.run(
            [sys.executable, RUN_PY, "--peak-memory-child", spec], capture_output=True, text=True, timeout=900
        )
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return dict(out)
