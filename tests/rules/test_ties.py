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


def _mean_of_ties(a, a_dot, reduce, axis, keepdims):
    z = reduce(a, axis=axis, keepdims=True)
    hit = a == z
    return (np.sum(np.where(hit, a_dot, 0.0), axis=axis, keepdims=keepdims)
            / np.sum(hit, axis=axis, keepdims=keepdims))


def test_extremum_tangent_picks_the_one_hit_per_line_on_every_axis():
    # the helper's shortcut without ties (a gather on the last axis) against the mean
    rng = np.random.default_rng(3)
    a, a_dot = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    for reduce in (np.max, np.min):
        for axis in (None, 0, 1, 2, -1, (1, 2)):
            for keepdims in (False, True):
                z = reduce(a, axis=axis, keepdims=keepdims)
                got = s2s.runtime.extremum_tangent(a, z, a_dot, axis, keepdims)
                want = _mean_of_ties(a, a_dot, reduce, axis, keepdims)
                assert np.shape(got) == np.shape(want), (reduce, axis, keepdims)
                np.testing.assert_allclose(got, want, rtol=1e-15)


def test_extremum_tangent_with_a_nan_line_and_a_tie_elsewhere():
    # as many hits as lines, but two in one line and none in the NaN line:
    # the tie still shares, the NaN line's tangent is NaN
    a = np.array([[1.0, 3.0, 3.0], [np.nan, 0.0, 1.0]])
    a_dot = np.array([[5.0, 1.0, 2.0], [1.0, 7.0, 3.0]])
    z = np.max(a, axis=-1)
    with np.errstate(invalid="ignore"):
        got = s2s.runtime.extremum_tangent(a, z, a_dot, -1, False)
    np.testing.assert_array_equal(got, [1.5, np.nan])
