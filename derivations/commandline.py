"""Command-line plumbing shared by the three CLIs (standard library only, no SymPy)."""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """argparse that prints a one-line error and exits with status 2 (no usage dump, no traceback)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser(prog: str, description: str):
    """A top-level parser with one-line errors, and its required sub-command group."""
    parser = ArgumentParser(prog=prog, description=description)
    return parser, parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)


def fail(prog: str, message: str) -> NoReturn:
    """Print a one-line error and exit with status 2."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(2)
