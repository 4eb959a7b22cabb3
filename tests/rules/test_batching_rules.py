"""The vectorised batching rules (s2s/rules/batching_rules.py and their
runtime helpers) on the inputs the generic test (test_batching.py) cannot
make: ties, NaNs, signed zeros, decreasing or constant bins, weights along
several axes, errors. Each compares ``s2s.vmap`` with a loop over the
examples, and checks that the generated code has no loop over the batch."""

import numpy as np
import pytest
from helpers import make_function

import s2s
from s2s import pytree

_LOOPS = ("map_batched", "loop_batched", "gather_batched", "setitem_batched")


def _looped(f, args, in_dims):
    size = next(np.shape(a)[d] for a, d in zip(args, in_dims) if d is not None)
    results = [f(*[a if d is None else np.take(a, b, axis=d) for a, d in zip(args, in_dims)])
               for b in range(size)]
    flat = [pytree.flatten(r) for r in results]
    return pytree.unflatten(flat[0][1], [np.stack([np.asarray(v) for v in column])
                                         for column in zip(*[leaves for leaves, _ in flat])])


def _check(src, *args, in_dims=0, namespace=None):
    """vmap of the function in ``src`` equals the loop, leaf for leaf and
    dtype for dtype (signed zeros too), without a loop in its code."""
    f = make_function(src, namespace)
    in_dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    vm = s2s.vmap(f, in_dims=in_dims)
    actual, expected = vm(*args), _looped(f, args, in_dims)
    flat_a, def_a = pytree.flatten(actual)
    flat_e, def_e = pytree.flatten(expected)
    assert def_a == def_e
    for a, e in zip(flat_a, flat_e):
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=0)
        assert np.array_equal(np.signbit(a), np.signbit(e)) if a.dtype.kind == "f" else True
    source = vm.source()
    assert not any(loop in source for loop in _LOOPS), source
    return source


# -- sorting and searching ---------------------------------------------------------


@pytest.mark.parametrize("options", ["", ", reverse=True", ", key=abs", ", key=abs, reverse=True"])
def test_sorted_keeps_python_order_of_ties(options):
    # ties in the key (-1.5, 1.5), equal values of either sign (0.0, -0.0):
    # Python's sort is stable, reverse=True too
    x = np.array([[1.5, -1.5, 0.0, -0.0, 0.5],
                  [-0.0, 2.0, 0.0, -2.0, 2.0],
                  [0.5, 0.5, -0.5, -0.0, 0.0]])
    _check(f"def f(x):\n    return sorted([x[0], x[1], x[2], x[3], x[4]]{options})\n", x)


def test_sorted_of_an_array_is_a_list():
    x = np.array([[3.0, 1.0, 2.0, 1.0], [0.5, -0.5, 0.0, 4.0]])
    source = _check("def f(x):\n    return sorted(x, reverse=True)\n", x)
    assert "sorted_batched" in source


def test_searchsorted_batched_array_with_ties_and_nans():
    a = np.array([[0.0, 1.0, 1.0, 2.0, np.nan],
                  [-1.0, -1.0, 0.5, np.nan, np.nan],
                  [1.0, 1.0, 1.0, 1.0, 1.0]])
    v = np.array([1.0, np.nan, -1.0, 0.5, 3.0, 1.0])
    for side in ("left", "right"):
        _check(f"def f(a, v):\n    return np.searchsorted(a, v, side={side!r})\n", a, v,
               in_dims=(0, None))
    _check("def f(a, v):\n    return np.searchsorted(a, v)\n", a, np.stack([v, v[::-1], v]))


def test_searchsorted_with_a_sorter():
    a = np.array([[2.0, 0.0, 1.0], [5.0, 7.0, 6.0]])
    sorter = np.array([[1, 2, 0], [0, 2, 1]])
    _check("def f(a, v, s):\n    return np.searchsorted(a, v, sorter=s)\n",
           a, np.array([1.0, 6.5, 0.0, 8.0]), sorter, in_dims=(0, None, 0))


def test_searchsorted_rejects_a_bad_side_as_numpy_does():
    f = make_function("def f(a):\n    return np.searchsorted(a, 1.0, side='middle')\n")
    with pytest.raises(ValueError, match="search side"):
        s2s.vmap(f)(np.ones((2, 3)))


@pytest.mark.parametrize("right", [False, True])
def test_digitize_bins_of_every_direction(right):
    # increasing, decreasing, constant, equal leading values, a NaN edge
    bins = np.array([[0.0, 1.0, 2.0, 3.0],
                     [3.0, 2.0, 1.0, 0.0],
                     [1.0, 1.0, 1.0, 1.0],
                     [1.0, 1.0, 2.0, 2.0],
                     [2.0, 2.0, 1.0, 1.0],
                     [np.nan, 2.0, 1.0, 0.0]])
    x = np.array([-1.0, 0.0, 1.0, 1.5, 2.0, 3.0, 4.0, np.nan])
    _check(f"def f(x, bins):\n    return np.digitize(x, bins, right={right})\n", x, bins,
           in_dims=(None, 0))


def test_digitize_raises_for_bins_not_monotonic():
    f = make_function("def f(bins):\n    return np.digitize(1.5, bins)\n")
    bins = np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    with pytest.raises(ValueError, match="monotonically"):
        f(bins[1])
    with pytest.raises(ValueError, match="monotonically"):
        s2s.vmap(f)(bins)


# -- reductions ---------------------------------------------------------------------


def test_average_with_weights_along_several_axes():
    # NumPy 2: weights shaped like a along the averaged axes, in their order
    a = np.random.default_rng(0).normal(size=(5, 2, 3, 4))
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=(5, 4, 2))
    src = "def f(a, w):\n    return np.average(a, axis=(2, 0), weights=w, returned=True)\n"
    for in_dims in [(0, 0), (0, None), (None, 0)]:
        _check(src, a if in_dims[0] is not None else a[0], w if in_dims[1] is not None
               else w[0], in_dims=in_dims)


def test_average_jacobian_with_weights_along_several_axes():
    a = np.random.default_rng(2).normal(size=(2, 3, 4))
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=(4, 2))
    f = make_function("def f(a, w):\n    return np.average(a * a, axis=(2, 0), weights=w * w)\n")
    for argnum, x in enumerate((a, w)):
        jac = s2s.jacfwd(f, argnums=argnum)
        columns = []
        for k in range(x.size):
            direction = np.zeros(x.size)
            direction[k] = 1.0
            tangents = tuple(direction.reshape(x.shape) if j == argnum else np.zeros_like(y)
                             for j, y in enumerate((a, w)))
            columns.append(s2s.jvp(f, (a, w), tangents)[1])
        expected = np.stack(columns, axis=-1).reshape((3,) + x.shape)
        np.testing.assert_allclose(jac(a, w), expected, rtol=1e-12, atol=1e-14)
        assert "map_batched" not in jac.source()


def test_sum_with_a_batched_initial_casts_it_like_numpy():
    # the initial is cast to the reduction's dtype: 1.5 adds 1 to an int sum
    x = np.arange(12).reshape(3, 4)
    _check("def f(x, c):\n    return np.sum(x, axis=0, initial=c)\n", x,
           np.array([1.5, -2.5, 0.0, 7.9]), in_dims=(None, 0))
    _check("def f(x, c):\n    return np.prod(x, initial=c)\n", x + 1.0, np.array([0.5, 2.0]),
           in_dims=(None, 0))


def test_mean_with_batched_mask_of_lower_rank():
    x = np.random.default_rng(4).normal(size=(3, 4))
    mask = np.array([[True, False, True, True], [False, True, True, True]])
    _check("def f(x, m):\n    return np.mean(x, axis=1, where=m, keepdims=True)\n", x, mask,
           in_dims=(None, 0))


def test_unbatched_lists_are_arrays():
    x = np.random.default_rng(12).normal(size=(5, 3))
    _check("def f(x):\n    return np.append(x, [1.0, 2.0])\n", x)
    _check("def f(x):\n    return np.append([[1.0], [2.0]], x[:2, None], axis=1)\n", x)
    _check("def f(x):\n    return np.append(EDGE, x)\n", x, namespace={"EDGE": [0.5, 1.5]})


def test_diff_with_batched_edges():
    x = np.random.default_rng(5).normal(size=(2, 3, 4))
    pre = np.array([1.0, -1.0])
    post = np.random.default_rng(6).normal(size=(2, 1, 4))
    _check("def f(x, p, q):\n    return np.diff(x, 2, 0, prepend=p, append=q)\n", x, pre, post)
    _check("def f(x, p):\n    return np.diff(x, n=0, prepend=p)\n", x[0], pre, in_dims=(None, 0))


# -- shapes, products, selection -----------------------------------------------------


@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((3,), (2, 4)), ((2, 1, 3), (2, 2)),
                                    ((2, 2), ())])
def test_kron_of_any_ranks(shapes):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(5,) + shapes[0]), rng.normal(size=(5,) + shapes[1])
    src = "def f(a, b):\n    return np.kron(a, b)\n"
    _check(src, a, b)
    _check(src, a, b[0], in_dims=(0, None))
    _check(src, a[0], b, in_dims=(None, 0))


def test_select_with_an_array_of_conditions():
    rng = np.random.default_rng(8)
    conds = rng.random((5, 2, 3)) > 0.5  # each example: an array of two conditions
    _check("def f(c, x, y):\n    return np.select(c, [x, y], -1.0)\n", conds,
           rng.normal(size=(5, 3)), rng.normal(size=(3,)), in_dims=(0, 0, None))


def test_reshape_and_ravel_in_fortran_order():
    x = np.arange(5 * 3 * 4.0).reshape(5, 3, 4)
    _check("def f(x):\n    return np.reshape(x, (2, -1), order='F')\n", x)
    _check("def f(x):\n    return np.ravel(x, 'F')\n", x)


def test_dot_of_two_stacks():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(5, 2, 3, 4)), rng.normal(size=(5, 6, 4, 2))
    src = "def f(a, b):\n    return np.dot(a, b)\n"
    _check(src, a, b)
    _check(src, a, b[0], in_dims=(0, None))


def test_solve_with_stacked_matrices_and_vectors():
    rng = np.random.default_rng(10)
    m = rng.normal(size=(5, 2, 3, 3)) + 4 * np.eye(3)
    src = "def f(a, b):\n    return np.linalg.solve(a, b)\n"
    _check(src, m, rng.normal(size=(5, 3)))
    _check(src, m[0], rng.normal(size=(5, 3)), in_dims=(None, 0))
    _check(src, m, rng.normal(size=(3,)), in_dims=(0, None))
    _check(src, m, rng.normal(size=(5, 3, 2)))
    _check(src, m[0, 0], rng.normal(size=(5, 2, 3, 2)), in_dims=(None, 0))


def test_take_along_axis_without_axis():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(5, 3, 4))
    idx = np.stack([rng.permutation(12)[:6] for _ in range(5)])
    src = "def f(x, i):\n    return np.take_along_axis(x, i, axis=None)\n"
    _check(src, x, idx)
    _check(src, x[0], idx, in_dims=(None, 0))
    _check(src, x, idx[0], in_dims=(0, None))


# -- Python builtins ---------------------------------------------------------------


def test_floor_ceil_trunc_round_give_ints():
    x = np.array([2.5, -2.5, 3.5, -0.4, 7.0, 1e15 + 0.5])
    for call in ("math.floor(x)", "math.ceil(x)", "math.trunc(x)", "round(x)",
                 "round(x, None)", "bool(x)"):
        _check(f"def f(x):\n    return {call}\n", x, namespace={"math": __import__("math")})


@pytest.mark.parametrize("kind", ["any", "all"])
def test_any_all_of_lists(kind):
    x = np.array([[0.0, 0.0, 1.0], [0.0, np.nan, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]])
    _check(f"def f(x):\n    return {kind}([x[0], x[1], x[2]])\n", x)
    _check(f"def f(x):\n    return {kind}(x)\n", x)


def test_any_stops_before_an_ambiguous_item_as_python_does():
    f = make_function("def f(x, y):\n    return any([x, y])\n")
    y = np.ones((2, 3))
    # every example decided by x: y's truth value is never asked
    np.testing.assert_array_equal(s2s.vmap(f, in_dims=(0, None))(np.array([1.0, 2.0]), y),
                                  [True, True])
    with pytest.raises(ValueError, match="ambiguous"):
        s2s.vmap(f, in_dims=(0, None))(np.array([1.0, 0.0]), y)
