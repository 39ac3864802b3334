"""The examples in the docstrings of every installed lindae module run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("lindae", "lindae.derivations", "lindae.dynamics", "lindae.validation", "lindae.configs")


def _modules():
    names = set(PACKAGES)
    # each layer on its own: an editable install maps them to separate folders (and lindae's own folder,
    # validation/toplevel, is not a module of lindae.validation)
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names.update(m.name for m in pkgutil.walk_packages(path, package + ".")
                     if not m.name.endswith("__main__") and not m.name.startswith("lindae.validation.toplevel"))
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_layer_holds_examples():
    """The walk reached every layer's modules, and each layer has examples (else the test above passes vacuously)."""
    assert {"lindae.cli", "lindae.dynamics.closed_form", "lindae.validation.training.linear", "lindae.derivations.result"} <= set(MODULES)
    finder = doctest.DocTestFinder()
    for layer in PACKAGES[:4]:
        found = sum(len(t.examples) for n in MODULES if n == layer or n.startswith(layer + ".")
                    for t in finder.find(importlib.import_module(n)))
        assert found > 0, f"{layer} has no docstring examples"
