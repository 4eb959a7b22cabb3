"""Every script in examples/ runs to completion and exits with status 0 (each
checks its own result against finite differences and exits non-zero if the
check fails). examples/gpu.py needs a CUDA device and is left out."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.name != "gpu.py")


def test_there_are_examples():
    names = {p.name for p in SCRIPTS}
    assert {"quickstart.py", "newton.py", "ode_sensitivity.py"} <= names, names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_and_exits_zero(script, tmp_path):
    env = dict(os.environ, S2S_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n--- stdout ---\n{result.stdout}"
        f"\n--- stderr ---\n{result.stderr}")
    assert result.stdout.strip(), f"{script.name} printed nothing"
    assert "FAILED" not in result.stdout, result.stdout
