"""Depth figures (D4-D8): where noise and weight decay part ways for L >= 3 weight layers.

* ``depth1``: balanced curves for L = 2, 3, 4, the DAE against the WDAE at the depth-L
  equivalent decay (D6), from a start above and one below the WDAE's basin boundary (D5).
* ``depth2``: the L = 3 weight-decay bifurcation diagram in the (weight_decay, u0) plane, the learned
  region bounded by u- and the critical decay gamma_c, with exact per-mode GD runs marked on it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .depth import (basin_boundary, critical_weight_decay, deep_balanced_strength,
                    deep_equivalent_weight_decay, deep_fixed_point, deep_gd_modes)
from .problems import BIFURCATION, DEPTH_CURVES, Bifurcation, DepthCurves


def depth1(p: DepthCurves = DEPTH_CURVES):
    """Balanced DAE and equivalent-decay WDAE curves for each depth, from two starts."""
    t = np.linspace(0, p.t_max, 801)
    fig, axes = plt.subplots(1, len(p.depths), figsize=(5.4 * len(p.depths), 4.2), sharey=True)
    numbers = {"depths": {}, "settings": dict(lam=p.lam, noise_var=p.noise_var, depths=list(p.depths), u0=list(p.u0_values),
                                              t_max=p.t_max)}
    for ax, L in zip(np.atleast_1d(axes), p.depths):
        weight_decay = float(deep_equivalent_weight_decay(p.lam, p.noise_var, depth=L))
        boundary = float(basin_boundary(p.lam, weight_decay=weight_decay, depth=L))
        target = p.lam / (p.lam + p.noise_var)
        rows = {}
        for j, u0 in enumerate(p.u0_values):
            dae = deep_balanced_strength(t, p.lam, noise_var=p.noise_var, u0=u0, depth=L)
            wdae = deep_balanced_strength(t, p.lam, weight_decay=weight_decay, u0=u0, depth=L)
            ax.plot(t, dae, color=f"C{j}", lw=1.8, label=f"DAE, u₀ = {u0:g}")
            ax.plot(t, wdae, color=f"C{j}", lw=1.4, ls="--", label=f"WDAE, u₀ = {u0:g}")
            rows[f"{u0:g}"] = {"dae_final": float(dae[-1]), "wdae_final": float(wdae[-1])}
        ax.axhline(target, color="k", lw=0.8, ls=":", label="λ/(λ+ε), both fixed points")
        if boundary > 0:
            ax.axhline(boundary, color="C3", lw=0.8, ls="-.", label=f"WDAE basin boundary u₋ = {boundary:.3g}")
        ax.set_yscale("log")
        ax.set_ylim(min(p.u0_values) / 3, 2)
        ax.set_title(f"L = {L}: γ_L = {weight_decay:.3g} (D6)", fontsize=9)
        ax.set_xlabel("time t = η·epoch")
        numbers["depths"][str(L)] = {"gamma_equivalent": weight_decay, "basin_boundary": boundary, "target": target, **rows}
    np.atleast_1d(axes)[0].set_ylabel("mode strength u (balanced)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Depth: noise ε = {p.noise_var:g} against the equivalent weight decay, λ = {p.lam:g}. At L = 2 both "
                 "learn every start; at L ≥ 3 weight decay traps a start below u₋ at the origin")
    return fig, numbers


def depth2(p: Bifurcation = BIFURCATION):
    """The L = 3 bifurcation diagram, with GD runs marked on it (filled: learned, hollow: not learned)."""
    L, lam = p.depth, p.lam
    gc = float(critical_weight_decay(lam, depth=L))
    g_line = np.linspace(1e-4 * gc, gc * (1 - 1e-9), 400)
    lower = basin_boundary(lam, weight_decay=g_line, depth=L)
    upper = deep_fixed_point(lam, weight_decay=g_line, depth=L)
    fig, ax = plt.subplots(figsize=(9.5, 5.2))
    ax.fill_between(g_line, lower, p.u0_max, color="C2", alpha=0.18, label="learned: u → u₊ (D5)")
    ax.plot(g_line, lower, "C3", lw=1.8, label="basin boundary u₋ (unstable)")
    ax.plot(g_line, upper, "C2", lw=1.8, label="stable fixed point u₊")
    ax.axvline(gc, color="k", ls="--", lw=1, label=f"γ_c = {gc:.4g} (saddle-node)")
    gammas = np.linspace(p.gamma_min_frac, p.gamma_max_frac, p.n_gamma) * gc
    u0s = np.geomspace(p.u0_min, p.u0_max, p.n_u0)
    G, U = np.meshgrid(gammas, u0s)
    layers = np.broadcast_to(U.ravel() ** (1.0 / L), (L, U.size))
    _, s = deep_gd_modes(p.epochs, lam, weight_decay=G.ravel(), layers=layers, lr=p.lr, record_every=p.epochs)
    final = s[-1]
    learned = final > (L - 2) * lam / (2 * (L - 1) * lam)          # above u_m: on u+'s side
    predicted = (G.ravel() < gc) & (U.ravel() > basin_boundary(lam, weight_decay=G.ravel(), depth=L))
    agree = learned == predicted
    ax.scatter(G.ravel()[learned], U.ravel()[learned], s=22, c="C2", edgecolors="k", linewidths=0.5,
               label="GD run: learned")
    ax.scatter(G.ravel()[~learned], U.ravel()[~learned], s=22, facecolors="none", edgecolors="k", linewidths=0.8,
               label="GD run: decays to 0")
    if np.any(~agree):
        ax.scatter(G.ravel()[~agree], U.ravel()[~agree], s=90, marker="x", c="r", label="GD against theory")
    ax.set_yscale("log")
    ax.set_xlim(0, gammas[-1] * 1.02), ax.set_ylim(p.u0_min / 2, p.u0_max * 1.5)
    ax.set_xlabel("weight decay γ"), ax.set_ylabel("balanced initial strength u₀")
    ax.set_title(f"L = {L} WDAE (λ = {lam:g}, ε = 0): {int(agree.sum())} of {agree.size} GD runs "
                 f"({p.epochs} steps of η = {p.lr:g}) land where D5 predicts", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    numbers = {"gamma_c": gc, "runs": int(agree.size), "agree": int(agree.sum()),
               "learned": int(learned.sum()),
               "settings": dict(depth=L, lam=lam, lr=p.lr, epochs=p.epochs, n_gamma=p.n_gamma, n_u0=p.n_u0,
                                u0_range=[p.u0_min, p.u0_max], gamma_range_of_gamma_c=[p.gamma_min_frac, p.gamma_max_frac])}
    return fig, numbers


FIGURES = {"depth1": depth1, "depth2": depth2}


def quick_problems():
    return {"depth1": DepthCurves(t_max=40.0), "depth2": Bifurcation(n_gamma=6, n_u0=6, epochs=20_000)}
