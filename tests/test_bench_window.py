"""bench/sgd_theory.py --window: the bisection finds the edges of a share that steps up at known rates."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))
from sgd_theory import _edge  # noqa: E402


def _steps(eta):
    """A share diverged that is 0 below 0.3, 0.5 up to 0.7 and 1 beyond."""
    return 0.0 if eta < 0.3 else 0.5 if eta < 0.7 else 1.0


@pytest.mark.parametrize("upper, edge", [(lambda s: s > 0, 0.3), (lambda s: s >= 0.9, 0.7)])
def test_edges_are_bracketed_to_the_bisection_precision(upper, edge):
    cache = {}

    def share(eta):
        cache[eta] = _steps(eta)
        return cache[eta]
    for eta in (0.1, 0.2, 0.4, 0.8, 1.6):     # what the bench's doubling and halving would have tried
        share(eta)
    lo, hi = _edge(cache, share, upper, steps=10)
    assert lo < edge <= hi and hi / lo < 2 ** (1 / 2 ** 9)     # a factor-2 bracket halved ten times in ln η
