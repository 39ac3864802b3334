import pytest
"""What the layers load: no SymPy outside the symbolic layer at import time, and no matplotlib backend chosen
for the user. The import directions themselves are import-linter contracts (setup.cfg), checked on the installed
wheel in tests/test_installed_package.py."""
import subprocess
import sys


@pytest.mark.slow
def test_numeric_and_validation_layers_import_without_sympy(tmp_path):
    code = ("import sys; from lindae import dynamics, validation; import lindae.validation.experiments.runner; "
            "assert 'sympy' not in sys.modules, 'sympy was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


@pytest.mark.slow
def test_importing_the_figure_modules_leaves_the_users_backend_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); "
            "import lindae.dynamics.figures, lindae.dynamics.figures_depth, lindae.validation.figures, lindae.cli; "
            "import lindae.validation.report.reproduce; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_a_backend_change_is_detected(tmp_path):
    """The check above can fail: a module that picks a backend is caught."""
    code = ("import matplotlib; matplotlib.use('svg'); matplotlib.use('Agg'); "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()")
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True).returncode != 0
