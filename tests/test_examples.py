"""Every script in examples/ runs to completion and exits with status 0 (each
checks its own result against finite differences and exits non-zero if the
check fails). examples/gpu.py needs a CUDA device and is left out (it is run
where there is none, to check that it says so); examples/dask_big.py runs on
50 MB instead of 40 GB, on threads and on a LocalCluster."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.name != "gpu.py")
ARGS = {"dask_big.py": ["--gb", "0.05"]}  # the test's size; the script's default is 40 GB


def test_there_are_examples():
    names = {p.name for p in SCRIPTS}
    assert {"quickstart.py", "newton.py", "ode_sensitivity.py"} <= names, names


def _run(script, tmp_path, *args):
    env = dict(os.environ, S2S_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_and_exits_zero(script, tmp_path):
    result = _run(script, tmp_path, *ARGS.get(script.name, []))
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n--- stdout ---\n{result.stdout}"
        f"\n--- stderr ---\n{result.stderr}")
    assert result.stdout.strip(), f"{script.name} printed nothing"
    assert "FAILED" not in result.stdout, result.stdout


def test_dask_big_runs_on_a_local_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    result = _run(EXAMPLES / "dask_big.py", tmp_path, "--gb", "0.02", "--cluster")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scheduler: <Client" in result.stdout
    assert result.stdout.count("ok") == 3 and "FAILED" not in result.stdout
    assert "peak resident memory of worker" in result.stdout


def test_gpu_example_says_what_is_missing(tmp_path):
    result = _run(EXAMPLES / "gpu.py", tmp_path)
    try:
        import cupy
        available = cupy.is_available()
    except ImportError:
        available = False
    if available:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "FAILED" not in result.stdout
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "CuPy" in result.stderr and "what to do:" in result.stderr
        assert "Traceback" not in result.stderr
