"""lindae.derivations: the symbolic layer.

Every result R1-R14 of THEORY.md is derived from the matrix loss with SymPy and carries
its own proof obligations (:meth:`Result.verify`). Typical use::

    >>> import derivations
    >>> r = derivations.get("balanced_solution")
    >>> r.verify().ok
    True
    >>> f = derivations.lambdify_statement("fixed_points", ["lambda", "epsilon", "gamma"])
"""
from .document import render_latex, render_markdown
from .registry import BUILDERS, check_all, get, names, results
from .result import Result, Step, Verification
from .numeric import lambdify_statement, mode_flow_function, mode_gd_map_function

__all__ = ["BUILDERS", "Result", "Step", "Verification", "check_all", "get", "names", "results",
           "render_latex", "render_markdown", "lambdify_statement", "mode_flow_function",
           "mode_gd_map_function"]
