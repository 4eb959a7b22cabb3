"""The quick start on the GPU: the same function and the same s2s calls, on
CuPy arrays.

Run it on a machine with an NVIDIA GPU after ``pip install '.[cuda]'``::

    python examples/gpu.py

``f`` is written with ``np.`` calls, as in examples/quickstart.py; given
CuPy arrays, the generated code's first line picks CuPy for the call
(``xp = _s2s.namespace_of(x, w, x_dot, w_dot)``), so everything runs on the
device and the results are CuPy arrays: no array crosses to the host. Only
the ``if`` on ``y.sum() > 0`` copies one number to the host, as Python
control flow on a device value does.

The script checks ``s2s.jvp`` and ``s2s.jacfwd`` against central finite
differences computed on the device, and exits with status 1 if a check fails
or if there is no CuPy or no GPU (saying which).
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


def load_cupy():
    """CuPy, if it is installed and sees a CUDA device; else None, having said why."""
    try:
        import cupy
    except ImportError:
        print("examples/gpu.py needs CuPy, which is not installed\n"
              "  what to do: pip install 's2s[cuda]' (CuPy for CUDA 12), or the CuPy package "
              "for your CUDA version (https://docs.cupy.dev/en/stable/install.html)",
              file=sys.stderr)
        return None
    if not cupy.is_available():
        print("examples/gpu.py found CuPy but no usable CUDA device (cupy.is_available() is "
              "False)\n  what to do: run it on a machine with an NVIDIA GPU and its driver; "
              "examples/quickstart.py is the same example on NumPy", file=sys.stderr)
        return None
    return cupy


def main():
    cp = load_cupy()
    if cp is None:
        return 1
    x = cp.asarray([0.5, 1.0, 1.5])
    w = cp.asarray([1.0, -2.0, 0.5])  # y.sum() < 0 at first: both branches run
    x_dot = cp.asarray([0.3, -1.2, 0.8])
    w_dot = cp.asarray([1.1, 0.4, -0.7])

    out, out_dot = s2s.jvp(f, (x, w), (x_dot, w_dot))
    h = 1e-6
    fd = (f(x + h * x_dot, w + h * w_dot) - f(x - h * x_dot, w - h * w_dot)) / (2 * h)
    jvp_ok = isinstance(out_dot, cp.ndarray) and abs(float(out_dot - fd)) <= 1e-6 * max(
        1.0, abs(float(fd)))

    jac = s2s.jacfwd(f)(x, w)  # df/dx, shape (3,), one vectorised pass on the device
    fd_jac = cp.stack([(f(x + h * e, w) - f(x - h * e, w)) / (2 * h) for e in cp.eye(3)])
    jac_ok = isinstance(jac, cp.ndarray) and float(cp.max(cp.abs(jac - fd_jac))) <= 1e-6 * max(
        1.0, float(cp.max(cp.abs(fd_jac))))

    print(f"device: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"f(x, w)                 = {float(out):.12f}  ({type(out).__module__})")
    print(f"jvp (s2s)               = {float(out_dot):.12f}")
    print(f"jvp (finite difference) = {float(fd):.12f}  {'ok' if jvp_ok else 'FAILED'}")
    print(f"jacfwd (s2s)            = {cp.asnumpy(jac)}")
    print(f"jacfwd (finite diff.)   = {cp.asnumpy(fd_jac)}  {'ok' if jac_ok else 'FAILED'}")
    print()
    print("The generated code, the same as on NumPy (s2s.source(f)):")
    print()
    print(s2s.source(f))
    return 0 if jvp_ok and jac_ok else 1


if __name__ == "__main__":
    np.set_printoptions(precision=10)
    sys.exit(main())
