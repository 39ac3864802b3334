"""A linear autoencoder and a denoising autoencoder trained in JAX + optax as people write them, with lindae's
prediction of every mode drawn over the trained curves.

The model is x̂ = W2 W1 x̃ (no biases, torch's layout: W1 is H x D), trained by full-batch optax.sgd on the
loss most code uses, mean((x - x̂)²) over all N·D entries. The DAE's Gaussian input noise of variance σ² is
marginalised in that same convention:

    E mean((x - W(x + n))²) = mean((x - Wx)²) + σ² ‖W‖²_F / D.

lindae needs nothing but the user's own settings: validation.predict(W1(0), W2(0), X, lr, epochs,
noise_var=σ², loss="mean") converts the learning rate (lindae's is 2·lr/D for this loss) and evaluates R15
from the very initial weights JAX started from.

    python docs/examples/jax_dae.py                  # MNIST (first 2000 images), H = 64: jax_dae/jax_dae.png
    python docs/examples/jax_dae.py --synthetic 40   # generated data, D = 40, no download
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_common as common  # noqa: E402


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
    def run(params, state):               # record_every steps, compiled once
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
    p = common.parser(__doc__, "the learning rate of the mean-over-entries loss (default 0.01 D: lindae's 0.02)")
    p.add_argument("--out", default="jax_dae", help="folder for the figure and the numbers (default ./jax_dae)")
    args = common.check(p, p.parse_args(sys.argv[1:] if argv is None else argv))
    X = common.load_data(args)
    D = X.shape[1]
    W1, W2 = common.initial_weights(args, D)
    lr = args.lr if args.lr is not None else 0.01 * D
    os.makedirs(args.out, exist_ok=True)
    start, results = time.perf_counter(), {}
    for name, noise_var in (("AE", 0.0), ("DAE", args.noise_var)):
        t0 = time.perf_counter()
        trained = train_in_jax(X, W1, W2, lr, args.epochs, args.record_every, noise_var)
        results[name] = common.compare(X, W1, W2, lr, args.epochs, args.record_every, trained, noise_var=noise_var,
                                       loss="mean", seconds=time.perf_counter() - t0,
                                       label=name if not noise_var else f"DAE (σ² = {noise_var:g})")
    png = os.path.join(args.out, "jax_dae.png")
    common.draw(results, W1.shape[0], png, "JAX + optax", "optax.sgd on mean((x - x̂)²)")
    summary = common.write_summary(args.out, "jax_dae", args, X, results, time.perf_counter() - start, "JAX + optax")
    print(f"figure: {png} ({summary['seconds']:.0f} s in all)")
    return summary


if __name__ == "__main__":
    main()
