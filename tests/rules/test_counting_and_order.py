"""The rules for casts, counting, scans of extrema, interpolation,
polynomials, order statistics, grids and histograms, on what the generic
tests (test_rules.py, test_batching.py) cannot make: keyword-only
arguments they leave as constants, ties, arguments a rule refuses, and
vmap over examples that cannot be stacked."""

import numpy as np
import pytest
from helpers import central_difference, make_function

import s2s
from s2s.errors import InputError


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
