"""`reproduce --quick` end to end (on generated data), and the report it writes."""
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_reproduce_quick_writes_a_report_whose_figures_all_exist(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "digits.npy"
    np.save(data, rng.random((2500, 64)) ** 3)  # MNIST-like: non-negative, uncentred
    out = tmp_path / "report"
    env = dict(os.environ, LINDAE_DATA=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "validation", "reproduce", "--quick", "--out", str(out),
                           "--data", str(data)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (out / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 11          # Figures 1-4, depth 1-2, 5, 6, the deep MNIST run, the random-init study, Figure 6 vs the authors
    for src in images:
        assert (out / src).stat().st_size > 10_000, src
    links = re.findall(r'<a href="([^"]+)"', page)
    assert links and all((out / link).exists() for link in links)
    assert (out / "derivations.pdf").exists()
    assert "24 of 24 results verified" in page and "E1" in page and "Environment" in page
    # a quick report says so on every figure and every table, and states the shrunk settings it ran
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    tables = re.findall(r"<caption>(.*?)</caption>", page, re.S)
    assert len(captions) == 11 and len(tables) >= 9
    from validation.reproduce import COMMITTED
    this_run = [c for c in captions + tables if COMMITTED not in c]
    assert len(this_run) == len(captions + tables) - 2 and all("QUICK RUN" in c for c in this_run)
    assert "random_init_study/study.png" in images and "Worst |sᵢ − theoryᵢ|" in page
    fig1 = next(c for c in captions if "Figure 1" in c)
    assert "200 epochs" not in fig1 and "60 epochs" in fig1         # Figure 1 at the quick setting
    assert "2000 samples" in page and "H = 32" in page              # Figure 5 at the quick setting
    rerun = subprocess.run([sys.executable, "-m", "validation", "reproduce", "--quick", "--out", str(out),
                            "--data", str(data)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert rerun.returncode == 0 and rerun.stdout.count("skipped") >= 6


def test_report_tables_list_modes_in_numeric_order():
    from validation.reproduce import _by_mode
    assert [k for k, _ in _by_mode({"1": 0, "16": 0, "32": 0, "4": 0, "8": 0})] == ["1", "4", "8", "16", "32"]


def test_captions_state_the_numbers_the_run_computed():
    from dynamics.figures import fig2, quick_problems
    from validation.captions import dynamics_caption
    import matplotlib.pyplot as plt
    fig, nums = fig2(quick_problems()["fig2"])
    plt.close(fig)
    title, text = dynamics_caption("fig2", nums)
    assert f"{nums['max_rel_error_time_ratio']:.1e}" in text and "4000 epochs" in title
    nums["max_rel_error_time_ratio"] = 0.5                         # a different run, a different caption
    assert "5.0e-01" in dynamics_caption("fig2", nums)[1]
