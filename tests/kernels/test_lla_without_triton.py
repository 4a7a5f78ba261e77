"""`attnbench.kernels.lla` without Triton: the package, the blockwise FlashLLA and the references import and run
on the CPU when ``import triton`` fails; only the Triton modules need it (dispatch imports them lazily)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["triton"] = None  # every `import triton` now raises ImportError
import torch
from attnbench.kernels.lla import lla
from attnbench.kernels.lla import blockwise, cg, common, dispatch, reference, streams
q, k, v = torch.randn(3, 1, 1, 5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
assert torch.allclose(lla(q, k, v), reference.lla_reference(q, k, v))
try:
    import attnbench.kernels.lla.triton_lla
except ImportError:
    print("ok")
"""


def test_lla_imports_and_runs_when_triton_is_missing():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip() == "ok"
