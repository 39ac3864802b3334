"""Benchmark: the public dynamics.mode_strength and its kernel against a naive one-line logistic, side by side.

784 modes x 5001 times (an MNIST-sized spectrum and a Figure-5-length run). Prints the times of
the public entry point (validation and dispatch included, balanced start a0 = b0), of the R5
kernel alone (``balanced_strength``) and of the naive formula, their ratios, where the naive
formula gives NaN/inf (or loses all accuracy) and ours does not, and the cost of the ODE and GD
routes for the same curves.

Run: python bench/closed_form.py [--repeat N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lindae import dynamics
from lindae.dynamics.reference import balanced_strength_mp


def naive(t, lam, noise_var, weight_decay, u0):
    """The textbook one-liner u*/(1 + (u*/u0 - 1) exp(-2 kappa t))."""
    us = (lam - weight_decay) / (lam + noise_var)
    return us / (1 + (us / u0 - 1) * np.exp(-2 * (lam - weight_decay) * t))


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7, help="timing repetitions; the best is reported (default 7)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    lam = np.sort(rng.gamma(0.5, 2.0, 784))[::-1] + 1e-3   # a decaying, MNIST-like spectrum
    t = np.linspace(0, 50.0, 5001)[:, None]                 # 5000 epochs at lr = 0.01
    noise_var, weight_decay, u0 = 0.5, 0.0, 1e-8
    n = t.size * lam.size
    a0 = np.full(lam.shape, np.sqrt(u0))
    t_pub, pub = best_of(lambda: dynamics.mode_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=a0), args.repeat)
    t_ours, ours = best_of(lambda: dynamics.balanced_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0), args.repeat)
    t_naive, ref = best_of(lambda: naive(t, lam, noise_var, weight_decay, u0), args.repeat)
    print(f"grid: {lam.size} modes x {t.size} times = {n:,} values")
    print(f"mode_strength (public, a0 = b0): {t_pub * 1e3:8.1f} ms  ({t_pub / n * 1e9:5.2f} ns/value)")
    print(f"balanced_strength (R5 kernel):   {t_ours * 1e3:8.1f} ms  ({t_ours / n * 1e9:5.2f} ns/value)")
    print(f"naive one-liner:                 {t_naive * 1e3:8.1f} ms  ({t_naive / n * 1e9:5.2f} ns/value)")
    print(f"ratio public / naive:            {t_pub / t_naive:8.2f}x")
    print(f"ratio kernel / naive:            {t_ours / t_naive:8.2f}x")
    print(f"max |ours - naive| on the benign grid: {max(np.max(np.abs(ours - ref)), np.max(np.abs(pub - ref))):.1e}")
    numbers = {"public_over_naive": t_pub / t_naive, "kernel_over_naive": t_ours / t_naive}

    print("\nWhere the naive formula fails (reference: mpmath at 50 digits):")
    cases = [("lam ~ gamma (kappa = 1e-14)", dict(t=1.0, lam=1.0, noise_var=0.0, weight_decay=1.0 - 1e-14, u0=0.1)),
             ("lam ~ gamma (kappa = 1e-10)", dict(t=1.0, lam=1.0, noise_var=0.0, weight_decay=1.0 - 1e-10, u0=0.1)),
             ("lam == gamma (kappa = 0)", dict(t=10.0, lam=1.0, noise_var=0.5, weight_decay=1.0, u0=0.1)),
             ("lam ~ gamma (kappa = 1e-17)", dict(t=1e3, lam=1.0, noise_var=0.0, weight_decay=1.0 - 1.1e-16, u0=0.1)),
             ("xi = 0 (lam = noise_var = 0)", dict(t=1.0, lam=0.0, noise_var=0.0, weight_decay=0.3, u0=0.1)),
             ("u0 = 1e-310 (subnormal), t = 5", dict(t=5.0, lam=1.0, noise_var=0.5, weight_decay=0.0, u0=1e-310))]
    print(f"  {'case':<30} {'naive':>12} {'ours':>12} {'rel. err ours':>14} {'rel. err naive':>15}")
    for name, kw in cases:
        with np.errstate(all="ignore"):
            nv = float(naive(np.float64(kw["t"]), np.float64(kw["lam"]), kw["noise_var"], kw["weight_decay"], kw["u0"]))
        ov = float(dynamics.balanced_strength(kw["t"], kw["lam"], noise_var=kw["noise_var"], weight_decay=kw["weight_decay"], u0=kw["u0"]))
        ref = float(balanced_strength_mp(kw["t"], kw["lam"], kw["noise_var"], kw["weight_decay"], kw["u0"]))
        err = lambda x: abs(x - ref) / abs(ref) if ref != 0 else abs(x)  # noqa: E731
        print(f"  {name:<30} {nv:12.4e} {ov:12.4e} {err(ov):14.1e} {err(nv):15.1e}")

    print("\nThe same curves by the other routes (top 16 modes, 5001 times, t = lr * k, lr = 0.01):")
    top = lam[:16]
    t_cf, cf = best_of(lambda: dynamics.trajectory(top, noise_var=noise_var, a0=1e-4, b0=1e-4, lr=0.01, epochs=5000), 3)
    t_ode, ode = best_of(lambda: dynamics.trajectory(top, noise_var=noise_var, a0=1e-4, b0=1e-4, lr=0.01, epochs=5000,
                                                     method="ode"), 1)
    t_gd, gd = best_of(lambda: dynamics.trajectory(top, noise_var=noise_var, a0=1e-4, b0=1e-4, lr=0.01, epochs=5000,
                                                   method="gd"), 1)
    print(f"  closed form {t_cf * 1e3:9.1f} ms | ODE {t_ode * 1e3:9.1f} ms ({t_ode / t_cf:7.0f}x) | "
          f"GD {t_gd * 1e3:9.1f} ms ({t_gd / t_cf:6.0f}x)")
    print(f"  max |ODE - closed form| = {ode.max_abs_diff(cf):.1e}; max |GD - closed form| = {gd.max_abs_diff(cf):.1e} "
          f"(O(lr * lam); largest lam here {top[0]:.1f})")
    return numbers


if __name__ == "__main__":
    main()
