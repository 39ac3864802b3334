"""What docs/examples/jax_dae.py and torch_dae.py share: the data, lindae's side of the comparison, the figure."""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def parser(doc, lr_help):
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-images", type=int, default=2000, help="how many MNIST training images (default 2000)")
    p.add_argument("--synthetic", type=int, default=0, metavar="D",
                   help="train on generated Gaussian data of dimension D instead of MNIST (no download)")
    p.add_argument("--hidden", type=int, default=64, help="hidden width H (default 64)")
    p.add_argument("--lr", type=float, default=None, help=lr_help)
    p.add_argument("--epochs", type=int, default=3000, help="full-batch steps (default 3000)")
    p.add_argument("--record-every", type=int, default=20, help="record the weights every so many steps (default 20)")
    p.add_argument("--noise-var", type=float, default=0.5, help="the DAE's input noise variance σ² (default 0.5)")
    p.add_argument("--init-scale", type=float, default=1e-4, help="standard deviation of the initial weights")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    return p


def check(p, args):
    for name in ("n_images", "hidden", "epochs", "record_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.noise_var < 0 or args.init_scale <= 0 or (args.lr is not None and args.lr <= 0):
        p.error("--noise-var must be >= 0, --init-scale and --lr > 0")
    if args.epochs % args.record_every:
        p.error("--epochs must be a multiple of --record-every")
    return args


def load_data(args):
    """MNIST's first ``--n-images`` training images in [0, 1] (fetched and cached by lindae), or generated data."""
    from lindae import validation
    if args.synthetic:
        D = args.synthetic
        rng = np.random.default_rng(1)
        basis = np.linalg.qr(rng.standard_normal((D, D)))[0]
        return (rng.standard_normal((max(10 * D, 500), D)) * np.geomspace(3.0, 0.3, D)) @ basis.T
    return validation.load_mnist(args.n_images)


def initial_weights(args, D):
    """W1 (H x D) and W2 (D x H) with i.i.d. N(0, init_scale²) entries: torch.nn.Linear's layout."""
    H = min(args.hidden, D)
    rng = np.random.default_rng(args.seed)
    return args.init_scale * rng.standard_normal((H, D)), args.init_scale * rng.standard_normal((D, H))


def compare(X, W1, W2, lr, epochs, record_every, trained, *, noise_var=0.0, weight_decay=0.0, loss="mean",
            seconds=None, label=""):
    """lindae's prediction for a model trained elsewhere, its score, and lindae's own trainer from the same
    weights (at lindae's rate) with its score: the yardstick the prediction's error is measured against.

    ``trained`` = (recorded epochs, weight snapshots [[W1, W2], ...]) of the user's run."""
    from lindae import validation
    t0 = time.perf_counter()
    pred = validation.predict(W1, W2, X, lr, epochs, noise_var=noise_var, weight_decay=weight_decay, loss=loss,
                              record_every=record_every)
    t_theory = time.perf_counter() - t0
    at, snaps = trained
    measured = validation.strengths_from_weights(snaps, pred)
    scores, _ = validation.agreement(pred, strengths=measured, at_epochs=at)
    own = validation.train_linear_ae(X, pred.hidden, pred.lr, epochs, noise_var=pred.noise_var,
                                     weight_decay=pred.weight_decay, init="given", weights=[W1, W2],
                                     record_every=record_every)
    own_scores, _ = validation.agreement(own)
    H = pred.hidden
    worst = max(v["max_abs"] for v in scores.values())
    own_worst = max(v["max_abs"] for v in own_scores.values())
    r = dict(noise_var=noise_var, weight_decay=weight_decay, lr=lr, lindae_lr=pred.lr,
             lindae_weight_decay=pred.weight_decay, worst_error=worst, lindae_trainer_worst_error=own_worst,
             ratio=worst / own_worst if own_worst > 0 else None,
             vs_lindae_trainer=float(np.max(np.abs(measured[:, :H] - own.strengths[:, :H]))),
             train_seconds=seconds, theory_seconds=t_theory, epochs=at, measured=measured,
             predicted=pred.strengths, label=label)
    print(f"{label}: worst |s - prediction| over modes 1..{H} = {worst:.3g} (lindae's own trainer from the same "
          f"weights: {own_worst:.3g}; the two trainings differ by {r['vs_lindae_trainer']:.2g}); training "
          f"{seconds or 0:.1f} s, prediction {t_theory:.1f} s")
    return r


SUMMARY_FIELDS = ("noise_var", "weight_decay", "lr", "lindae_lr", "lindae_weight_decay", "worst_error",
                  "lindae_trainer_worst_error", "ratio", "vs_lindae_trainer", "train_seconds", "theory_seconds")


def write_summary(out, name, args, X, results, seconds, framework):
    N, D = X.shape
    summary = dict(framework=framework, data="synthetic" if args.synthetic else f"MNIST, first {N} images", N=N, D=D,
                   hidden=min(args.hidden, D), epochs=args.epochs, init_scale=args.init_scale, seed=args.seed,
                   seconds=seconds, models={k: {f: v[f] for f in SUMMARY_FIELDS} for k, v in results.items()})
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


def draw(results, H, path, framework, optimiser):
    """One panel per model: the user's curves (wide, pale) and lindae's prediction (dashed) for modes 1, 2, 4, ..."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    modes = [m for m in (1, 2, 4, 8, 16, 32, 64, 128, 256) if m <= H]
    fig, axes = plt.subplots(1, len(results), figsize=(5.0 * len(results), 3.9), sharey=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(modes)))
    for ax, (name, r) in zip(axes, results.items()):
        for m, c in zip(modes, colours):
            ax.plot(r["epochs"], r["measured"][:, m - 1], color=c, lw=2.4, alpha=0.5)
            ax.plot(r["epochs"], r["predicted"][:, m - 1], color=c, lw=1.0, ls="--")
        ends = sorted(((r["predicted"][-1, m - 1], m, c) for m, c in zip(modes, colours)), key=lambda e: -e[0])
        y_prev = np.inf
        for y, m, c in ends:                 # labels at the curves' ends, moved down where they would overlap
            y_prev = min(y, y_prev - 0.045)
            ax.annotate(f"{m}", (r["epochs"][-1], y_prev), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7, color=c, annotation_clip=False)
        ax.set_title(f"{r['label']}\nworst error {r['worst_error']:.2g} (lindae's own trainer: "
                     f"{r['lindae_trainer_worst_error']:.2g})", fontsize=9)
        ax.set_xlabel(f"epoch (full-batch {optimiser}, lr = {r['lr']:g})")
    axes[0].set_ylabel("mode strength $s_i = v_i^T W_2 W_1 v_i$")
    axes[0].plot([], [], color="grey", lw=2.4, alpha=0.5, label=f"trained in {framework}")
    axes[0].plot([], [], color="grey", lw=1.0, ls="--", label="lindae.validation.predict")
    axes[0].legend(loc="center right", fontsize=8, frameon=False)
    fig.suptitle(f"Linear autoencoders trained in {framework}, and lindae's prediction from their own initial "
                 f"weights (labels: mode numbers)", fontsize=10)
    fig.savefig(path, dpi=130)
    plt.close(fig)
