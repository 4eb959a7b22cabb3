"""Time to the first derivative in a fresh process: disk cache cold vs warm.

    python tools/cache_timing.py [--runs 7]

Each run starts a new interpreter that imports NumPy and s2s, then computes
``s2s.jvp`` of a ~50-line function (a loop, branches, two helpers). "cold"
runs get an empty cache directory each, "warm" runs share one filled by an
earlier run, "off" runs have ``S2S_CACHE=0``. Printed: the median over the
runs of the whole process's wall time, and of the time of the first ``jvp``
call alone (measured inside the process).

tools/bench.py times its disk-cache hit with :func:`first_calls`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODEL = '''
import numpy as np


def softclip(v, limit):
    return limit * np.tanh(v / limit)


def cell(h, x, W, U, b):
    z = W @ h + U @ x + b
    return softclip(np.sin(z) + 0.5 * z, 4.0)


def model(params, xs, h0):
    W, U, b, V = params["W"], params["U"], params["b"], params["V"]
    h = h0
    energy = 0.0
    states = []
    for t in range(xs.shape[0]):
        h_new = cell(h, xs[t], W, U, b)
        if np.sum(h_new * h_new) > 10.0:
            h_new = h_new / np.sqrt(np.sum(h_new * h_new) / 10.0)
        else:
            h_new = h_new + 0.01 * h
        step = h_new - h
        energy = energy + np.sum(step ** 2)
        h = h_new
        states.append(h)
    hs = np.stack(states)
    y = hs @ V
    y_mean = np.mean(y, axis=0)
    y_var = np.mean((y - y_mean) ** 2, axis=0)
    score = np.sum(np.log1p(y_var))
    penalty = 0.0
    for M in (W, U):
        norm = np.sqrt(np.sum(M * M))
        if norm > 1.0:
            penalty = penalty + (norm - 1.0) ** 2
        else:
            penalty = penalty + 0.1 * norm
    smooth = np.sum(np.diff(y, axis=0) ** 2)
    total = score + 0.1 * energy + penalty + 0.01 * smooth
    if total > 100.0:
        total = 100.0 + np.log(total - 99.0)
    peak = np.max(np.abs(y))
    ratio = total / (1.0 + peak)
    out = ratio * np.exp(-0.01 * np.sum(b * b))
    result = out + 0.001 * np.sum(V ** 2)
    result = result * (1.0 + 0.0 * np.sum(h0))
    return result
'''

# The script each fresh process runs: imports, ``setup`` (imports the user's
# module), then ``call`` alone is timed; prints one JSON line.
RUN = '''
import time
t0 = time.perf_counter()
import json
import numpy as np
import s2s
from s2s import cache
{setup}
t1 = time.perf_counter()
result = {call}
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "first_call": t2 - t1, "stats": cache.stats,
                  "result": {result}}}))
'''

JVP_SETUP = '''
from model import model
rng = np.random.default_rng(0)
params = {"W": rng.normal(size=(4, 4)) * 0.3, "U": rng.normal(size=(4, 3)) * 0.3,
          "b": rng.normal(size=4) * 0.1, "V": rng.normal(size=(4, 2))}
xs, h0 = rng.normal(size=(6, 3)), np.zeros(4)
direction = {k: np.ones_like(v) for k, v in params.items()}
'''
JVP_CALL = "s2s.jvp(model, (params, xs, h0), (direction, np.zeros_like(xs), np.zeros(4)))"


def write_script(workdir, setup, call, result="None"):
    """Write ``run.py`` into ``workdir``: ``call`` timed after ``setup``;
    ``result`` (an expression of ``result``, the call's value) is printed
    as JSON with the timings."""
    with open(os.path.join(workdir, "run.py"), "w") as f:
        f.write(RUN.format(setup=setup.strip(), call=call, result=result))


def child_env(**extra):
    """This process's environment for a fresh process, with the disk cache
    on, and the s2s this process imported first on the path."""
    import s2s

    env = dict(os.environ, **extra)
    if "S2S_CACHE" not in extra:
        env.pop("S2S_CACHE", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(s2s.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_once(workdir, env):
    """Run ``run.py`` in a new interpreter: ``(wall seconds, its JSON line)``."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "run.py"], cwd=workdir, env=env,
                            capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    return wall, json.loads(result.stdout.splitlines()[-1])


def first_calls(workdir, runs):
    """Seconds of the timed call of ``workdir``'s ``run.py`` (see
    :func:`write_script`) in ``runs`` fresh processes that all find its
    generated code in a disk cache filled by one earlier process: disk-cache
    hits, imports excluded. Raises RuntimeError if one of them transformed."""
    env = child_env(S2S_CACHE_DIR=os.path.join(workdir, "warm-cache"))
    run_once(workdir, env)  # fill it
    times = []
    for _ in range(runs):
        _, inner = run_once(workdir, env)
        stats = inner["stats"]
        if stats["transforms"] or not stats["hits"]:
            raise RuntimeError(f"not a disk-cache hit: {stats}")
        times.append(inner["first_call"])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "model.py"), "w") as f:
            f.write(MODEL)
        write_script(workdir, JVP_SETUP, JVP_CALL, result="float(result[1])")
        warm_dir = os.path.join(workdir, "warm-cache")
        run_once(workdir, child_env(S2S_CACHE_DIR=warm_dir))  # fill it
        rows = {"cold": [], "warm": [], "off": []}
        for i in range(args.runs):  # interleaved, so load changes hit all modes alike
            cold_dir = os.path.join(workdir, f"cold-cache-{i}")
            envs = {"cold": child_env(S2S_CACHE_DIR=cold_dir),
                    "warm": child_env(S2S_CACHE_DIR=warm_dir),
                    "off": child_env(S2S_CACHE="0")}
            for mode, env in envs.items():
                wall, inner = run_once(workdir, env)
                rows[mode].append((wall, inner))
                assert (inner["stats"]["transforms"] == 0) == (mode == "warm"), (mode, inner)
        print(f"python {sys.version.split()[0]}, {args.runs} runs each, medians")
        print(f"{'mode':6} {'whole process':>14} {'first jvp':>10} {'imports':>9}  stats")
        for mode, results in rows.items():
            wall = statistics.median(w for w, _ in results)
            first = statistics.median(r["first_call"] for _, r in results)
            imports = statistics.median(r["imports"] for _, r in results)
            stats = results[-1][1]["stats"]
            print(f"{mode:6} {wall * 1e3:11.1f} ms {first * 1e3:7.1f} ms {imports * 1e3:6.1f} ms"
                  f"  transforms={stats['transforms']} hits={stats['hits']}")
        dots = {r["result"] for results in rows.values() for _, r in results}
        assert len(dots) == 1, dots


if __name__ == "__main__":
    main()
