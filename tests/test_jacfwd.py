"""``s2s.jacfwd``: torch.func.jacfwd's documentation examples written for
NumPy, Jacobians of the end-to-end functions against central differences,
vectorisation (one call of the generated batched derivative; ``chunk_size``),
memory, randomness, errors and compositions."""

import math
import tracemalloc
import warnings

import e2e_functions as ef
import numpy as np
import pytest
from helpers import assert_tree_close, line_of
from test_e2e import CASES

import s2s
from s2s import pytree

_rng = np.random.default_rng(777)


def _normal(*shape):
    return _rng.normal(size=shape)


def _copy_tree(tree):
    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [np.array(v) if isinstance(v, np.ndarray) else v
                                      for v in flat])


def fd_jacobian(f, args, argnums, h=1e-6):
    """The Jacobian of ``f`` by central differences, one input element at a
    time, with the structure jacfwd gives: every output leaf becomes a tuple
    (one entry per argnum; no tuple for an int ``argnums``) of pytrees of
    blocks of shape ``output_leaf.shape + input_leaf.shape``."""
    single = isinstance(argnums, int)
    if single:
        argnums = (argnums,)
    args = list(args)
    out_flat, out_def = pytree.flatten(f(*_copy_tree(args)))
    blocks = [[[] for _ in argnums] for _ in out_flat]
    arg_defs = []
    for a, k in enumerate(argnums):
        leaves, arg_def = pytree.flatten(args[k])
        arg_defs.append(arg_def)
        for i, leaf in enumerate(leaves):
            size = int(np.size(leaf))
            columns = [np.zeros(np.shape(o) + (size,)) for o in out_flat]
            for j in range(size):
                results = []
                for sign in (1.0, -1.0):
                    new_leaves = list(leaves)
                    if isinstance(leaf, np.ndarray):
                        moved = np.array(leaf, dtype=float)
                        moved.reshape(-1)[j] += sign * h
                    else:
                        moved = leaf + sign * h
                    new_leaves[i] = moved
                    new_args = _copy_tree(args)
                    new_args[k] = pytree.unflatten(arg_def, new_leaves)
                    results.append(pytree.flatten(f(*new_args))[0])
                for o, (plus, minus) in enumerate(zip(*results)):
                    if np.asarray(plus).dtype.kind in "fc":
                        columns[o][..., j] = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
            for o, column in enumerate(columns):
                blocks[o][a].append(column.reshape(np.shape(out_flat[o]) + np.shape(leaf)))
    per_output = [tuple(pytree.unflatten(arg_defs[a], blocks[o][a]) for a in range(len(argnums)))
                  for o in range(len(out_flat))]
    return pytree.unflatten(out_def, [p[0] if single else p for p in per_output])


# -- torch.func.jacfwd documentation examples ----------------------------------------


def test_doc_pointwise_unary_gives_diagonal():
    x = _normal(5)
    jacobian = s2s.jacfwd(np.sin)(x)
    np.testing.assert_allclose(jacobian, np.diag(np.cos(x)), rtol=1e-14, atol=1e-15)


def test_doc_composed_with_vmap():
    x = _normal(64, 5)
    jacobian = s2s.vmap(s2s.jacfwd(np.sin))(x)
    assert jacobian.shape == (64, 5, 5)
    for row, jac in zip(x, jacobian):
        np.testing.assert_allclose(jac, np.diag(np.cos(row)), rtol=1e-14, atol=1e-15)


def sin_f(x):
    return np.sin(x)


def sin_g(x):
    result = sin_f(x)
    return result, result


def test_doc_has_aux():
    x = _normal(5)
    jacobian_f, f_x = s2s.jacfwd(sin_g, has_aux=True)(x)
    np.testing.assert_allclose(f_x, sin_f(x), rtol=1e-15)
    np.testing.assert_allclose(jacobian_f, np.diag(np.cos(x)), rtol=1e-14, atol=1e-15)


def sin_sum(x):
    return np.sum(np.sin(x))


def test_doc_hessian_by_composition():
    # the docs compose jacfwd with jacrev; forward over forward gives the same
    x = _normal(5)
    hessian = s2s.jacfwd(s2s.jacfwd(sin_sum))(x)
    np.testing.assert_allclose(hessian, np.diag(-np.sin(x)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(s2s.hessian(sin_sum)(x), hessian, rtol=1e-15, atol=1e-15)


def x_plus_y_squared(x, y):
    return x + y ** 2


def test_doc_argnums_one():
    x, y = _normal(5), _normal(5)
    jacobian = s2s.jacfwd(x_plus_y_squared, argnums=1)(x, y)
    np.testing.assert_allclose(jacobian, np.diag(2 * y), rtol=1e-14)


def test_doc_argnums_tuple():
    x, y = _normal(5), _normal(5)
    jacobian = s2s.jacfwd(x_plus_y_squared, argnums=(0, 1))(x, y)
    assert isinstance(jacobian, tuple) and len(jacobian) == 2
    np.testing.assert_allclose(jacobian[0], np.diag(np.ones_like(x)), rtol=1e-14)
    np.testing.assert_allclose(jacobian[1], np.diag(2 * y), rtol=1e-14)


def test_argnums_negative():
    x, y = _normal(5), _normal(5)
    jacobian = s2s.jacfwd(x_plus_y_squared, argnums=-1)(x, y)
    np.testing.assert_allclose(jacobian, np.diag(2 * y), rtol=1e-14)


# -- end-to-end functions against central differences --------------------------------


def _total_size(primals):
    return sum(int(np.size(v)) for v in pytree.flatten(primals)[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacfwd_e2e_against_finite_differences(name):
    fn, primals, options = CASES[name]
    argnums = tuple(range(len(primals)))
    before = [np.copy(v) for v in pytree.flatten(primals)[0]]
    jac = s2s.jacfwd(fn, argnums=argnums)
    result = jac(*primals)
    for b, a in zip(before, pytree.flatten(primals)[0]):
        np.testing.assert_array_equal(a, b, err_msg="jacfwd changed its inputs")
    assert jac.calls == 1
    expected = fd_jacobian(fn, primals, argnums)
    assert_tree_close(result, expected, rtol=options.get("rtol", 1e-6),
                      atol=options.get("atol", 1e-6), what=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacfwd_e2e_chunked_equals_unchunked(name):
    fn, primals, _ = CASES[name]
    argnums = tuple(range(len(primals)))
    full = s2s.jacfwd(fn, argnums=argnums)(*primals)
    chunked = s2s.jacfwd(fn, argnums=argnums, chunk_size=3)
    result = chunked(*primals)
    assert chunked.calls == math.ceil(_total_size(primals) / 3)
    assert_tree_close(result, full, rtol=1e-12, atol=1e-12, what=name)


@pytest.mark.parametrize("name", ["mlp_dict_params", "logistic_loss_tuple_params",
                                  "list_of_arrays_primal", "rnn"])
def test_jacfwd_e2e_first_argument_only(name):
    fn, primals, options = CASES[name]
    result = s2s.jacfwd(fn)(*primals)
    expected = fd_jacobian(fn, primals, 0)  # an int: no tuple around the Jacobian
    assert_tree_close(result, expected, rtol=options.get("rtol", 1e-6), what=name)


# -- known Jacobians and shapes ----------------------------------------------------------


def test_newton_sqrt_jacobian_is_diagonal_half_over_sqrt():
    a = np.array([0.5, 2.0, 9.0, 3.3, 0.1])
    jacobian = s2s.jacfwd(ef.newton_sqrt)(a)
    np.testing.assert_allclose(jacobian, np.diag(0.5 / np.sqrt(a)), rtol=1e-10, atol=1e-14)


def test_softmax_jacobian():
    x = np.array([0.3, -1.2, 2.0, 0.7, 0.1])
    s = ef.softmax(x)
    jacobian = s2s.jacfwd(ef.softmax)(x)
    np.testing.assert_allclose(jacobian, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


def test_rosenbrock_gradient():
    x = np.array([0.5, 1.2, -0.3, 0.8, 1.1])
    grad = np.zeros_like(x)
    grad[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    grad[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    jacobian = s2s.jacfwd(ef.rosenbrock)(x)
    assert np.shape(jacobian) == (5,)
    np.testing.assert_allclose(jacobian, grad, rtol=1e-12)


def matrix_function(A):
    return np.tanh(A @ A.T)  # (3, 4) -> (3, 3)


def test_shape_is_output_shape_plus_input_shape():
    A = _normal(3, 4)
    jacobian = s2s.jacfwd(matrix_function)(A)
    assert jacobian.shape == (3, 3, 3, 4)
    expected = fd_jacobian(matrix_function, (A,), 0)
    np.testing.assert_allclose(jacobian, expected, rtol=1e-6, atol=1e-8)


def test_same_jacfwd_object_on_inputs_of_different_ranks():
    jac = s2s.jacfwd(matrix_function)
    first = jac(_normal(3, 4))
    assert first.shape == (3, 3, 3, 4)
    v = _normal(5)
    second = jac(v.reshape(5, 1))
    assert second.shape == (5, 5, 5, 1)
    np.testing.assert_allclose(second, fd_jacobian(matrix_function, (v.reshape(5, 1),), 0),
                               rtol=1e-6, atol=1e-8)
    third = jac(_normal(2, 6))
    assert third.shape == (2, 2, 2, 6)


def array_of_products(x):
    return np.array([x[0] * x[1], x[0]])


def test_array_built_from_scalars_is_not_transposed():
    # two outputs, two inputs: a transposed Jacobian has the right shape
    jacobian = s2s.jacfwd(array_of_products)(np.array([2.0, 3.0]))
    np.testing.assert_allclose(jacobian, [[3.0, 2.0], [1.0, 0.0]], rtol=1e-15)


def dense_layer(W, X):
    return np.tanh(X.dot(W))


def matrix_square(A):
    return np.dot(A, A)


@pytest.mark.parametrize("fn,args", [
    (dense_layer, (_normal(3, 2), _normal(4, 3))),
    (matrix_square, (_normal(3, 3),)),
], ids=["X.dot(W)", "np.dot(A, A)"])
def test_np_dot_with_an_active_matrix_on_the_right(fn, args):
    jacobian = s2s.jacfwd(fn)(*args)
    np.testing.assert_allclose(jacobian, fd_jacobian(fn, args, 0), rtol=1e-6, atol=1e-8)


def cumulative_product(x):
    return np.cumprod(x)  # axis=None: over the flattened array


@pytest.mark.parametrize("x", [np.array([0.5, 1.2, 0.3, 0.8]),
                               np.array([[0.5, 1.2, 0.3], [0.8, -0.4, 1.1]])],
                         ids=["1d", "2d"])
def test_cumprod_without_axis(x):
    jacobian = s2s.jacfwd(cumulative_product)(x)
    np.testing.assert_allclose(jacobian, fd_jacobian(cumulative_product, (x,), 0),
                               rtol=1e-6, atol=1e-8)


def test_python_float_input_gives_a_0d_jacobian():
    jacobian = s2s.jacfwd(ef.damped_oscillator)(0.7)
    assert np.shape(jacobian) == ()
    h = 1e-6
    fd = (ef.damped_oscillator(0.7 + h) - ef.damped_oscillator(0.7 - h)) / (2 * h)
    assert float(jacobian) == pytest.approx(fd, rel=1e-7)


def test_tuple_output_gives_tuple_of_jacobians():
    x, y = _normal(4), _normal(4)
    jacobian = s2s.jacfwd(ef.split_stats)(x, y)
    assert isinstance(jacobian, tuple) and len(jacobian) == 3
    np.testing.assert_allclose(jacobian[0], np.diag(y), rtol=1e-14)
    np.testing.assert_allclose(jacobian[1], np.eye(4), rtol=1e-14)
    np.testing.assert_allclose(jacobian[2], 1.0 - y, rtol=1e-14)


def test_dict_input_gives_dict_jacobian():
    params = {"W1": _normal(5, 3), "b1": _normal(5), "W2": _normal(2, 5), "b2": _normal(2)}
    x = _normal(3)
    jacobian = s2s.jacfwd(ef.mlp)(params, x)
    assert isinstance(jacobian, dict) and list(jacobian) == ["W1", "b1", "W2", "b2"]
    assert jacobian["W1"].shape == (2, 5, 3)
    assert jacobian["b2"].shape == (2, 2)


def test_jacfwd_does_not_mutate_when_function_mutates_its_argument():
    x = np.array([0.5, -1.0, 2.0, 0.3])
    x0 = x.copy()
    jacobian = s2s.jacfwd(ef.mutate_argument)(x)
    np.testing.assert_array_equal(x, x0)
    expected = 2.0 * np.ones(4)
    expected[0] = 2.0 * np.cos(2.0 * x0[0])
    np.testing.assert_allclose(jacobian, expected, rtol=1e-14)


def loss_with_aux(x):
    loss = np.sum(x ** 2)
    return loss, {"norm": np.sqrt(loss), "n": x.shape[0]}


def test_has_aux_with_dict_aux():
    x = np.array([1.0, 2.0, 2.0, 0.5, -1.0])
    jacobian, aux = s2s.jacfwd(loss_with_aux, has_aux=True)(x)
    np.testing.assert_allclose(jacobian, 2.0 * x, rtol=1e-14)
    assert aux["norm"] == pytest.approx(np.sqrt(np.sum(x ** 2)))
    assert aux["n"] == 5


def test_has_aux_with_argnums_tuple_and_chunks():
    def g(x, y):
        return x * y, x.sum()

    x, y = _normal(5), _normal(5)
    jac = s2s.jacfwd(g, argnums=(0, 1), has_aux=True, chunk_size=4)
    (jx, jy), aux = jac(x, y)
    assert jac.calls == 3  # ceil(10 / 4)
    np.testing.assert_allclose(jx, np.diag(y), rtol=1e-14)
    np.testing.assert_allclose(jy, np.diag(x), rtol=1e-14)
    assert aux == pytest.approx(x.sum())


# -- vectorisation: one call of the generated batched derivative ------------------------


def elementwise_and_reduce(x):
    return np.tanh(x) * np.sum(x ** 2)


def _analytic(x):
    flat = x.reshape(-1)
    jacobian = (np.diag(1.0 - np.tanh(flat) ** 2) * np.sum(flat ** 2)
                + np.outer(np.tanh(flat), 2.0 * flat))
    return jacobian.reshape(x.shape + x.shape)


def test_jacfwd_calls_the_batched_derivative_once_for_256_directions():
    x = _normal(16, 16)  # n = 256 input elements
    jac = s2s.jacfwd(elementwise_and_reduce)
    jacobian = jac(x)
    assert jac.calls == 1
    assert jacobian.shape == (16, 16, 16, 16)
    np.testing.assert_allclose(jacobian, _analytic(x), rtol=1e-12, atol=1e-13)
    text = jac.source()
    assert "loop_batched" not in text and "map_batched" not in text, text
    jac(x)
    assert jac.calls == 2


@pytest.mark.parametrize("chunk_size", [1, 10, 100, 255, 256, 1000])
def test_jacfwd_chunk_size_sets_the_number_of_calls(chunk_size):
    x = _normal(16, 16)
    jac = s2s.jacfwd(elementwise_and_reduce, chunk_size=chunk_size)
    jacobian = jac(x)
    assert jac.calls == math.ceil(256 / chunk_size)
    np.testing.assert_allclose(jacobian, _analytic(x), rtol=1e-12, atol=1e-13)


def test_jacfwd_chunks_split_across_arguments():
    # 15 + 5 = 20 directions in chunks of 4; W is (3, 5): no chunk is cut at a leaf
    jac = s2s.jacfwd(ef.mlp_layer, argnums=(0, 2), chunk_size=4)
    W, b, x = _normal(3, 5), _normal(3), _normal(5)
    jW, jx = jac(W, b, x)
    assert jac.calls == math.ceil(20 / 4)
    full_W, full_x = s2s.jacfwd(ef.mlp_layer, argnums=(0, 2))(W, b, x)
    np.testing.assert_allclose(jW, full_W, rtol=1e-14)
    np.testing.assert_allclose(jx, full_x, rtol=1e-14)
    d = 1.0 - np.tanh(W @ x + b) ** 2
    np.testing.assert_allclose(jx, d[:, None] * W, rtol=1e-12)


def _two_vectors(x, w):
    return np.sum(np.tanh(x * w) ** 2) + np.dot(x, w) ** 2


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 6])
def test_a_chunk_of_exactly_one_vector_argument(chunk_size):
    # chunk_size 3 = the size of x: the first chunk's basis of x is an identity,
    # which the code (built once for every chunk) took for one in the next
    # chunk too, where it is zeros; w's Jacobian came out J_x + J_w
    x, w = np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])
    full = s2s.jacfwd(_two_vectors, argnums=(0, 1))(x, w)
    chunked = s2s.jacfwd(_two_vectors, argnums=(0, 1), chunk_size=chunk_size)(x, w)
    for got, want in zip(chunked, full):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    H = s2s.hessian(_two_vectors, argnums=(0, 1))(x, w)
    nested = s2s.jacfwd(s2s.jacfwd(_two_vectors, argnums=(0, 1)), argnums=(0, 1),
                        chunk_size=chunk_size)(x, w)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(nested[i][j], H[i][j], rtol=1e-12, atol=1e-13)


def tangent_heavy(x):
    # every line is elementwise: its tangent under jacfwd is an (n, n) array
    y = np.sin(x) * x
    z = np.exp(-y) * y
    return np.sum(z * z)


def _peak(fn, *args):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return result, peak


def test_chunk_size_bounds_peak_memory():
    # n = 1200: each (n, n) tangent is 11.5 MB; unchunked, the generated code
    # holds about a dozen of them at once (every ANF temporary stays alive)
    n = 1200
    x = np.linspace(-1.0, 1.0, n)
    full = s2s.jacfwd(tangent_heavy)
    chunked = s2s.jacfwd(tangent_heavy, chunk_size=16)
    small = np.linspace(-1.0, 1.0, 7)
    full(small), chunked(small)  # build the code outside the measurement
    full_result, full_peak = _peak(full, x)
    chunked_result, chunked_peak = _peak(chunked, x)
    assert chunked.calls == 1 + math.ceil(n / 16)
    np.testing.assert_allclose(chunked_result, full_result, rtol=1e-12, atol=1e-14)
    tangent_bytes = n * n * 8  # one (n, n) float64 tangent
    assert full_peak > tangent_bytes, full_peak
    assert chunked_peak < tangent_bytes / 4, (chunked_peak, full_peak)
    assert chunked_peak < full_peak / 10, (chunked_peak, full_peak)


# -- randomness ------------------------------------------------------------------------

RNG = np.random.default_rng(0)


def noisy_scale(x):
    noise = RNG.normal(size=x.shape)
    return x * noise


def noisy_legacy(x):
    return x * np.random.uniform(0.5, 1.5, size=x.shape)


def test_randomness_same_draws_once():
    global RNG
    saved = RNG
    try:
        RNG = np.random.default_rng(3)
        jacobian = s2s.jacfwd(noisy_scale, randomness="same")(np.ones(5))
        noise = np.random.default_rng(3).normal(size=5)
        np.testing.assert_allclose(jacobian, np.diag(noise), rtol=1e-15)
    finally:
        RNG = saved


def test_randomness_same_draws_once_across_chunks():
    # as torch.func: "same" is one draw for every direction, also when chunked
    global RNG
    saved = RNG
    try:
        RNG = np.random.default_rng(3)
        jac = s2s.jacfwd(noisy_scale, randomness="same", chunk_size=2)
        jacobian = jac(np.ones(5))
        assert jac.calls == 3
        noise = np.random.default_rng(3).normal(size=5)
        np.testing.assert_allclose(jacobian, np.diag(noise), rtol=1e-15)
    finally:
        RNG = saved


def test_randomness_same_legacy_is_diagonal():
    np.random.seed(4)
    jacobian = s2s.jacfwd(noisy_legacy, randomness="same")(np.ones(5))
    np.testing.assert_array_equal(jacobian, np.diag(np.diag(jacobian)))
    assert np.all((0.5 <= np.diag(jacobian)) & (np.diag(jacobian) <= 1.5))


@pytest.mark.parametrize("fn,text", [(noisy_scale, "RNG.normal"),
                                     (noisy_legacy, "np.random.uniform")],
                         ids=["generator", "legacy"])
def test_randomness_error_names_the_line(fn, text):
    with pytest.raises(s2s.S2SError) as info:
        s2s.jacfwd(fn)(np.ones(5))
    message = str(info.value)
    assert "random" in message and "randomness" in message
    assert "test_jacfwd.py" in message
    assert f":{line_of(fn, text)}" in message, message


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.arange(5), 3, np.array([True, False]),
                                   np.arange(4).reshape(2, 2)],
                         ids=["int_array", "python_int", "bool_array", "int_matrix"])
def test_error_integer_input(value):
    with pytest.raises(s2s.InputError, match="integer|bool|differentiable"):
        s2s.jacfwd(square)(value)


def test_error_integer_leaf_in_a_pytree_input():
    with pytest.raises(s2s.InputError, match="integer|differentiable"):
        s2s.jacfwd(ef.list_of_arrays)([np.ones(3), np.arange(3)])


def test_integer_input_that_is_not_differentiated_is_fine():
    def f(x, n):
        return x * n

    jacobian = s2s.jacfwd(f)(np.array([1.0, 2.0, 3.0]), np.arange(3))
    np.testing.assert_allclose(jacobian, np.diag(np.arange(3.0)), rtol=1e-15)


def square(x):
    return x ** 2


@pytest.mark.parametrize("argnums", [2, -3, (0, 2), (1, 5)])
def test_error_argnums_out_of_range(argnums):
    with pytest.raises(s2s.InputError, match="argnums"):
        s2s.jacfwd(x_plus_y_squared, argnums=argnums)(_normal(5), _normal(5))


@pytest.mark.parametrize("argnums", ["0", 1.0, ()], ids=["str", "float", "empty"])
def test_error_argnums_wrong_type(argnums):
    with pytest.raises(s2s.InputError, match="argnums"):
        s2s.jacfwd(x_plus_y_squared, argnums=argnums)(_normal(5), _normal(5))


def returns_triple(x):
    return x, x, x


@pytest.mark.parametrize("fn", [square, returns_triple, lambda x: [x * 2.0, x]],
                         ids=["single", "triple", "list"])
def test_error_has_aux_on_a_function_not_returning_a_pair(fn):
    with pytest.raises(s2s.InputError, match="has_aux"):
        s2s.jacfwd(fn, has_aux=True)(_normal(5))


def test_error_has_aux_on_a_pair_shaped_array():
    # an array whose first axis has length 2 is not a pair
    with pytest.raises(s2s.InputError, match="has_aux"):
        s2s.jacfwd(lambda x: np.stack([x, x]), has_aux=True)(_normal(5))


@pytest.mark.parametrize("chunk_size", [0, -1, 2.5, "8"])
def test_error_bad_chunk_size(chunk_size):
    with pytest.raises(s2s.InputError, match="chunk_size"):
        s2s.jacfwd(square, chunk_size=chunk_size)


def test_error_bad_randomness():
    with pytest.raises(s2s.InputError, match="randomness"):
        s2s.jacfwd(square, randomness="sometimes")(_normal(5))


def test_source_before_first_call_is_an_error():
    jac = s2s.jacfwd(square)
    with pytest.raises(s2s.InputError, match="call"):
        jac.source()
    jac(_normal(5))
    assert "def " in jac.source()


# -- compositions ------------------------------------------------------------------------


def row_energy(r):
    return np.sum(np.sin(r) ** 2)


def energies(X):
    return s2s.vmap(row_energy)(X)


def test_jacfwd_of_a_function_calling_vmap():
    X = _normal(7, 3)
    try:
        jacobian = s2s.jacfwd(energies)(X)
    except s2s.S2SError as error:  # logged in notes/batching-bugs.md
        pytest.skip(f"jacfwd of a function calling vmap is unsupported: {error}")
    expected = np.zeros((7, 7, 3))
    for i in range(7):
        expected[i, i] = 2.0 * np.sin(X[i]) * np.cos(X[i])
    np.testing.assert_allclose(jacobian, expected, rtol=1e-12, atol=1e-15)


def test_vmap_of_jacfwd_with_two_arguments():
    x, y = _normal(7, 5), _normal(7, 5)
    jx, jy = s2s.vmap(s2s.jacfwd(x_plus_y_squared, argnums=(0, 1)))(x, y)
    assert jx.shape == (7, 5, 5) and jy.shape == (7, 5, 5)
    for b in range(7):
        np.testing.assert_allclose(jx[b], np.eye(5), rtol=1e-15)
        np.testing.assert_allclose(jy[b], np.diag(2.0 * y[b]), rtol=1e-14)


def _with_default(x, w, scale=2.0):
    return np.sum(np.sin(x) * w) * scale


def test_hessian_of_a_function_with_a_default_parameter():
    """Its tangents are keyword-only in the generated code; both directions
    must be passed by name."""
    x, w = np.array([0.3, -0.4, 1.2]), np.array([1.0, 2.0, 0.5])
    H = s2s.hessian(_with_default)(x, w)
    np.testing.assert_allclose(H, np.diag(-2.0 * np.sin(x) * w), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("transform", ["jacfwd", "hessian", "vmap"])
def test_source_without_a_call_is_what_a_call_generates(transform):
    x, w = np.array([0.3, -0.4, 1.2]), np.array([1.0, 2.0, 0.5])
    made = {"jacfwd": s2s.jacfwd, "hessian": s2s.hessian, "vmap": s2s.vmap}[transform]
    transformed = made(_with_default)
    transformed(x, w) if transform != "vmap" else transformed(np.ones((4, 3)), np.ones((4, 3)))
    assert s2s.source(_with_default, transform, ranks=(1, 1)) == s2s.source(transformed)
    # without ranks: code not specialised on them
    assert s2s.source(_with_default, transform) != s2s.source(transformed)


def _scale_helper(v):
    return 2.0 * v


def uses_scale_helper(x):
    return _scale_helper(x) * x


def test_repeated_calls_reuse_the_code_until_a_global_is_rebound():
    global _scale_helper
    jac = s2s.jacfwd(uses_scale_helper)
    vm = s2s.vmap(uses_scale_helper)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(jac(x), np.diag(4.0 * x))
    np.testing.assert_allclose(jac(x), np.diag(4.0 * x))  # the cached code and basis
    np.testing.assert_allclose(vm(x), 2.0 * x * x)
    saved = _scale_helper
    try:
        _scale_helper = lambda v: 3.0 * v  # noqa: E731
        np.testing.assert_allclose(jac(x), np.diag(6.0 * x))
        np.testing.assert_allclose(vm(x), 3.0 * x * x)
    finally:
        _scale_helper = saved


def _pair_loss(p, x):
    return np.sum(np.tanh(p["w"] * x) ** 2) + p["c"][0] * np.sum(x)


def test_repeated_calls_on_a_dict_reuse_the_basis_and_follow_its_structure():
    jac = s2s.jacfwd(_pair_loss)
    x = np.array([0.5, -1.0, 2.0])
    for scale in (1.0, 2.0, -0.5):  # new values, same shapes: the cached code and basis
        p = {"w": scale * np.array([0.1, 0.2, 0.3]), "c": np.array([scale])}
        got = jac(p, x)
        expected = fd_jacobian(_pair_loss, (p, x), 0)
        assert list(got) == ["w", "c"]
        for key in p:
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-6)
    assert len(jac._fast) == 1
    # the same shapes under other keys, in another order, or of another dtype: other entries
    swapped = {"c": np.array([1.0]), "w": np.array([0.1, 0.2, 0.3])}
    assert list(jac(swapped, x)) == ["c", "w"]
    np.testing.assert_allclose(jac(swapped, x)["w"], fd_jacobian(_pair_loss, (swapped, x), 0)["w"],
                               rtol=1e-6)
    single = {"w": np.array([0.1, 0.2, 0.3], dtype=np.float32), "c": np.array([1.0])}
    assert jac(single, x)["w"].dtype == np.float64  # x is float64: the output too
    assert len(jac._fast) == 3
    # a Python number among the leaves: no fast path, the same answer
    numbers = {"w": np.array([0.1, 0.2, 0.3]), "c": [1.0]}
    np.testing.assert_allclose(jac(numbers, x)["w"], jac(swapped, x)["w"], rtol=1e-12)
    assert len(jac._fast) == 3


def _scaled_sines(x, scale=1.0):
    return np.sin(x) * scale


def _scaled_loss(x, scale=1.0):
    return np.sum(np.sin(x) ** 2) * scale


def test_keyword_arguments_go_to_the_function_undifferentiated():
    # jacfwd(f)(x, scale=3.0) was a TypeError (vmap took keyword arguments already)
    x = np.array([0.3, 0.5, 0.7])
    jac = s2s.jacfwd(_scaled_sines)
    for scale in (3.0, -1.0):  # not cached across values
        np.testing.assert_allclose(jac(x, scale=scale), np.diag(scale * np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(s2s.jacfwd(_scaled_sines, chunk_size=2)(x, scale=3.0),
                               np.diag(3.0 * np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(s2s.hessian(_scaled_loss)(x, scale=2.0),
                               2.0 * s2s.hessian(_scaled_loss)(x), rtol=1e-14)


def _sum_of_squares_plus_one(x):
    return np.sum(x ** 2) + 1.0


def _elementwise_of_rows(x):
    return x * 2.0 + np.exp(x)


def _sum_with_aux(x):
    return np.sum(x), "aux"


def test_empty_inputs_give_empty_jacobians():
    # no direction to batch over: _first_example indexed a batch of 0 (IndexError)
    assert s2s.jacfwd(_sum_of_squares_plus_one)(np.zeros(0)).shape == (0,)
    assert s2s.hessian(_sum_of_squares_plus_one)(np.zeros(0)).shape == (0, 0)
    assert s2s.jacfwd(_elementwise_of_rows)(np.zeros((0, 3))).shape == (0, 3, 0, 3)
    jac, aux = s2s.jacfwd(_sum_with_aux, has_aux=True)(np.zeros(0))
    assert jac.shape == (0,) and aux == "aux"
    blocks = s2s.jacfwd(_scaled_loss, argnums=(0, 1))(np.zeros(0), 2.0)
    assert blocks[0].shape == (0,) and blocks[1].shape == ()


def _store_through_an_index(x, idx):
    y = x * 1.0
    y[idx] = 3.0 * x[0] ** 2
    return y


def _rows_through_an_index(x, idx):
    y = x * 1.0
    y[idx] = np.sin(x[0])
    return y


@pytest.mark.parametrize("index", [np.array([True, False, True, False]), np.array([0, 2]),
                                   np.array([[0, 2], [2, 0]]), [2, 0]],
                         ids=["mask", "ints", "ints-2d", "list"])
@pytest.mark.parametrize("f", [_store_through_an_index, _rows_through_an_index])
def test_a_store_through_an_index_argument(f, index):
    # before: a shape error in the generated code (the tangent of one direction
    # met the last axis of the region y[idx], whose rank depends on the dtype of
    # idx: a mask of rank k takes k axes, an integer array one)
    x = _normal(4, 3) if f is _rows_through_an_index else _normal(4)
    jac = s2s.jacfwd(f)
    np.testing.assert_allclose(jac(x, index), fd_jacobian(f, (x, index), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.hessian(f)(x, index), fd_jacobian(jac, (x, index), 0),
                               rtol=1e-6, atol=1e-8)


def _a_constant(x):
    return 3


def _constant_parts(x):
    return (1.0, np.ones(2))


def test_second_derivatives_of_constant_outputs():
    # the jvp code returns (3, 0.0), a tuple display whose tangent was one
    # zeros_like array, not a pair: hessian failed to unpack it
    x = np.ones(3)
    np.testing.assert_array_equal(s2s.hessian(_a_constant)(x), np.zeros((3, 3)))
    value, parts = s2s.jvp(_constant_parts, (x,), (x,))
    assert isinstance(parts, tuple) and parts[0] == 0.0
    np.testing.assert_array_equal(parts[1], np.zeros(2))


def _linear_by_an_accumulator(x):
    s = 0.0
    s += x * 2.0
    return s


def test_second_derivatives_of_a_linear_accumulated_output():
    # the second tangent of s stayed the number 0.0 (no term adds to it), a
    # scalar where s is a vector: hessian failed to reshape it
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(s2s.hessian(_linear_by_an_accumulator)(x), np.zeros((3, 3, 3)))
    np.testing.assert_array_equal(s2s.jacfwd(_linear_by_an_accumulator)(x), 2.0 * np.eye(3))


# -- what the caller gets: arrays of their own --------------------------------------------


def _plus_one(x):
    return x + 1.0


def _tail(x):
    return x[1:]


def _transposed(x):
    return x.T


def _in_a_dict(x):
    return {"a": x}


@pytest.mark.parametrize("fn,x", [(_plus_one, np.zeros(3)), (_tail, np.zeros(4)),
                                  (_transposed, np.zeros((2, 3))), (_in_a_dict, np.zeros(3))],
                         ids=["x+1", "x[1:]", "x.T", "dict"])
def test_writing_to_a_jacobian_does_not_change_the_next_one(fn, x):
    # the Jacobian was a view of the identity basis the jacfwd object keeps
    # for its next call: J -= I on the first made the second wrong
    jac = s2s.jacfwd(fn)
    expected = _copy_tree(jac(x))
    for _ in range(2):  # the first call builds the basis, the second reuses it
        for leaf in pytree.flatten(jac(x))[0]:
            leaf -= 5.0
        assert_tree_close(jac(x), expected, rtol=0)


def _x_times_two(x, y):
    return x * 2.0


def _square_sum(x):
    return np.sum(x ** 2)


@pytest.mark.parametrize("make", [
    lambda: s2s.jacfwd(_x_times_two, argnums=1)(np.ones(3), np.ones(3)),  # zero
    lambda: s2s.vmap(s2s.jacfwd(_plus_one))(np.ones((4, 3))),  # the same for every example
    lambda: s2s.vmap(s2s.hessian(_square_sum))(np.ones((4, 3))),
    lambda: s2s.jvp(s2s.vmap(s2s.jacfwd(_plus_one)), (np.ones((4, 3)),), (np.ones((4, 3)),)),
], ids=["zero", "vmap-jacfwd", "vmap-hessian", "jvp-of-vmap"])
def test_every_array_handed_back_is_writable(make):
    # read-only broadcast views came back: H += lam * I failed. (s2s.jvp of a
    # plain function returns what the function's code makes: np.broadcast_to's
    # read-only view, as calling the function does.)
    for leaf in pytree.flatten(make())[0]:
        assert leaf.flags.writeable
        leaf += 1.0


def _broadcast_three(x, y, z):
    return np.broadcast_arrays(x, y, z)


def test_broadcast_views_handed_back_without_reading_their_writeable_flag():
    # np.broadcast_arrays' views (and views of them) carry NumPy's warn-on-write
    # flag, and reading their writeable flag warns: a view broadcast along axes
    # of size 1 alone (one direction, B = 1), reshaped, has no zero stride
    from s2s.batch_api import handed_back

    view = np.broadcast_arrays(np.zeros((2, 3)), np.ones((1, 1, 1)))[0].reshape(2, 3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        owned = handed_back(view)
        jacobians = s2s.jacfwd(_broadcast_three, argnums=2)(np.ones((2, 3)), np.ones(3),
                                                            np.ones((1, 1)))
    assert owned is not view and owned.flags.writeable
    np.testing.assert_array_equal(jacobians[0], np.zeros((2, 3, 1, 1)))
    np.testing.assert_array_equal(jacobians[2], np.ones((2, 3, 1, 1)))


def _sin_and_none(x):
    return np.sin(x), None


def _sin_and_parts(x):
    return np.sin(x), {"none": None, "cos": np.cos(x)}


def test_has_aux_with_none_in_the_aux():
    # None passes through, as in s2s.jvp (a TypeError: jacfwd indexed it per
    # direction; under vmap, an AxisError: the batched code broadcast it)
    x, xs = _normal(3), _normal(4, 3)
    assert s2s.jacfwd(_sin_and_none, has_aux=True)(x)[1] is None
    assert s2s.vmap(s2s.jacfwd(_sin_and_none, has_aux=True))(xs)[1] is None
    assert s2s.jacfwd(s2s.jacfwd(_sin_and_none, has_aux=True), has_aux=True)(x)[1] is None
    jacobians, aux = s2s.vmap(s2s.jacfwd(_sin_and_parts, has_aux=True))(xs)
    np.testing.assert_allclose(jacobians, [np.diag(np.cos(r)) for r in xs], rtol=1e-14)
    assert aux["none"] is None
    np.testing.assert_allclose(aux["cos"], np.cos(xs), rtol=1e-14)


def _loss_with_python_aux(x):
    return np.sum(x ** 2), (3, 2.5, "sum of squares", x.shape, None, (1, True, "a"))


def _assert_same_python_values(actual, expected):
    assert type(actual) is type(expected), f"{actual!r} is no {type(expected).__name__}"
    if isinstance(expected, tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _assert_same_python_values(a, e)
    else:
        assert actual == expected


def test_has_aux_gives_python_values_back_as_the_function_returned_them():
    # as JAX's jacfwd (and s2s.jvp) do: they were broadcast over the directions and
    # the first taken, NumPy scalars (np.int64(3), np.str_(...)); and the tuple
    # constant with a string in it failed (its zero tangent was one array)
    x, xs = _normal(4), _normal(3, 4)
    expected = _loss_with_python_aux(x)[1]
    for jac in (s2s.jacfwd(_loss_with_python_aux, has_aux=True),
                s2s.jacfwd(_loss_with_python_aux, has_aux=True, chunk_size=3),
                s2s.jacfwd(s2s.jacfwd(_loss_with_python_aux, has_aux=True), has_aux=True)):
        for _ in range(2):  # (the second call takes the fast path)
            jacobian, aux = jac(x)
            _assert_same_python_values(aux, expected)
    np.testing.assert_allclose(s2s.jacfwd(_loss_with_python_aux, has_aux=True)(x)[0], 2 * x)
    _assert_same_python_values(s2s.jvp(_loss_with_python_aux, (x,), (x,), has_aux=True)[2],
                               expected)
    per_example = s2s.vmap(s2s.jacfwd(_loss_with_python_aux, has_aux=True), out_dims=(0, None))
    jacobians, aux = per_example(xs)
    np.testing.assert_allclose(jacobians, 2 * xs)
    _assert_same_python_values(aux, expected)


_ROW64 = np.array([0.5, -0.25, 1.5])


def _promoted_sum_of_squares(a, b):
    return np.sum((a + _ROW64) ** 2) * np.sum(b ** 3)


def test_hessian_blocks_have_the_type_of_their_first_input_as_in_torch_and_jax():
    # torch.func.hessian and jax.hessian are jacfwd of reverse mode's gradient, whose
    # type is its input's: d2f/da db is float32 for a float32 a, even where float64
    # constants make f float64 (jacfwd(jacfwd(f)) is float64 there, in both too)
    a = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    b = np.array([0.7, 1.1])
    H = s2s.hessian(_promoted_sum_of_squares, argnums=(0, 1))(a, b)
    assert [[block.dtype for block in row] for row in H] == [[np.float32] * 2, [np.float64] * 2]
    expected = s2s.hessian(_promoted_sum_of_squares, argnums=(0, 1))(a.astype(np.float64), b)
    for row, expected_row in zip(H, expected):
        for block, expected_block in zip(row, expected_row):
            np.testing.assert_allclose(block, expected_block, rtol=1e-6)
    twice = s2s.jacfwd(s2s.jacfwd(_promoted_sum_of_squares, argnums=(0, 1)), argnums=(0, 1))
    assert {block.dtype for row in twice(a, b) for block in row} == {np.dtype(np.float64)}
    per_example = s2s.vmap(s2s.hessian(_promoted_sum_of_squares), in_dims=(0, None))
    assert per_example(np.stack([a, 2 * a]), b).dtype == np.float32
    params = {"a": a, "b": b}
    blocks = s2s.hessian(lambda p: _promoted_sum_of_squares(p["a"], p["b"]))(params)
    assert {k: {j: v.dtype for j, v in row.items()} for k, row in blocks.items()} == {
        "a": {"a": np.float32, "b": np.float32}, "b": {"a": np.float64, "b": np.float64}}


@pytest.mark.parametrize("argnums", [(0, 0), (1, -1)])
@pytest.mark.parametrize("transform", [s2s.jacfwd, s2s.hessian])
def test_error_argnums_repeated(transform, argnums):
    # torch.func refuses them; s2s gave the same block twice
    with pytest.raises(s2s.InputError, match="more than once"):
        transform(x_plus_y_squared, argnums=argnums)(_normal(5), _normal(5))
