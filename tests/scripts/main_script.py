"""Run as a script: differentiates functions defined in ``__main__`` and
prints the results, one ``name value tangent`` line each (repr of floats)."""

import numpy as np

import s2s


def energy(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        total = total + (x[i + 1] - x[i]) ** 2
    return total + np.sum(np.sin(x))


scaled = lambda x, k: k * np.tanh(x)  # noqa: E731


def main():
    x = np.array([0.5, -1.0, 2.0])
    out, out_dot = s2s.jvp(energy, (x,), (np.array([1.0, 0.0, -1.0]),))
    print("energy", repr(float(out)), repr(float(out_dot)))
    out, out_dot = s2s.jvp(scaled, (0.3, 2.0), (1.0, 0.5))
    print("scaled", repr(float(out)), repr(float(out_dot)))
    print("module", energy.__module__)


if __name__ == "__main__":
    main()
