"""Commands of the numeric layer: ``lindae {figures,strength}`` (also ``python -m lindae.dynamics``)."""
from __future__ import annotations

import argparse
import os

from lindae.derivations.commandline import deprecated_flags, fail, make_parser, run_command

from .errors import InvalidArgument, InvalidArgumentType


def _float_list(text):
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


#: The sub-commands this layer adds to ``lindae``.
COMMANDS = ("figures", "strength")


def build_parser():
    """The parser of ``python -m lindae.dynamics`` (the same sub-commands as ``lindae``)."""
    p, sub = make_parser("python -m lindae.dynamics", "Numeric layer of lindae: stable closed forms, ODE and GD "
                                                      "trajectories, and the paper's Figures 1-4.")
    add_commands(sub)
    return p


def add_commands(sub):
    """Add :data:`COMMANDS` to the sub-parser group ``sub``."""
    f = sub.add_parser("figures", help="draw Figures 1-4, the depth figures and figures.json",
                       description="Write fig1.png ... fig4.png, depth1.png (balanced curves for L = 2, 3, 4) and "
                                   "depth2.png (the L = 3 bifurcation diagram), and figures.json (the numbers each "
                                   "figure shows), with the settings of dynamics/problems.py (docs/conventions.md).")
    f.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    f.add_argument("--only", default="1,2,3,4,depth1,depth2", metavar="LIST",
                   help="which figures: numbers 1-4 and/or depth1, depth2, comma-separated (default all)")
    f.add_argument("--quick", action="store_true", help="shrunk settings (fewer epochs and runs) for a smoke test")
    f.add_argument("--no-force", action="store_true", help="skip figures whose PNG and numbers already exist")
    s = sub.add_parser("strength", help="print u(t) for one mode by closed form, ODE or GD",
                       description="Print a table of t and the mode strength u(t) = a(t) b(t).")
    s.add_argument("--lam", type=float, required=True, help="eigenvalue lambda >= 0")
    s.add_argument("--noise-var", type=float, default=0.0, help="noise variance ε = σ² >= 0 (default 0)")
    s.add_argument("--weight-decay", type=float, default=0.0, help="weight decay γ >= 0 (default 0)")
    s.add_argument("--a0", type=float, required=True, help="initial encoder weight of the mode")
    s.add_argument("--b0", type=float, required=True, help="initial decoder weight of the mode")
    s.add_argument("--lr", type=float, default=0.01, help="learning rate η; t = η · epoch (default 0.01)")
    s.add_argument("--epochs", type=int, default=1000, help="number of GD steps (epochs) / grid length (default 1000)")
    s.add_argument("--record-every", type=int, default=100, help="print every N epochs (default 100)")
    deprecated_flags(s, {"--eps": "--noise-var", "--gamma": "--weight-decay", "--eta": "--lr", "--steps": "--epochs",
                         "--every": "--record-every"}, {"--steps": int, "--every": int})
    s.add_argument("--method", choices=("closed_form", "ode", "gd"), default="closed_form",
                   help="closed form (R5/R6), ODE integration (R3) or exact GD (R12)")


def main(argv=None) -> int:
    """``python -m lindae.dynamics``; returns the exit status."""
    return run_command(build_parser(), run, argv)


def run(args, prog) -> int:
    """Carry out one of :data:`COMMANDS` (parsed into ``args``); return the exit status."""
    if args.command == "figures":
        names = ("fig1", "fig2", "fig3", "fig4", "depth1", "depth2")
        which = [f"fig{x.strip()}" if x.strip().isdigit() else x.strip() for x in args.only.split(",") if x.strip()]
        if not which or any(w not in names for w in which):
            fail(prog, f"--only takes 1-4, depth1 and depth2 separated by commas, got {args.only!r}")
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as exc:
            fail(prog, f"cannot create --out {args.out}: {exc.strerror}")
        from .figures import write_figures
        print(f"Figures {', '.join(which)} -> {args.out}", flush=True)
        write_figures(args.out, which=which, quick=args.quick, force=not args.no_force,
                      log=lambda m: print(m, flush=True))
        return 0
    from .trajectory import trajectory
    try:
        tr = trajectory(args.lam, noise_var=args.noise_var, weight_decay=args.weight_decay, a0=args.a0, b0=args.b0, method=args.method,
                        lr=args.lr, epochs=args.epochs, record_every=args.record_every)
    except (InvalidArgument, InvalidArgumentType) as exc:
        fail(prog, str(exc))
    print(f"# {args.method}: lam={args.lam:g} noise_var={args.noise_var:g} weight_decay={args.weight_decay:g} a0={args.a0:g} b0={args.b0:g}"
          f" lr={args.lr:g}")
    print(f"{'step':>8} {'t':>12} {'u':>22}")
    for t, u in zip(tr.t, tr.u[:, 0]):
        print(f"{int(round(t / args.lr)):>8} {t:>12.6g} {u:>22.15g}")
    return 0
