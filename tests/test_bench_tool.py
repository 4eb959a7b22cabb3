"""tools/bench.py runs, checks its results and prints its tables (on two
small problems, NumPy and s2s only; nothing about the timings themselves)."""

import csv
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

import s2s

BENCH = Path(__file__).resolve().parent.parent / "tools" / "bench.py"


def run_bench(tmp_path, *args):
    return subprocess.run([sys.executable, str(BENCH), "--quick", "--no-compare",
                           "--csv", str(tmp_path / "bench.csv"), *args],
                          capture_output=True, text=True, timeout=120)


def table_rows(stdout, first_header):
    """The rows of the markdown table whose header starts with ``first_header``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[0], rows[2:]


def test_quick_run_checks_and_reports(tmp_path):
    done = run_bench(tmp_path, "--problems", "square,mlp")
    assert done.returncode == 0, done.stderr
    assert "Cross-check: every result agrees with the reference" in done.stdout
    header, rows = table_rows(done.stdout, "problem | size | numpy")
    assert header[:8] == ["problem", "size", "numpy", "s2s.jvp", "s2s.jacfwd", "s2s.hessian",
                          "n x s2s.jvp", "hand jvp"]
    assert "torch.jvp" in header and "jit(jax.jvp)" in header and "autograd.jvp" in header
    cells = {row[0]: dict(zip(header, row)) for row in rows}
    assert list(cells) == ["square", "mlp"]
    assert cells["square"]["s2s.hessian"].endswith("x")
    assert cells["mlp"]["s2s.hessian"] == "-"  # not measured for mlp
    assert cells["mlp"]["hand jvp"].endswith("x")
    assert cells["mlp"]["torch.jvp"] == "n/a" and cells["mlp"]["autograd.jvp"] == "n/a"
    for section in ("s2s.jvp fixed overhead", "s2s transformation time", "Targets (issue 6)"):
        assert f"## {section}" in done.stdout
    assert "Disk-cache hit: the same call served from the disk cache" in done.stdout
    header, rows = table_rows(done.stdout, "target | where")
    targets = {row[0]: dict(zip(header, row)) for row in rows}
    hit = targets["disk-cache hit"]
    assert hit["where"] == "bench_sample.py" and hit["limit"] == "<= 3 ms"
    assert hit["measured"].endswith(("ms", "µs", "s")) and hit["met"] in ("yes", "**no**")
    with open(tmp_path / "bench.csv", newline="") as file:
        measured = {(row["problem"], row["column"]) for row in csv.DictReader(file)}
    assert {("square", "s2s.jvp"), ("mlp", "s2s.jacfwd"), ("mlp", "n x s2s.jvp"),
            ("square", "generated jvp called directly"),
            ("bench_sample", "s2s.source from the disk cache (fresh process)")} <= measured


def test_unknown_problem_is_an_error(tmp_path):
    done = run_bench(tmp_path, "--problems", "nonesuch")
    assert done.returncode == 2
    assert "unknown problem(s) nonesuch" in done.stderr


def test_a_disagreement_fails_loudly(tmp_path, monkeypatch, capsys):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS",
                 "JAX_PLATFORMS"):  # bench.py sets these on import: restore them after
        monkeypatch.setenv(name, "")
    monkeypatch.syspath_prepend(str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_under_test", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    columns = bench.s2s_columns

    def wrong_jvp(problem, tangent):
        return dict(columns(problem, tangent),
                    **{"s2s.jvp": lambda: (problem.fn(problem.x), 2.0 * tangent)})

    monkeypatch.setattr(bench, "s2s_columns", wrong_jvp)
    status = bench.main(["--quick", "--no-compare", "--problems", "square",
                         "--csv", str(tmp_path / "bench.csv")])
    out, err = capsys.readouterr()
    assert status == 1
    assert "CROSS-CHECK FAILED" in out and "square s2s.jvp: tangent:" in out
    assert "CROSS-CHECK FAILED: square s2s.jvp" in err
    header, rows = table_rows(out, "problem | size | numpy")
    assert dict(zip(header, rows[0]))["s2s.jvp"] == "FAIL"


def test_hand_written_jvps_agree_with_s2s(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    bench_problems = importlib.import_module("bench_problems")
    hand = [p for p in bench_problems.problems(quick=True) if p.hand_jvp is not None]
    assert {p.name for p in hand} == {"elementwise-small", "elementwise-large", "mlp", "rk4",
                                      "rosenbrock"}
    for p in hand:
        tangent = np.random.default_rng(0).normal(size=p.x.shape)
        out, out_dot = p.hand_jvp(p.x, tangent)
        expected, expected_dot = s2s.jvp(p.fn, (p.x,), (tangent,))
        np.testing.assert_allclose(out, expected, rtol=1e-12, err_msg=p.name)
        np.testing.assert_allclose(out_dot, expected_dot, rtol=1e-9, atol=1e-12, err_msg=p.name)
