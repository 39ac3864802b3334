"""Every number the README and docs/errata.md quote is the one docs/claims.json holds (bench/claims.py)."""
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from claims import CLAIM, DOCUMENTS, fill, lookup  # noqa: E402

CLAIMS = json.loads((ROOT / "docs" / "claims.json").read_text())


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_quoted_number_comes_from_claims_json(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    found = CLAIM.findall(text)
    assert found, f"{doc} quotes no measured number"
    for key, fmt, value in found:
        assert value == format(lookup(CLAIMS, key), fmt), f"{doc}: {key} says {value}"


def test_a_typed_number_is_caught():
    text = "worst error <!-- claim:fig5.worst_error_ours:.3f -->0.001<!-- /claim -->"
    (key, fmt, value), = CLAIM.findall(text)
    assert value != format(lookup(CLAIMS, key), fmt)          # what the test above would flag
    assert CLAIM.findall(fill(text, CLAIMS))[0][2] == format(lookup(CLAIMS, key), fmt)


def test_the_sgd_window_conclusions_follow_from_the_numbers():
    """docs/theory.md 2f concludes from these numbers that no bound meets the ±10 % criterion at B = 1 and 8 (even for
    the top mode alone), that one between two quoted rates would at B = 64, and that those rates are above S4's."""
    w = CLAIMS["sgd_window"]
    for B in (1, 8):
        for modes in ("all", "top"):
            assert w[f"B{B}_{modes}"]["ratio"] > w[f"B{B}_{modes}"]["criterion_ratio"]
    for B in (64, 512):
        big = w[f"B{B}_all"]
        assert big["ratio"] <= big["criterion_ratio"] and 1.0 < big["criterion_low"] <= big["criterion_high"]


def test_the_full_batch_lead_follows_from_the_numbers():
    """docs/theory.md 2f: full-batch GD leaves the plateau at the same rate for the top two modes as for all eight,
    the top pair turns unstable on the 2-cycle much earlier; that rate lies inside B = 64's window and below
    B = 512's, where full-batch GD's escape lies instead (and outside B = 64's)."""
    fb, w = CLAIMS["sgd_full_batch"], CLAIMS["sgd_window"]
    escape = fb["escape"]
    assert abs(escape["top_two"]["escape"] / escape["all_modes"]["escape"] - 1) < 1e-3   # their 1e-6 starts differ
    assert 1 < fb["pair_block"]["times_kappa1"] < escape["all_modes"]["escape_times_kappa1"]
    inside = {B: (lambda x, r=w[f"B{B}_all"]: r["criterion_low"] <= x <= r["criterion_high"]) for B in (64, 512)}
    assert inside[64](fb["pair_block"]["over_bound_B64"]) and not inside[64](escape["all_modes"]["escape_over_bound_B64"])
    assert inside[512](escape["all_modes"]["escape_over_bound_B512"])
    assert fb["pair_block"]["over_bound_B512"] < w["B512_all"]["criterion_low"]


def test_r15_speed_runs_are_grouped_by_threads_and_summarised_by_their_median(tmp_path):
    """Runs on the library's threads and on one thread go to their own claim; the quoted run is the median one (the
    higher of an even number), with the group's lowest and highest ratio."""
    from claims import r15_speed_numbers
    paths = []
    for j, (threads, ratio) in enumerate([(None, 0.12), (1, 0.09), (None, 0.10), (None, 0.11), (None, 0.13), (1, 0.08)]):
        paths.append(tmp_path / f"r{j}.json")
        paths[-1].write_text(json.dumps(dict(blas_threads=threads, ratio=ratio, epoch_ms=10 * ratio, record_ms=1.0,
                                             records=11, modes=7, hidden=3)
                                        | (dict(floor_ms=0.8, floor_ratio=0.8 * ratio) if threads else {})))
    got = r15_speed_numbers(paths)
    assert "floor_ms" not in got["r15_speed"]          # runs from before the kernels were timed
    assert got["r15_speed_one_thread"]["floor_share"] == pytest.approx(0.8)
    assert got["r15_speed_one_thread"]["floor_ratio"] == pytest.approx(0.8 * 0.09)
    assert got["r15_speed"]["ratio"] == 0.12 and got["r15_speed"]["epoch_ms"] == pytest.approx(1.2)
    assert (got["r15_speed"]["runs"], got["r15_speed"]["ratio_low"], got["r15_speed"]["ratio_high"]) == (4, 0.10, 0.13)
    assert got["r15_speed_one_thread"]["ratio"] == 0.09 and got["r15_speed_one_thread"]["ratio_low"] == 0.08
