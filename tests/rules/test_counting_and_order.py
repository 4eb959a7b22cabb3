"""The rules for casts, counting, scans of extrema, interpolation,
polynomials, order statistics, grids and histograms, on what the generic
tests (test_rules.py, test_batching.py) cannot make: keyword-only
arguments they leave as constants, ties, arguments a rule refuses, and
vmap over examples that cannot be stacked."""

import numpy as np
import pytest
from helpers import central_difference, make_function

import s2s
from s2s.errors import InputError, NoRuleError


def _jvp_against_fd(src, primals, seed=0, rtol=1e-6, namespace=None):
    f = make_function(src, namespace)
    rng = np.random.default_rng(seed)
    tangents = tuple(rng.normal(size=np.shape(p)) for p in primals)
    out, tangent = s2s.jvp(f, primals, tangents)
    np.testing.assert_allclose(tangent, central_difference(f, primals, tangents),
                               rtol=rtol, atol=1e-6)
    return out, tangent


# -- casts --------------------------------------------------------------------------


def test_float32_cast_tangent_has_the_primal_dtype():
    f = make_function("def f(x):\n    return np.float32(x) * 2\n")
    x, t = np.array([1.0, 2.0]), np.array([0.1 + 1e-12, 3.0])
    out, tangent = s2s.jvp(f, (x,), (t,))
    assert out.dtype == tangent.dtype == np.float32
    np.testing.assert_array_equal(tangent, np.float32(t) * 2)


def test_integer_cast_carries_no_derivative():
    f = make_function("def f(x):\n    return np.int64(x) * x\n")
    _, tangent = s2s.jvp(f, (np.array([1.5, 2.5]),), (np.ones(2),))
    np.testing.assert_array_equal(tangent, [1.0, 2.0])


# -- bincount -----------------------------------------------------------------------


def test_bincount_with_keyword_weights():
    _jvp_against_fd("def f(w):\n    return np.bincount(IDX, weights=w * w, minlength=7)\n",
                    (np.array([0.5, -1.0, 2.0, 1.5]),), namespace={"IDX": np.array([3, 0, 3, 5])})


def test_bincount_jacobian_with_keyword_weights():
    f = make_function("def f(w):\n    return np.bincount(IDX, weights=w, minlength=5)\n",
                      {"IDX": np.array([3, 0, 3])})
    jac = s2s.jacfwd(f)
    np.testing.assert_array_equal(jac(np.ones(3)), [[0, 1, 0], [0, 0, 0], [0, 0, 0],
                                                    [1, 0, 1], [0, 0, 0]])
    assert "map_batched" not in jac.source()


def test_bincount_vmap_over_bins_of_different_lengths_cannot_stack():
    f = make_function("def f(x, w):\n    return np.bincount(x, w)\n")
    x = np.array([[0, 1, 1], [0, 1, 3]])
    with pytest.raises(InputError, match="shapes"):
        s2s.vmap(f)(x, np.ones((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        s2s.vmap(f)(np.array([[0, 1, 1], [0, -1, 3]]), np.ones((2, 3)))


# -- running extrema ------------------------------------------------------------------


def _running_mean_of_ties(a, a_dot, accumulate):
    # the tangent at i: the mean of a_dot[j] over j <= i with a[j] equal to z[i]
    z = accumulate(a)
    return np.array([np.mean(a_dot[: i + 1][a[: i + 1] == z[i]]) for i in range(len(a))])


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum])
def test_accumulate_ties_share_the_tangent(ufunc):
    a = np.array([1.0, 3.0, 1.0, 3.0, 3.0, 0.5, 4.0, 0.5, 0.5, 4.0])
    a_dot = np.arange(1.0, 11.0) ** 2
    f = make_function("def f(x):\n    return UFUNC.accumulate(x)\n", {"UFUNC": ufunc})
    _, tangent = s2s.jvp(f, (a,), (a_dot,))
    np.testing.assert_allclose(tangent, _running_mean_of_ties(a, a_dot, ufunc.accumulate),
                               rtol=1e-14)


def test_accumulate_along_an_axis_with_ties_and_a_batch_of_tangents():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 3, size=(4, 6, 3)).astype(float)  # many ties
    basis = rng.normal(size=(5, 4, 6, 3))
    for axis in (0, 1, -1):
        got = s2s.runtime.accumulated_extremum_tangent(a, np.maximum.accumulate(a, axis), basis,
                                                        axis)
        for k in range(5):
            moved_a, moved_d = np.moveaxis(a, axis, -1), np.moveaxis(basis[k], axis, -1)
            rows = [_running_mean_of_ties(r, d, np.maximum.accumulate)
                    for r, d in zip(moved_a.reshape(-1, a.shape[axis]),
                                    moved_d.reshape(-1, a.shape[axis]))]
            expected = np.moveaxis(np.reshape(rows, moved_a.shape), -1, axis)
            np.testing.assert_allclose(got[k], expected, rtol=1e-13, atol=1e-15)


def test_accumulate_refuses_a_dtype():
    f = make_function("def f(x):\n    return np.maximum.accumulate(x, dtype=np.float32)\n")
    with pytest.raises(NoRuleError, match="does not cover this call"):
        s2s.jvp(f, (np.ones(3),), (np.ones(3),))


# -- interp -------------------------------------------------------------------------


def _vmap_against_loop(src, args, in_dims):
    f = make_function(src)
    vm = s2s.vmap(f, in_dims=in_dims)
    size = next(np.shape(a)[0] for a, d in zip(args, in_dims) if d is not None)
    expected = np.stack([f(*[a[b] if d is not None else a for a, d in zip(args, in_dims)])
                         for b in range(size)])
    np.testing.assert_allclose(vm(*args), expected, rtol=1e-13, atol=0)
    assert "map_batched" not in vm.source()


def test_interp_batched_points_at_the_points_the_ends_and_nan():
    x = np.array([-1.0, 0.0, 0.5, 2.0, 2.5, np.nan, 1.0])
    points = np.array([[-1.0, 0.0, 0.5, 2.0], [0.0, 0.5, 1.0, 2.0], [-3.0, -2.0, 0.5, 1.0]])
    values = np.array([[1.0, -0.5, 2.0, 0.25], [0.0, 1.0, 4.0, 9.0], [2.0, 2.0, 2.0, -1.0]])
    _vmap_against_loop("def f(x, p, v):\n    return np.interp(x, p, v)\n", (x, points, values),
                       (None, 0, 0))
    _vmap_against_loop("def f(x, p, v):\n    return np.interp(x, p, v, -7.0, 7.0)\n",
                       (x, points, values[0]), (None, 0, None))
    _vmap_against_loop("def f(x, p, v):\n    return np.interp(x, p, v, period=1.5)\n",
                       (x, points, values), (None, 0, 0))


def test_interp_at_a_point_takes_the_slope_to_its_right():
    f = make_function("def f(x):\n    return np.interp(x, XP, FP)\n",
                      {"XP": np.array([0.0, 1.0, 2.0]), "FP": np.array([0.0, 2.0, 1.0])})
    _, tangent = s2s.jvp(f, (np.array([0.0, 1.0, 2.0, -1.0, 3.0]),), (np.ones(5),))
    np.testing.assert_array_equal(tangent, [2.0, -1.0, 0.0, 0.0, 0.0])


# -- order statistics -----------------------------------------------------------------


def test_median_of_tied_values_takes_the_mean_of_their_tangents():
    f = make_function("def f(x):\n    return np.median(x)\n")
    x = np.array([2.0, 1.0, 2.0, 5.0, 2.0])  # the median, 2.0, three times
    _, tangent = s2s.jvp(f, (x,), (np.array([1.0, 10.0, 2.0, 20.0, 6.0]),))
    np.testing.assert_allclose(tangent, 3.0)


@pytest.mark.parametrize("call", ["np.quantile(x, 0.3, method='nearest')",
                                  "np.percentile(x, 30.0, method=METHOD)",
                                  "np.median(x, overwrite_input=True)"])
def test_quantile_refuses_what_its_rule_does_not_cover(call):
    f = make_function(f"def f(x):\n    return {call}\n", {"METHOD": "lower"})
    with pytest.raises(NoRuleError, match="no forward-mode rule for numpy") as info:
        s2s.jvp(f, (np.ones(4),), (np.ones(4),))
    assert call in str(info.value)  # the user's line


def test_quantile_vmap_over_values_and_quantiles_with_nan():
    a = np.array([[3.0, 1.0, 2.0, 0.5], [1.0, np.nan, 2.0, 4.0], [0.0, 0.0, 1.0, 1.0]])
    q = np.array([[0.1, 0.5], [0.2, 0.3], [1.0, 0.0]])
    _vmap_against_loop("def f(a, q):\n    return np.quantile(a, q)\n", (a, q), (0, 0))
    _vmap_against_loop("def f(a, q):\n    return np.percentile(a, q, keepdims=True)\n",
                       (a[0], q * 100), (None, 0))
    _vmap_against_loop("def f(a, q):\n    return np.quantile(a, q, axis=-1)\n",
                       (np.stack([a, a[::-1]]), q[:2]), (0, 0))


# -- histogram ------------------------------------------------------------------------


def test_histogram_jacobians_do_not_loop():
    f = make_function("def f(a, w):\n    return np.histogram(a * a, 4, weights=w * a)\n")
    a = np.array([0.3, -1.2, 0.8, 2.0, -0.1, 1.1])
    w = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 1.0])
    for argnum in (0, 1):
        jac = s2s.jacfwd(f, argnums=argnum)
        counts, edges = jac(a, w)
        for k in range(a.size):
            direction = np.eye(a.size)[k]
            tangents = (direction, 0 * w) if argnum == 0 else (0 * a, direction)
            want = central_difference(f, (a, w), tangents)
            np.testing.assert_allclose(counts[:, k], want[0], atol=1e-6)
            np.testing.assert_allclose(edges[:, k], want[1], atol=1e-6)
        assert "map_batched" not in jac.source()


@pytest.mark.parametrize("call", ["np.histogram(x, 3, density=True)",
                                  "np.histogram(x, 3, range=(x[0], 5.0), weights=x)"])
def test_histogram_refuses_what_its_rule_does_not_cover(call):
    f = make_function(f"def f(x):\n    return {call}\n")
    with pytest.raises(NoRuleError, match="numpy.histogram with") as info:
        s2s.jvp(f, (np.arange(4.0),), (np.ones(4),))
    assert call in str(info.value)


def _poly_of_x(x):
    return np.sum(np.polyval(_P, x) ** 2)


def _poly_of_p(p):
    return np.sum(np.polyval(p, _X) ** 2)


def _poly_of_both(p):
    return np.sum(np.polyval(p, 0.3 + p) ** 2)


_P, _X = np.array([0.5, -1.0, 2.0, 0.3]), np.array([-0.7, 0.2, 1.1])


@pytest.mark.parametrize("f, at", [(_poly_of_x, _X), (_poly_of_p, _P), (_poly_of_both, _P)])
def test_polyval_second_derivatives(f, at):
    # the derivative in x is written as arithmetic on p's coefficients (no polyder call),
    # which the second derivative differentiates again
    hessian = s2s.hessian(f)(at)
    jacobian = s2s.jacfwd(f)
    fd = np.stack([(jacobian(at + 1e-6 * e) - jacobian(at - 1e-6 * e)) / 2e-6
                   for e in np.eye(len(at))])
    np.testing.assert_allclose(hessian, fd, rtol=1e-6, atol=1e-6)


def test_polyval_of_float32_keeps_float32():
    p, x = np.array([0.5, -1.0, 2.0], np.float32), np.array([0.3, 0.7], np.float32)
    for primals, tangents in (((p, x), (np.ones(3, np.float32), np.ones(2, np.float32))),):
        out, out_dot = s2s.jvp(np.polyval, primals, tangents)
        assert out.dtype == out_dot.dtype == np.float32


@pytest.mark.parametrize("a, axis", [(np.array([]), None), (np.zeros((0, 3)), 0)])
def test_median_of_no_values_is_nan_with_a_nan_tangent(a, axis):
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        out, out_dot = s2s.jvp(lambda v: np.median(v, axis=axis), (a,), (np.ones_like(a),))
    assert np.all(np.isnan(out)) and np.shape(out_dot) == np.shape(out)
    assert np.all(np.isnan(out_dot))


# -- second derivatives through order statistics, running extrema, histograms -----------


def _median_times_sum(x):
    return np.median(np.sin(x) * x) * np.sum(x)


def _quantiles(x):
    return np.sum(np.quantile(x * x, [0.25, 0.8])) * x[0]


def _percentile_squared(x):
    return np.percentile(np.exp(x), 40) ** 2


def _running_max(x):
    return np.sum(np.maximum.accumulate(np.sin(3 * x)) * x)


def _weighted_histogram(x):
    return np.sum(np.histogram(x, bins=3, weights=x * x)[0] ** 2)


def _dict_of_pairs(x):
    d = dict([("a", x * x), ("b", np.sin(x))])
    return np.sum(d["a"] * d["b"])


_AT = np.array([0.3, -1.1, 0.75, 1.4, -0.2])


@pytest.mark.parametrize("f", [_median_times_sum, _quantiles, _percentile_squared, _running_max,
                               _weighted_histogram, _dict_of_pairs], ids=lambda f: f.__name__)
def test_second_derivatives_through_selections(f):
    # the tangents of these are linear in the values' tangents, with weights the
    # values' order chooses (locally constant): their hessians were refused
    hessian = s2s.hessian(f)(_AT)
    jacobian = s2s.jacfwd(f)
    fd = np.stack([(jacobian(_AT + 1e-6 * e) - jacobian(_AT - 1e-6 * e)) / 2e-6
                   for e in np.eye(_AT.size)])
    np.testing.assert_allclose(hessian, fd, rtol=1e-5, atol=1e-6)


def _quantile_at_a_moving_level(x):
    return np.quantile(x, 1 / (1 + np.exp(-x[0])))


def test_second_derivative_in_a_quantile_s_level_is_refused():
    # d/dq moves with the values (the gap between two sorted values): a rule
    # linear in the values' tangents alone would drop that term
    np.testing.assert_allclose(s2s.jacfwd(_quantile_at_a_moving_level)(_AT),
                               [(_quantile_at_a_moving_level(_AT + 1e-6 * e)
                                 - _quantile_at_a_moving_level(_AT - 1e-6 * e)) / 2e-6
                                for e in np.eye(_AT.size)], rtol=1e-6, atol=1e-8)
    with pytest.raises(s2s.NoRuleError, match="no second-order rule.*q_dot") as info:
        s2s.hessian(_quantile_at_a_moving_level)(_AT)
    assert "test_counting_and_order.py" in str(info.value)
