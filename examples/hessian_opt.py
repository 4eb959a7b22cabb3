"""Newton's method on a Rosenbrock-like loss, with the gradient from
s2s.jacfwd and the Hessian from s2s.hessian (jacfwd of the generated jacfwd
code). Checks both against finite differences, then minimises."""

import sys

import numpy as np

import s2s


def loss(x):
    """The extended Rosenbrock function plus a small quartic term."""
    total = 0.0
    for i in range(x.shape[0] - 1):
        total = total + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total + 0.01 * np.sum(x ** 4)


def main():
    grad = s2s.jacfwd(loss)
    hess = s2s.hessian(loss)
    x = np.array([-1.2, 1.0, -0.5, 0.8, 1.1])

    # check the derivatives at the starting point
    h = 1e-5
    n = x.size
    eye = np.eye(n)
    fd_grad = np.array([(loss(x + h * e) - loss(x - h * e)) / (2 * h) for e in eye])
    fd_hess = np.array([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in eye])
    g_err = np.max(np.abs(grad(x) - fd_grad)) / np.max(np.abs(fd_grad))
    h_err = np.max(np.abs(hess(x) - fd_hess)) / np.max(np.abs(fd_hess))
    print(f"gradient vs finite differences: relative error {g_err:.2e}")
    print(f"Hessian  vs finite differences: relative error {h_err:.2e}")

    # Newton's method, damped (Levenberg-Marquardt) where the Hessian is not
    # positive definite or the full step goes uphill
    lam = 1e-3
    steps = 0
    while steps < 100:
        steps += 1
        g = grad(x)
        if np.linalg.norm(g) < 1e-10:
            break
        H = hess(x)
        for _ in range(30):
            dx = np.linalg.solve(H + lam * np.eye(n), -g)
            if loss(x + dx) < loss(x):
                lam = max(lam / 10.0, 1e-12)
                break
            lam *= 10.0
        else:
            break  # no step decreases the loss: at a minimum to working precision
        x = x + dx
    g_norm = np.linalg.norm(grad(x))
    definite = bool(np.all(np.linalg.eigvalsh(hess(x)) > 0))
    print(f"after {steps} Newton steps: loss {loss(x):.6g}, |gradient| {g_norm:.1e}, "
          f"Hessian positive definite: {definite}")
    print(f"x = {np.round(x, 6)}")
    ok = g_err < 1e-6 and h_err < 1e-5 and g_norm < 1e-6 and definite
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
