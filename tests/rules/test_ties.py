"""Where a function is not differentiable, finite differences say nothing
and the rules follow a convention: ties between the candidates of max and
min share the tangent equally."""

import numpy as np
from helpers import make_function

import s2s


def _jvp(src, x, t):
    f = make_function(src)
    return s2s.jvp(f, (x,), (t,))[1]


def test_max_reduction_ties_share_the_tangent():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])
    t = np.array([[5.0, 1.0, 2.0], [1.0, 7.0, 3.0]])
    tangent = _jvp("def f(x):\n    return np.max(x, axis=1)\n", x, t)
    np.testing.assert_allclose(tangent, [1.5, 2.0])


def test_min_reduction_ties_share_the_tangent():
    x = np.array([1.0, 0.5, 0.5])
    tangent = _jvp("def f(x):\n    return np.min(x)\n", x, np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(tangent, 3.0)


def test_maximum_ties_share_the_tangent():
    x = np.array([-1.0, 0.0, 2.0])
    tangent = _jvp("def f(x):\n    return np.maximum(x, 0.0)\n", x, np.ones(3))
    np.testing.assert_allclose(tangent, [0.0, 0.5, 1.0])


def test_inf_norm_ties_share_the_tangent():
    x = np.array([2.0, -2.0, 1.0])
    tangent = _jvp("def f(x):\n    return np.linalg.norm(x, np.inf)\n", x,
                   np.array([1.0, 3.0, 5.0]))
    np.testing.assert_allclose(tangent, (1.0 - 3.0) / 2)


def test_builtin_max_ties_share_the_tangent():
    f = make_function("def f(x, y):\n    return max(x, y)\n")
    _, tangent = s2s.jvp(f, (1.5, 1.5), (1.0, 3.0))
    assert tangent == 2.0
