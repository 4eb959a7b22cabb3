"""Realistic functions, written the way a scientist or ML engineer writes
them, for the end-to-end tests of ``s2s.jvp`` (tests/test_e2e.py).

This is a real module on disk so that s2s reads its source like a user's.
Every function is differentiable at the primals the tests choose (no ties,
no kinks). Nothing here imports s2s.
"""

import functools
import math

import numpy as np

# Constants read as globals (live) by the functions below.
LABELS = np.array([2, 0, 1, 2])
EPS = 1e-5
GRAVITY = 9.81


# -- activations and losses ------------------------------------------------------


def softmax(x):
    z = x - np.max(x)
    e = np.exp(z)
    return e / e.sum()


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def log_softmax_rows(logits):
    m = logits.max(axis=1, keepdims=True)
    shifted = logits - m
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits):
    """Mean negative log-likelihood of the integer LABELS (a global)."""
    logp = log_softmax_rows(logits)
    n = logits.shape[0]
    picked = logp[np.arange(n), LABELS]
    return -picked.mean()


sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731


def logistic_loss(params, X, y):
    """params is a tuple (w, b); y holds 0/1 targets as floats."""
    w, b = params
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def huber(residual, delta):
    small = np.abs(residual) < delta
    return np.sum(np.where(small, 0.5 * residual ** 2, delta * (np.abs(residual) - 0.5 * delta)))


# -- layers -------------------------------------------------------------------------


def mlp_layer(W, b, x):
    return np.tanh(W @ x + b)


def mlp(params, x):
    """params: a dict {'W1', 'b1', 'W2', 'b2'} of arrays (a pytree primal)."""
    h = mlp_layer(params["W1"], params["b1"], x)
    out = params["W2"] @ h + params["b2"]
    return softmax(out)


def rnn(h0, W, U, xs):
    h = h0
    for x_t in xs:
        h = np.tanh(W @ h + U @ x_t)
    return h


def rnn_states(h0, W, xs):
    """All hidden states, collected in a list and stacked."""
    states = []
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W.dot(h) + xs[t])
        states.append(h)
    return np.stack(states)


def batchnorm(x, gamma, beta):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return gamma * (x - mu) / np.sqrt(var + EPS) + beta


def attention(Q, K, V):
    d = Q.shape[-1]
    scores = Q @ K.T / np.sqrt(d)
    weights = np.stack([softmax(row) for row in scores])
    return weights @ V


# -- numerical methods ------------------------------------------------------------


def lotka_volterra(y, a, b):
    prey, pred = y[0], y[1]
    return np.array([a * prey - b * prey * pred, b * prey * pred - pred])


def rk4_step(y, dt, a, b):
    k1 = lotka_volterra(y, a, b)
    k2 = lotka_volterra(y + 0.5 * dt * k1, a, b)
    k3 = lotka_volterra(y + 0.5 * dt * k2, a, b)
    k4 = lotka_volterra(y + dt * k3, a, b)
    return y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rk4_integrate(y0, a, b):
    y = y0
    for _ in range(8):
        y = rk4_step(y, 0.05, a, b)
    return y


def pendulum_euler(theta0, omega0):
    """Semi-implicit Euler; a while loop on a Python float clock."""
    t = 0.0
    theta, omega = theta0, omega0
    dt = 0.01
    while t < 0.5 - 1e-9:
        omega = omega - GRAVITY * math.sin(theta) * dt
        theta = theta + omega * dt
        t += dt
    return theta, omega


def newton_sqrt(a):
    """Elementwise square root by Newton's method, iterated to convergence."""
    x = np.ones_like(a)
    while np.max(np.abs(x * x - a)) > 1e-14 * np.max(a):
        x = 0.5 * (x + a / x)
    return x


def fixed_point(c):
    """Solve y = 0.5 cos(y) + c by iteration with a tolerance."""
    y = c
    while True:
        y_new = 0.5 * np.cos(y) + c
        if np.max(np.abs(y_new - y)) < 1e-14:
            break
        y = y_new
    return y_new


def power_iteration(A):
    """Dominant eigenvalue of a symmetric matrix."""
    v = np.ones(A.shape[0]) / np.sqrt(A.shape[0])
    lam = 0.0
    for _ in range(500):
        w = A @ v
        v_new = w / np.linalg.norm(w)
        lam_new = v_new @ A @ v_new
        if abs(lam_new - lam) < 1e-15 * abs(lam_new):
            lam = lam_new
            break
        v = v_new
        lam = lam_new
    return lam


def gradient_descent(target, lr):
    """Unrolled optimisation of 0.5|x - target|^2 + 0.1 sum(x^4)."""
    x = np.zeros_like(target)
    for _ in range(20):
        grad = (x - target) + 0.4 * x ** 3
        x = x - lr * grad
    return x


def heat_equation(u0, kappa):
    u = u0.copy()
    r = kappa * 0.2
    for _ in range(5):
        u_new = u.copy()
        u_new[1:-1] = u[1:-1] + r * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u = u_new
    return u


def gaussian_logpdf(x, mu, cov):
    d = x - mu
    sol = np.linalg.solve(cov, d)
    sign, logdet = np.linalg.slogdet(cov)
    return -0.5 * (d @ sol + logdet + x.shape[0] * math.log(2.0 * math.pi))


# -- physics ------------------------------------------------------------------------


def lennard_jones(pos):
    """Total LJ energy of a few particles, double loop over pairs."""
    energy = 0.0
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            r2 = np.sum((pos[i] - pos[j]) ** 2)
            inv6 = 1.0 / r2 ** 3
            energy += 4.0 * (inv6 * inv6 - inv6)
    return energy


def spring_chain_energy(x, v, k):
    kinetic = 0.5 * np.sum(v ** 2)
    stretch = np.diff(x) - 1.0
    potential = 0.5 * k * np.sum(stretch ** 2)
    gravity = GRAVITY * x.sum()
    return kinetic + potential + gravity


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# -- polynomials, recursion -------------------------------------------------------


def horner(coeffs, x):
    """sum_k coeffs[k] x^k, highest degree first in the loop."""
    result = np.zeros_like(x)
    for c in coeffs[::-1]:
        result = result * x + c
    return result


def poly_rec(coeffs, x):
    if len(coeffs) == 1:
        return coeffs[0] + 0.0 * x
    return coeffs[0] + x * poly_rec(coeffs[1:], x)


def recursive_power(x, n):
    if n == 0:
        return np.ones_like(x)
    if n % 2 == 0:
        half = recursive_power(x, n // 2)
        return half * half
    return x * recursive_power(x, n - 1)


def power7(x):
    return recursive_power(x, 7)


def nested_sin(x, depth):
    return x if depth == 0 else np.sin(nested_sin(x, depth - 1)) + x


def nested_sin_3(x):
    return nested_sin(x, 3)


# -- closures ---------------------------------------------------------------------


def make_quadratic_form(A):
    def quadratic(x):
        return x @ A @ x + np.sum(A.diagonal() * x)

    return quadratic


def make_activation(scale):
    def scaled_tanh(z):
        return scale * np.tanh(z / scale)

    return scaled_tanh


quadratic_form = make_quadratic_form(np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 3.0]]))
scaled_tanh = make_activation(2.0)


def net_with_closure_activation(W, x):
    return scaled_tanh(W @ x).sum()


# -- in-place updates -------------------------------------------------------------


def finite_difference_stencil(x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(1, n):
        y[i] = x[i] - x[i - 1]
    y[1:] += 0.5 * x[:-1]
    y[0] = x[0] ** 2
    return y


def local_copy_update(x):
    x = x.copy()
    x += 1.0
    x *= x
    x[0] -= 3.0
    x[-1] /= 2.0
    return x


def scatter_rows(M, v):
    out = np.zeros((3, v.shape[0]))
    out[0] = v
    out[1, :] = M @ v
    out[2] += np.sin(v)
    out[:, 0] *= 2.0
    return out


def alias_update(x):
    """y aliases a (copied) array; updating y through the alias updates z."""
    z = x * 1.0
    y = z
    y[0] = y[0] * 3.0
    return z + y


def view_update(x):
    """v is a view of z: scaling v in place scales the tail of z."""
    z = x * 1.0
    v = z[1:]
    v *= np.exp(z[0])
    return z


# -- containers -------------------------------------------------------------------


def polynomial_features(x):
    return np.stack([x ** k for k in range(4)], axis=1)


def chained_product(x):
    mats = [np.outer(x, x), np.eye(x.size) + x[:, None], np.cos(x)[:, None] * x]
    return functools.reduce(np.dot, mats)  # mats[0] @ mats[1] @ mats[2]


def weighted_fold(x, w):
    # a lambda reading the function's values, from an initial value
    return functools.reduce(lambda acc, v: acc * np.cos(v) + w * v, x, np.ones_like(w))


def stacked_list(x):
    rows = []
    for i in range(3):
        rows.append(np.sin(x * (i + 1)))
    rows.append(x.reshape(-1) * 2.0)
    return np.stack(rows)


def moments(x):
    mean = x.mean()
    var = ((x - mean) ** 2).mean()
    return {"mean": mean, "var": var, "scaled": x / np.sqrt(var)}


def split_stats(x, y):
    return x * y, x + y, np.sum(x) - np.dot(x, y)


def list_of_arrays(xs):
    """xs: a list of arrays (a pytree primal)."""
    total = np.zeros_like(xs[0])
    for k, a in enumerate(xs):
        total = total + (k + 1) * a ** 2
    return total


def dict_params_loop(params):
    total = 0.0
    for name in sorted(params):
        total = total + np.sum(np.sin(params[name]))
    for _name, value in params.items():
        total = total + value.mean()
    return total


# -- methods, unpacking -----------------------------------------------------------


def methods_mix(A, x):
    y = A.T.dot(x).reshape(-1)
    return y.sum(axis=0) + A.mean() + (A * A).sum(axis=1) @ x


def fibonacci_arrays(a, b):
    for _ in range(5):
        a, b = b, a + 0.5 * b
    return a


def rotate(xy, angle):
    x, y = xy[0], xy[1]
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * x - s * y, s * x + c * y])


# -- Python scalars and the math module ----------------------------------------


def damped_oscillator(t):
    return math.exp(-0.3 * t) * math.cos(2.0 * t) + math.sqrt(1.0 + t * t) + math.atan2(t, 2.0)


def polar(x, y):
    r = math.hypot(x, y)
    theta = math.atan2(y, x)
    return r, theta


def taylor_exp(t):
    total = 0.0
    for k in range(15):
        total += t ** k / math.factorial(k)
    return total


# -- control flow on values ------------------------------------------------------


def piecewise(x):
    s = np.sum(x)
    if s > 2.0:
        y = np.exp(x)
    elif s > 0.0:
        y = x ** 2
    else:
        y = -x
    return y * 2.0


def chained_compare(x):
    s = x.sum()
    if 0.0 < s < 10.0:
        return np.sqrt(s) * x
    return x


def conditional_expression(x):
    scale = 2.0 if x[0] > x[1] else 0.5
    y = x ** 2 if x.sum() > 0 else -x
    return scale * y


def positive_sum_with_break(x):
    total = 0.0
    for v in x:
        if v < 0:
            continue
        if total > 5.0:
            break
        total = total + v ** 2
    return total


def first_large(x, threshold):
    for i in range(x.shape[0]):
        if x[i] > threshold:
            return x[i] * np.exp(x[i])
    return np.sum(x)


def zip_enumerate(x, w):
    total = 0.0
    for i, (a, b) in enumerate(zip(x, w)):
        total += (i + 1) * a * b
    return total


def comprehension_sum(x):
    return sum(np.sin(x[i]) * i for i in range(len(x)))


def list_comprehension_filter(x):
    return sum([v ** 2 for v in x if v > 0.0])


# -- exceptions and context managers -------------------------------------------


def safe_sqrt(x):
    try:
        if np.any(x < 0):
            raise ValueError("negative input")
        y = np.sqrt(x)
    except ValueError:
        y = np.sqrt(np.abs(x))
    finally:
        scale = 3.0
    return scale * y


def guarded_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(x)
    return np.where(x > 0, logs, x)


def mutate_argument(x):
    """Mutates its argument in place, as plain Python would."""
    x *= 2.0
    x[0] = np.sin(x[0])
    return x.sum()
