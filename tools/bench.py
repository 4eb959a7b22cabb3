"""s2s side by side with NumPy, hand-written JVPs, torch.func, JAX and
autograd, on the problems of issue 6 (defined in bench_problems.py).

    python tools/bench.py [--quick] [--problems NAME,...] [--no-compare] [--csv PATH]

One process (the disk-cache hit alone is timed in fresh ones), one thread
for every library, float64. Every result is first checked against a
complex-step derivative of the NumPy function (exact to rounding; the
Hessian by central differences of complex-step gradients); a disagreement
is printed loudly and makes the exit code 1. Then each column
is timed: the number of calls per sample is calibrated so that a sample takes
at least 20 ms, and 7 samples give the per-call median and min-max.

Prints markdown tables to stdout (times and ratios to the NumPy primal, JAX
compile times, s2s's per-call overhead, transformation time and disk-cache
hit in a fresh process, the targets of issue 6) and writes every
measurement to a CSV file (default bench-results.csv). torch, JAX and
autograd are optional: the columns of a missing one say n/a. Progress goes
to stderr.
"""

import os

# one thread for every library: set before numpy, torch or jax is imported
os.environ.update(
    OMP_NUM_THREADS="1",
    OPENBLAS_NUM_THREADS="1",
    MKL_NUM_THREADS="1",
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    JAX_PLATFORMS="cpu",
)

import argparse
import csv
import dataclasses
import importlib
import importlib.util
import math
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

import bench_problems
import cache_timing
import numpy as np

import s2s
from s2s.transform import jvp_function

COLUMNS = (  # (name, library, transform): the columns of the main table, in order
    ("numpy", None, "primal"),
    ("s2s.jvp", None, "jvp"),
    ("s2s.jacfwd", None, "jacfwd"),
    ("s2s.hessian", None, "hessian"),
    ("n x s2s.jvp", None, "jacfwd"),
    ("hand jvp", None, "jvp"),
    ("torch.jvp", "torch", "jvp"),
    ("torch.jacfwd", "torch", "jacfwd"),
    ("torch.hessian", "torch", "hessian"),
    ("jax.jvp", "jax", "jvp"),
    ("jit(jax.jvp)", "jax", "jvp"),
    ("jax.jacfwd", "jax", "jacfwd"),
    ("jit(jax.jacfwd)", "jax", "jacfwd"),
    ("jax.hessian", "jax", "hessian"),
    ("jit(jax.hessian)", "jax", "hessian"),
    ("autograd.jvp", "autograd", "jvp"),
)
TRANSFORM = {name: transform for name, _, transform in COLUMNS}
EAGER_PEERS = {"jvp": ("torch.jvp", "jax.jvp", "autograd.jvp"),
               "jacfwd": ("torch.jacfwd", "jax.jacfwd"),
               "hessian": ("torch.hessian", "jax.hessian")}
RTOL = 1e-8  # relative to the entry, or to the largest entry of the reference
FD_STEP = 1e-5  # central differences of complex-step gradients: the Hessian reference


@dataclasses.dataclass(frozen=True)
class Settings:
    sample_time: float  # seconds: calls per sample are calibrated to reach it
    samples: int  # per column, and per transformation-time measurement
    description: str


FULL = Settings(0.020, 7, "samples of >= 20 ms, 7 per column")
QUICK = Settings(0.005, 3, "--quick: samples of >= 5 ms, 3 per column; rk4 over 20 steps, "
                 "elementwise-large at n=1e5")


@dataclasses.dataclass(frozen=True)
class Timing:
    median: float  # seconds per call
    low: float
    high: float
    calls: int  # per sample
    samples: int


# -- timing ----------------------------------------------------------------------


def measure(calls, settings):
    """Per-call times of each of ``calls`` (name -> callable, each called once
    already: the warm-up). Each gets its calls per sample calibrated until a
    sample lasts ``settings.sample_time`` (that sample counts); the other
    samples are interleaved, one of each callable in turn, so that a change
    of load on the machine shifts them all alike. Garbage collection is off
    while timing, as in timeit."""
    timers = {name: timeit.Timer(call) for name, call in calls.items()}
    numbers, times = {}, {}
    for name, timer in timers.items():
        numbers[name], elapsed = calibrate(timer, settings.sample_time)
        times[name] = [elapsed / numbers[name]]
    for _ in range(settings.samples - 1):
        for name, timer in timers.items():
            times[name].append(timer.timeit(numbers[name]) / numbers[name])
    return {name: Timing(statistics.median(t), min(t), max(t), numbers[name], len(t))
            for name, t in times.items()}


def calibrate(timer, sample_time):
    """``(calls, seconds)``: the first number of calls that lasts ``sample_time``."""
    calls = 1
    while (elapsed := timer.timeit(calls)) < sample_time:
        calls = max(2 * calls, math.ceil(1.2 * calls * sample_time / max(elapsed, 1e-7)))
    return calls, elapsed


def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# -- references: complex-step derivatives of the NumPy function --------------------


def complex_step(f, x, direction, h=1e-20):
    """Directional derivative of ``f`` at ``x`` to rounding error, for code
    that is real-analytic along ``direction`` (every problem here)."""
    return f(x + 1j * h * direction).imag / h


def basis(x):
    return [e.reshape(x.shape) for e in np.eye(x.size)]


def as_jacobian(columns, out_shape, x_shape):
    """One column per input direction -> shape ``out_shape + x_shape``."""
    return np.moveaxis(np.stack(columns), 0, -1).reshape(out_shape + x_shape)


def references(problem, tangent):
    f, x = problem.fn, problem.x
    out = f(x)
    refs = {"jvp": (out, complex_step(f, x, tangent))}
    if "jacfwd" in problem.transforms:
        refs["jacfwd"] = as_jacobian([complex_step(f, x, e) for e in basis(x)], out.shape, x.shape)
    if "hessian" in problem.transforms:
        def gradient(y):
            return as_jacobian([complex_step(f, y, e) for e in basis(y)], out.shape, x.shape)

        rows = [(gradient(x + FD_STEP * e) - gradient(x - FD_STEP * e)) / (2 * FD_STEP)
                for e in basis(x)]
        refs["hessian"] = as_jacobian(rows, x.shape, x.shape)
    return refs


def disagreement(got, want, rtol):
    """None if ``got`` matches ``want`` (entries within ``rtol`` relative to
    themselves or to the largest entry), else what differs."""
    if isinstance(want, tuple):
        for part, (g, w) in zip(("output", "tangent"), zip(got, want)):
            if (found := disagreement(g, w, rtol)) is not None:
                return f"{part}: {found}"
        return None
    got, want = as_numpy(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    scale = np.max(np.abs(want), initial=0.0)
    if np.allclose(got, want, rtol=rtol, atol=rtol * scale):
        return None
    error = np.max(np.abs(got - want)) / (scale or 1.0)
    return f"max |error| / max |expected| = {error:.2e} (rtol {rtol:g})"


def as_numpy(value):
    if isinstance(value, tuple):
        return tuple(as_numpy(v) for v in value)
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach()
    return np.asarray(value)


# -- the columns of one problem: name -> a call returning its result ---------------


def s2s_columns(problem, tangent):
    f, x = problem.fn, problem.x
    columns = {"numpy": lambda: f(x), "s2s.jvp": lambda: s2s.jvp(f, (x,), (tangent,))}
    if "jacfwd" in problem.transforms:
        jacobian, directions = s2s.jacfwd(f), basis(x)
        columns["s2s.jacfwd"] = lambda: jacobian(x)
        columns["n x s2s.jvp"] = lambda: jvp_loop(f, x, directions)
    if "hessian" in problem.transforms:
        hessian = s2s.hessian(f)
        columns["s2s.hessian"] = lambda: hessian(x)
    if problem.hand_jvp is not None:
        columns["hand jvp"] = lambda: problem.hand_jvp(x, tangent)
    return columns


def jvp_loop(f, x, directions):
    """The Jacobian from one s2s.jvp call per input direction."""
    columns = [s2s.jvp(f, (x,), (e,))[1] for e in directions]
    return as_jacobian(columns, np.shape(columns[0]), x.shape)


def torch_columns(torch, namespace, problem, tangent):
    f = namespace[problem.fn.__name__]
    x, t = torch.from_numpy(problem.x), torch.from_numpy(tangent)
    columns = {"torch.jvp": lambda: torch.func.jvp(f, (x,), (t,))}
    if "jacfwd" in problem.transforms:
        jacobian = torch.func.jacfwd(f)
        columns["torch.jacfwd"] = lambda: jacobian(x)
    if "hessian" in problem.transforms:
        hessian = torch.func.hessian(f)
        columns["torch.hessian"] = lambda: hessian(x)
    return columns


def jax_columns(jax, namespaces, problem, tangent, compile_times):
    """Eager and ``jax.jit`` columns; the jit ones are compiled here (ahead of
    time, ``lower().compile()``) and their compile time goes to
    ``compile_times[column]``."""
    eager, jitted = (ns[problem.fn.__name__] for ns in namespaces)
    x, t = jax.numpy.asarray(problem.x), jax.numpy.asarray(tangent)
    transforms = {"jvp": (lambda g: lambda x, t: jax.jvp(g, (x,), (t,)), (x, t)),
                  "jacfwd": (jax.jacfwd, (x,)), "hessian": (jax.hessian, (x,))}
    columns = {}
    for transform in problem.transforms:
        make, args = transforms[transform]
        columns[f"jax.{transform}"] = ready(jax, make(eager), args)
        start = time.perf_counter()
        compiled = jax.jit(make(jitted)).lower(*args).compile()
        compile_times[f"jit(jax.{transform})"] = time.perf_counter() - start
        columns[f"jit(jax.{transform})"] = ready(jax, compiled, args)
    return columns


def ready(jax, fn, args):
    return lambda: jax.block_until_ready(fn(*args))


def autograd_columns(make_jvp, namespace, problem, tangent):
    f, x = namespace[problem.fn.__name__], problem.x
    return {"autograd.jvp": lambda: make_jvp(f)(x)(tangent)}


@dataclasses.dataclass
class Peers:
    """The comparison libraries that could be imported (None: not installed
    or --no-compare), each with its namespace of problem functions."""

    torch: tuple = None  # (torch, namespace)
    jax: tuple = None  # (jax, (eager namespace, jit namespace))
    autograd: tuple = None  # (make_jvp, namespace)

    @classmethod
    def load(cls):
        peers = cls()
        if (torch := optional("torch")) is not None:
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)
            peers.torch = torch, bench_problems.torch_namespace(torch)
        if (jax := optional("jax")) is not None:
            jax.config.update("jax_enable_x64", True)
            eager = bench_problems.rebind(jax.numpy, jax.numpy.asarray)
            peers.jax = jax, (eager, bench_problems.jax_jit_namespace(jax))
        if (numpy := optional("autograd.numpy")) is not None:
            operators = importlib.import_module("autograd.differential_operators")
            peers.autograd = operators.make_jvp, bench_problems.rebind(numpy, lambda a: a)
        return peers

    def available(self, library):
        return library is None or getattr(self, library) is not None

    def columns(self, problem, tangent, compile_times):
        columns = {}
        if self.torch:
            columns.update(torch_columns(*self.torch, problem, tangent))
        if self.jax:
            columns.update(jax_columns(*self.jax, problem, tangent, compile_times))
        if self.autograd:
            columns.update(autograd_columns(*self.autograd, problem, tangent))
        return columns


def optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# -- running ----------------------------------------------------------------------


@dataclasses.dataclass
class Results:
    timings: dict = dataclasses.field(default_factory=dict)  # (problem, column) -> Timing
    compile_times: dict = dataclasses.field(default_factory=dict)  # (problem, column) -> s
    failures: dict = dataclasses.field(default_factory=dict)  # (problem, column) -> message


def run_problem(problem, peers, settings, results):
    """Check every column of ``problem`` against the references, then time
    the ones that agree."""
    progress(f"{problem.name}: references, building (jax.jit compiles) and checking columns")
    tangent = np.random.default_rng(2).normal(size=problem.x.shape)
    refs = references(problem, tangent)
    compile_times = {}
    columns = s2s_columns(problem, tangent)
    columns.update(peers.columns(problem, tangent, compile_times))
    for column, seconds in compile_times.items():
        results.compile_times[problem.name, column] = seconds
    agreed = {}
    for column, call in columns.items():
        wrong = check(call, TRANSFORM[column], refs)
        if wrong is None:
            agreed[column] = call
        else:
            results.failures[problem.name, column] = wrong
            print(f"!!! CROSS-CHECK FAILED: {problem.name} {column}: {wrong}", file=sys.stderr)
    progress(f"{problem.name}: timing {len(agreed)} columns")
    for column, timing in measure(agreed, settings).items():
        results.timings[problem.name, column] = timing


def check(call, transform, refs):
    """Call once (the check, and the warm-up of the timing): None if the
    result agrees with the reference, else what is wrong."""
    try:
        result = call()
    except Exception as error:  # a library failing is reported like a wrong result
        return f"raised {type(error).__name__}: {error}"
    if transform == "primal":
        return None
    return disagreement(result, refs[transform], RTOL)


def measure_overhead(settings):
    """s2s.jvp against a direct call of the function it generated (what
    s2s.jvp calls after its cache lookup and input checks), on x*x of a 0-d
    array: ``(via s2s.jvp, direct)``."""
    f, x, t = bench_problems.square, np.array(1.3), np.array(0.7)
    s2s.jvp(f, (x,), (t,))
    generated = jvp_function(f, ("x",)).fn
    generated(x, t)
    timings = measure({"s2s.jvp": lambda: s2s.jvp(f, (x,), (t,)),
                       "direct": lambda: generated(x, t)}, settings)
    return timings["s2s.jvp"], timings["direct"]


def measure_transform(settings):
    """Seconds to transform bench_sample.sample (s2s.source: parse, normalise,
    emit, compile), a fresh module from a new file for every sample."""
    text = SAMPLE.read_text()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(settings.samples):
            path = Path(tmp) / f"bench_sample_{i}.py"
            path.write_text(text)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            start = time.perf_counter()
            s2s.source(module.sample, argnums=0)
            times.append(time.perf_counter() - start)
    return timing_of(times)


def measure_disk_hit(settings):
    """Seconds of the same s2s.source call served by the disk cache: one
    fresh process per sample (so no in-memory cache serves it), each
    finding the entry an earlier process wrote; interpreter, NumPy, s2s and
    module imports excluded (see tools/cache_timing.py)."""
    with tempfile.TemporaryDirectory() as workdir:
        (Path(workdir) / "bench_sample.py").write_text(SAMPLE.read_text())
        cache_timing.write_script(workdir, "from bench_sample import sample",
                                  "s2s.source(sample, argnums=0)")
        return timing_of(cache_timing.first_calls(workdir, settings.samples))


def timing_of(times):
    """One measurement per sample (one call each)."""
    return Timing(statistics.median(times), min(times), max(times), 1, len(times))


SAMPLE = Path(__file__).parent / "bench_sample.py"
_START = time.perf_counter()


def progress(message):
    print(f"[bench {time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- reporting --------------------------------------------------------------------


def main_table(problems, results, peers):
    header = ["problem", "size"] + [name for name, _, _ in COLUMNS]
    rows = [[p.name, p.size] + [main_cell(p, name, library, results, peers)
                                for name, library, _ in COLUMNS] for p in problems]
    return markdown(header, rows)


def main_cell(problem, column, library, results, peers):
    """The primal's time per call, else the ratio to it."""
    timing = results.timings.get((problem.name, column))
    if (problem.name, column) in results.failures:
        return "FAIL"
    if not peers.available(library):
        return "n/a"
    if timing is None:
        return "-"
    if column == "numpy":
        return fmt_time(timing.median)
    return f"{timing.median / results.timings[problem.name, 'numpy'].median:.2f}x"


def detail_table(problems, results):
    header = ["problem", "column", "median", "min-max", "x numpy", "calls x samples"]
    rows = []
    for p in problems:
        primal = results.timings[p.name, "numpy"]
        for name, _, _ in COLUMNS:
            if (timing := results.timings.get((p.name, name))) is not None:
                rows.append([p.name, name, fmt_time(timing.median),
                             f"{fmt_time(timing.low)} - {fmt_time(timing.high)}",
                             f"{timing.median / primal.median:.2f}x",
                             f"{timing.calls} x {timing.samples}"])
    return markdown(header, rows)


def compile_table(problems, results):
    names = [f"jit(jax.{t})" for t in ("jvp", "jacfwd", "hessian")]
    rows = [[p.name] + [fmt_time(results.compile_times[p.name, n])
                        if (p.name, n) in results.compile_times else "-" for n in names]
            for p in problems]
    return markdown(["problem"] + names, rows)


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets(problems, results, overhead, transform, disk_hit):
    """The targets of issue 6, one row per check: (target, where, measured,
    limit, met)."""
    t = results.timings
    rows = []
    for p in problems:
        primal, jvp = t[p.name, "numpy"], t.get((p.name, "s2s.jvp"))
        if jvp is None:
            continue
        large = p.x.size >= 10**4 or primal.median >= 20e-6
        limit = 2.0 if large else 3.0
        ratio = jvp.median / primal.median
        rows.append(("s2s.jvp / numpy", p.name, f"{ratio:.2f}x", f"<= {limit:g}x",
                     ratio <= limit))
    direct = overhead[0].median - overhead[1].median
    rows.append(("s2s.jvp per-call overhead", "square", fmt_time(direct), "<= 5 µs",
                 direct <= 5e-6))
    rows += peer_targets(problems, results)
    for p in problems:
        hand, jvp = t.get((p.name, "hand jvp")), t.get((p.name, "s2s.jvp"))
        if hand is not None and jvp is not None and t[p.name, "numpy"].median >= 1e-3:
            ratio = jvp.median / hand.median
            rows.append(("s2s.jvp / hand jvp (primal >= 1 ms)", p.name, f"{ratio:.2f}x",
                         "<= 1.1x", ratio <= 1.1))
    for p in problems:
        loop, jac = t.get((p.name, "n x s2s.jvp")), t.get((p.name, "s2s.jacfwd"))
        if p.name in ("mlp", "rnn") and loop and jac:
            ratio = loop.median / jac.median
            rows.append(("n x s2s.jvp / s2s.jacfwd", p.name, f"{ratio:.1f}x", ">= 20x",
                         ratio >= 20))
    rows.append(("transform a fresh ~50-line function", "bench_sample.py",
                 fmt_time(transform.median), "<= 30 ms", transform.median <= 30e-3))
    rows.append(("disk-cache hit", "bench_sample.py", fmt_time(disk_hit.median), "<= 3 ms",
                 disk_hit.median <= 3e-3))
    return rows


def peer_targets(problems, results):
    """s2s faster than the fastest of torch.func, JAX eager and autograd, per
    problem (NumPy primal under 1 ms) and transform."""
    t = results.timings
    rows = []
    for p in problems:
        if t[p.name, "numpy"].median >= 1e-3:
            continue
        for transform in p.transforms:
            ours = t.get((p.name, f"s2s.{transform}"))
            peers = [(t[p.name, n].median, n) for n in EAGER_PEERS[transform]
                     if (p.name, n) in t]
            if ours is None or not peers:
                continue
            best, name = min(peers)
            rows.append((f"s2s.{transform} / fastest eager peer", p.name,
                         f"{ours.median / best:.2f}x (vs {name})", "< 1x", ours.median < best))
    return rows


def targets_table(rows):
    verdict = {True: "yes", False: "**no**", None: "n/a"}
    return markdown(["target", "where", "measured", "limit", "met"],
                    [[a, b, c, d, verdict[met]] for a, b, c, d, met in rows])


def report(problems, results, peers, overhead, transform, disk_hit, settings):
    sections = [
        crosscheck_section(results),
        f"## Time per call of the NumPy primal, and ratios to it\n\n"
        f"{main_table(problems, results, peers)}\n\n"
        "n/a: library not installed (or --no-compare); -: not measured for this problem; "
        "FAIL: disagrees with the reference. Under jax.jit, rk4's loop is a lax.fori_loop "
        "(200 unrolled steps take XLA minutes to compile).",
        f"## Median and min-max per call\n\n{detail_table(problems, results)}",
        overhead_section(*overhead),
        f"## s2s transformation time\n\nA fresh ~50-line function (tools/bench_sample.py), "
        f"s2s.source: {fmt_timing(transform)} over {transform.samples} samples. "
        f"Disk-cache hit: the same call served from the disk cache in a fresh process "
        f"(imports excluded), {fmt_timing(disk_hit)} over {disk_hit.samples} processes.",
    ]
    if peers.jax:
        sections.append("## jax.jit compile time (trace + XLA compile, one measurement)\n\n"
                        + compile_table(problems, results))
    rows = targets(problems, results, overhead, transform, disk_hit)
    sections.append(f"## Targets (issue 6)\n\n{targets_table(rows)}")
    sections.append(f"Settings: {settings.description}; float64; one thread per library.")
    return "\n\n".join(sections)


def crosscheck_section(results):
    if not results.failures:
        return f"Cross-check: every result agrees with the reference (rtol {RTOL:g})."
    lines = [f"- {p} {c}: {message}" for (p, c), message in results.failures.items()]
    return "## !!! CROSS-CHECK FAILED (exit code 1)\n\n" + "\n".join(lines)


def overhead_section(via_api, direct):
    return (f"## s2s.jvp fixed overhead (x*x on a 0-d array)\n\n"
            f"s2s.jvp {fmt_timing(via_api)}; the generated function called directly "
            f"{fmt_timing(direct)}; overhead {fmt_time(via_api.median - direct.median)} per call "
            f"(difference of the minima: {fmt_time(via_api.low - direct.low)}).")


def fmt_timing(timing):
    return f"{fmt_time(timing.median)} (min-max {fmt_time(timing.low)} - {fmt_time(timing.high)})"


def write_csv(path, results, overhead, transform, disk_hit):
    """One row per measurement; compile times, the transformation time and
    the disk-cache hit are single measurements per sample, without a ratio."""
    rows = [[problem, column, t.median, t.low, t.high,
             t.median / results.timings[problem, "numpy"].median, t.calls, t.samples]
            for (problem, column), t in results.timings.items()]
    rows += [[problem, f"{column} compile", seconds, seconds, seconds, "", 1, 1]
             for (problem, column), seconds in results.compile_times.items()]
    extra = (("square", "s2s.jvp (overhead)", overhead[0]),
             ("square", "generated jvp called directly", overhead[1]),
             ("bench_sample", "s2s.source of a fresh function", transform),
             ("bench_sample", "s2s.source from the disk cache (fresh process)", disk_hit))
    rows += [[problem, column, t.median, t.low, t.high, "", t.calls, t.samples]
             for problem, column, t in extra]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["problem", "column", "median_s", "min_s", "max_s", "ratio_to_numpy",
                         "calls_per_sample", "samples"])
        writer.writerows(rows)


# -- command line -----------------------------------------------------------------


def parse_args(argv, names):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="under a minute: samples of >= 5 ms instead of 20 ms, 3 "
                             "instead of 7; rk4 over 20 steps instead of 200, "
                             "elementwise-large at n=1e5 instead of 1e6")
    parser.add_argument("--problems", default=",".join(names),
                        help=f"comma-separated, from: {', '.join(names)} (default: all)")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="NumPy and s2s only: do not import torch, JAX or autograd")
    parser.add_argument("--csv", default="bench-results.csv", metavar="PATH",
                        help="where to write the measurements (default: %(default)s)")
    args = parser.parse_args(argv)
    args.problems = [n.strip() for n in args.problems.split(",") if n.strip()]
    unknown = [n for n in args.problems if n not in names]
    if unknown:
        parser.error(f"unknown problem(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    return args


def main(argv=None):
    args = parse_args(argv, [p.name for p in bench_problems.problems()])
    problems = [p for p in bench_problems.problems(args.quick) if p.name in args.problems]
    settings = QUICK if args.quick else FULL
    peers = Peers.load() if args.compare else Peers()
    results = Results()
    for problem in problems:
        run_problem(problem, peers, settings, results)
    progress("s2s.jvp overhead")
    overhead = measure_overhead(settings)
    progress("transformation time")
    transform = measure_transform(settings)
    progress("disk-cache hit (fresh processes)")
    disk_hit = measure_disk_hit(settings)
    print(report(problems, results, peers, overhead, transform, disk_hit, settings))
    write_csv(args.csv, results, overhead, transform, disk_hit)
    progress(f"wrote {args.csv}")
    if results.failures:
        progress(f"!!! CROSS-CHECK FAILED for {len(results.failures)} column(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
