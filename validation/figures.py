"""Every figure of the validation layer, drawn from numbers a job has already computed and written: Figures
5 and 6 and the depth figure (a run's results.json), the random-initialisation study (study.json and its summary
rows), sweeps (their table rows) and the overlay on the authors' Figure 6 curves. Nothing here trains or
evaluates theory, and matplotlib is imported nowhere else in this layer."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np

from lindae.derivations.files import save_figure
from lindae.validation.theory import worst_half_time_error


def write_figure(fig, path) -> str:
    """Save ``fig`` as PNG atomically and close it (pyplot keeps every open figure alive); return the path. The figures
    here use the tight layout engine, which lays them out when they are drawn, so that ``save_figure`` draws each once."""
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_results(results):
    """Figure 5 for linear runs, Figure 6 for ReLU runs, the deep figure for depth runs (the config's ``figure``)."""
    kind = results["config"]["figure"]
    if kind == "corrupted":
        return plot_corrupted(results)
    return plot_fig6(results) if kind == "fig6" else plot_depth(results) if kind == "depth" else plot_fig5(results)


def plot_corrupted(results):
    """Noise models (N1-N8): for every model with a learning-curve theory, every mode <= H measured (colour)
    against theory (dashed); then where the optimum's input directions lie among the PCA modes, and the
    hidden-dropout end points against N6."""
    curves = [(k, v) for k, v in results["models"].items() if "all_modes" in v]
    drop = [(k, v) for k, v in results["models"].items() if v.get("optimum", {}).get("theory", "").startswith("N6")]
    opt = [(k, v) for k, v in results["models"].items() if "direction_weight_per_mode" in v.get("optimum", {})]
    n = len(curves) + (1 if opt else 0) + (1 if drop else 0)
    cols = min(3, max(n, 1))
    rows = -(-max(n, 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.2 * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.axis("off")
    for ax, (name, m) in zip(flat, curves):
        ep = np.asarray(m["epochs"], dtype=float)
        keep = ep > 0
        H = len(m["all_modes"]["actual"])
        colours = plt.cm.viridis(np.linspace(0, 0.95, H))
        for i in range(H):
            ax.plot(ep[keep], np.asarray(m["all_modes"]["actual"][i])[keep], color=colours[i], lw=1.4)
            ax.plot(ep[keep], np.asarray(m["all_modes"]["theory"][i])[keep], color="k", lw=0.7, ls="--")
        ag = m["agreement"]
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{name}: {m['noise']}, H = {H}\nmax |s − theory| = {ag['max_abs']:.2g} (mode {ag['mode']}); "
                     f"leakage {m['leakage_final']:.2g}", fontsize=8.5)
        ax.set_xlabel(f"epoch (η = {m['config']['lr']:g})"), ax.set_ylabel("mode strength vᵢᵀWvᵢ")
    k = len(curves)
    if opt:
        ax = flat[k]
        k += 1
        H = int(opt[0][1]["config"]["hidden"])
        for name, m in opt:
            w = np.asarray(m["optimum"]["direction_weight_per_mode"])
            shown = min(len(w), 3 * H)
            ax.plot(np.arange(1, shown + 1), w[:shown], lw=1.2, marker=".", ms=3,
                    label=f"{name} (top-{H} PCA inputs carry {100 * m['optimum']['pca_share']:.0f}% of ‖W*‖²)")
        ax.step([0.5, H + 0.5, shown + 0.5], [1, 0, 0], where="post", color="grey", lw=1, ls=":",
                label=f"PCA: exactly the top {H} modes")
        ax.set_xlabel("PCA mode number i"), ax.set_ylabel("weight of mode i in W*'s input directions")
        ax.set_ylim(-0.03, 1.05)
        ax.set_title("the optimum's directions against PCA's (N5)", fontsize=8.5)
        ax.legend(fontsize=6.5, loc="upper right")
    if drop:
        ax = flat[k]
        colours = plt.cm.tab10(np.arange(10))
        for j, (name, m) in enumerate(drop):
            ep = np.asarray(m["epochs"], dtype=float)
            keep = ep > 0
            for i, key in enumerate(sorted(m["series"], key=int)):
                ax.plot(ep[keep], np.asarray(m["series"][key]["actual"])[keep], color=colours[i], lw=1.6,
                        ls="-" if j == 0 else "-.", label=f"{name}: mode {key}")
        s_th = np.asarray(drop[0][1]["optimum"]["strengths"])
        theta = float(drop[0][1]["config"]["dropout_keep"])
        for i, v in enumerate(s_th):
            ax.axhline(v, color=colours[i], lw=0.9, ls="--")
        ax.axhline(theta, color="grey", lw=0.9, ls=":", label=f"aligned saddle s = θ = {theta:g}")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"epoch (η = {drop[0][1]['config']['lr']:g})"), ax.set_ylabel("mode strength vᵢᵀWvᵢ")
        ax.set_title("hidden-unit dropout against N6's equalised optimum (dashed)", fontsize=8.5)
        ax.legend(fontsize=7)
    fig.suptitle(f"{results['title']}: {results['n_samples']} samples, D = {results['dimension']}; dashed: theory",
                 fontsize=11)
    fig.set_layout_engine("tight")
    return fig


def plot_depth(results):
    """Deep linear autoencoders: measured s_i (solid) against theory (dashed) per model, on a log epoch axis
    (deep modes are learned at times spread over decades, each in a sharp step)."""
    models = [(k, v) for k, v in results["models"].items() if "series" in v]
    cols = min(3, max(len(models), 1))
    rows = -(-max(len(models), 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.3 * rows), squeeze=False)
    for ax in axes.ravel()[len(models):]:
        ax.axis("off")
    for ax, (name, mres) in zip(axes.ravel(), models):
        cfg = mres["config"]
        ep = np.asarray(mres["epochs"], dtype=float)
        keep = ep > 0
        modes = sorted(mres["series"], key=int)
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(modes)))
        for c, k in zip(colours, modes):
            s = mres["series"][k]
            ax.plot(ep[keep], np.asarray(s["actual"])[keep], color=c, lw=2.2, label=f"mode {k}")
            ax.plot(ep[keep], np.asarray(s["theory"])[keep], color="k", lw=0.9, ls="--")
        ag = mres["agreement"]["deep_discrete"]
        worst = max(v["max_abs"] for v in ag.values())
        rel, mode = worst_half_time_error(ag)
        start = (f"aligned, u₀ = {cfg['u0']:g}" if cfg["init"] == "aligned" else f"random, scale {cfg['init_scale']:g}")
        timing = ("" if rel is None or cfg["init"] != "random"
                  else f"; epochs to u*/2 within {100 * rel:.2g}% (mode {mode})")
        ax.set_title(f"{name}: L = {cfg['depth']}, H = {cfg['hidden']}, ε = {cfg['noise_var']:g}, γ = {cfg['weight_decay']:g}, "
                     f"{start}\nmax |s − theory| = {worst:.2g}{timing}", fontsize=8.5)
        ax.set_xscale("log")
        ax.set_xlabel(f"epoch (η = {cfg['lr']:g})"), ax.set_ylabel("mode strength vᵢᵀWvᵢ")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{results['title']}: {results['n_samples']} samples, D = {results['dimension']}; "
                 "dashed: theory (D2's exact map; random starts through D9)")
    fig.set_layout_engine("tight")
    return fig


def plot_fig5(results):
    """Top row: measured s_i = v_iᵀWv_i (solid) against theory (R15 from the actual initial weights,
    discrete time; dashed) per model. Bottom row: the paper's way, sorted singular values of W against the
    continuous theory with one shared u0 (erratum E2)."""
    models = [(k, v) for k, v in results["models"].items() if "series" in v]
    fig, axes = plt.subplots(2, max(len(models), 1), figsize=(5.3 * max(len(models), 1), 8.2), squeeze=False)
    for col, (name, mres) in enumerate(models):
        cfg = mres["config"]
        ep = np.asarray(mres["epochs"])
        modes = list(mres["series"])
        colours = plt.cm.plasma(np.linspace(0, 0.85, len(modes)))
        ax = axes[0, col]
        for c, k in zip(colours, modes):
            s = mres["series"][k]
            ax.plot(ep, s["actual"], color=c, lw=2, label=f"mode {k}")
            ax.plot(ep, s["theory"], color="k", lw=0.9, ls="--")
        worst = max(v["max_abs"] for v in mres["agreement"]["r15_discrete"].values())
        ax.set_title(f"{name}: σ² = {cfg['noise_var']:g}, γ = {cfg['weight_decay']:g}\n"
                     f"ours: vᵢᵀWvᵢ vs R15 (dashed); max |error| = {worst:.3g}", fontsize=9)
        ax.set_xlabel(f"epoch (η = {cfg['lr']:g})"), ax.set_ylabel("mode strength")
        ax.legend(fontsize=7)
        ax = axes[1, col]
        pe = np.asarray(mres["paper_series"]["epochs"])
        for c, k in zip(colours, modes):
            s = mres["paper_series"][k]
            ax.plot(pe, s["singular_value"], color=c, lw=2)
            ax.plot(pe, s["theory_shared_u0"], color="k", lw=0.9, ls="--")
        worst_p = max(v["max_abs"] for v in mres["agreement"]["paper_singular_values_shared_u0"].values())
        ax.set_title(f"paper's way: sorted singular values vs shared-u₀ theory\nmax |error| = {worst_p:.3g}",
                     fontsize=9)
        ax.set_xlabel(f"epoch (η = {cfg['lr']:g})"), ax.set_ylabel("singular value")
    fig.suptitle(f"{results['title']}: {results['n_samples']} samples, D = {results['dimension']}")
    fig.set_layout_engine("tight")
    return fig


def plot_fig6(results):
    """ReLU autoencoders: m_i of the top modes per model, and the epochs to reach half the final m_i."""
    models = [(k, v) for k, v in results["models"].items() if "series" in v]
    fig, axes = plt.subplots(1, len(models) + 1, figsize=(5 * (len(models) + 1), 4.2), squeeze=False)
    axes = axes[0]
    for col, (name, mres) in enumerate(models):
        ep = np.asarray(mres["epochs"])
        cfg = mres["config"]
        for i, (k, s) in enumerate(mres["series"].items()):
            axes[col].plot(ep, s["m"], color=f"C{i}", lw=1.8, label=f"mode {k}")
        axes[col].set_title(f"{name}: noise std {cfg['noise_std']:g}, weight decay {cfg['weight_decay']:g}", fontsize=9)
        axes[col].set_xlabel(f"epoch (η = {cfg['lr']:g})"), axes[col].set_ylabel("mᵢ = vᵢᵀ E[f(x)xᵀ] vᵢ / λᵢ")
        axes[col].legend(fontsize=7)
        ht = mres["half_time"]
        ks = [int(k) for k in ht if ht[k] is not None]
        axes[-1].plot(ks, [ht[str(k)] for k in ks], "o-", label=name)
        axes[-1].set_xticks(ks)
    axes[-1].set_xlabel("mode i"), axes[-1].set_ylabel("epoch at half of final mᵢ")
    axes[-1].set_title("time to learn each mode (lower = earlier)", fontsize=9), axes[-1].legend(fontsize=8)
    fig.suptitle(f"{results['title']}: {results['n_samples']} samples")
    fig.set_layout_engine("tight")
    return fig


def plot_study(study: dict, rows, *, variants, bound):
    """Per case: measured (solid) against R15 (dashed) for every mode ≤ H, and the worst error of every theory
    variant (``rows``: the study's summary rows; ``bound``: the acceptance bound, drawn dotted)."""
    cases = list(dict.fromkeys(c["case"] for c in study["cells"]))
    fig, axes = plt.subplots(len(cases), 2, figsize=(12, 3.2 * len(cases)), squeeze=False)
    for r, name in enumerate(cases):
        curve = next((c for c in study["cells"] if c["case"] == name and "curves" in c), None)
        ax = axes[r, 0]
        if curve is not None:
            cv = curve["curves"]
            ep, A, T = np.array(cv["epochs"]), np.array(cv["actual"]), np.array(cv["coupled"])
            colors = plt.cm.viridis(np.linspace(0, 1, A.shape[1]))
            for i in range(A.shape[1]):
                ax.plot(ep, A[:, i], color=colors[i], lw=1)
                ax.plot(ep, T[:, i], color=colors[i], lw=1, ls="--")
            ax.set_title(f"{name}, {curve['model']}, seed {curve['seed']}, init {curve['init_scale']:g}: "
                         f"measured (solid), R15 (dashed)", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("s_i, modes 1..H")
        ax = axes[r, 1]
        rs = [x for x in rows if x["case"] == name]
        width = 0.8 / len(variants)
        for k, v in enumerate(variants):
            ax.bar(np.arange(len(rs)) + k * width, [max(x[v][0], 1e-6) for x in rs], width, label=v)
        ax.axhline(bound, color="k", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(rs)) + 0.4 - width / 2)
        ax.set_xticklabels([f"{x['model']}\n{x['init_scale']:g}" for x in rs], fontsize=8)
        ax.set_ylabel("worst |s_i − theory_i|, i ≤ H")
        ax.set_title(f"{name}: worst over seeds and modes (dotted: {bound})", fontsize=9)
        if r == 0:          # a row of its own above the bars (log scale: headroom by a factor 30)
            ax.set_ylim(top=ax.get_ylim()[1] * 30)
            ax.legend(fontsize=8, ncol=len(variants), loc="upper center")
    fig.set_layout_engine("tight")
    return fig


def plot_sweep(sw, rows, modes):
    """Heatmaps (two swept axes), lines (one) of the worst theory error, t_half of the first mode
    and the final loss; other axes (seeds included) are averaged over."""
    axes = [a for a in sw["axes"] if a != "seed" and len(sw["axes"][a]) > 1]
    metrics = [("worst |measured − theory|", lambda r: r["worst_theory_error"]),
               (f"epochs to u*/2, mode {modes[0]}" if modes else "t_half", lambda r: r["t_half"].get(str(modes[0])) if modes else None),
               ("final loss", lambda r: r["loss_final"])]
    fig, panels = plt.subplots(1, 3, figsize=(15, 4.2))
    shown = axes[:2]
    averaged = [a for a in sw["axes"] if a not in shown]
    for (label, get), ax in zip(metrics, panels):
        grid = {}
        for r in rows:
            v = get(r)
            k = tuple(r["params"][a] for a in shown)
            grid.setdefault(k, []).append(np.nan if v is None else float(v))
        if len(shown) == 2:
            xs, ys = sw["axes"][shown[0]], sw["axes"][shown[1]]
            Z = np.array([[np.nanmean(grid[(x, y)]) if (x, y) in grid and np.any(np.isfinite(grid[(x, y)]))
                           else np.nan for x in xs] for y in ys])
            im = ax.imshow(Z, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs]), ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
            ax.set_xlabel(shown[0]), ax.set_ylabel(shown[1])
            fig.colorbar(im, ax=ax)
            for i in range(len(ys)):
                for j in range(len(xs)):
                    if np.isfinite(Z[i, j]):
                        bright = im.norm(Z[i, j]) > 0.6          # dark text on the bright end of viridis
                        ax.text(j, i, f"{Z[i, j]:.3g}", ha="center", va="center", fontsize=7,
                                color="k" if bright else "w")
        elif len(shown) == 1:
            xs = sw["axes"][shown[0]]
            ax.plot(xs, [np.nanmean(grid.get((x,), [np.nan])) for x in xs], "o-")
            ax.set_xlabel(shown[0])
        else:
            vals = [np.nanmean(v) for v in grid.values()]
            ax.bar(range(len(vals)), vals)
        ax.set_title(label, fontsize=9)
    note = f" (mean over {', '.join(averaged)})" if averaged else ""
    fig.suptitle(f"{sw['config'].title or 'sweep'}: {len(rows)} of {len(sw['cells'])} cells{note}")
    fig.set_layout_engine("tight")
    return fig


def plot_overlay(ours: dict, authors: dict, title: str):
    """One panel per model: our m_i (solid) and the authors' (dashed), modes 1-4."""
    names = [n for n in ("AE", "WDAE", "DAE") if n in ours and n in authors]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(5 * max(len(names), 1), 4), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], names):
        (ep_o, ser_o), (ep_a, ser_a) = ours[name], authors[name]
        for i, k in enumerate(sorted(ser_a, key=int)):
            if k in ser_o:
                ax.plot(ep_o, ser_o[k], color=f"C{i}", lw=1.8, label=f"mode {k}: ours")
            ax.plot(ep_a, ser_a[k], color=f"C{i}", lw=1.2, ls="--", label=f"mode {k}: authors")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7, ncol=2)
    axes[0, 0].set_ylabel("mᵢ = vᵢᵀ E[f(x)xᵀ] vᵢ / λᵢ")
    fig.suptitle(title, fontsize=10)
    fig.set_layout_engine("tight")
    return fig


def _mnist_cells(cells):
    return [c for c in cells if c["kind"] == "mnist"]


def plot_curves(cells):
    """Finite data: per cell (case, N, H), the DAE's train and test denoising errors against epochs, measured
    (markers; for populations the mean over draws) and predicted (lines: G1 on the per-mode theory; for spiked
    populations the curve predicted from the population alone), with the best stopping epochs marked (on MNIST,
    those of the AE judged at test noise ε_t, also drawn)."""
    n = len(cells)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax, c in zip(axes.ravel(), cells):
        if c["kind"] == "mnist":
            m = c["models"]["DAE"]
            ep, meas, pred = np.array(m["epochs"]), m["measured"], m["predicted"]
            ae = c["ae_at_test_noise"]
            title = f"{c['case']}, N = {c['N']}, H = {c['hidden']}"
            best = (ae["best_epoch_measured"], ae["best_epoch_predicted"])
            lines = [("DAE train", meas["train_denoising_error"], pred["train_denoising_error"], "C0"),
                     ("DAE test", meas["test_denoising_error"], pred["test_denoising_error"], "C1"),
                     (f"AE test at ε_t = {c['test_noise_var']:g}", ae["measured"], ae["predicted"], "C2")]
        else:
            ep, meas, pred = np.array(c["epochs"]), c["measured"], c.get("predicted", {})
            title = f"{c['case']}, D = {c['D']}, N = {c['N']}, H = {c['hidden']}: {c['draws']} draws"
            best = (c["best_epoch_measured"], c.get("best_epoch_predicted"))
            lines = [("train", meas["train_denoising_error"], pred.get("train_denoising_error"), "C0"),
                     ("test", meas["test_denoising_error"], pred.get("test_denoising_error"), "C1")]
        step = max(1, len(ep) // 40)
        for label, y, p, color in lines:
            ax.plot(ep[::step], np.array(y)[::step], "o", ms=3, color=color, label=f"{label}, measured")
            if p is not None:
                ax.plot(ep, p, "-", lw=1.2, color=color, label=f"{label}, predicted")
        ax.axvline(best[0], color="k", lw=0.8, ls=":", label="best epoch, measured")
        if best[1] is not None:
            ax.axvline(best[1], color="C3", lw=0.8, ls="--", label="best epoch, predicted")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("denoising error")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6.5)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.set_layout_engine("tight")
    return fig


def plot_grids(cells):
    """Per MNIST cell: the denoising test error (test noise ε_t) of the DAE over its noise grid (γ = 0) and of the
    WDAE over its weight-decay grid (ε = 0), measured from the final weights on the test images (markers) and
    predicted at the same epoch (lines), with the fixed points' values (dotted) and G4's and G5's continuous
    optima marked (stars)."""
    cells = _mnist_cells(cells)
    fig, axes = plt.subplots(1, len(cells), figsize=(4.8 * len(cells), 3.6), squeeze=False)
    for ax, c in zip(axes[0], cells):
        for family, color, sym in (("noise", "C2", "ε"), ("decay", "C4", "γ")):
            g = c[family]
            x = np.array(g["grid"])
            ax.plot(x, g["measured"], "o", color=color, label=f"{sym}: measured")
            ax.plot(x, g["predicted_at_end"], "-", color=color, lw=1.2, label=f"{sym}: predicted (same epoch)")
            ax.plot(x, g["predicted_fixed_points"], ":", color=color, lw=1, label=f"{sym}: fixed points")
            ax.plot([g["continuous_optimum"]], [g["continuous_optimum_error"]], "*", ms=12, color=color,
                    markeredgecolor="k", label=f"predicted optimum {sym} = {g['continuous_optimum']:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("training noise ε (γ = 0) or weight decay γ (ε = 0)")
        ax.set_ylabel(f"denoising test error, ε_t = {c['test_noise_var']:g}")
        ax.set_title(f"{c['case']}, N = {c['N']}, H = {c['hidden']}, after {c['epochs']} epochs", fontsize=9)
        ax.legend(fontsize=6.5)
    fig.set_layout_engine("tight")
    return fig


def plot_overshoot(cells):
    """Per MNIST cell: for every DAE mode that passes its best value during the run, the epoch of its least
    denoising test error, measured against G3's t°/η (the diagonal is perfect agreement)."""
    cells = _mnist_cells(cells)
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.8), squeeze=False)
    for ax, c in zip(axes[0], cells):
        o = c["overshoot"]
        if o["modes"]:
            p, m = np.array(o["predicted"]), np.array(o["measured"])
            sc = ax.scatter(p, m, c=o["modes"], cmap="viridis", s=14)
            lo, hi = min(p.min(), m.min()) * 0.8, max(p.max(), m.max()) * 1.25
            ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
            fig.colorbar(sc, ax=ax, label="mode")
        ax.set_xlabel("G3: predicted epoch of least test error")
        ax.set_ylabel(f"measured (epochs recorded every {o['record_every']})")
        ax.set_title(f"{c['case']}, N = {c['N']}, H = {c['hidden']}: {len(o['modes'])} DAE modes overshoot",
                     fontsize=9)
    fig.set_layout_engine("tight")
    return fig


def plot_sgd_bands(cells, max_modes=8):
    """Minibatch SGD: per (case, B, learning rate), every shown mode's mean strength over the seeds ± one standard
    deviation (shaded band and solid line, measured) against S1-S3's prediction (dashed: mean; dotted: ± one
    standard deviation), on log axes. At most ``max_modes`` modes are shown, spread over the top ones."""
    cells = [c for c in cells if "curves" in c]
    if not cells:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, "every seed diverged", ha="center", va="center")
        ax.axis("off")
        return fig
    cols = max(len({c["B"] for c in cells if c["case"] == cells[0]["case"]}), 1)
    cols = min(cols, 4)
    rows = (len(cells) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.3 * rows), squeeze=False)
    for ax, c in zip(axes.ravel(), cells):
        cv = c["curves"]
        st = np.array(cv["steps"], dtype=float)
        M, Sd, TM, TS = (np.array(cv[k], dtype=float) for k in ("mean", "std", "theory_mean", "theory_std"))
        keep = st > 0
        top = c["top"]
        show = np.unique(np.round(np.linspace(0, top - 1, min(max_modes, top))).astype(int))
        top_mean = np.nanmax(TM[:, show])
        # a few seeds far out (not yet past the overflow guard) would set the scale: clip at ten times the theory
        floor = 1e-3 * np.nanmax(np.clip(M[:, show], None, 10 * top_mean), initial=top_mean)
        for k, mode in enumerate(show):
            color = f"C{k % 10}"
            m, s, tm, ts = M[keep, mode], Sd[keep, mode], TM[keep, mode], TS[keep, mode]
            ax.fill_between(st[keep], np.maximum(m - s, floor), m + s, color=color, alpha=0.22, lw=0)
            ax.plot(st[keep], m, "-", color=color, lw=1.1, label=f"mode {mode + 1}")
            ax.plot(st[keep], tm, "--", color="k", lw=0.8)
            ax.plot(st[keep], np.maximum(tm - ts, floor), ":", color="k", lw=0.6)
            ax.plot(st[keep], tm + ts, ":", color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor, 3 * top_mean)
        ax.set_xlabel("SGD step")
        ax.set_ylabel("mode strength sᵢ")
        spread = f"{c['worst_std']:.0%}" if c["worst_std"] < 10 else "> 1000 %"
        ax.set_title(f"{c['case']}, B = {c['B']}, η = {c['lr']:.3g}: worst {c['worst_se']:.1f} SE, {spread} spread",
                     fontsize=8.5)
        ax.legend(fontsize=6, ncol=2, loc="lower right", title="bands: measured ± 1 sd; black: theory",
                  title_fontsize=6)
    for ax in axes.ravel()[len(cells):]:
        ax.axis("off")
    fig.set_layout_engine("tight")
    return fig
