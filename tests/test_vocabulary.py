"""One vocabulary: the exported functions' signatures follow docs/conventions.md's table, and the previous
release's spellings still work for this release, with a DeprecationWarning naming the new one."""
import inspect
import pathlib
import warnings

import numpy as np
import pytest

from lindae import dynamics, validation
from lindae.dynamics.vocabulary import DEPRECATED, VOCABULARY, markdown_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Parameters that name no concept of the table (data, weights, options of one function).
OTHER = {"t", "X", "X_in", "X_target", "Sigma", "W1", "W2", "first", "middle", "last", "growing", "tau", "method",
         "rtol", "atol", "balanced", "fraction", "u1", "return_directions", "return_layers", "warp", "warp_dt", "check_dt", "switch",
         "progress", "n_samples", "values", "time", "result", "config", "out_dir", "force", "cifar10_dir", "log",
         "models", "path", "key", "split", "cache", "fetch", "directory", "what", "center", "init", "sv_every",
         "sampled_noise", "batch_size", "spectrum", "name", "with_loss", "work", "record", "dtype", "raw", "source",
         "sweep", "scheduler", "workers", "client", "chunk_rows", "split_every", "moments", "source_desc",
         "architecture", "start", "objective", "schedule", "report",   # the typed parts of a training run
         "shared",   # trainings one job shares between its parts
         "weights", "loss", "decoupled", "strengths", "at_epochs", "snapshots", "eigenvectors",   # models from elsewhere
         "s", "spike", "aspect", "upper", "X_test", "predicted_strengths", "curve", "spikes", "bulk",   # finite data
         "kappa", "B", "C", "W", "scaled", "corruption", "sampled", "trace_sigma",   # noise models
         "fourth_moment", "cross_moment", "pairs", "parts", "seeds", "eigenvalues", "ensemble"}   # minibatch SGD
NAMES = {n.strip() for term in VOCABULARY for n in term.name.split(",")}


def parameter_problems(functions):
    """(function, parameter) pairs whose parameter is a deprecated spelling or in neither the table nor OTHER."""
    bad = []
    for name, fn in functions:
        for p in inspect.signature(fn).parameters:
            if p in DEPRECATED or (p not in NAMES and p not in OTHER):
                bad.append((name, p))
    return bad


def exported_functions():
    out = []
    for module in (dynamics, validation):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                out.append((f"{module.__name__}.{name}", obj))
    return out


def test_exported_signatures_follow_the_vocabulary():
    functions = exported_functions()
    assert len(functions) > 40
    assert parameter_problems(functions) == []


def test_the_signature_check_catches_an_old_spelling():
    def old(lam, *, eps=0.0, gamma=0.0):
        return lam
    assert parameter_problems([("old", old)]) == [("old", "eps"), ("old", "gamma")]


def test_the_conventions_page_shows_the_vocabulary_table():
    assert markdown_table() in (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")


CALLS = [  # (function, new keywords, the same call in the old spelling)
    (dynamics.mode_strength, dict(t=2.0, lam=1.0, noise_var=0.5, weight_decay=0.1, u0=1e-3),
     dict(t=2.0, lam=1.0, eps=0.5, gamma=0.1, u0=1e-3)),
    (dynamics.fixed_point, dict(lam=1.0, noise_var=0.5), dict(lam=1.0, eps=0.5)),
    (dynamics.gd_modes, dict(epochs=50, lam=[1.0, 0.5], a0=0.1, b0=0.1, lr=0.05),
     dict(steps=50, lam=[1.0, 0.5], a0=0.1, b0=0.1, eta=0.05)),
    (dynamics.trajectory, dict(lam=1.0, noise_var=0.2, a0=0.1, b0=0.2, lr=0.01, epochs=100),
     dict(lam=1.0, eps=0.2, a0=0.1, b0=0.2, eta=0.01, steps=100)),
    (dynamics.stability_bound, dict(lam=2.0, weight_decay=0.5), dict(lam=2.0, gamma=0.5)),
]


@pytest.mark.parametrize("fn,new,old", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_old_keywords_warn_and_give_the_same_result(fn, new, old):
    expected = fn(**new)
    with pytest.warns(DeprecationWarning, match="is deprecated; use") as caught:
        got = fn(**old)
    renamed = {k for k in old if k not in new}
    assert all(any(f"'{k}' is deprecated; use '{DEPRECATED[k]}'" in str(w.message) for w in caught) for k in renamed)
    values = lambda r: np.asarray(getattr(r, "strengths", getattr(r, "u", r)))  # noqa: E731 - ModeRun, Trajectory, array
    np.testing.assert_array_equal(values(got), values(expected))


def test_both_spellings_at_once_is_an_error():
    with pytest.raises(TypeError, match="deprecated spelling"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamics.fixed_point(1.0, noise_var=0.5, eps=0.5)


@pytest.mark.parametrize("old,new", [
    (lambda: dynamics.deep_fixed_point(1.0, noise_var=0.5, depth=3), lambda: dynamics.fixed_point(1.0, noise_var=0.5, depth=3)),
    (lambda: dynamics.deep_balanced_strength(5.0, 1.0, noise_var=0.5, u0=1e-3, depth=3),
     lambda: dynamics.mode_strength(5.0, 1.0, noise_var=0.5, u0=1e-3, depth=3)),
    (lambda: dynamics.deep_equivalent_weight_decay(1.0, 0.5, depth=3),
     lambda: dynamics.equivalent_weight_decay(1.0, 0.5, depth=3)),
])
def test_the_deep_names_are_deprecated_aliases_of_the_depth_keyword(old, new):
    with pytest.warns(DeprecationWarning, match="is deprecated; use"):
        value = old()
    assert float(value) == float(new())


def test_one_name_per_capability_in_the_exports():
    assert not [n for n in dynamics.__all__ if n.startswith("deep_") and n != "deep_effective_start"]


W3 = np.full((3, 2), 0.1)


@pytest.mark.parametrize("call", [
    lambda: dynamics.mode_strength(1.0, 1.0, u0=1e-3, a0=0.1, depth=3),
    lambda: dynamics.mode_strength(1.0, 1.0, u0=1e-3, rtol=1e-6, depth=3),
    lambda: dynamics.mode_strength(1.0, 1.0, a0=0.1, b0=0.1, layers=W3[:2]),
    lambda: dynamics.gd_modes(10, [1.0, 0.5], a0=0.1, b0=0.1, lr=0.1, layers=W3[:2]),
    lambda: dynamics.trajectory(1.0, a0=0.1, b0=0.1, lr=0.1, epochs=10, depth=3, layers=W3[:, :1]),
    lambda: validation.train_linear_ae(np.eye(4), 2, 0.1, 5, depth=3, sv_every=2),
    lambda: validation.train_linear_ae(np.eye(4), 2, 0.1, 5, layers=W3[:2]),
], ids=["u0+a0 deep", "rtol deep", "layers shallow", "gd layers shallow", "trajectory a0 deep",
        "train sv_every deep", "train layers shallow"])
def test_an_argument_that_does_not_apply_is_a_type_error(call):
    with pytest.raises(TypeError, match="does not take|needs depth >= 3"):
        call()


def test_gd_modes_returns_one_type_at_every_depth():
    shallow = dynamics.gd_modes(20, [1.0, 0.5], a0=0.1, b0=0.2, lr=0.05)
    deep = dynamics.gd_modes(20, [1.0, 0.5], layers=W3, lr=0.05, depth=3)
    assert type(shallow) is type(deep)
    assert shallow.layers.shape == (21, 2, 2) and deep.layers.shape == (21, 3, 2)
    np.testing.assert_array_equal(shallow.strengths, shallow.a * shallow.b)
    with pytest.warns(DeprecationWarning, match="unpacking the result of gd_modes is deprecated; use"):
        k, a, b = shallow                                        # the previous release's (k, a, b), for now
    np.testing.assert_array_equal(a, shallow.a)


def test_train_results_share_one_base_type(synthetic_data):
    from lindae.validation.training.linear import ModeCurves
    shallow = validation.train_linear_ae(synthetic_data, 3, 0.05, 10)
    deep = validation.train_linear_ae(synthetic_data, 3, 0.05, 10, depth=3, init_scale=0.1)
    assert isinstance(shallow, ModeCurves) and isinstance(deep, ModeCurves)
    assert shallow.strengths.shape == deep.strengths.shape
