"""The paper's Figures 1-4 (scalar network) and the depth figures, with the numbers each figure shows.

Every ``figN`` function returns ``(figure, numbers)``; :func:`write_figures` saves fig1.png to
fig4.png and ``figures.json`` atomically. Settings come from :mod:`dynamics.problems`
(docs/theory.md). Time axes are in epochs (one full-batch GD step each); continuous
time is t = lr * epoch.
"""
from __future__ import annotations

import os
import time

import matplotlib.pyplot as plt
import matplotlib.ticker  # noqa: F401
import numpy as np

from lindae.derivations.files import atomic_write_json, save_figure

from .closed_form import (equivalent_weight_decay, final_weight_norm, fixed_point, mode_strength,
                          paper_learning_rate, time_to_learn)
from .figures_depth import FIGURES as DEPTH_FIGURES
from .figures_depth import quick_problems as depth_quick_problems
from .gd import gd_modes
from .problems import FIG1, FIG2, FIG3, FIG4, Fig1, Fig2, Fig3, Fig4

CITATION = "Pretorius, Kroon & Kamper (2018), ICML"


def _epochs_axis(ax, lr):
    ax.set_xlabel(f"epoch (one GD step; t = η·epoch, η = {lr:g})")


def fig1(p: Fig1 = FIG1):
    """Figure 1: DAE dynamics from random initialisation; theory (R6) against GD; loss surface."""
    rng = np.random.default_rng(p.seed)
    a0 = rng.uniform(p.init_low, p.init_high, p.runs)
    b0 = rng.uniform(p.init_low, p.init_high, p.runs)
    k = np.arange(p.epochs + 1)
    t = p.lr * k
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    numbers = {"u_star": {}, "final_u_theory": {}, "final_u_gd": {}, "max_abs_gd_minus_theory": {}}
    paths = {}
    for ax, noise_var in zip(axes[:3], p.eps_values):
        theory = mode_strength(t[:, None], p.lam, noise_var=noise_var, a0=a0, b0=b0)
        run = gd_modes(p.epochs, p.lam, noise_var=noise_var, a0=a0, b0=b0, lr=p.lr)
        A, B = run.a, run.b
        paths[noise_var] = (A, B)
        ustar = float(fixed_point(p.lam, noise_var=noise_var))
        for j in range(p.runs):
            ax.plot(k, theory[:, j], color="C0", lw=1.6, label="theory (R6)" if j == 0 else None)
            ax.plot(k[::8], (A * B)[::8, j], "o", color="C3", ms=2.2, label="gradient descent" if j == 0 else None)
        ax.axhline(ustar, color="k", ls=":", lw=1, label=f"u* = λ/(λ+ε) = {ustar:.3g}")
        ax.set_title(f"ε = σ² = {noise_var:g}")
        ax.set_ylabel("mode strength u = ab")
        _epochs_axis(ax, p.lr)
        ax.legend(fontsize=8, loc="lower right")
        key = f"{noise_var:g}"
        numbers["u_star"][key] = ustar
        numbers["final_u_theory"][key] = theory[-1].tolist()
        numbers["final_u_gd"][key] = (A * B)[-1].tolist()
        numbers["max_abs_gd_minus_theory"][key] = float(np.max(np.abs(A * B - theory)))
        # GD differs from the flow at O(lr * curvature); with lr/10 the gap shrinks ~10x.
        run = gd_modes(10 * p.epochs, p.lam, noise_var=noise_var, a0=a0, b0=b0, lr=p.lr / 10, record_every=10)
        A10, B10 = run.a, run.b
        numbers.setdefault("max_abs_gd_minus_theory_eta_over_10", {})[key] = float(np.max(np.abs(A10 * B10 - theory)))
    eps_s = p.eps_values[1]
    ax = axes[3]
    g = np.linspace(-2.2, 2.2, 301)
    aa, bb = np.meshgrid(g, g)
    from lindae.derivations import mode_loss_function     # R2's per-mode loss, generated (SymPy loads here only)
    loss = mode_loss_function()(aa, bb, p.lam, eps_s, 0.0)
    cs = ax.contourf(aa, bb, np.log10(loss + 1e-3), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="log₁₀ loss")
    us = float(fixed_point(p.lam, noise_var=eps_s))
    for sgn in (1, -1):
        x = np.linspace(0.05, 2.2, 200) * sgn
        ax.plot(x, us / x, "w--", lw=1.2, label="minima ab = u*" if sgn == 1 else None)
    A, B = paths[eps_s]
    for j in range(p.runs):
        ax.plot(A[:, j], B[:, j], color="C3", lw=1)
        ax.plot(A[0, j], B[0, j], "o", color="C3", ms=3)
    ax.set_xlim(-2.2, 2.2), ax.set_ylim(-2.2, 2.2)
    ax.set_xlabel("a (encoder weight)"), ax.set_ylabel("b (decoder weight)")
    ax.set_title(f"loss surface and GD paths, ε = {eps_s:g}")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Figure 1: DAE learning dynamics, λ = {p.lam:g}, {p.runs} random initialisations "
                 f"a, b ~ U({p.init_low:g}, {p.init_high:g})")
    numbers["settings"] = dict(lam=p.lam, noise_var=list(p.eps_values), lr=p.lr, epochs=p.epochs, runs=p.runs,
                               seed=p.seed, init=[p.init_low, p.init_high])
    gaps = numbers["max_abs_gd_minus_theory"]
    gaps10 = numbers["max_abs_gd_minus_theory_eta_over_10"]
    numbers["gap_shrink_at_eta_over_10"] = min(gaps[k] / gaps10[k] for k in gaps if gaps10[k] > 0)
    return fig, numbers


def fig2(p: Fig2 = FIG2):
    """Figure 2: theory curves for noise against the equivalent weight decay (R5, R10)."""
    k = np.linspace(0, p.epochs, 2001)
    t = p.lr * k
    noise_var = np.asarray(p.eps_values)
    fig, axes = plt.subplots(1, len(p.lam_values), figsize=(5.2 * len(p.lam_values), 4.2), sharey=False)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(noise_var)))
    numbers = {"t90_epochs": {}, "u_star": {}}
    for ax, lam in zip(axes, p.lam_values):
        weight_decay = equivalent_weight_decay(lam, noise_var)
        dae = mode_strength(t[:, None], lam, noise_var=noise_var, u0=p.u0)
        wdae = mode_strength(t[:, None], lam, weight_decay=weight_decay, u0=p.u0)
        for j, e in enumerate(noise_var):
            ax.plot(k, dae[:, j], color=colours[j], lw=1.6, label=f"ε = {e:g}")
            ax.plot(k, wdae[:, j], color=colours[j], lw=1.2, ls="--")
        ax.set_title(f"λ = {lam:g}  (solid: DAE noise ε, dashed: WDAE γ = λε/(λ+ε))", fontsize=9)
        ax.set_ylabel("mode strength u")
        _epochs_axis(ax, p.lr)
        t90_d = time_to_learn(lam, noise_var=noise_var, u0=p.u0, fraction=0.9) / p.lr
        t90_w = time_to_learn(lam, weight_decay=weight_decay, u0=p.u0, fraction=0.9) / p.lr
        numbers["t90_epochs"][f"{lam:g}"] = {"dae": t90_d.tolist(), "wdae": t90_w.tolist(),
                                             "ratio_wdae_over_dae": (t90_w / t90_d).tolist()}
        numbers["u_star"][f"{lam:g}"] = fixed_point(lam, noise_var=noise_var).tolist()
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"Figure 2: noise against equivalent weight decay (same fixed points; DAE faster by (λ+ε)/λ), "
                 f"u₀ = {p.u0:g}")
    numbers["settings"] = dict(noise_var=noise_var.tolist(), lam=list(p.lam_values), lr=p.lr, epochs=p.epochs, u0=p.u0)
    # R10: the WDAE takes (lam + noise_var)/lam times as long; the largest relative deviation over the grid (noise_var > 0)
    numbers["max_rel_error_time_ratio"] = max(
        float(np.max(np.abs(np.asarray(v["ratio_wdae_over_dae"])[noise_var > 0] / ((lam + noise_var[noise_var > 0]) / lam) - 1)))
        for lam, v in zip(p.lam_values, numbers["t90_epochs"].values()))
    return fig, numbers


def fig3(p: Fig3 = FIG3):
    """Figure 3: the paper's "optimal" learning rates, with erratum E1 reproduced.

    With the paper's WDAE rate 1/(2λ + γ) the balanced DAE and WDAE maps coincide (R11), so
    the difference is zero to rounding; the authors' simulation used 1/(2λ + 2γ), which gives the
    published gap.
    """
    lam = p.lam
    noise_var = np.asarray(p.eps_values)
    weight_decay = equivalent_weight_decay(lam, noise_var)
    a0 = np.sqrt(p.u0)
    eta_d = p.scale * paper_learning_rate(lam, noise_var=noise_var)
    eta_w = p.scale * paper_learning_rate(lam, weight_decay=weight_decay)
    eta_w_stale = p.scale / (2 * lam + 2 * weight_decay)
    runs = {}
    for name, etas, e, g in (("dae", eta_d, noise_var, 0.0), ("wdae_paper", eta_w, 0.0, weight_decay),
                             ("wdae_stale", eta_w_stale, 0.0, weight_decay)):
        run = gd_modes(p.epochs, lam, noise_var=e, weight_decay=g, a0=a0, b0=a0, lr=etas)  # one lr per curve
        A, B = run.a, run.b
        runs[name] = A * B
    k = np.arange(p.epochs + 1)
    diff_paper = runs["dae"] - runs["wdae_paper"]
    diff_stale = runs["dae"] - runs["wdae_stale"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.3))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(noise_var)))
    for j, e in enumerate(noise_var):
        axes[0].plot(k, runs["dae"][:, j], color=colours[j], lw=1.8, label=f"ε = {e:g}")
        axes[0].plot(k, runs["wdae_paper"][:, j], color="k", lw=0.7, ls="--")
        axes[2].plot(k, diff_stale[:, j], color=colours[j], lw=1.2)
        axes[2].plot(k, diff_paper[:, j], color=colours[j], lw=1.2, ls=":")
    axes[0].set_title("DAE (colour) and WDAE (black dashed) at the paper's rates:\nthe curves coincide (R11)",
                      fontsize=9)
    axes[0].set_ylabel("mode strength u"), axes[0].legend(fontsize=7, ncol=2)
    axes[0].set_xlabel("epoch (rates η = 0.005/(2λ+3ε) and 0.005/(2λ+γ))")
    grid = np.linspace(0, p.eps_grid_max, 400, endpoint=False)
    g_grid = equivalent_weight_decay(lam, grid)
    axes[1].plot(grid, paper_learning_rate(lam, noise_var=grid), label="η*_DAE = 1/(2λ+3ε)")
    axes[1].plot(grid, paper_learning_rate(lam, weight_decay=g_grid), label="η*_WDAE = 1/(2λ+γ), γ = λε/(λ+ε)")
    axes[1].plot(grid, paper_learning_rate(lam, noise_var=grid) / paper_learning_rate(lam, weight_decay=g_grid),
                 label="R = η*_DAE/η*_WDAE = λ/(λ+ε)")
    axes[1].plot(grid, 1 / (2 * lam + 2 * g_grid), ls="--", color="C1", alpha=0.6, label="stale rate 1/(2λ+2γ) (E1)")
    axes[1].set_xlabel("noise variance ε"), axes[1].set_ylabel("learning rate / ratio")
    axes[1].set_title(f"λ = {lam:g}", fontsize=9), axes[1].legend(fontsize=7)
    axes[2].set_title("DAE − WDAE: paper's rate (dotted, ≈ 0) and\nthe notebooks' stale rate (solid, erratum E1)",
                      fontsize=9)
    axes[2].set_ylabel("u_DAE − u_WDAE"), axes[2].set_xlabel("epoch")
    for ax in (axes[0], axes[2]):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    fig.suptitle("Figure 3: the paper's \"optimal\" learning rates")
    numbers = {
        "max_abs_dae_minus_wdae_paper_rate": float(np.max(np.abs(diff_paper))),
        "max_abs_dae_minus_wdae_stale_rate": float(np.max(np.abs(diff_stale))),
        "max_abs_diff_per_eps_stale": np.max(np.abs(diff_stale), axis=0).tolist(),
        "eta_dae": eta_d.tolist(), "eta_wdae_paper": eta_w.tolist(), "eta_wdae_stale": eta_w_stale.tolist(),
        "settings": dict(lam=lam, noise_var=noise_var.tolist(), scale=p.scale, epochs=p.epochs, u0=p.u0),
    }
    return fig, numbers


def fig4(p: Fig4 = FIG4):
    """Figure 4: weight norm under noise (ε) against the equivalent weight decay (γ), R13."""
    rng = np.random.default_rng(p.seed)
    a0 = np.append(rng.uniform(p.init_low, p.init_high, p.runs), p.small_init[0])
    b0 = np.append(rng.uniform(p.init_low, p.init_high, p.runs), p.small_init[1])
    k = np.arange(p.epochs + 1)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
    numbers = {}
    for name, noise_var, weight_decay, colour in (("dae", p.noise_var, 0.0, "C0"), ("wdae", 0.0, p.weight_decay, "C3")):
        run = gd_modes(p.epochs, p.lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, lr=p.lr)
        A, B = run.a, run.b
        norm = np.hypot(A, B)
        pred = final_weight_norm(p.lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
        label = "DAE (noise ε)" if name == "dae" else "WDAE (weight decay γ)"
        for j in range(len(a0)):
            style = dict(color=colour, lw=2.2 if j == p.runs else 0.9, alpha=1 if j == p.runs else 0.7)
            axes[0].plot(A[:, j], B[:, j], **style, label=label if j == 0 else None)
            axes[1].plot(k, (A * B)[:, j], **style, label=label if j == 0 else None)
            axes[2].plot(k, norm[:, j], **style, label=label if j == 0 else None)
        axes[2].plot(np.full(len(a0), p.epochs), pred, "x", color=colour, ms=6,
                     label=f"R13 limit ({name.upper()})")
        numbers[name] = {"final_u": (A * B)[-1].tolist(), "final_norm": norm[-1].tolist(),
                         "predicted_final_norm_R13": pred.tolist(),
                         "u_star": float(fixed_point(p.lam, noise_var=noise_var, weight_decay=weight_decay))}
    us = numbers["dae"]["u_star"]
    for sgn in (1, -1):
        x = np.linspace(0.05, 2.2, 200) * sgn
        axes[0].plot(x, us / x, "k:", lw=1, label="ab = u* (DAE minima)" if sgn == 1 else None)
    axes[0].set_xlim(-2.2, 2.2), axes[0].set_ylim(-2.2, 2.2)
    axes[0].set_xlabel("a"), axes[0].set_ylabel("b"), axes[0].set_title("weight space (thick: small init)", fontsize=9)
    axes[1].set_ylabel("mode strength u"), _epochs_axis(axes[1], p.lr)
    axes[2].set_ylabel("weight norm ‖(a, b)‖"), _epochs_axis(axes[2], p.lr)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"Figure 4: noise ε = {p.noise_var:g} against weight decay γ = {p.weight_decay:.4g}: same u*, different norms "
                 "unless the initialisation is small")
    numbers["settings"] = dict(lam=p.lam, noise_var=p.noise_var, weight_decay=p.weight_decay, lr=p.lr, epochs=p.epochs, seed=p.seed,
                               runs=p.runs, init=[p.init_low, p.init_high], small_init=list(p.small_init),
                               a0=a0.tolist(), b0=b0.tolist())
    for m in ("dae", "wdae"):
        numbers[m]["max_abs_final_norm_minus_R13"] = float(np.max(np.abs(
            np.asarray(numbers[m]["final_norm"]) - np.asarray(numbers[m]["predicted_final_norm_R13"]))))
    numbers["wdae"]["imbalance_decay_at_end"] = float(np.exp(-2 * p.weight_decay * p.lr * p.epochs))   # R4: c(t)/c0
    return fig, numbers


FIGURES = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, **DEPTH_FIGURES}


def quick_problems():
    """Shrunk settings for smoke tests and ``reproduce --quick`` (same structure, fewer epochs/runs)."""
    return {"fig1": Fig1(epochs=60, runs=4), "fig2": Fig2(epochs=4000, lam_values=(2.5, 1.0)),
            "fig3": Fig3(epochs=3000), "fig4": Fig4(epochs=200, runs=3), **depth_quick_problems()}


def write_figures(out_dir, *, which=None, quick=False, force=True, log=print):
    """Draw the figures into ``out_dir`` (fig1.png ... and figures.json); return the numbers.

    With ``force=False`` a figure whose PNG and numbers already exist is skipped.
    """
    os.makedirs(out_dir, exist_ok=True)
    which = list(which or FIGURES)
    json_path = os.path.join(out_dir, "figures.json")
    numbers = {}
    if os.path.exists(json_path):
        import json
        with open(json_path) as fh:
            numbers = json.load(fh)
    problems = quick_problems() if quick else {}
    for name in which:
        png = os.path.join(out_dir, f"{name}.png")
        if not force and os.path.exists(png) and name in numbers and numbers[name].get("quick") == quick:
            log(f"  {name}: exists, skipped (use --force to redraw)")
            continue
        start = time.perf_counter()
        fig, nums = FIGURES[name](problems[name]) if name in problems else FIGURES[name]()
        save_figure(fig, png)
        plt.close(fig)
        nums["seconds"] = round(time.perf_counter() - start, 3)
        nums["quick"] = quick
        nums["citation"] = CITATION
        numbers[name] = nums
        atomic_write_json(json_path, numbers)
        log(f"  {name}: wrote {png} ({nums['seconds']:.1f} s)")
    return numbers
