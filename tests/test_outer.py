"""s2s.outer: products of two batch levels kept factored. Every operation on
an OuterSum must equal the same operation on the array it stands for."""

import numpy as np
import pytest

import s2s
from s2s.outer import OuterSum, dense_tree, outer_product
from tests.test_jacfwd import fd_jacobian

rng = np.random.default_rng(7)
A, C = rng.normal(size=(40, 30)), rng.normal(size=(50, 30))
S = rng.normal(size=30)
DENSE = A[:, None] * C


def test_outer_product_stands_for_the_broadcast_product():
    p = outer_product(A, C)
    assert isinstance(p, OuterSum) and p.shape == DENSE.shape and p.dtype == DENSE.dtype
    np.testing.assert_array_equal(np.asarray(p), DENSE)
    small = outer_product(A[:2, :3], C[:2, :3])  # below the size where factoring pays
    assert type(small) is np.ndarray


@pytest.mark.parametrize("op", [
    lambda p: -p,
    lambda p: 2.5 * p,
    lambda p: p * S,
    lambda p: S * p,
    lambda p: p * S[None, None, :],
    lambda p: p / S,
    lambda p: p + 3.0 * p,
    lambda p: p - S * p,
    lambda p: np.sum(p * S - p, axis=2),
    lambda p: np.sum(p, axis=(-1,)),
])
def test_operations_that_stay_factored_equal_the_array(op):
    got, want = op(outer_product(A, C)), op(DENSE)
    if isinstance(got, OuterSum):
        got = np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", [
    lambda p: np.exp(p),
    lambda p: p + DENSE,
    lambda p: DENSE - p,
    lambda p: p * DENSE,
    lambda p: np.sum(p, axis=0),
    lambda p: np.sum(p),
    lambda p: p[3, 1:4],
    lambda p: p.T,
    lambda p: p.reshape(-1),
    lambda p: p * C,  # a matrix factor: not a vector over the last axis
    lambda p: np.shape(p),
    lambda p: p ** 2,
])
def test_every_other_operation_works_on_the_array(op):
    np.testing.assert_allclose(op(outer_product(A, C)), op(DENSE), rtol=1e-12, atol=1e-12)


def test_dtypes_follow_numpy():
    p = outer_product(A.astype(np.float32), C.astype(np.float32))
    assert (p * np.float32(2)).dtype == np.float32
    assert (p * S).dtype == np.float64  # float32 * float64 vector
    assert np.sum(p * S, axis=2).dtype == np.float64
    mixed = outer_product(A.astype(np.float32), C.astype(np.float32)) + outer_product(A, C)
    assert np.asarray(mixed).dtype == np.float64


def test_dense_tree_makes_arrays_in_containers():
    p = outer_product(A, C)
    out = dense_tree((p, [p, 1.0], {"k": p}))
    assert type(out[0]) is np.ndarray and type(out[1][0]) is np.ndarray
    assert type(out[2]["k"]) is np.ndarray and out[1][1] == 1.0


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def times_matrix(x, m):
    return np.sum(x * m, axis=1)  # x (k,) times m (j, k), summed over k


def test_hessian_of_a_sum_multiplies_factored_products():
    x = np.linspace(-1.0, 1.5, 60)
    hess = s2s.hessian(rosenbrock)
    h = hess(x)
    source = s2s.source(hess)
    assert "_s2s.outer_product(" in source and "return _s2s.dense_tree(" in source
    assert type(h) is np.ndarray and h.shape == (60, 60)
    np.testing.assert_allclose(h, fd_jacobian(s2s.jacfwd(rosenbrock), (x,), 0), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(h, h.T, atol=1e-9)


def test_vmap_of_a_vector_times_a_matrix():
    xs, m = rng.normal(size=(40, 30)), rng.normal(size=(50, 30))
    vm = s2s.vmap(times_matrix, in_dims=(0, None))
    out = vm(xs, m)
    assert "_s2s.outer_product(" in s2s.source(vm) and type(out) is np.ndarray
    np.testing.assert_allclose(out, np.stack([times_matrix(x, m) for x in xs]), rtol=1e-12,
                               atol=1e-12)
