"""lindae: exact learning dynamics of linear denoising autoencoders.

Three layers, each a sub-package:

- :mod:`lindae.derivations`, the symbolic layer (SymPy): R1-R15, D1-D9 and G1-G5, machine-checked;
- :mod:`lindae.dynamics`, the numeric layer (NumPy, SciPy, mpmath): stable closed forms, ODEs, exact GD;
- :mod:`lindae.validation`, the validation layer: training on data, theory per mode, the report.

The command line is ``lindae`` (also ``python -m lindae``); ``lindae --help`` lists its sub-commands.
Sub-packages load on first use, so ``import lindae`` is cheap::

    >>> import lindae
    >>> float(lindae.dynamics.fixed_point(1.0, noise_var=0.5))  # doctest: +ELLIPSIS
    0.666...

This package's own files live in the repository's ``validation/toplevel/`` folder: the repository's
top level holds only the three layers (mapped by ``package_dir`` in setup.cfg).
"""
import importlib

__version__ = "0.2.0"
__all__ = ["derivations", "dynamics", "validation", "__version__"]
_LAYERS = ("derivations", "dynamics", "validation", "configs")


def __getattr__(name):
    if name in _LAYERS:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lindae' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAYERS))
