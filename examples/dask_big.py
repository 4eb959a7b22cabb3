"""Derivatives over data larger than memory: s2s on Dask arrays.

Run it from the repository root after ``pip install '.[dask]'``::

    python examples/dask_big.py              # 40 GB of float64, this machine
    python examples/dask_big.py --gb 1       # a quick look
    python examples/dask_big.py --cluster    # the same on a dask.distributed LocalCluster
    python examples/dask_big.py --scheduler tcp://host:8786   # on a running cluster

The data ``x`` is ``--gb`` gigabytes of float64 in chunks of ``--chunk-mb``
megabytes, made chunk by chunk when a computation needs it and dropped after
(``da.linspace``): nothing is ever held whole. The model has three
parameters ``theta``:

    model(theta, x) = theta0 * exp(-theta1 * x**2) + theta2 * x
    loss(theta, x)  = mean((model(theta, x) - sin(x))**2)

The script computes, each time streaming the data once through the cores:

1. the primal: ``sum(model(theta, x))``, for the timing below;
2. ``s2s.jvp(model, (theta, x), (u, v))``: the value and the derivative along
   a direction in parameters and data together (``v`` is as big as ``x``);
   both are as big as ``x``, so it prints their sums;
3. ``s2s.jacfwd(loss)(theta, x)``: the gradient of the loss over all the data
   with respect to the three parameters (one vectorised pass over three
   directions);

and checks both against central finite differences of the same
reductions, in one more pass (exits with status 1 if a check fails;
``--steps`` picks the passes to run). It prints the times, the
ratio of the jvp's time to the primal's (same data, same chunks) and the
peak resident memory of this process (and of each worker with a cluster).

s2s builds the Dask graphs only; Dask's scheduler runs them, on this
machine's threads by default, on ``LocalCluster`` workers with ``--cluster``,
on any cluster with ``--scheduler``: s2s's own code does not change.
"""

import argparse
import resource
import sys
import time

import dask
import dask.array as da
import numpy as np

import s2s

THETA = np.array([1.5, 0.7, -0.3])


def model(theta, x):
    return theta[0] * np.exp(-theta[1] * x ** 2) + theta[2] * x


def loss(theta, x):
    r = model(theta, x) - np.sin(x)
    return np.mean(r ** 2)


def peak_rss_gb():
    """Peak resident memory of this process so far, in GB (Linux: KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e9 if sys.platform != "darwin" else kib / 1e9


def timed(label, *values):
    start = time.perf_counter()
    results = dask.compute(*values)
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.1f} s")
    return results, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gb", type=float, default=40.0, help="size of x in GB (default 40)")
    parser.add_argument("--chunk-mb", type=float, default=16.0, help="chunk size in MB")
    parser.add_argument("--cluster", action="store_true",
                        help="run on a dask.distributed LocalCluster")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--scheduler", help="address of a running dask.distributed scheduler")
    parser.add_argument("--steps", default="primal,jvp,jacfwd,check",
                        help="which passes to run, of primal,jvp,jacfwd,check (default: all; "
                        "check needs jvp and jacfwd)")
    args = parser.parse_args(argv)
    steps = set(args.steps.split(","))
    if "check" in steps and not {"jvp", "jacfwd"} <= steps:
        parser.error("--steps: check needs jvp and jacfwd")

    client = None
    if args.cluster or args.scheduler:
        from dask.distributed import Client, LocalCluster

        if args.scheduler:
            client = Client(args.scheduler)
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster)
        print(f"scheduler: {client}")
    else:
        print(f"scheduler: Dask's threads on this machine ({dask.system.CPU_COUNT} cores)")

    n = int(args.gb * 1e9 / 8)
    chunk = max(1, int(args.chunk_mb * 1e6 / 8))
    x = da.linspace(-4.0, 4.0, n, chunks=chunk)
    v = 1.0 - x * x / 16.0  # a direction as big as x, made chunk by chunk too
    u = np.array([0.2, -0.5, 1.0])
    print(f"x: {n:,} float64 = {x.nbytes / 1e9:.2f} GB in {x.npartitions} chunks "
          f"of {chunk * 8 / 1e6:.0f} MB")

    # 1. the primal, 2. the jvp, 3. the gradient: graphs only, nothing computed yet
    primal = da.sum(model(THETA, x))
    y, y_dot = s2s.jvp(model, (THETA, x), (u, v))
    grad = s2s.jacfwd(loss)(THETA, x)
    assert all(isinstance(a, da.Array) for a in (y, y_dot, grad)), "s2s computed eagerly"

    print("computing:")
    times, checks = {}, {}
    if "primal" in steps:
        (p,), times["primal"] = timed("primal: sum(model(theta, x))", primal)
        print(f"    sum(model(theta, x))     = {p:.10e}")
    if "jvp" in steps:
        (s, s_dot), times["jvp"] = timed("jvp: sum(y), sum(y_dot)", da.sum(y), da.sum(y_dot))
        print(f"    sum(y)      (s2s.jvp)    = {s:.10e}")
        print(f"    sum(y_dot)  (s2s.jvp)    = {s_dot:.10e}")
        if "primal" in steps:
            checks["primal of the jvp equals the primal"] = abs(s - p) <= 1e-9 * abs(p)
    if "jacfwd" in steps:
        (g,), times["jacfwd"] = timed("jacfwd(loss): gradient in theta", grad)
        print(f"    gradient    (s2s.jacfwd) = {np.array2string(np.asarray(g), precision=10)}")
    if "check" in steps:
        # central differences of the same reductions, in one more pass
        h = 1e-5
        plus_minus = [da.sum(model(THETA + sign * h * u, x + sign * h * v)) for sign in (1, -1)]
        loss_pm = [loss(THETA + sign * h * u, x) for sign in (1, -1)]
        (sp, sm, lp, lm), times["check"] = timed("finite differences (4 primals)", *plus_minus,
                                                 *loss_pm)
        fd_jvp, fd_grad_u = (sp - sm) / (2 * h), (lp - lm) / (2 * h)
        print(f"    sum(y_dot)  (finite d.)  = {fd_jvp:.10e}")
        print(f"    gradient . u             = {float(np.dot(g, u)):.10e}")
        print(f"    gradient . u (finite d.) = {fd_grad_u:.10e}")
        checks["jvp against finite differences"] = \
            abs(s_dot - fd_jvp) <= 1e-5 * max(1.0, abs(fd_jvp))
        checks["gradient against finite differences"] = \
            abs(float(np.dot(g, u)) - fd_grad_u) <= 1e-5 * max(1.0, abs(fd_grad_u))
    for name, ok in checks.items():
        print(f"  {name:<40} {'ok' if ok else 'FAILED'}")

    print("measured:")
    print("  time: " + ", ".join(f"{k} {t:.1f} s" for k, t in times.items()))
    if "primal" in times and "jvp" in times:
        print(f"  jvp / primal time on Dask (same chunks): {times['jvp'] / times['primal']:.2f}")
    print(f"  peak resident memory of this process: {peak_rss_gb():.2f} GB "
          f"(x alone is {x.nbytes / 1e9:.2f} GB)")
    if client is not None:
        workers = client.run(peak_rss_gb)
        for address, gb in sorted(workers.items()):
            print(f"  peak resident memory of worker {address}: {gb:.2f} GB")
        client.close()
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
