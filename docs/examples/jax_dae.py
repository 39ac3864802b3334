"""A linear autoencoder and a denoising autoencoder trained in JAX + optax as people write them, with lindae's
prediction of every mode drawn over the trained curves.

The model is x̂ = W2 W1 x̃ (no biases, torch's layout: W1 is H x D), trained by full-batch SGD on the loss
most code uses, mean((x - x̂)²) over all N·D entries (torch.nn.MSELoss(), Keras "mse"). The DAE's Gaussian
input noise of variance σ² is marginalised in that same convention:

    E mean((x - W(x + n))²) = mean((x - Wx)²) + σ² ‖W‖²_F / D.

lindae needs nothing but the user's own settings: ``validation.predict(W1(0), W2(0), X, lr, epochs,
noise_var=σ², loss="mean")`` converts the learning rate (lindae's is 2·lr/D for this loss) and evaluates R15
from the very initial weights JAX started from.

    python docs/examples/jax_dae.py                  # MNIST (first 2000 images), H = 64, figure in jax_dae/
    python docs/examples/jax_dae.py --synthetic 40   # generated data, D = 40, no download
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-images", type=int, default=2000, help="how many MNIST training images (default 2000)")
    p.add_argument("--synthetic", type=int, default=0, metavar="D",
                   help="train on generated Gaussian data of dimension D instead of MNIST (no download)")
    p.add_argument("--hidden", type=int, default=64, help="hidden width H (default 64)")
    p.add_argument("--lr", type=float, default=None,
                   help="the learning rate of the mean-over-entries loss (default: lindae's 0.02, i.e. 0.01 D)")
    p.add_argument("--epochs", type=int, default=3000, help="full-batch SGD steps (default 3000)")
    p.add_argument("--record-every", type=int, default=20, help="record the weights every so many steps (default 20)")
    p.add_argument("--noise-var", type=float, default=0.5, help="the DAE's input noise variance σ² (default 0.5)")
    p.add_argument("--init-scale", type=float, default=1e-4, help="standard deviation of the initial weights")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.add_argument("--out", default="jax_dae", help="folder for the figure and the numbers (default ./jax_dae)")
    args = p.parse_args(argv)
    for name in ("n_images", "hidden", "epochs", "record_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.noise_var < 0 or args.init_scale <= 0 or (args.lr is not None and args.lr <= 0):
        p.error("--noise-var must be >= 0, --init-scale and --lr > 0")
    return args


def load_data(args):
    from lindae import validation
    if args.synthetic:
        D = args.synthetic
        rng = np.random.default_rng(1)
        basis = np.linalg.qr(rng.standard_normal((D, D)))[0]
        return (rng.standard_normal((max(10 * D, 500), D)) * np.geomspace(3.0, 0.3, D)) @ basis.T
    return validation.load_mnist(args.n_images)


def train_in_jax(X, W1, W2, lr, epochs, record_every, noise_var):
    """Full-batch optax.sgd on the mean-over-entries loss; returns the recorded epochs and weight snapshots."""
    import jax
    import jax.numpy as jnp
    import optax

    Xj = jnp.asarray(X, dtype=jnp.float32)
    D = X.shape[1]

    def loss(params, X):
        W1, W2 = params
        mse = jnp.mean((X - X @ W1.T @ W2.T) ** 2)
        return mse + noise_var * jnp.sum((W2 @ W1) ** 2) / D     # the noise, marginalised (see the top)

    opt = optax.sgd(lr)

    @jax.jit
    def run(params, state):
        def step(carry, _):
            params, state = carry
            updates, state = opt.update(jax.grad(loss)(params, Xj), state, params)
            return (optax.apply_updates(params, updates), state), None
        return jax.lax.scan(step, (params, state), None, length=record_every)[0]

    params = (jnp.asarray(W1, jnp.float32), jnp.asarray(W2, jnp.float32))
    state = opt.init(params)
    epochs_rec, snaps = [0], [[np.asarray(w, np.float64) for w in params]]
    for k in range(record_every, epochs + 1, record_every):
        params, state = run(params, state)
        epochs_rec.append(k)
        snaps.append([np.asarray(w, np.float64) for w in params])
    return np.array(epochs_rec), snaps


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.epochs % args.record_every:
        sys.exit("jax_dae.py: error: --epochs must be a multiple of --record-every")
    from lindae import validation
    X = load_data(args)
    N, D = X.shape
    H = min(args.hidden, D)
    lr = args.lr if args.lr is not None else 0.01 * D          # lindae's lr = 2 lr / D = 0.02
    rng = np.random.default_rng(args.seed)
    W1, W2 = args.init_scale * rng.standard_normal((H, D)), args.init_scale * rng.standard_normal((D, H))
    os.makedirs(args.out, exist_ok=True)
    results, start = {}, time.perf_counter()
    for name, noise_var in (("AE", 0.0), ("DAE", args.noise_var)):
        t0 = time.perf_counter()
        epochs, snaps = train_in_jax(X, W1, W2, lr, args.epochs, args.record_every, noise_var)
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = validation.predict(W1, W2, X, lr, args.epochs, noise_var=noise_var, loss="mean",
                                  record_every=args.record_every)
        t_theory = time.perf_counter() - t0
        measured = validation.strengths_from_weights(snaps, pred)
        scores, _ = validation.agreement(pred, strengths=measured, at_epochs=epochs)
        # lindae's own trainer from the same weights, at lindae's rate, and its distance from the same theory
        own = validation.train_linear_ae(X, H, pred.lr, args.epochs, noise_var=noise_var, init="given",
                                         weights=[W1, W2], record_every=args.record_every)
        own_scores, _ = validation.agreement(own)
        worst = max(v["max_abs"] for v in scores.values())
        own_worst = max(v["max_abs"] for v in own_scores.values())
        results[name] = dict(noise_var=noise_var, worst_error=worst, lindae_trainer_worst_error=own_worst,
                             ratio=worst / own_worst if own_worst > 0 else None,
                             jax_vs_lindae_trainer=float(np.max(np.abs(measured[:, :H] - own.strengths[:, :H]))),
                             lr=lr, lindae_lr=pred.lr, train_seconds=t_train, theory_seconds=t_theory,
                             epochs=epochs, measured=measured, predicted=pred.strengths, u_star=pred.fixed_points)
        print(f"{name}: worst |s - prediction| over modes 1..{H} = {worst:.3g}  (lindae's own trainer from the same "
              f"weights: {own_worst:.3g}; JAX vs lindae trainer {results[name]['jax_vs_lindae_trainer']:.2g}); "
              f"JAX {t_train:.1f} s, prediction {t_theory:.1f} s")
    draw(results, H, args, os.path.join(args.out, "jax_dae.png"))
    summary = dict(data="synthetic" if args.synthetic else f"MNIST, first {N} images", N=N, D=D, hidden=H, lr=lr,
                   epochs=args.epochs, init_scale=args.init_scale, seed=args.seed, seconds=time.perf_counter() - start,
                   models={k: {f: v[f] for f in ("noise_var", "worst_error", "lindae_trainer_worst_error", "ratio",
                                                 "jax_vs_lindae_trainer", "lindae_lr", "train_seconds",
                                                 "theory_seconds")} for k, v in results.items()})
    with open(os.path.join(args.out, "jax_dae.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"figure: {os.path.join(args.out, 'jax_dae.png')} ({summary['seconds']:.0f} s in all)")
    return summary


def draw(results, H, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    modes = [m for m in (1, 2, 4, 8, 16, 32, 64, 128) if m <= H]
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), sharey=True, constrained_layout=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(modes)))
    for ax, (name, r) in zip(np.atleast_1d(axes), results.items()):
        for m, c in zip(modes, colours):
            ax.plot(r["epochs"], r["measured"][:, m - 1], color=c, lw=2.2, alpha=0.55)
            ax.plot(r["epochs"], r["predicted"][:, m - 1], color=c, lw=1.0, ls="--")
            ax.annotate(f"{m}", (r["epochs"][-1], r["predicted"][-1, m - 1]), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7, color=c)
        title = "AE" if not r["noise_var"] else f"DAE (σ² = {r['noise_var']:g})"
        ax.set_title(f"{title}: worst error {r['worst_error']:.2g} (lindae's trainer {r['lindae_trainer_worst_error']:.2g})",
                     fontsize=9)
        ax.set_xlabel(f"epoch (full-batch optax.sgd, lr = {r['lr']:g} on the mean loss)")
    np.atleast_1d(axes)[0].set_ylabel("mode strength $s_i = v_i^T W_2 W_1 v_i$")
    np.atleast_1d(axes)[0].plot([], [], color="grey", lw=2.2, alpha=0.55, label="trained in JAX")
    np.atleast_1d(axes)[0].plot([], [], color="grey", lw=1.0, ls="--", label="lindae.validation.predict")
    np.atleast_1d(axes)[0].legend(loc="center right", fontsize=8, frameon=False)
    fig.suptitle("A JAX + optax linear autoencoder against lindae's prediction from its own initial weights "
                 "(labels: mode numbers)", fontsize=10)
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    main()
