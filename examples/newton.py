"""Newton's method on a nonlinear system, with the Jacobian from s2s.jacfwd.

Run it from the repository root after installing s2s::

    python examples/newton.py

The system is the Bratu problem, a classic of combustion theory: find u on
(0, 1) with

    -u''(t) = lam * exp(u(t)),    u(0) = u(1) = 0,

discretised by finite differences on n interior points. That gives n
equations F(u) = 0 in n unknowns. Newton's method solves J(u) du = -F(u) at
every step, where J = dF/du is the Jacobian: s2s.jacfwd(residual) computes
all of it in one vectorised pass of generated derivative code.

The script prints the Newton iterations, checks the Jacobian against central
finite differences at the first iterate and at the solution, checks that the
residual vanished and that Newton converged quadratically, and exits with
status 1 if any check fails.
"""

import sys

import numpy as np

import s2s

N = 40  # interior grid points
LAM = 3.0  # below the turning point lam* ~ 3.51: two solutions, we find the lower one


def residual(u, lam):
    """F(u): the discretised -u'' - lam exp(u), with u = 0 at both ends."""
    h = 1.0 / (u.shape[0] + 1)
    padded = np.concatenate((np.zeros(1), u, np.zeros(1)))
    second_difference = (padded[:-2] - 2.0 * padded[1:-1] + padded[2:]) / h ** 2
    return -second_difference - lam * np.exp(u)


def fd_jacobian(func, u, *args, h=1e-6):
    """The Jacobian of func at u, one column per central difference."""
    columns = []
    for j in range(u.shape[0]):
        e = np.zeros_like(u)
        e[j] = h
        columns.append((func(u + e, *args) - func(u - e, *args)) / (2 * h))
    return np.stack(columns, axis=1)


def newton(u0, lam, tol=1e-10, max_steps=20):
    jacobian = s2s.jacfwd(residual)  # with respect to u (argnums=0)
    u = u0.copy()
    norms = []
    for step in range(max_steps):
        F = residual(u, lam)
        norms.append(np.linalg.norm(F, np.inf))
        print(f"  step {step:2d}   |F(u)|_inf = {norms[-1]:.3e}")
        if norms[-1] < tol:
            break
        J = jacobian(u, lam)
        u = u + np.linalg.solve(J, -F)
    return u, norms, jacobian


def main():
    t = np.linspace(0.0, 1.0, N + 2)[1:-1]
    u0 = 0.1 * np.sin(np.pi * t)
    print(f"Bratu problem, n = {N}, lam = {LAM}: Newton's method with s2s.jacfwd")
    u, norms, jacobian = newton(u0, LAM)

    checks = []
    for label, point in (("first iterate", u0), ("solution", u)):
        J = jacobian(point, LAM)
        J_fd = fd_jacobian(residual, point, LAM)
        error = np.max(np.abs(J - J_fd)) / np.max(np.abs(J_fd))
        checks.append((f"Jacobian at the {label} vs finite differences: rel. error "
                       f"{error:.1e}", error < 1e-6))
    checks.append((f"residual at the solution {norms[-1]:.1e} < 1e-10", norms[-1] < 1e-10))
    # quadratic convergence: each error about the square of the previous one
    rates = [np.log(norms[k + 1]) / np.log(norms[k]) for k in range(len(norms) - 2)
             if 1e-12 < norms[k] < 1e-1]
    checks.append((f"quadratic convergence (log-ratio of successive residuals "
                   f"{', '.join(f'{r:.2f}' for r in rates)})",
                   bool(rates) and max(rates) > 1.7))
    checks.append(("symmetric tridiagonal Jacobian",
                   np.allclose(J, J.T) and np.allclose(np.triu(J, 2), 0.0)))
    checks.append((f"max u = {u.max():.6f} (the lower solution, u > 0)",
                   0.0 < u.max() < 1.0))

    print()
    for text, ok in checks:
        print(f"  {'ok    ' if ok else 'FAILED'} {text}")
    print()
    print(f"Generated derivative code ({jacobian.calls} calls of it in total):")
    print()
    print(jacobian.source())
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
