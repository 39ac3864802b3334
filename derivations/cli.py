"""Commands of the symbolic layer: ``lindae {check,latex,mutate,list}`` (also ``python -m lindae.derivations``)."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time

from .document import render_latex, render_markdown
from .commandline import fail, make_parser, run_command
from .files import atomic_write_text
from .registry import check_all, names, resolve


#: The sub-commands this layer adds to ``lindae``.
COMMANDS = ("check", "latex", "mutate", "list")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m lindae.derivations`` (the same sub-commands as ``lindae``)."""
    p, sub = make_parser("python -m lindae.derivations",
                         "Derive and machine-check the results R1-R15, D1-D9 (depth L) and G1-G5 (finite data) of the theory of linear denoising "
                         "autoencoders, and write them as a LaTeX or Markdown document.")
    add_commands(sub)
    return p


def add_commands(sub):
    """Add :data:`COMMANDS` to the sub-parser group ``sub``."""
    c = sub.add_parser("check", help="verify results; one line per result; exit 1 if any fails",
                       description="Verify each result: symbolic residuals must simplify to zero and a 50-digit "
                                   "numeric check by an independent method must pass.")
    c.add_argument("names", nargs="*", metavar="NAME", help="results to check by name or number, e.g. "
                   "'balanced_solution' or 'R5' (default: all); see 'list'")
    c.add_argument("--seed", type=int, default=0, help="seed of the random numeric check points (default 0)")
    l = sub.add_parser("latex", help="write the derivation document",
                       description="Write a standalone document: conventions, then for each result its statement, "
                                   "derivation steps and verification status.")
    l.add_argument("--out", required=True, metavar="FILE", help="output file (.tex or .md)")
    l.add_argument("--format", choices=("tex", "md"), default="tex", help="LaTeX (default) or Markdown")
    l.add_argument("--pdf", action="store_true", help="also run pdflatex and leave FILE.pdf next to FILE")
    l.add_argument("--no-verify", action="store_true", help="skip verification (statuses print 'not checked')")
    m = sub.add_parser("mutate", help="mutate every statement and check that verification refutes each mutant",
                       description="For each component of each statement apply a stray factor, a shifted constant, "
                                   "each symbol doubled and a sign flip; verify every mutant (fail-fast). "
                                   "Exit 1 if any mutant survives.")
    m.add_argument("names", nargs="*", metavar="NAME", help="results by name or number (default: all)")
    m.add_argument("--budget", type=float, default=60.0, help="seconds each symbolic check may take (default 60)")
    sub.add_parser("list", help="list the result names", description="Print the name of every result, one a line.")


def write_document(out: str, fmt: str = "tex", pdf: bool = False, verify: bool = True, numeric_points: int = 3):
    """Write the document to ``out`` (atomically); return (paths written, verifications). Each result's numeric
    check runs at ``numeric_points`` random points (``reproduce --quick`` uses one)."""
    if os.path.isdir(out):
        raise IsADirectoryError(f"--out {out} is a directory; give a file name such as {os.path.join(out, 'derivations.tex')}")
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory {directory} does not exist")
    verifications = check_all(numeric_points=numeric_points) if verify else []
    text = render_latex(verifications) if fmt == "tex" else render_markdown(verifications)
    atomic_write_text(out, text)
    written = [out]
    if pdf:
        written.append(compile_pdf(out))
    return written, verifications


def compile_pdf(tex_path: str) -> str:
    """Run pdflatex twice on ``tex_path`` in its directory; return the PDF path."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise RuntimeError("pdflatex not found; install Debian's texlive-latex-base and texlive-latex-recommended")
    directory, name = os.path.split(os.path.abspath(tex_path))
    for _ in range(2):
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", name], cwd=directory,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            tail = " | ".join(line for line in proc.stdout.splitlines() if line.startswith("!"))[:500]
            raise RuntimeError(f"pdflatex failed on {tex_path}: {tail or 'see the .log file'}")
    stem = os.path.splitext(os.path.abspath(tex_path))[0]
    for ext in (".aux", ".log", ".out"):  # keep the folder tidy; the log is kept only on failure
        if os.path.exists(stem + ext):
            os.unlink(stem + ext)
    return stem + ".pdf"


def main(argv=None) -> int:
    """``python -m lindae.derivations``; returns the exit status."""
    return run_command(build_parser(), run, argv)


def run(args, prog) -> int:
    """Carry out one of :data:`COMMANDS` (parsed into ``args``); return the exit status."""
    if args.command == "list":
        print("\n".join(names()))
        return 0
    if args.command == "check":
        try:
            selected = [resolve(n) for n in args.names] or names()
        except KeyError as exc:
            fail(prog, exc.args[0])
        start = time.perf_counter()
        verifications = []
        for n in selected:
            (v,) = check_all([n], seed=args.seed)
            print(v.summary(), flush=True)
            verifications.append(v)
        n_ok = sum(v.ok for v in verifications)
        print(f"{n_ok}/{len(verifications)} results verified in {time.perf_counter() - start:.1f} s")
        return 0 if n_ok == len(verifications) else 1
    if args.command == "mutate":
        try:
            selected = [resolve(n) for n in args.names] or names()
        except KeyError as exc:
            fail(prog, exc.args[0])
        if args.budget <= 0:
            fail(prog, f"--budget must be positive, got {args.budget}")
        from .mutation import refute_all
        from .registry import get
        total = survived = 0
        slowest = 0.0
        for n in selected:
            ms, survivors, seconds = refute_all(get(n), budget=args.budget)
            total, survived = total + len(ms), survived + len(survivors)
            slowest = max([slowest] + seconds)
            print(f"{get(n).number:>4}  {n:<34} {len(ms) - len(survivors):3d}/{len(ms)} mutants refuted", flush=True)
            for m in survivors:
                print(f"      - survives: {m.label()}")
        print(f"{total - survived}/{total} mutants refuted; slowest {slowest:.1f} s")
        return 0 if survived == 0 else 1
    if args.command == "latex":
        if args.pdf and args.format != "tex":
            fail(prog, "--pdf needs --format tex")
        try:
            written, verifications = write_document(args.out, args.format, args.pdf, not args.no_verify)
        except (FileNotFoundError, PermissionError, IsADirectoryError, RuntimeError) as exc:
            fail(prog, str(exc))
        for path in written:
            print(f"wrote {path}")
        return 0 if all(v.ok for v in verifications) else 1
    return 2
