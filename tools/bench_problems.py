"""The problems of tools/bench.py, each written once, as plain NumPy code.

s2s transforms these functions as they are. JAX, autograd and torch run the
very same code objects with ``np`` bound to their own array module
(:func:`rebind`); only where torch spells a NumPy call differently
(``torch.amax`` with ``dim``, ``torch.stack``) is there a torch version, in
:func:`torch_namespace`. Under ``jax.jit`` the RK4 loop is a
``lax.fori_loop`` over the same step (:func:`jax_jit_namespace`).
"""

import dataclasses
import types

import numpy as np

_rng = np.random.default_rng(0)
W1, B1 = _rng.normal(size=(256, 64)) / 8, _rng.normal(size=256)
W2, B2 = _rng.normal(size=(10, 256)) / 16, _rng.normal(size=10)
WH, WX = _rng.normal(size=(32, 32)) / 6, _rng.normal(size=(32, 32)) / 6
XS = _rng.normal(size=(50, 32))  # the RNN's input sequence: 50 steps


def square(x):
    return x * x


def elementwise(x):
    return np.sin(x) * np.exp(-x * x) + np.tanh(x) / (1 + x * x)


def mlp(x):
    h = np.tanh(W1 @ x + B1)
    return W2 @ h + B2


def rnn(h):
    for t in range(XS.shape[0]):
        h = np.tanh(WH @ h + WX @ XS[t])
    return h


def lorenz(u, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = u[0], u[1], u[2]
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def rk4_step(u, dt=0.01):
    k1 = lorenz(u)
    k2 = lorenz(u + 0.5 * dt * k1)
    k3 = lorenz(u + 0.5 * dt * k2)
    k4 = lorenz(u + dt * k3)
    return u + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def integrate(u, steps):
    for _ in range(steps):
        u = rk4_step(u)
    return u


def rk4(u):
    return integrate(u, 200)


def rk4_quick(u):
    return integrate(u, 20)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def logsumexp(x):
    m = np.max(x, axis=-1, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=-1)) + m[..., 0]


# -- hand-written JVPs: what a person would write, primal and tangent fused --


def elementwise_jvp_by_hand(x, x_dot):
    s, x2, t = np.sin(x), x * x, np.tanh(x)
    e, d = np.exp(-x2), 1 + x2
    q = t / d
    # d/dx (s e) = e (cos x - 2 x s);  d/dx (t / d) = ((1 - t^2) - 2 x q) / d
    return s * e + q, (e * (np.cos(x) - 2 * x * s) + (1 - t * t - 2 * x * q) / d) * x_dot


def mlp_jvp_by_hand(x, x_dot):
    h = np.tanh(W1 @ x + B1)
    return W2 @ h + B2, W2 @ ((1 - h * h) * (W1 @ x_dot))


def lorenz_jvp_by_hand(u, u_dot, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = u[0], u[1], u[2]
    dx, dy, dz = u_dot[0], u_dot[1], u_dot[2]
    return (np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z]),
            np.array([sigma * (dy - dx), dx * (rho - z) - x * dz - dy, dx * y + x * dy - beta * dz]))


def rk4_step_jvp_by_hand(u, u_dot, dt=0.01):
    h = 0.5 * dt
    k1, d1 = lorenz_jvp_by_hand(u, u_dot)
    k2, d2 = lorenz_jvp_by_hand(u + h * k1, u_dot + h * d1)
    k3, d3 = lorenz_jvp_by_hand(u + h * k2, u_dot + h * d2)
    k4, d4 = lorenz_jvp_by_hand(u + dt * k3, u_dot + dt * d3)
    c = dt / 6.0
    return u + c * (k1 + 2.0 * k2 + 2.0 * k3 + k4), u_dot + c * (d1 + 2.0 * d2 + 2.0 * d3 + d4)


def integrate_jvp_by_hand(u, u_dot, steps):
    for _ in range(steps):
        u, u_dot = rk4_step_jvp_by_hand(u, u_dot)
    return u, u_dot


def rk4_jvp_by_hand(u, u_dot):
    return integrate_jvp_by_hand(u, u_dot, 200)


def rk4_quick_jvp_by_hand(u, u_dot):
    return integrate_jvp_by_hand(u, u_dot, 20)


def rosenbrock_jvp_by_hand(x, x_dot):
    a, a_dot = x[:-1], x_dot[:-1]
    d, e = x[1:] - a * a, 1.0 - a
    # d/dx sum(100 d^2 + e^2) = sum(200 d (b' - 2 a a') - 2 e a')
    return (np.sum(100.0 * d * d + e * e),
            np.sum(200.0 * d * (x_dot[1:] - 2.0 * a * a_dot) - 2.0 * e * a_dot))


# -- the problems ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    name: str  # the row label, and the name --problems takes
    size: str  # what the sizes are, for the reader
    fn: object  # the NumPy function
    x: np.ndarray  # its input
    transforms: tuple  # which of "jvp", "jacfwd", "hessian" are measured
    hand_jvp: object = None  # a hand-written NumPy JVP, (x, x_dot) -> (out, out_dot)


def problems(quick=False):
    """The problems of issue 6; ``quick``: RK4 over 20 steps instead of 200
    and the large elementwise problem at n=1e5 instead of 1e6."""
    rng = np.random.default_rng(1)
    large, large_size = (10**5, "n=1e5") if quick else (10**6, "n=1e6")
    steps, integrator, integrator_jvp = (
        ("Lorenz, 20 steps", rk4_quick, rk4_quick_jvp_by_hand) if quick
        else ("Lorenz, 200 steps", rk4, rk4_jvp_by_hand))
    return [
        Problem("square", "0-d", square, np.array(1.3), ("jvp", "jacfwd", "hessian")),
        Problem("elementwise-small", "n=100", elementwise, rng.normal(size=100),
                ("jvp", "jacfwd"), elementwise_jvp_by_hand),
        Problem("elementwise-large", large_size, elementwise,
                rng.normal(size=large), ("jvp",), elementwise_jvp_by_hand),
        Problem("mlp", "64-256-10", mlp, rng.normal(size=64), ("jvp", "jacfwd"),
                mlp_jvp_by_hand),
        Problem("rnn", "32 units, 50 steps", rnn, rng.normal(size=32), ("jvp", "jacfwd")),
        Problem("rk4", steps, integrator, np.array([1.0, 1.0, 1.0]), ("jvp", "jacfwd"),
                integrator_jvp),
        Problem("rosenbrock", "n=100", rosenbrock, rng.uniform(-1.5, 1.5, size=100),
                ("jvp", "jacfwd", "hessian"), rosenbrock_jvp_by_hand),
        Problem("softmax", "128x64", softmax, rng.normal(size=(128, 64)), ("jvp",)),
        Problem("logsumexp", "128x64", logsumexp, rng.normal(size=(128, 64)), ("jvp",)),
    ]


# -- the same code on other array libraries ---------------------------------------


def rebind(xp, convert):
    """This module's namespace with ``np`` bound to ``xp`` and every array
    constant passed through ``convert``: each function is the same code
    object, called with these globals."""
    namespace = dict(globals(), np=xp)
    for name, value in globals().items():
        if isinstance(value, np.ndarray):
            namespace[name] = convert(value)
        elif isinstance(value, types.FunctionType) and value.__module__ == __name__:
            namespace[name] = types.FunctionType(value.__code__, namespace, name,
                                                 value.__defaults__, value.__closure__)
    return namespace


def torch_namespace(torch):
    """The problems on torch tensors: :func:`rebind`, and torch's spelling of
    the three functions whose NumPy calls torch spells differently."""
    namespace = rebind(torch, torch.from_numpy)

    def lorenz(u, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
        x, y, z = u[0], u[1], u[2]
        return torch.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])

    def softmax(x):
        e = torch.exp(x - torch.amax(x, dim=-1, keepdim=True))
        return e / torch.sum(e, dim=-1, keepdim=True)

    def logsumexp(x):
        m = torch.amax(x, dim=-1, keepdim=True)
        return torch.log(torch.sum(torch.exp(x - m), dim=-1)) + m[..., 0]

    namespace.update(lorenz=lorenz, softmax=softmax, logsumexp=logsumexp)
    return namespace


def jax_jit_namespace(jax):
    """The problems on JAX arrays for ``jax.jit``: :func:`rebind`, with the
    RK4 loop as a ``lax.fori_loop`` over the same step, since XLA needs
    minutes to compile 200 unrolled steps (measured: 12 s for 10 steps, 60 s
    for 40)."""
    namespace = rebind(jax.numpy, jax.numpy.asarray)
    step = namespace["rk4_step"]

    def integrate(u, steps):
        return jax.lax.fori_loop(0, steps, lambda _, u: step(u), u)

    namespace["integrate"] = integrate
    return namespace
