"""jacfwd (one vectorised pass over all directions) against n separate
s2s.jvp calls, on the problems of issue 3: an MLP (input 64), an RNN (input
32, 50 steps) and an RK4 Lorenz integrator (3 inputs, 200 steps).

    python tools/jacfwd_vs_jvp.py [--repeat 7]

Prints medians (and min-max) in milliseconds and the ratio; checks that both
give the same Jacobian first. Not a test: timings on shared machines vary.
"""

import argparse
import statistics
import time

import numpy as np

import s2s

rng = np.random.default_rng(0)
W1, b1 = rng.normal(size=(256, 64)) / 8, rng.normal(size=256)
W2, b2 = rng.normal(size=(10, 256)) / 16, rng.normal(size=10)
WH, WX = rng.normal(size=(32, 32)) / 6, rng.normal(size=(32, 32)) / 6
XS = rng.normal(size=(50, 32))


def mlp(x):
    h = np.tanh(W1 @ x + b1)
    return W2 @ h + b2


def rnn(h0):
    h = h0
    for t in range(XS.shape[0]):
        h = np.tanh(WH @ h + WX @ XS[t])
    return h


def lorenz(u, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = u[0], u[1], u[2]
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def rk4(u):
    dt = 0.01
    for _ in range(200):
        k1 = lorenz(u)
        k2 = lorenz(u + 0.5 * dt * k1)
        k3 = lorenz(u + 0.5 * dt * k2)
        k4 = lorenz(u + dt * k3)
        u = u + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return u


def jvp_columns(f, x):
    cols = []
    for e in np.eye(x.size):
        cols.append(s2s.jvp(f, (x,), (e.reshape(x.shape),))[1])
    return np.stack(cols, axis=-1)


def timed(fn, repeat):
    fn()  # warm up (transformation, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    problems = [("mlp 64->256->10", mlp, rng.normal(size=64)),
                ("rnn 32 units, 50 steps", rnn, rng.normal(size=32)),
                ("rk4 Lorenz, 200 steps", rk4, np.array([1.0, 1.0, 1.0]))]
    print("| problem | n | jacfwd (ms) | n x jvp (ms) | speed-up |")
    print("|---|---|---|---|---|")
    for label, f, x in problems:
        jac = s2s.jacfwd(f)
        np.testing.assert_allclose(jac(x), jvp_columns(f, x), rtol=1e-10, atol=1e-12)
        a = timed(lambda jac=jac, x=x: jac(x), args.repeat)
        b = timed(lambda f=f, x=x: jvp_columns(f, x), args.repeat)
        print(f"| {label} | {x.size} | {a[0]:.2f} ({a[1]:.2f}-{a[2]:.2f}) | "
              f"{b[0]:.2f} ({b[1]:.2f}-{b[2]:.2f}) | {b[0] / a[0]:.1f}x |")


if __name__ == "__main__":
    main()
