"""Figures 1-4 reproduce the paper's numbers; the dynamics CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lindae import dynamics
from lindae.dynamics import figures
from lindae.dynamics.problems import FIG3


@pytest.mark.slow
def test_figure3_paper_rate_difference_vanishes_and_stale_rate_gives_the_published_gap():
    _, nums = figures.fig3()  # full settings: 20 000 epochs
    assert nums["max_abs_dae_minus_wdae_paper_rate"] < 1e-12
    assert 0.2 <= nums["max_abs_dae_minus_wdae_stale_rate"] <= 0.3
    # the stale rate is the one quoted in erratum E1: 0.005 (lam + noise_var) / (2 lam (lam + 2 noise_var))
    noise_var = np.asarray(FIG3.eps_values)
    np.testing.assert_allclose(nums["eta_wdae_stale"], 0.005 * (1 + noise_var) / (2 * (1 + 2 * noise_var)), rtol=1e-14)


@pytest.mark.slow
def test_figure1_theory_matches_gd_to_order_eta():
    _, nums = figures.fig1()
    assert nums["u_star"] == pytest.approx({"0": 1.0, "1": 0.5, "5": 1 / 6})
    for key, gap in nums["max_abs_gd_minus_theory"].items():
        assert nums["max_abs_gd_minus_theory_eta_over_10"][key] < gap / 7  # O(lr): ~10x smaller


def test_figure2_wdae_is_slower_by_exactly_xi_over_lambda():
    _, nums = figures.fig2(figures.quick_problems()["fig2"])
    for lam, t90 in nums["t90_epochs"].items():
        noise_var = np.asarray(nums["settings"]["noise_var"])
        np.testing.assert_allclose(t90["ratio_wdae_over_dae"], (float(lam) + noise_var) / float(lam), rtol=1e-10)


def test_figure4_final_norms_follow_R13():
    _, nums = figures.fig4()
    small = -1  # the (0.01, 0.01) run
    assert nums["dae"]["final_norm"][small] == pytest.approx(nums["dae"]["predicted_final_norm_R13"][small], rel=1e-3)
    assert np.std(nums["dae"]["final_norm"]) > 5 * np.std(nums["wdae"]["predicted_final_norm_R13"]) + 0.05


@pytest.mark.slow
def test_write_figures_quick_writes_pngs_and_json_and_skips_on_rerun(tmp_path):
    logs = []
    figures.write_figures(tmp_path, quick=True, log=logs.append)
    names = ["fig1", "fig2", "fig3", "fig4", "depth1", "depth2"]
    for name in names:
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000
    data = json.loads((tmp_path / "figures.json").read_text())
    assert set(data) == set(names)
    figures.write_figures(tmp_path, quick=True, force=False, log=logs.append)
    assert sum("skipped" in m for m in logs) == 6


def run(*args):
    return subprocess.run([sys.executable, "-m", "lindae", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_strength_prints_the_closed_form():
    proc = run("strength", "--lam", "1", "--noise-var", "0.5", "--a0", "0.1", "--b0", "0.2", "--epochs", "100",
               "--record-every", "50")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    last = float(proc.stdout.strip().splitlines()[-1].split()[-1])
    assert last == pytest.approx(float(dynamics.mode_strength(1.0, 1.0, noise_var=0.5, a0=0.1, b0=0.2)), rel=1e-14)


@pytest.mark.slow
def test_cli_old_option_names_still_work_with_a_warning():
    new = run("strength", "--lam", "1", "--noise-var", "0.5", "--a0", "0.1", "--b0", "0.2", "--epochs", "100")
    old = run("strength", "--lam", "1", "--eps", "0.5", "--a0", "0.1", "--b0", "0.2", "--steps", "100")
    assert old.returncode == 0 and old.stdout == new.stdout
    assert "--eps is deprecated; use --noise-var" in old.stderr and "--steps is deprecated; use --epochs" in old.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (("strength", "--lam", "-1", "--a0", "0.1", "--b0", "0.1"), "lam must be >= 0"),
    (("strength", "--lam", "x", "--a0", "0.1", "--b0", "0.1"), "invalid float"),
    (("strength", "--lam", "1", "--a0", "0.1", "--b0", "0.1", "--lr", "0"), "lr must be > 0"),
    (("strength", "--lam", "1", "--a0", "0.1", "--b0", "0.1", "--epochs", "-3"), "epochs must be >= 0"),
    (("figures", "--out", "/tmp/x", "--only", "7"), "--only takes 1-4"),
    (("figures", "--out", "/proc/nope/x"), "cannot create"),
    (("figures",), "required"),
])
def test_cli_bad_arguments_are_one_line_exit_2(args, needle):
    proc = run(*args)
    assert proc.returncode == 2 and needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
