"""The GPU part of s2s, for the day a GPU is at hand: runs the tests marked
``gpu`` (the end-to-end set on CuPy, tests/test_backends.py) and times
``s2s.jvp`` and ``s2s.jacfwd`` on CuPy against the same generated code on
NumPy.

    python tools/gpu_check.py [--repeat 5] [--tests-only | --timings-only]

Prints one line per test (pass/fail/skip), then a table of median times in
milliseconds (CuPy times include a device synchronisation; "ratio" is NumPy's
time over CuPy's). Exits with 2
where there is no CuPy or no CUDA device (saying which), 1 if a test fails.
"""

import argparse
import functools
import pathlib
import statistics
import sys
import time

import numpy as np

import s2s

ROOT = pathlib.Path(__file__).resolve().parent.parent


# -- the functions timed (every array is a parameter: the namespace follows them) -----


def mlp(x, W1, b1, W2, b2):
    h = np.tanh(W1 @ x + b1)
    return W2 @ h + b2


def rnn(h0, WH, WX, XS):
    h = h0
    for t in range(XS.shape[0]):
        h = np.tanh(WH @ h + WX @ XS[t])
    return h


def field(x, k):
    return np.sum(np.sin(k * x) * np.exp(-x * x) + 0.5 * x ** 2)


def problems(rng):
    """name -> (function, primals: the first is differentiated)."""
    return {
        "mlp 1024-4096-64": (mlp, (rng.normal(size=1024), rng.normal(size=(4096, 1024)) / 32,
                                   rng.normal(size=4096), rng.normal(size=(64, 4096)) / 64,
                                   rng.normal(size=64))),
        "rnn 256 x 50 steps": (rnn, (rng.normal(size=256), rng.normal(size=(256, 256)) / 16,
                                     rng.normal(size=(256, 256)) / 16,
                                     rng.normal(size=(50, 256)))),
        "field 4M (jvp), 512 (jacfwd)": (field, (rng.normal(size=4_000_000), 3.0)),
    }


def _median_ms(fn, sync, repeat):
    fn()  # the first call transforms and compiles (and, on CuPy, builds kernels)
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _time_problem(cp, fn, primals, repeat, rng):
    """Median ms of jvp and jacfwd on NumPy and CuPy; and whether the Jacobians agree."""
    def sync():
        cp.cuda.Device().synchronize()

    def host_sync():
        pass

    device = tuple(cp.asarray(p) if isinstance(p, np.ndarray) else p for p in primals)
    tangent = rng.normal(size=np.shape(primals[0]))
    rest_np = tuple(np.zeros_like(p) if isinstance(p, np.ndarray) else 0.0 for p in primals[1:])
    rest_cp = tuple(cp.asarray(t) if isinstance(t, np.ndarray) else t for t in rest_np)
    tangents_np, tangents_cp = (tangent,) + rest_np, (cp.asarray(tangent),) + rest_cp
    t_np = _median_ms(functools.partial(s2s.jvp, fn, primals, tangents_np), host_sync, repeat)
    t_cp = _median_ms(functools.partial(s2s.jvp, fn, device, tangents_cp), sync, repeat)
    if fn is field:  # its jvp input is too big for a Jacobian: 512 inputs
        primals = (primals[0][:512],) + primals[1:]
        device = (cp.asarray(primals[0]),) + device[1:]
    jac = s2s.jacfwd(fn)
    j_np = _median_ms(functools.partial(jac, *primals), host_sync, repeat)
    j_cp = _median_ms(functools.partial(jac, *device), sync, repeat)
    same = np.allclose(cp.asnumpy(jac(*device)), jac(*primals), rtol=1e-10, atol=1e-10)
    return t_np, t_cp, j_np, j_cp, same


def timings(cp, repeat):
    rng = np.random.default_rng(0)
    rows = [(name, *_time_problem(cp, fn, primals, repeat, rng))
            for name, (fn, primals) in problems(rng).items()]
    print(f"\n{'problem':<30}{'jvp numpy':>11}{'jvp cupy':>10}{'ratio':>7}"
          f"{'jacfwd numpy':>14}{'jacfwd cupy':>13}{'ratio':>7}  same Jacobian")
    for name, t_np, t_cp, j_np, j_cp, same in rows:
        print(f"{name:<30}{t_np:>11.2f}{t_cp:>10.2f}{t_np / t_cp:>7.1f}"
              f"{j_np:>14.2f}{j_cp:>13.2f}{j_np / j_cp:>7.1f}  {'yes' if same else 'NO'}")
    return all(row[-1] for row in rows)


class _Reports:
    """A pytest plugin keeping each test's outcome."""

    def __init__(self):
        self.rows = []

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.rows.append((report.nodeid, report.outcome, report.duration))


def run_tests():
    import pytest

    reports = _Reports()
    code = pytest.main(["-m", "gpu", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                        str(ROOT / "tests")], plugins=[reports])
    print()
    for nodeid, outcome, seconds in reports.rows:
        print(f"{outcome:<8} {seconds * 1e3:8.1f} ms  {nodeid}")
    counts = {o: sum(1 for _, x, _ in reports.rows if x == o)
              for o in ("passed", "failed", "skipped")}
    print(f"\ngpu tests: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped")
    return code == 0 and counts["passed"] > 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tests-only", action="store_true")
    group.add_argument("--timings-only", action="store_true")
    args = parser.parse_args(argv)
    try:
        import cupy as cp
    except ImportError:
        print("no GPU check: CuPy is not installed (pip install 's2s[cuda]')", file=sys.stderr)
        return 2
    if not cp.is_available():
        print("no GPU check: CuPy finds no CUDA device (cupy.is_available() is False)",
              file=sys.stderr)
        return 2
    props = cp.cuda.runtime.getDeviceProperties(0)
    print(f"device: {props['name'].decode()}, CuPy {cp.__version__}, NumPy {np.__version__}")
    ok = True
    if not args.timings_only:
        ok = run_tests() and ok
    if not args.tests_only:
        ok = timings(cp, args.repeat) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
