"""The installed package: the wheel built from this tree and installed (not editable) into a fresh venv holds only
the ``lindae`` package, keeps the layer contracts (import-linter), and runs ``lindae reproduce --quick`` from an
unrelated folder into a full report."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, venv python, venv lindae): the wheel built with pip and installed into a new venv.

    The venv sees this environment's packages (numpy, SciPy, ...) so that no test needs the network; it
    gets its own, non-editable lindae, and the test checks that this is the one it imports.
    """
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"       # a clean copy: a build/ folder left in the tree could hold stale modules
    anywhere = shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache")

    def ignore(folder, names):      # build outputs and reports at the top only (validation/report is a package)
        top = {"build", "dist", "report", "out", ".venv"} if pathlib.Path(folder) == ROOT else set()
        return set(anywhere(folder, names)) | (top & set(names))
    shutil.copytree(ROOT, source, ignore=ignore)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist", source])
    (wheel,) = (base / "dist").glob("lindae-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall", wheel])
    return wheel, python, venv / "bin" / "lindae"


@pytest.mark.slow
def test_the_wheel_holds_only_the_lindae_package_with_its_data(installed):
    wheel = installed[0]
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"lindae", wheel.name.split("-py")[0] + ".dist-info"}, tops
    for shipped in ("lindae/__main__.py", "lindae/cli.py", "lindae/derivations/result.py",
                    "lindae/dynamics/closed_form.py", "lindae/validation/training/linear.py",
                    "lindae/validation/reference/authors_fig6_mnist.json", "lindae/configs/fig5_mnist.toml"):
        assert shipped in names, shipped
    assert not any("toplevel" in n for n in names)
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = cfg["options"]["packages"].split()
    for package in packages:            # every package is a regular one (a file git ignores would make it a namespace)
        assert package.replace(".", "/") + "/__init__.py" in names, package
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)


@pytest.mark.slow
def test_the_installed_package_is_imported_and_no_generic_name_is(installed, tmp_path):
    python = installed[1]
    where = _run([python, "-c", "import lindae, lindae.validation as v; print(lindae.__file__); print(v.__file__)"],
                 cwd=tmp_path).stdout.split()
    assert all(str(installed[1].parents[1]) in w for w in where), where
    for generic in ("validation", "dynamics", "derivations", "configs"):
        proc = subprocess.run([str(python), "-c", f"import {generic}"], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, generic


LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")


@pytest.mark.slow
def test_the_installed_package_keeps_its_layer_contracts(installed, tmp_path):
    """import-linter on the installed wheel (an editable install maps the layers to separate folders, which
    import-linter cannot follow), with the contracts of setup.cfg."""
    proc = subprocess.run([str(installed[1]), "-c", LINT, str(ROOT / "setup.cfg")], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.count("KEPT") == 4 and "BROKEN" not in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("contract", [
    "[importlinter:contract:x]\nname = reversed layers\ntype = layers\nlayers =\n    lindae.derivations\n    lindae.validation\n",
    "[importlinter:contract:x]\nname = no numpy in dynamics\ntype = forbidden\nsource_modules =\n    lindae.dynamics.kernels\n"
    "forbidden_modules =\n    numpy\n",
])
def test_import_linter_reports_a_broken_contract(installed, tmp_path, contract):
    """The contract check can fail: a contract this code breaks is reported broken."""
    cfg = tmp_path / "broken.cfg"
    cfg.write_text("[importlinter]\nroot_package = lindae\ninclude_external_packages = True\n\n" + contract)
    proc = subprocess.run([str(installed[1]), "-c", LINT, str(cfg)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0 and "BROKEN" in proc.stdout


@pytest.mark.slow
def test_reproduce_quick_from_the_wheel_writes_a_report_whose_figures_all_exist(installed, tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "digits.npy"
    np.save(data, rng.random((2500, 64)) ** 3)  # MNIST-like: non-negative, uncentred
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = elsewhere / "q"
    env = dict(os.environ, LINDAE_DATA=str(tmp_path / "cache"))
    cmd = [str(installed[2]), "reproduce", "--quick", "--out", "q", "--data", str(data)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (out / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    # Figures 1-4, depth 1-2, 5, 6, the deep MNIST run, the random-init study, Figure 6 vs the authors, and the three
    # noise-model runs (masking on raw and standardised data, hidden dropout), and the finite-data study's curves,
    # grids and overshoot (on the given array in place of MNIST), and the SGD study's bands
    assert len(images) == 18
    for src in images:
        assert (out / src).stat().st_size > 10_000, src
    links = re.findall(r'<a href="([^"]+)"', page)
    assert links and all((out / link).exists() for link in links)
    assert (out / "derivations.pdf").exists()
    speed = json.loads((out / "timings.json").read_text())["core_gflops"]   # the machine's speed beside its times
    assert 0.1 < speed["start"] < 1e4 and 0.1 < speed["end"] < 1e4
    assert f"{speed['start']:.1f} GFlop/s at the start and {speed['end']:.1f} at the end" in page
    from lindae import derivations
    n = len(derivations.names())
    assert f"{n} of {n} results verified" in page and "E1" in page and "Environment" in page
    assert "each numeric check at one random point; lindae check uses three" in page     # what the quick run checked
    # a quick report says so on every figure and every table, and states the shrunk settings it ran
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    tables = re.findall(r"<caption>(.*?)</caption>", page, re.S)
    assert len(captions) == 18 and len(tables) >= 16
    from lindae.validation.report.reproduce import COMMITTED
    this_run = [c for c in captions + tables if COMMITTED not in c]
    assert len(this_run) == len(captions + tables) - 2 and all("QUICK RUN" in c for c in this_run)
    assert "random_init_study/study.png" in images and "Worst |sᵢ − theoryᵢ|" in page
    fig1 = next(c for c in captions if "Figure 1" in c)
    assert "200 epochs" not in fig1 and "60 epochs" in fig1         # Figure 1 at the quick setting
    assert "2000 samples" in page and "H = 32" in page              # Figure 5 at the quick setting
    rerun = subprocess.run(cmd, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert rerun.returncode == 0 and rerun.stdout.count("skipped") >= 6


def test_report_tables_list_modes_in_numeric_order():
    from lindae.validation.report.reproduce import _by_mode
    assert [k for k, _ in _by_mode({"1": 0, "16": 0, "32": 0, "4": 0, "8": 0})] == ["1", "4", "8", "16", "32"]


def test_captions_state_the_numbers_the_run_computed():
    from lindae.dynamics.figures import fig2, quick_problems
    from lindae.validation.report.captions import dynamics_caption
    import matplotlib.pyplot as plt
    fig, nums = fig2(quick_problems()["fig2"])
    plt.close(fig)
    title, text = dynamics_caption("fig2", nums)
    assert f"{nums['max_rel_error_time_ratio']:.1e}" in text and "4000 epochs" in title
    nums["max_rel_error_time_ratio"] = 0.5                         # a different run, a different caption
    assert "5.0e-01" in dynamics_caption("fig2", nums)[1]
