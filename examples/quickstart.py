"""s2s quick start: differentiate a NumPy function with a loop and a branch.

Run it from the repository root after installing s2s::

    python examples/quickstart.py

It computes the Jacobian-vector product of ``f`` at concrete inputs with
``s2s.jvp``, checks it against central finite differences, and prints the
derivative code s2s generated. It exits with status 1 if the check fails.
"""

import sys

import numpy as np

import s2s


def f(x, w):
    y = np.sin(x) * w
    for _ in range(3):
        if y.sum() > 0:
            y = y * x
        else:
            y = y + 1.0
    return np.sum(y ** 2)


def central_difference(func, primals, tangents, h=1e-6):
    """(func(p + h t) - func(p - h t)) / 2h: the directional derivative, numerically."""
    plus = func(*(p + h * t for p, t in zip(primals, tangents)))
    minus = func(*(p - h * t for p, t in zip(primals, tangents)))
    return (plus - minus) / (2 * h)


def main():
    x = np.array([0.5, 1.0, 1.5])
    w = np.array([1.0, -2.0, 0.5])  # y.sum() < 0 at first: both branches run
    rng = np.random.default_rng(0)
    x_dot = rng.standard_normal(x.shape)
    w_dot = rng.standard_normal(w.shape)

    out, out_dot = s2s.jvp(f, (x, w), (x_dot, w_dot))
    fd = central_difference(f, (x, w), (x_dot, w_dot))
    error = abs(out_dot - fd)
    ok = error <= 1e-6 * max(1.0, abs(fd))

    print(f"f(x, w)                 = {out:.12f}")
    print(f"jvp (s2s)               = {out_dot:.12f}")
    print(f"jvp (finite difference) = {fd:.12f}")
    print(f"difference              = {error:.2e}  {'ok' if ok else 'FAILED'}")
    print()
    print("Generated derivative code, s2s.source(f):")
    print()
    print(s2s.source(f))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
