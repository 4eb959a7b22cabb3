"""Sensitivities of an ODE solution with s2s.jacfwd: the Lorenz system.

Run it from the repository root after installing s2s::

    python examples/ode_sensitivity.py

The Lorenz system

    x' = sigma (y - x),   y' = x (rho - z) - y,   z' = x y - beta z

is integrated with the classical fourth-order Runge-Kutta method, written as
a plain Python loop. s2s.jacfwd(integrate, argnums=(0, 1)) differentiates the
whole loop and gives, in one call, the Jacobian of the final state with
respect to the initial state (3 x 3) and with respect to the parameters
(sigma, rho, beta) (3 x 3): forward sensitivity analysis without deriving
the variational equations by hand.

The script prints both Jacobians, checks them against central finite
differences and checks a property of the flow: the Lorenz flow contracts
volumes at a constant rate, so the determinant of the state Jacobian is
exp(-(sigma + 1 + beta) t), up to the RK4 error. It exits with status 1 if
a check fails.
"""

import sys

import numpy as np

import s2s

DT = 0.01
STEPS = 100  # integrate up to t = 1


def lorenz(state, params):
    x, y, z = state[0], state[1], state[2]
    sigma, rho, beta = params[0], params[1], params[2]
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def integrate(state0, params):
    """RK4 from t = 0 to t = STEPS * DT; returns the final state."""
    state = state0
    for _ in range(STEPS):
        k1 = lorenz(state, params)
        k2 = lorenz(state + 0.5 * DT * k1, params)
        k3 = lorenz(state + 0.5 * DT * k2, params)
        k4 = lorenz(state + DT * k3, params)
        state = state + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return state


def fd_jacobian(func, args, argnum, h=1e-6):
    """Columns of d func / d args[argnum] by central differences."""
    columns = []
    for j in range(args[argnum].shape[0]):
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[argnum][j] += h
        minus[argnum][j] -= h
        columns.append((func(*plus) - func(*minus)) / (2 * h))
    return np.stack(columns, axis=1)


def main():
    state0 = np.array([1.0, 1.0, 1.0])
    params = np.array([10.0, 28.0, 8.0 / 3.0])  # sigma, rho, beta

    jacobian = s2s.jacfwd(integrate, argnums=(0, 1))
    d_state0, d_params = jacobian(state0, params)
    final = integrate(state0, params)

    np.set_printoptions(precision=5, suppress=True)
    print(f"Lorenz system, RK4, {STEPS} steps of {DT}: final state {final}")
    print()
    print("d final / d initial state:")
    print(d_state0)
    print()
    print("d final / d (sigma, rho, beta):")
    print(d_params)
    print()

    checks = []
    for label, computed, argnum in (("initial state", d_state0, 0), ("parameters", d_params, 1)):
        expected = fd_jacobian(integrate, [state0, params], argnum)
        error = np.max(np.abs(computed - expected)) / np.max(np.abs(expected))
        checks.append((f"Jacobian w.r.t. the {label} vs finite differences: rel. error "
                       f"{error:.1e}", computed.shape == (3, 3) and error < 1e-6))
    t = STEPS * DT
    volume = np.exp(-(params[0] + 1.0 + params[2]) * t)
    det = np.linalg.det(d_state0)
    checks.append((f"det(d final / d initial) = {det:.6e}, volume contraction "
                   f"exp(-(sigma + 1 + beta) t) = {volume:.6e}",
                   abs(det - volume) < 1e-3 * volume))  # up to the RK4 error
    checks.append((f"one vectorised call of the generated derivative ({jacobian.calls})",
                   jacobian.calls == 1))

    for text, ok in checks:
        print(f"  {'ok    ' if ok else 'FAILED'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
