"""The ``lindae`` command: every layer's sub-commands behind one parser (also ``python -m lindae``).

=============  ============================================================================
layer          sub-commands
=============  ============================================================================
derivations    ``check``, ``latex``, ``mutate``, ``list``
dynamics       ``figures``, ``strength``
validation     ``fetch``, ``run``, ``sweep``, ``study``, ``spectrum``, ``reproduce``
=============  ============================================================================

``lindae COMMAND --help`` explains each one. Exit statuses: 0 success, 1 a check or run failed,
2 bad usage (one line, no traceback), 70 a bug (with its traceback), 130 interrupted.
"""
from __future__ import annotations

from lindae.derivations import cli as _derivations
from lindae.derivations.commandline import make_parser, run_command
from lindae.dynamics import cli as _dynamics
from lindae.validation import cli as _validation

LAYERS = (_derivations, _dynamics, _validation)


def build_parser():
    """The ``lindae`` parser: the sub-commands of the three layers."""
    import lindae
    parser, sub = make_parser("lindae", "Exact learning dynamics of linear denoising autoencoders: machine-checked "
                                        "derivations, stable numerics, training on data and the paper's report.")
    parser.add_argument("--version", action="version", version=f"lindae {lindae.__version__}")
    for layer in LAYERS:
        layer.add_commands(sub)
    return parser


def _run(args, prog):
    layer = next(layer for layer in LAYERS if args.command in layer.COMMANDS)
    return layer.run(args, prog)


def main(argv=None) -> int:
    """Entry point of the ``lindae`` console script; returns the exit status."""
    return run_command(build_parser(), _run, argv)
