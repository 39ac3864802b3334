"""A linear autoencoder, a denoising autoencoder and a weight-decayed one trained in PyTorch as people write
them, with lindae's prediction of every mode drawn over the trained curves.

The model is nn.Sequential(nn.Linear(D, H, bias=False), nn.Linear(H, D, bias=False)), trained by full-batch
torch.optim.SGD on nn.MSELoss() (the mean over all N·D entries). The DAE draws fresh Gaussian input noise of
variance σ² every epoch (x̃ = x + σ·randn), as PyTorch code does; lindae's theory is for that noise
marginalised, so its curves differ by the noise's sampling error, O(σ²/√N). The WDAE uses SGD's own
weight_decay, which adds w·W to the gradient (L2).

lindae's side is one call (lindae_prediction below): validation.predict(W1(0), W2(0), X, lr, epochs,
noise_var=σ², weight_decay=w, loss="mean").

    python docs/examples/torch_dae.py                  # MNIST (first 2000 images), H = 64: torch_dae/torch_dae.png
    python docs/examples/torch_dae.py --synthetic 40   # generated data, no download

Needs torch (pip install torch); lindae does not depend on it.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_common as common  # noqa: E402


def train_in_torch(X, W1, W2, lr, epochs, record_every, noise_var=0.0, weight_decay=0.0, seed=0):
    """Full-batch SGD on nn.MSELoss(); returns the recorded epochs and weight snapshots [[W1, W2], ...]."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    D, H = X.shape[1], W1.shape[0]
    model = nn.Sequential(nn.Linear(D, H, bias=False), nn.Linear(H, D, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1))
        model[1].weight.copy_(torch.from_numpy(W2))
    data = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    mse = nn.MSELoss()

    def snapshot():
        return [model[0].weight.detach().numpy().copy(), model[1].weight.detach().numpy().copy()]

    epochs_rec, snaps = [0], [snapshot()]
    for k in range(1, epochs + 1):
        opt.zero_grad()
        noisy = data + noise_var ** 0.5 * torch.randn_like(data) if noise_var else data
        mse(model(noisy), data).backward()
        opt.step()
        if k % record_every == 0:
            epochs_rec.append(k)
            snaps.append(snapshot())
    return np.array(epochs_rec), snaps


def main(argv=None):
    p = common.parser(__doc__, "the learning rate of nn.MSELoss() (default 0.01 D: lindae's 0.02)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="the WDAE's torch.optim.SGD weight_decay (default 1/D: lindae's γ = 0.5)")
    p.add_argument("--out", default="torch_dae", help="folder for the figure and the numbers (default ./torch_dae)")
    args = common.check(p, p.parse_args(sys.argv[1:] if argv is None else argv))
    try:
        import torch  # noqa: F401
    except ImportError:
        p.error("this example needs PyTorch: pip install torch")
    X = common.load_data(args)
    D = X.shape[1]
    W1, W2 = common.initial_weights(args, D)
    lr = args.lr if args.lr is not None else 0.01 * D
    w = args.weight_decay if args.weight_decay is not None else 1.0 / D
    os.makedirs(args.out, exist_ok=True)
    start, results = time.perf_counter(), {}
    for name, noise_var, decay in (("AE", 0.0, 0.0), ("DAE", args.noise_var, 0.0), ("WDAE", 0.0, w)):
        t0 = time.perf_counter()
        trained = train_in_torch(X, W1, W2, lr, args.epochs, args.record_every, noise_var, decay, args.seed)
        label = {"AE": "AE", "DAE": f"DAE (σ² = {noise_var:g}, sampled every epoch)",
                 "WDAE": f"WDAE (SGD weight_decay = {decay:.3g})"}[name]
        results[name] = common.compare(X, W1, W2, lr, args.epochs, args.record_every, trained, noise_var=noise_var,
                                       weight_decay=decay, loss="mean", seconds=time.perf_counter() - t0, label=label)
    png = os.path.join(args.out, "torch_dae.png")
    common.draw(results, W1.shape[0], png, "PyTorch", "torch.optim.SGD on nn.MSELoss()")
    summary = common.write_summary(args.out, "torch_dae", args, X, results, time.perf_counter() - start, "PyTorch")
    print(f"figure: {png} ({summary['seconds']:.0f} s in all)")
    return summary


def lindae_prediction(W1, W2, X, lr, epochs, *, noise_var=0.0, weight_decay=0.0, record_every=1):
    """What a PyTorch user calls: nn.MSELoss() is the "mean" convention, SGD's weight_decay is L2."""
    from lindae import validation
    return validation.predict(W1, W2, X, lr, epochs, noise_var=noise_var, weight_decay=weight_decay, loss="mean",
                              record_every=record_every)


if __name__ == "__main__":
    main()
