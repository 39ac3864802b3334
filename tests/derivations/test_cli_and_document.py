"""The derivations CLI and the generated LaTeX / Markdown document."""
import os
import shutil
import subprocess
import sys

import pytest

from lindae import derivations

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lindae", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def verifications():
    return derivations.check_all()


def test_pdflatex_is_installed():
    # The README's test command installs it; a missing pdflatex must fail, not skip.
    assert shutil.which("pdflatex"), "pdflatex missing: run the README's test command, which installs it"


@pytest.mark.slow
def test_latex_document_compiles_and_lists_every_result(tmp_path, verifications):
    from lindae.derivations.cli import compile_pdf
    tex = tmp_path / "derivations.tex"
    tex.write_text(derivations.render_latex(verifications))
    pdf = compile_pdf(str(tex))
    assert os.path.getsize(pdf) > 10_000
    text = tex.read_text()
    for r in derivations.results():
        assert r.name.replace("_", r"\_") in text
    assert text.count("verified}") == len(derivations.names())


def test_failed_result_is_printed_as_failed(verifications):
    bad = [v if v.name != "hessian" else type(v)(**{**v.__dict__, "ok": False, "failures": ("x",)})
           for v in verifications]
    text = derivations.render_latex(bad)
    assert "FAILED" in text and text.count("verified}") == len(verifications) - 1


def test_markdown_has_every_statement(verifications):
    md = derivations.render_markdown(verifications)
    assert md.count("## R") == 15 and "$$" in md


@pytest.mark.slow
def test_cli_check_one_result():
    proc = run("check", "gradient_flow", "R8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("verified") >= 2 and "2/2 results verified" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (("latex", "--out", "/nonexistent/dir/x.tex"), "does not exist"),
    (("check", "no_such_result"), "unknown result"),
    (("check", "R16"), "use R1-R15"),
    (("latex", "--out", "/tmp"), "is a directory"),
    (("latex",), "required"),
    (("frobnicate",), "invalid choice"),
    (("latex", "--out", "x.md", "--format", "md", "--pdf"), "--pdf needs"),
])
def test_cli_bad_input_is_one_line_exit_2(args, needle):
    proc = run(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_help_works():
    for args in ((), ("check",), ("latex",)):
        proc = run(*args, "--help")
        assert proc.returncode == 0 and "usage" in proc.stdout


def test_no_derivation_step_renders_as_a_python_boolean():
    import pathlib
    from lindae import derivations
    text = derivations.render_markdown() + derivations.render_latex()
    assert r"\text{False}" not in text and r"\text{True}" not in text
    committed = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "derivations.md").read_text(encoding="utf-8")
    assert r"\text{False}" not in committed and r"\text{True}" not in committed


def _rendered_expressions():
    """(expression, its LaTeX) for every statement and derivation step of every result."""
    from lindae import derivations
    from lindae.derivations.document import _latex_items
    out = []
    for r in derivations.results():
        exprs = list(r.statement) if isinstance(r.statement, tuple) else [r.statement]
        for step in r.steps:
            exprs += list(step.expr) if isinstance(step.expr, tuple) else ([step.expr] if step.expr is not None else [])
        out += [(e, _latex_items(e)[0]) for e in exprs]
    return out


def test_every_equation_renders_with_balanced_braces_and_explicit_symbol_names():
    from lindae.derivations.document import symbol_names
    for expr, tex in _rendered_expressions():
        depth = 0
        for i, ch in enumerate(tex):
            if ch in "{}" and (i == 0 or tex[i - 1] != "\\"):
                depth += 1 if ch == "{" else -1
                assert depth >= 0, tex
        assert depth == 0, tex
        assert r"\text{False}" not in tex and r"\text{True}" not in tex
        for name in symbol_names(expr).values():     # LaTeX names appear as written, never split up
            assert name in tex, (name, tex)


def test_symbol_names_catch_a_name_that_sympy_would_split():
    import sympy as sp
    from lindae.derivations.document import latex
    s = sp.Symbol(r"\tfrac12\|x - W_2W_1(x+n)\|^2")
    assert latex(sp.Eq(sp.Symbol("L"), s)) == r"L = \tfrac12\|x - W_2W_1(x+n)\|^2"
    assert r"\tfrac12\|x - W_2W_1(x+n)\|^2" not in sp.latex(s)     # what the plain printer would do


@pytest.mark.slow
def test_committed_derivation_document_is_what_the_code_generates():
    import pathlib
    from lindae import derivations
    committed = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "derivations.md").read_text(encoding="utf-8")
    verifications = derivations.check_all()
    assert derivations.render_markdown(verifications) == committed, \
        "regenerate with: lindae latex --format md --out docs/derivations.md"
