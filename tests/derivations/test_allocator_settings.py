"""tune_allocator: a command's own process reuses freed memory for its temporaries, as the Dask workers do.

Measured by page faults, not time: a step that frees and allocates a 400 KB temporary (an H x D array of the
masking run) faults its pages in again on every step under glibc's defaults, and not at all once tuned.
"""
import os
import subprocess
import sys

STEP = """
import resource, sys
import numpy as np
from lindae.derivations.commandline import tune_allocator
tuned = sys.argv[1] == "tuned" and tune_allocator()
rng = np.random.default_rng(0)
P, Q, Bt = rng.standard_normal((64, 784)), rng.standard_normal((64, 784)), np.eye(784)
for _ in range(5):
    PB = P @ Bt           # as a training loop does: the last step's PB is freed when the new one is bound
    Q = Q - 0.01 * PB
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    PB = P @ Bt
    Q = Q - 0.01 * PB
print(int(tuned), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", STEP, mode], capture_output=True, text=True, env=env, check=True)
    tuned, faults = map(int, out.stdout.split())
    return bool(tuned), faults


def test_tuned_process_reuses_freed_temporaries():
    tuned, faults = _faults("tuned")
    assert tuned
    assert faults < 100            # 100 steps, each of whose two 100-page temporaries faulted in anew before
    # the same steps with glibc's defaults fault in pages on every step: the measurement sees what it checks
    tuned, faults = _faults("plain")
    assert not tuned and faults > 1000
