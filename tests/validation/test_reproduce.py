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
    assert len(images) == 6
    for src in images:
        assert (out / src).stat().st_size > 10_000, src
    links = re.findall(r'<a href="([^"]+)"', page)
    assert links and all((out / link).exists() for link in links)
    assert (out / "derivations.pdf").exists()
    assert "14 of 14 results verified" in page and "E1" in page and "Environment" in page
    rerun = subprocess.run([sys.executable, "-m", "validation", "reproduce", "--quick", "--out", str(out),
                            "--data", str(data)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert rerun.returncode == 0 and rerun.stdout.count("skipped") >= 6


def test_report_tables_list_modes_in_numeric_order():
    from validation.reproduce import _by_mode
    assert [k for k, _ in _by_mode({"1": 0, "16": 0, "32": 0, "4": 0, "8": 0})] == ["1", "4", "8", "16", "32"]
