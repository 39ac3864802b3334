"""lindae.derivations: the symbolic layer.

Every result R1-R15, D1-D9 and G1-G5 (docs/theory.md) is derived from the matrix loss with SymPy and carries
its own proof obligations (:meth:`Result.verify`). Typical use::

    >>> from lindae import derivations
    >>> r = derivations.get("balanced_solution")
    >>> r.verify().ok
    True
    >>> f = derivations.lambdify_statement("fixed_points", ["lambda", "epsilon", "gamma"])
"""
import importlib

#: Public name -> submodule. Loaded on first access (PEP 562), so that ``import derivations.files``
#: (used by the numeric and validation layers) does not import SymPy.
_EXPORTS = {"render_latex": "document", "render_markdown": "document", "BUILDERS": "registry",
            "check_all": "registry", "get": "registry", "names": "registry", "results": "registry",
            "Result": "result", "Step": "result", "Verification": "result", "lambdify_statement": "numeric",
            "mode_flow_function": "numeric", "mode_gd_map_function": "numeric", "sgd_step_moments_function": "numeric",
            "sgd_pair_block_function": "numeric", "sgd_pair_block_polynomials": "numeric",
            "sgd_pair_leakage_function": "numeric",
            "sgd_lr_bound_function": "numeric",
            "mode_loss_function": "numeric", "mode_flow_function_mp": "numeric"}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'derivations' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
