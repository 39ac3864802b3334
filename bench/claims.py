"""Write docs/claims.json: every number the README and docs/errata.md quote, measured by a command.

    lindae run configs/fig5_mnist.toml --out out/fig5     # the paper's Figure 5 (~1.5 min)
    python bench/claims.py --fig5 out/fig5 --out docs/claims.json       # benchmarks, Figure 3, and the above

The documents mark each quoted number as <!-- claim:KEY:FORMAT -->VALUE<!-- /claim -->; this script
fills every VALUE from the file it writes, and tests/test_claims.py checks every VALUE against
docs/claims.json, so a number cannot be typed by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile

from lindae.derivations.files import atomic_write_json, atomic_write_text

#: <!-- claim:KEY:FORMAT -->VALUE<!-- /claim -->, KEY a dotted path into claims.json.
CLAIM = re.compile(r"<!-- claim:([\w.]+):([^ ]*) -->(.*?)<!-- /claim -->")
DOCUMENTS = ("README.md", "docs/errata.md")


def lookup(claims, key):
    value = claims
    for part in key.split("."):
        value = value[part]
    return value


def fill(text, claims):
    """``text`` with every claim marker's VALUE set from ``claims``."""
    return CLAIM.sub(lambda m: f"<!-- claim:{m[1]}:{m[2]} -->{format(lookup(claims, m[1]), m[2])}<!-- /claim -->", text)


def fig5_numbers(run_dir):
    with open(os.path.join(run_dir, "results.json")) as fh:
        res = json.load(fh)
    with open(os.path.join(run_dir, "manifest.json")) as fh:
        man = json.load(fh)
    worst = lambda key: max(v["max_abs"] for m in res["models"].values()  # noqa: E731
                            for v in m["agreement"][key].values())
    return {"worst_error_ours": worst("r15_discrete"), "worst_error_r14_orthogonal": worst("r14_orthogonal_discrete"),
            "worst_error_r14": worst("r14_discrete"),
            "worst_error_paper": worst("paper_singular_values_shared_u0"),
            "run_seconds": man["timings"]["total_seconds"], "commit": man["environment"].get("git_commit")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fig5", required=True, metavar="DIR", help="output folder of the Figure 5 run (see above)")
    p.add_argument("--out", default="docs/claims.json", help="where to write (default docs/claims.json)")
    p.add_argument("--only-fig5", action="store_true",
                   help="replace only the fig5 numbers of the existing --out file (no benchmarks)")
    a = p.parse_args(argv)
    if a.only_fig5:
        with open(a.out) as fh:
            claims = json.load(fh)
        claims["fig5"] = fig5_numbers(a.fig5)
        return _write(a.out, claims)
    import closed_form
    import train_speed
    from lindae.dynamics.figures import write_figures
    with tempfile.TemporaryDirectory() as tmp:
        figs = write_figures(tmp, which=["fig3"], log=lambda m: None)
    claims = {"fig5": fig5_numbers(a.fig5),
              "fig3": {"max_gap_paper_rate": figs["fig3"]["max_abs_dae_minus_wdae_paper_rate"],
                       "max_gap_stale_rate": figs["fig3"]["max_abs_dae_minus_wdae_stale_rate"]},
              "train_speed": train_speed.main([]), "closed_form": closed_form.main([])}
    return _write(a.out, claims)


def _write(out, claims):
    atomic_write_json(out, claims)
    print(f"wrote {out}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for doc in DOCUMENTS:
        path = os.path.join(root, doc)
        with open(path, encoding="utf-8") as fh:
            atomic_write_text(path, fill(fh.read(), claims))
        print(f"filled the claims of {doc}")


if __name__ == "__main__":
    main()
