"""The README's first section and its Python examples stay true."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        return fh.read()


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", readme(), flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["closed"].max_abs_diff(namespace["flow"]) < 1e-8
    assert namespace["closed"].max_abs_diff(namespace["gd"]) < 1e-2
    # the masking example: the surrogate within the 0.05 while the modes are coupled
    run, theory = namespace["run"], namespace["theory"]
    assert abs(run.strengths[:, :4] - theory[:, :4]).max() < 0.05 and run.leakage[-1] > 0.1


def test_ci_runs_the_readme_test_command_verbatim():
    first = readme().split("## What it is")[0]
    commands = [line for line in re.findall(r"```bash\n(.*?)```", first, flags=re.S)[0].splitlines()
                if line and not line.startswith("#")]
    assert len(commands) == 2 and "reproduce" in commands[0] and "pytest" in commands[1]
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as fh:
        assert commands[1] in fh.read().splitlines()
