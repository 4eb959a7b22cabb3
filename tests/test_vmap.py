"""``s2s.vmap``: torch.func.vmap's documentation examples written for NumPy,
vmap against Python loops on the end-to-end functions, in_dims/out_dims,
chunk_size, randomness, errors and compositions.

Batch sizes are chosen to differ from every other dimension in a test, so a
batching rule that pairs the batch axis with the wrong axis cannot pass by
coincidence.
"""

import dataclasses
import math
import sys

import e2e_functions as ef
import numpy as np
import pytest
from helpers import assert_tree_close, central_difference, check_jvp, line_of
from test_e2e import (
    CASES,
    PAD_FUNCTIONS,
    PAD_ROW_FUNCTIONS,
    adam_step_with_a_nested_state,
    einsum_sublists,
    einsum_sublists_implicit,
    item_of_a_mixed_list_updated,
    nested_dict_item_updated,
    nested_item_seen_through_other_names,
    nested_list_item_updated,
    pad_with,
    ramp_to,
)

import s2s
from s2s import pytree

_rng = np.random.default_rng(20240611)


def _normal(*shape):
    return _rng.normal(size=shape)


def _loop(f, args, in_dims=0):
    """The reference: ``f`` once per batch element, results stacked."""
    if not isinstance(in_dims, tuple):
        in_dims = (in_dims,) * len(args)
    sizes = {np.shape(a)[d] for a, d in zip(args, in_dims) if d is not None}
    (size,) = sizes
    results = []
    for b in range(size):
        example = [a if d is None else np.take(a, b, axis=d) for a, d in zip(args, in_dims)]
        results.append(f(*example))
    flat = [pytree.flatten(r) for r in results]
    treedef = flat[0][1]
    return pytree.unflatten(treedef, [np.stack([np.asarray(v) for v in column])
                                      for column in zip(*[leaves for leaves, _ in flat])])


# -- torch.func.vmap documentation examples ----------------------------------------


def test_doc_batched_dot():
    # batched_dot = torch.func.vmap(torch.dot)  # [N, D], [N, D] -> [N]
    x, y = _normal(7, 5), _normal(7, 5)
    out = s2s.vmap(np.dot)(x, y)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, np.einsum("nd,nd->n", x, y), rtol=1e-12)


def batched_dot_fn(a, b):
    return np.dot(a, b)


def test_doc_batched_dot_python_function():
    x, y = _normal(7, 5), _normal(7, 5)
    vm = s2s.vmap(batched_dot_fn)
    out = vm(x, y)
    np.testing.assert_allclose(out, np.einsum("nd,nd->n", x, y), rtol=1e-12)
    assert vm.calls == 1
    assert "def " in vm.source()


WEIGHTS = np.array([0.5, -1.0, 2.0, 0.25, -0.75])


def linear_model(feature_vec):
    # Very simple linear model with activation (reads the global WEIGHTS)
    assert feature_vec.ndim == 1
    return np.maximum(feature_vec.dot(WEIGHTS), 0.0)


def test_doc_batched_linear_model():
    # examples = torch.randn(batch_size, feature_size); torch.vmap(model)(examples)
    examples = _normal(7, 5)
    out = s2s.vmap(linear_model)(examples)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, np.maximum(examples @ WEIGHTS, 0.0), rtol=1e-12)


def test_doc_batched_matrix_vector_product():
    # torch.vmap(torch.mv)(matrices, vectors): one matrix and one vector per example
    A, v = _normal(7, 3, 4), _normal(7, 4)
    out = s2s.vmap(np.matmul)(A, v)
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, np.einsum("bij,bj->bi", A, v), rtol=1e-12)
    out = s2s.vmap(np.dot)(A, v)
    np.testing.assert_allclose(out, np.einsum("bij,bj->bi", A, v), rtol=1e-12)


def matmat_dot(A, B):
    return np.dot(A, B)


def test_batched_matrix_product_with_np_dot():
    # np.dot is not np.matmul on stacks: the batch must not be paired with itself
    A, B = _normal(7, 3, 4), _normal(7, 4, 5)
    out = s2s.vmap(matmat_dot)(A, B)
    assert out.shape == (7, 3, 5)
    np.testing.assert_allclose(out, A @ B, rtol=1e-12)


def test_shared_matrix_times_batched_matrix_with_np_dot():
    A, B = _normal(3, 4), _normal(7, 4, 5)
    out = s2s.vmap(matmat_dot, in_dims=(None, 0))(A, B)
    assert out.shape == (7, 3, 5)
    np.testing.assert_allclose(out, A @ B, rtol=1e-12)


def test_batched_matrix_times_shared_matrix_with_np_dot():
    A, B = _normal(7, 3, 4), _normal(4, 5)
    out = s2s.vmap(matmat_dot, in_dims=(0, None))(A, B)
    assert out.shape == (7, 3, 5)
    np.testing.assert_allclose(out, A @ B, rtol=1e-12)


def matvec(A, v):
    return A @ v


def test_doc_matrix_vector_product_shared_matrix():
    # in_dims=(None, 0): one matrix for the whole batch, a vector per example
    A, v = _normal(3, 4), _normal(7, 4)
    out = s2s.vmap(matvec, in_dims=(None, 0))(A, v)
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, v @ A.T, rtol=1e-12)


def test_doc_in_dims_none_for_second_argument():
    # batched_dot = torch.vmap(torch.dot, in_dims=(0, None))  # [N, D], [D] -> [N]
    x, y = _normal(7, 5), _normal(5)
    out = s2s.vmap(np.dot, in_dims=(0, None))(x, y)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, x @ y, rtol=1e-12)


def test_doc_in_dims_one():
    # batched_dot = torch.vmap(torch.dot, in_dims=1)  # [D, N], [D, N] -> [N]
    x, y = _normal(5, 7), _normal(5, 7)
    out = s2s.vmap(np.dot, in_dims=1)(x, y)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, np.einsum("dn,dn->n", x, y), rtol=1e-12)


def dict_dot(d):
    return np.dot(d["x"], d["y"])


def test_doc_in_dims_pytree():
    # torch.vmap(f, in_dims=({'x': 0, 'y': None},))(input)
    x, y = _normal(7, 5), _normal(5)
    out = s2s.vmap(dict_dot, in_dims=({"x": 0, "y": None},))({"x": x, "y": y})
    assert out.shape == (7,)
    np.testing.assert_allclose(out, x @ y, rtol=1e-12)


def square(x):
    return x ** 2


def test_doc_out_dims():
    # batched_pow = torch.vmap(f, out_dims=1); batched_pow(x)  # [5, 2]
    x = _normal(7, 5)
    out = s2s.vmap(square, out_dims=1)(x)
    assert out.shape == (5, 7)
    np.testing.assert_allclose(out, (x ** 2).T, rtol=1e-14)


def two_outputs(x):
    return x * 2.0, np.sum(x, axis=-1)


def test_doc_out_dims_tuple():
    x = _normal(7, 3, 5)
    out0, out1 = s2s.vmap(two_outputs, out_dims=(2, 1))(x)
    assert out0.shape == (3, 5, 7)
    assert out1.shape == (3, 7)
    np.testing.assert_allclose(out0, np.moveaxis(2.0 * x, 0, 2), rtol=1e-14)
    np.testing.assert_allclose(out1, x.sum(axis=-1).T, rtol=1e-12)


def test_doc_nested_vmap():
    # torch.vmap(torch.vmap(torch.dot))  # [N1, N0, D], [N1, N0, D] -> [N1, N0]
    x, y = _normal(7, 3, 5), _normal(7, 3, 5)
    out = s2s.vmap(s2s.vmap(np.dot))(x, y)
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, np.einsum("abd,abd->ab", x, y), rtol=1e-12)


def test_nested_vmap_python_function_different_in_dims():
    # outer: axis 0 of x (size 5), y shared; inner: the last axis (size 3) of both
    x, y = _normal(5, 4, 3), _normal(4, 3)
    inner = s2s.vmap(batched_dot_fn, in_dims=1)
    out = s2s.vmap(inner, in_dims=(0, None))(x, y)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out, np.einsum("adn,dn->an", x, y), rtol=1e-12)


def scale_kw(x, scale=4.0):
    return x * scale


def test_doc_default_argument_is_used():
    x = _normal(7, 5)
    np.testing.assert_allclose(s2s.vmap(scale_kw)(x), 4.0 * x, rtol=1e-14)


def test_doc_keyword_argument_is_not_batched():
    # batched_pow(x, scale=x)  # scale is not batched, output has shape [2, 2, 5]
    x = _normal(7, 5)
    out = s2s.vmap(scale_kw)(x, scale=x)
    assert out.shape == (7, 7, 5)
    np.testing.assert_allclose(out, x[:, None, :] * x[None, :, :], rtol=1e-14)


def weighted_sum(x, w):
    return np.sum(np.sin(x) * w, axis=0)


def test_function_of_two_arguments():
    x, w = _normal(7, 3, 4), _normal(7, 3, 4)
    out = s2s.vmap(weighted_sum)(x, w)
    assert out.shape == (7, 4)
    np.testing.assert_allclose(out, _loop(weighted_sum, (x, w)), rtol=1e-12)


def test_function_of_two_arguments_second_unbatched():
    x, w = _normal(7, 3, 4), _normal(3, 4)
    out = s2s.vmap(weighted_sum, in_dims=(0, None))(x, w)
    np.testing.assert_allclose(out, _loop(weighted_sum, (x, w), (0, None)), rtol=1e-12)


def test_function_of_two_arguments_negative_in_dim():
    x, w = _normal(3, 4, 7), _normal(3, 4)
    out = s2s.vmap(weighted_sum, in_dims=(-1, None))(x, w)
    np.testing.assert_allclose(out, _loop(weighted_sum, (x, w), (2, None)), rtol=1e-12)


def add_all(*terms):
    total = 0.0
    for t in terms:
        total = total + t
    return total


def calls_varargs(x):
    return add_all(2.0, x, x * x)


def test_callee_with_varargs():
    x = _normal(7, 3)
    out = s2s.vmap(calls_varargs)(x)
    np.testing.assert_allclose(out, 2.0 + x + x * x, rtol=1e-14)


def keyword_only(x, *, scale=2.0):
    if x.sum() > 0:  # control flow on a batched value: a loop over the batch
        return x * scale
    return -x


def test_loop_fallback_with_keyword_only_parameter():
    x = _normal(7, 3)
    out = s2s.vmap(keyword_only)(x)
    np.testing.assert_allclose(out, _loop(keyword_only, (x,)), rtol=1e-14)


def test_vmap_does_not_mutate_its_inputs():
    x = _normal(7, 4)
    x0 = x.copy()
    out = s2s.vmap(ef.local_copy_update)(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(out, _loop(ef.local_copy_update, (x0,)), rtol=1e-13)


def constant_output(x):
    return np.ones(3) * 2.0


def test_unbatched_output_is_broadcast_over_the_batch():
    # as in torch.func.vmap: an output that does not depend on the batched input
    # still gets the batch dimension
    out = s2s.vmap(constant_output)(_normal(7, 4))
    assert np.shape(out) == (7, 3)
    np.testing.assert_array_equal(out, np.full((7, 3), 2.0))


def test_generated_code_reads_live_globals():
    global WEIGHTS
    saved = WEIGHTS
    vm = s2s.vmap(linear_model)
    examples = np.abs(_normal(7, 5))
    try:
        WEIGHTS = np.ones(5)
        np.testing.assert_allclose(vm(examples), examples.sum(axis=1), rtol=1e-14)
        WEIGHTS = 2.0 * np.ones(5)
        np.testing.assert_allclose(vm(examples), 2.0 * examples.sum(axis=1), rtol=1e-14)
    finally:
        WEIGHTS = saved


def test_same_vmap_object_on_inputs_of_different_ranks():
    vm = s2s.vmap(weighted_sum, in_dims=(0, None))
    x2, w2 = _normal(7, 3, 4), _normal(3, 4)
    np.testing.assert_allclose(vm(x2, w2), _loop(weighted_sum, (x2, w2), (0, None)), rtol=1e-12)
    x1, w1 = _normal(7, 5), _normal(5)
    np.testing.assert_allclose(vm(x1, w1), _loop(weighted_sum, (x1, w1), (0, None)), rtol=1e-12)


def cumulative_product(x):
    return np.cumprod(x)  # axis=None: over the flattened example


def test_cumprod_without_axis():
    x = _normal(7, 2, 3)
    out = s2s.vmap(cumulative_product)(x)
    assert out.shape == (7, 6)
    np.testing.assert_allclose(out, _loop(cumulative_product, (x,)), rtol=1e-12)


def test_pytree_output():
    x = _normal(7, 6)
    out = s2s.vmap(ef.moments)(x)
    assert list(out) == ["mean", "var", "scaled"]
    assert_tree_close(out, _loop(ef.moments, (x,)), rtol=1e-12, atol=1e-12)


# -- vmap against Python loops on the end-to-end functions ----------------------------

_B = 11  # differs from every dimension in test_e2e.CASES


def _batched_primals(primals, seed):
    """``_B`` nearby copies of every leaf of ``primals``, stacked on axis 0
    (Python floats become arrays of shape (_B,))."""
    rng = np.random.default_rng(seed)
    flat, treedef = pytree.flatten(primals)
    stacked = [np.stack([np.asarray(v, dtype=float) + 0.02 * rng.normal(size=np.shape(v))
                         for _ in range(_B)]) for v in flat]
    return pytree.unflatten(treedef, stacked)


def _example(tree, b):
    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [v[b] for v in flat])


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_e2e_against_loop(name):
    fn, primals, _ = CASES[name]
    batched = _batched_primals(primals, seed=sorted(CASES).index(name))
    before = [v.copy() for v in pytree.flatten(batched)[0]]
    out = s2s.vmap(fn)(*batched)
    for b, a in zip(before, pytree.flatten(batched)[0]):
        np.testing.assert_array_equal(a, b, err_msg="vmap changed its inputs")
    results = [fn(*_example(batched, b)) for b in range(_B)]
    flat = [pytree.flatten(r) for r in results]
    expected = pytree.unflatten(flat[0][1], [np.stack([np.asarray(v) for v in column])
                                             for column in zip(*[f for f, _ in flat])])
    assert_tree_close(out, expected, rtol=1e-10, atol=1e-10, what=name)


# -- chunk_size ---------------------------------------------------------------------


def test_chunk_size_counts_calls_and_matches():
    x, w = _normal(10, 3), _normal(10, 3)
    full = s2s.vmap(weighted_sum)
    expected = full(x, w)
    assert full.calls == 1
    for chunk, calls in [(1, 10), (3, 4), (4, 3), (10, 1), (64, 1)]:
        vm = s2s.vmap(weighted_sum, chunk_size=chunk)
        out = vm(x, w)
        assert vm.calls == calls, chunk
        np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_chunk_size_with_unbatched_argument_and_out_dims():
    x, w = _normal(10, 3, 4), _normal(3, 4)
    vm = s2s.vmap(two_outputs, out_dims=(1, 0), chunk_size=4)
    out0, out1 = vm(x)
    assert vm.calls == 3
    np.testing.assert_allclose(out0, np.moveaxis(2.0 * x, 0, 1), rtol=1e-14)
    np.testing.assert_allclose(out1, x.sum(axis=-1), rtol=1e-12)
    vm = s2s.vmap(weighted_sum, in_dims=(0, None), chunk_size=3)
    np.testing.assert_allclose(vm(x, w), _loop(weighted_sum, (x, w), (0, None)), rtol=1e-12)
    assert vm.calls == 4


def test_repeated_calls_follow_in_dims_values_shapes_and_chunks():
    # a call with arrays of the shapes seen before reuses the code, the axis
    # moves and the checks of the first: each must still be right
    vm = s2s.vmap(weighted_sum, in_dims=(2, None))
    for _ in range(2):  # new values, same shapes
        x, w = _normal(3, 4, 5), _normal(3, 4)
        np.testing.assert_allclose(vm(x, w), _loop(weighted_sum, (x, w), (2, None)), rtol=1e-12)
    x = _normal(3, 4, 5)
    strided = np.asfortranarray(x)[:, ::-1]  # same shape, other strides, a view
    np.testing.assert_allclose(vm(strided, w), _loop(weighted_sum, (strided, w), (2, None)),
                               rtol=1e-12)
    x, w = _normal(2, 4, 7), _normal(2, 4)  # other shapes: new checks and moves
    np.testing.assert_allclose(vm(x, w), _loop(weighted_sum, (x, w), (2, None)), rtol=1e-12)
    with pytest.raises(s2s.InputError, match="inconsistent batch sizes"):
        s2s.vmap(weighted_sum, in_dims=(2, 0))(x, _normal(5, 4))
    moved = s2s.vmap(two_outputs, in_dims=1, out_dims=(1, 0))
    for _ in range(2):
        x = _normal(3, 6, 2)
        out0, out1 = moved(x)
        np.testing.assert_allclose(out0, 2.0 * x, rtol=1e-14)
        np.testing.assert_allclose(out1, np.moveaxis(x, 1, 0).sum(axis=-1), rtol=1e-12)
    chunked = s2s.vmap(weighted_sum, chunk_size=4)
    x, w = _normal(10, 3), _normal(10, 3)
    for calls in (3, 6):  # every call runs its chunks
        np.testing.assert_allclose(chunked(x, w), _loop(weighted_sum, (x, w)), rtol=1e-12)
        assert chunked.calls == calls


def _store_diag_indices(a, d):
    b = a.copy()
    idx = np.diag_indices(3)
    b[idx] = d
    return b


def _store_nonzero(a, d):
    b = a.copy()
    idx = np.nonzero(np.eye(3))
    b[idx] = b[idx] * d
    return b


def _add_on_the_diagonal(a, d):
    b = a.copy()
    n = b.shape[0]  # (a shape is no alias of b: b's update leaves n alone)
    b[np.arange(n), np.arange(n)] += d
    return b


@pytest.mark.parametrize("f", [_store_diag_indices, _store_nonzero, _add_on_the_diagonal])
def test_stores_through_an_index_tuple_held_in_a_variable(f):
    # the batch axis went in front of the tuple, nesting it: a shape error, or a
    # silently wrong answer where the batch size matched
    for size in (3, 4):
        a, d = _normal(size, 3, 3), _normal(size, 3)
        np.testing.assert_allclose(s2s.vmap(f)(a, d), _loop(f, (a, d)), rtol=1e-14)
    a, d = _normal(3, 3), _normal(3)
    check_jvp(f, (a, d))  # (jvp refused _add_on_the_diagonal: n counted as active)
    expected = np.zeros((3, 3, 3))  # d b[i, j] / d d[k]: on the diagonal only
    expected[np.arange(3), np.arange(3), np.arange(3)] = np.diag(a) if f is _store_nonzero else 1
    np.testing.assert_allclose(s2s.jacfwd(f, argnums=1)(a, d), expected, rtol=1e-14)


def _doubles_in_place(x, w):
    x *= 2.0
    w[0] = 0.5
    return x * w


def test_vmap_leaves_the_inputs_a_function_changes_in_place_unchanged():
    # the batched code wrote into the caller's arrays (jvp copied them already)
    for in_dims in (0, (1, None)):
        x = _normal(4, 3) if in_dims == 0 else _normal(3, 4)
        w = _normal(4, 3) if in_dims == 0 else _normal(3)
        before = x.copy(), w.copy()
        got = s2s.vmap(_doubles_in_place, in_dims=in_dims)(x, w)
        np.testing.assert_array_equal(x, before[0])
        np.testing.assert_array_equal(w, before[1])
        expected = _loop(_doubles_in_place, (x.copy(), w.copy()), in_dims)
        np.testing.assert_allclose(got, expected, rtol=1e-14)
        np.testing.assert_array_equal(x, before[0])


def _collects_into_a_default_list(x, acc=None):
    acc = [] if acc is None else acc
    acc.append(x * 2.0)
    acc.append(np.sin(x))
    return np.concatenate(acc)


def _formats_an_element(x):
    label = f"{x[0]:.3f}"
    return x * len(label)


@pytest.mark.parametrize("f", [_collects_into_a_default_list, _formats_an_element])
def test_functions_batched_by_a_loop(f):
    # the loop handed the None default to the examples as if batched (TypeError);
    # an f-string of a batched value failed to format an array
    xs = np.array([[0.5, -1.0, 2.0], [-12.25, 3.0, 1.0], [0.0, 1.0, 2.0]])
    np.testing.assert_allclose(s2s.vmap(f)(xs), _loop(f, (xs,)), rtol=1e-14)


def _through_flat(a):
    b = a.copy()
    b.flat[0] = a[1, 1] ** 2  # a write through .flat
    return b * a.flat[4]  # and a read


def test_flat_reads_and_writes_per_example():
    # one flat iterator ran across the batch: an IndexError from the generated code
    a = _normal(4, 3, 3)
    np.testing.assert_allclose(s2s.vmap(_through_flat)(a), _loop(_through_flat, (a,)),
                               rtol=1e-14)
    x = _normal(3, 3)
    check_jvp(_through_flat, (x,))
    jac = s2s.jacfwd(_through_flat)
    steps = [e.reshape(3, 3) for e in np.eye(9)]
    expected = np.stack([(_through_flat(x + 1e-6 * e) - _through_flat(x - 1e-6 * e)) / 2e-6
                         for e in steps], -1).reshape(3, 3, 3, 3)
    np.testing.assert_allclose(jac(x), expected, rtol=1e-6, atol=1e-8)
    hess = s2s.jacfwd(jac)  # the write reaches the second tangent too (a view, not a copy)
    expected = np.stack([(jac(x + 1e-6 * e) - jac(x - 1e-6 * e)) / 2e-6 for e in steps],
                        -1).reshape(3, 3, 3, 3, 3, 3)
    np.testing.assert_allclose(hess(x), expected, rtol=1e-5, atol=1e-6)


def _positive_part_by_mask(x):
    return np.sum(x[x > 0] ** 2)


def _positive_part_by_where(x):
    return np.sum(x[np.where(x > 0)] ** 2)


def _positive_part_by_nonzero(x):
    keep = np.logical_and(x > 0, np.isfinite(x))
    return np.sum(x[np.nonzero(keep)] ** 2)


@pytest.mark.parametrize("f", [_positive_part_by_mask, _positive_part_by_where,
                               _positive_part_by_nonzero])
def test_selections_of_different_sizes_per_example(f):
    # examples select different numbers of elements: one gather across the batch
    # failed (ValueError, IndexError from s2s's runtime); now a loop over the batch
    xs = np.array([[1.0, -2.0, 3.0], [-1.0, -2.0, 3.0], [1.0, 2.0, 3.0], [-1.0, -1.0, -1.0]])
    vm = s2s.vmap(f)
    np.testing.assert_allclose(vm(xs), _loop(f, (xs,)), rtol=1e-14)
    assert "selects a number of elements that differs per example" in s2s.source(vm)
    jac = s2s.jacfwd(f)(xs[0])  # the mask comes from the primal: no loop needed
    np.testing.assert_allclose(jac, 2 * np.maximum(xs[0], 0), rtol=1e-14)


def _sum_of_squares_selected(v, mask):
    return np.sum(v[mask] ** 2)


def _selected_by_a_helper(x, mask):
    return _sum_of_squares_selected(x, mask) + 1.0


def _selected_and_positive(x, mask):
    return np.sum(x[mask & (x > 0)])


@pytest.mark.parametrize("f", [_sum_of_squares_selected, _selected_by_a_helper,
                               _selected_and_positive])
def test_a_boolean_mask_argument_selects_per_example(f):
    # a mask passed in, batched, selects different numbers of elements per
    # example: one gather across the batch failed (a ValueError from np.stack)
    xs = np.array([[1.0, -2.0, 3.0], [-1.0, -2.0, 3.0], [1.0, 2.0, 3.0]])
    masks = np.array([[True, False, True], [False, False, False], [True, True, True]])
    vm = s2s.vmap(f)
    np.testing.assert_allclose(vm(xs, masks), _loop(f, (xs, masks)), rtol=1e-14)
    # one mask for the whole batch: one gather, no loop
    shared = s2s.vmap(f, in_dims=(0, None))
    np.testing.assert_allclose(shared(xs, masks[0]),
                               [f(x, masks[0]) for x in xs], rtol=1e-14)
    if f is not _selected_and_positive:  # (its other mask comes from batched x)
        assert "loop_batched" not in shared.source()
    # integers in the same place are no mask (the code built for the mask is not reused)
    picks = masks.astype(int)
    np.testing.assert_allclose(vm(xs, picks), _loop(f, (xs, picks)), rtol=1e-14)


def _accumulate_from_an_item(x):
    acc = x[0]  # a NumPy scalar: acc += ... leaves x alone
    for i in range(1, len(x)):
        acc += x[i] ** 2
    return acc * x[0]


def _swap_through_a_temporary(x):
    x = x.copy()
    tmp = x[0]  # a copy, not a view: writing x[0] leaves it
    x[0] = x[1]
    x[1] = tmp
    return x * np.array([1.0, 2.0, 3.0])


def _swap_in_one_statement(x):
    x = x.copy()
    x[0], x[1] = x[1], x[0]
    return x * np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("f", [_accumulate_from_an_item, _swap_through_a_temporary,
                               _swap_in_one_statement])
def test_an_item_of_one_example_is_a_copy_under_the_batch(f):
    # x[0] of an example is a scalar, a copy; the batch's x[:, 0] is a view: the
    # accumulator wrote into x, and the swap read the value it had overwritten
    x = np.array([0.5, -1.0, 0.7])
    xs = np.stack([x, x + 0.3])
    xs0 = xs.copy()
    np.testing.assert_allclose(s2s.vmap(f)(xs), _loop(f, (xs,)), rtol=1e-14)
    np.testing.assert_array_equal(xs, xs0)
    fd = np.stack([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)], -1)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), fd, rtol=1e-6, atol=1e-8)


_SCALE = np.array([1.0, 2.0])


def _scaled_by_a_global(x):
    return x * _SCALE


def _scaler():
    scale = np.array([1.0, 2.0])

    def f(x):
        return x * scale

    def set_scale(value):
        nonlocal scale
        scale = value

    return f, set_scale


def test_batched_code_follows_a_global_rebound_to_another_rank(monkeypatch):
    # the code is specialised on the ranks of the arrays it reads: a vector
    # scale rebound to a matrix kept the vector's code (shape (2, 2), not (2, 2, 2))
    x = np.array([0.5, -1.0])
    xs = np.stack([x, x + 0.1])
    f, set_scale = _scaler()
    for g, rebind in ((_scaled_by_a_global, lambda v: monkeypatch.setattr(
            sys.modules[__name__], "_SCALE", v)), (f, set_scale)):
        vm, jac = s2s.vmap(g), s2s.jacfwd(g)
        assert vm(xs).shape == (2, 2) and jac(x).shape == (2, 2)
        rebind(np.array([3.0, 4.0]))  # the same rank: the same code, not built again
        before = s2s.cache.stats["transforms"]
        np.testing.assert_allclose(vm(xs), _loop(g, (xs,)), rtol=1e-14)
        np.testing.assert_allclose(jac(x), np.diag([3.0, 4.0]), rtol=1e-14)
        assert s2s.cache.stats["transforms"] == before
        rebind(np.array([[1.0, 2.0], [3.0, 4.0]]))
        np.testing.assert_allclose(vm(xs), _loop(g, (xs,)), rtol=1e-14)
        np.testing.assert_allclose(s2s.vmap(g)(xs), _loop(g, (xs,)), rtol=1e-14)
        expected = np.zeros((2, 2, 2))
        expected[:, 0, 0], expected[:, 1, 1] = [1.0, 3.0], [2.0, 4.0]
        np.testing.assert_allclose(jac(x), expected, rtol=1e-14)


def _lorenz_unpacked(u, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = u  # unpacked along the per-example axis, not the batch axis
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def _through_a_linear_map(u):
    return _lorenz_unpacked(np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]]) @ u)


def _pairs_looped(xs):
    s = 0.0
    for i, (a, b) in enumerate(xs):
        s = s + (i + 1) * a * np.sin(b)
    for a, b in xs:
        s = s + a * b ** 2
    return s


def test_unpacking_a_batched_array_splits_each_example():
    # x, y, z = u and for a, b in xs split along the batch axis: silently wrong
    # where the batch size equalled the number of names (vmap; jacfwd where the
    # tangent basis was not symmetric), a ValueError elsewhere
    for size in (3, 4):
        u = _normal(size, 3)
        np.testing.assert_allclose(s2s.vmap(_lorenz_unpacked)(u), _loop(_lorenz_unpacked, (u,)),
                                   rtol=1e-14)
        uu = _normal(2, size, 3)
        np.testing.assert_allclose(s2s.vmap(s2s.vmap(_lorenz_unpacked))(uu),
                                   [_loop(_lorenz_unpacked, (r,)) for r in uu], rtol=1e-14)
    u = np.array([0.5, -1.5, 0.3])
    steps = [(_through_a_linear_map(u + 1e-6 * e) - _through_a_linear_map(u - 1e-6 * e)) / 2e-6
             for e in np.eye(3)]
    np.testing.assert_allclose(s2s.jacfwd(_through_a_linear_map)(u), np.transpose(steps),
                               rtol=1e-6)
    for size in (2, 3):
        xs = _normal(size, 4, 2)
        np.testing.assert_allclose(s2s.vmap(_pairs_looped)(xs), _loop(_pairs_looped, (xs,)),
                                   rtol=1e-13)
        np.testing.assert_allclose(s2s.vmap(s2s.vmap(_pairs_looped))(xs[None]),
                                   _loop(_pairs_looped, (xs,))[None], rtol=1e-13)
    x = _normal(4, 2)
    jac = s2s.jacfwd(_pairs_looped)
    flat = [e.reshape(4, 2) for e in np.eye(8)]
    expected = np.reshape([(_pairs_looped(x + 1e-6 * e) - _pairs_looped(x - 1e-6 * e)) / 2e-6
                           for e in flat], (4, 2))
    np.testing.assert_allclose(jac(x), expected, rtol=1e-6)
    expected = np.stack([(jac(x + 1e-6 * e) - jac(x - 1e-6 * e)) / 2e-6 for e in flat],
                        -1).reshape(4, 2, 4, 2)
    np.testing.assert_allclose(s2s.hessian(_pairs_looped)(x), expected, rtol=1e-5, atol=1e-7)


def _adds_its_first_square(a):
    b = a.copy()
    b += b[0] ** 2  # a per-example number added in place
    return b


def _adds_through_views(a):
    b = a.copy()
    v = b[1:]
    w = v[::2]
    w += v[0] ** 2
    v -= a[0]
    return b


def test_in_place_update_by_a_number_of_each_example():
    # b += b[0] ** 2 with b's rank unknown: the batched number broadcast along b's
    # last axis (jacfwd transposed, vmap wrong where the batch size matched it)
    for f, n in ((_adds_its_first_square, 4), (_adds_through_views, 7)):
        for size in (2, n, 5):
            a = _normal(size, n)
            np.testing.assert_allclose(s2s.vmap(f)(a), _loop(f, (a,)), rtol=1e-14)
        x = _normal(n)
        steps = [(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(n)]
        np.testing.assert_allclose(s2s.jacfwd(f)(x), np.transpose(steps), rtol=1e-6, atol=1e-9)


def _pick_from_a_list(x):
    choices = [x * 1.0, x * 2.0, x * 3.0]
    k = int(x[0] > 0) + int(x[1] > 0)  # differs per example
    return choices[k]


@pytest.mark.parametrize("size", [1, 2, 5])
def test_a_list_indexed_per_example_gives_each_example_its_item(size):
    # the list's items are batched (the batch axis first in each), not the
    # list: example b took item b's row k_b (wrong rows; an IndexError for B=1)
    xs = np.array([[0.5, -1.0, 0.7, 0.1], [-0.5, -1.0, 0.7, 0.2], [0.5, 1.0, 0.7, 0.3],
                   [-0.5, 1.0, 0.2, 0.4], [0.5, -1.0, 0.1, 0.5]])[:size]
    np.testing.assert_allclose(s2s.vmap(_pick_from_a_list)(xs), _loop(_pick_from_a_list, (xs,)),
                               rtol=1e-14)
    jacobians = s2s.vmap(s2s.jacfwd(_pick_from_a_list))(xs)
    for x, jac in zip(xs, jacobians):
        steps = [(_pick_from_a_list(x + 1e-6 * e) - _pick_from_a_list(x - 1e-6 * e)) / 2e-6
                 for e in np.eye(4)]
        np.testing.assert_allclose(jac, np.transpose(steps), rtol=1e-6, atol=1e-9)


_ROWS = np.array([0, 2])


def _rows_at_a_column(x, j):
    return x[_ROWS, j] * x[0, j:j + 2]  # a constant index array beside a batched one


def _write_rows_at_a_column(x, j):
    y = x * 1.0
    y[_ROWS, j] = x[_ROWS, j + 1] ** 2
    return y


@pytest.mark.parametrize("size", [1, 4])
@pytest.mark.parametrize("f", [_rows_at_a_column, _write_rows_at_a_column])
def test_an_index_tuple_with_batched_and_unbatched_entries(f, size):
    # x[c, j] with c the same for every example, j not: every array in the
    # index was taken per example (c[b]: wrong shapes, an IndexError for B > 2)
    xs, js = _normal(size, 3, 5), np.array([3, 0, 1, 2])[:size]
    np.testing.assert_allclose(s2s.vmap(f)(xs, js), _loop(f, (xs, js)), rtol=1e-14)
    jac = s2s.jacfwd(f)
    np.testing.assert_allclose(s2s.vmap(jac)(xs, js), _loop(jac, (xs, js)), rtol=1e-14)


# -- randomness -----------------------------------------------------------------------

RNG = np.random.default_rng(0)


def noisy_legacy(x):
    noise = np.random.normal(size=3)
    return x + noise


def noisy_legacy_scalar(x):
    return x * np.random.rand()


def noisy_generator(x):
    noise = RNG.normal(size=3)
    return x + noise


def noisy_generator_uniform(x):
    return x * RNG.uniform(0.5, 1.5)


_NOISY = [noisy_legacy, noisy_legacy_scalar, noisy_generator, noisy_generator_uniform]


@pytest.mark.parametrize("fn", _NOISY, ids=lambda f: f.__name__)
def test_randomness_same_gives_equal_rows(fn):
    np.random.seed(1)
    x = np.ones((7, 3))
    out = s2s.vmap(fn, randomness="same")(x)
    assert out.shape == (7, 3)
    for row in out[1:]:
        np.testing.assert_array_equal(row, out[0])
    assert not np.allclose(out[0], 1.0)  # something was drawn


@pytest.mark.parametrize("fn", _NOISY, ids=lambda f: f.__name__)
def test_randomness_same_with_chunks_gives_equal_rows(fn):
    # as torch.func.vmap: "same" holds across chunks too (one draw for the whole batch)
    np.random.seed(5)
    vm = s2s.vmap(fn, randomness="same", chunk_size=3)
    out = vm(np.ones((7, 3)))
    assert vm.calls == 3
    for row in out[1:]:
        np.testing.assert_array_equal(row, out[0])


@pytest.mark.parametrize("fn", _NOISY, ids=lambda f: f.__name__)
def test_randomness_different_with_chunks_gives_different_rows(fn):
    np.random.seed(6)
    out = s2s.vmap(fn, randomness="different", chunk_size=3)(np.ones((7, 3)))
    assert len({tuple(row) for row in out}) == 7


@pytest.mark.parametrize("fn", _NOISY, ids=lambda f: f.__name__)
def test_randomness_different_gives_different_rows(fn):
    np.random.seed(2)
    x = np.ones((7, 3))
    out = s2s.vmap(fn, randomness="different")(x)
    assert out.shape == (7, 3)
    for i in range(7):
        for j in range(i):
            assert not np.allclose(out[i], out[j]), (i, j)


def test_randomness_same_draws_once_from_the_live_global_generator():
    global RNG
    saved = RNG
    try:
        RNG = np.random.default_rng(42)
        out = s2s.vmap(noisy_generator, randomness="same")(np.zeros((7, 3)))
        expected = np.random.default_rng(42).normal(size=3)
        np.testing.assert_array_equal(out, np.broadcast_to(expected, (7, 3)))
    finally:
        RNG = saved


def _noise_around(x):
    return np.random.normal(loc=x, scale=0.1)  # a parameter per example


def _choice_of(x):
    return np.random.choice(x, size=2)  # (does not broadcast its parameters: a loop)


def test_randomness_with_parameters_that_differ_per_example():
    # the draw took the whole batch as each example's parameters: shape (3, 3, 4)
    x = np.arange(12.0).reshape(3, 4)
    np.random.seed(0)
    out = s2s.vmap(_noise_around, randomness="different")(x)
    np.random.seed(0)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, np.random.normal(loc=x, scale=0.1))
    np.random.seed(1)
    picks = s2s.vmap(_choice_of, randomness="different")(x)
    assert picks.shape == (3, 2) and all(set(p) <= set(r) for p, r in zip(picks, x))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="parameters differ per batch element"):
        s2s.vmap(_noise_around, randomness="same")(x)


def test_randomness_different_with_unbatched_noise_only():
    # the draw does not depend on the input at all: still one draw per example
    out = s2s.vmap(lambda x: RNG.normal(size=3) + 0.0 * x, randomness="different")(
        np.zeros((7, 3)))
    assert out.shape == (7, 3)
    assert len({tuple(r) for r in out}) == 7


@pytest.mark.parametrize("fn,text", [(noisy_legacy, "np.random.normal"),
                                     (noisy_generator, "RNG.normal"),
                                     (noisy_legacy_scalar, "np.random.rand")],
                         ids=["legacy", "generator", "legacy_scalar"])
def test_randomness_error_names_the_line(fn, text):
    with pytest.raises(s2s.S2SError) as info:
        s2s.vmap(fn)(np.ones((7, 3)))
    message = str(info.value)
    assert "random" in message
    assert "randomness" in message  # says what to do
    assert "test_vmap.py" in message
    assert f":{line_of(fn, text)}" in message, message


# -- errors ------------------------------------------------------------------------------


def test_error_inconsistent_batch_sizes():
    with pytest.raises(s2s.InputError, match="batch size"):
        s2s.vmap(weighted_sum)(_normal(7, 3), _normal(6, 3))


def test_error_inconsistent_batch_sizes_inside_a_pytree():
    with pytest.raises(s2s.InputError, match="batch size"):
        s2s.vmap(dict_dot)({"x": _normal(7, 5), "y": _normal(6, 5)})


@pytest.mark.parametrize("in_dims", [2, -3, (0, 2)])
def test_error_in_dims_out_of_range(in_dims):
    with pytest.raises(s2s.InputError, match="out of range"):
        s2s.vmap(weighted_sum, in_dims=in_dims)(_normal(7, 3), _normal(7, 3))


def test_error_in_dims_for_a_scalar_argument():
    with pytest.raises(s2s.InputError, match="out of range"):
        s2s.vmap(weighted_sum, in_dims=(0, 0))(_normal(7, 3), 2.0)


def test_error_in_dims_wrong_number_of_entries():
    with pytest.raises(s2s.InputError, match="in_dims"):
        s2s.vmap(weighted_sum, in_dims=(0, None, 0))(_normal(7, 3), _normal(7, 3))


def test_error_in_dims_wrong_structure():
    with pytest.raises(s2s.InputError, match="structure"):
        s2s.vmap(dict_dot, in_dims=({"x": 0},))({"x": _normal(7, 5), "y": _normal(5)})
    with pytest.raises(s2s.InputError, match="structure"):
        s2s.vmap(dict_dot, in_dims=((0, None),))({"x": _normal(7, 5), "y": _normal(5)})


@pytest.mark.parametrize("in_dims", ["0", 1.0], ids=["str", "float"])
def test_error_in_dims_wrong_type(in_dims):
    # torch.func.vmap: in_dims must be an int, None or a tuple (a pytree of them)
    with pytest.raises(s2s.InputError, match="in_dims"):
        s2s.vmap(weighted_sum, in_dims=in_dims)(_normal(7, 3), _normal(7, 3))


def test_error_no_batched_input():
    with pytest.raises(s2s.InputError, match="at least one batched input"):
        s2s.vmap(weighted_sum, in_dims=(None, None))(_normal(7, 3), _normal(7, 3))
    with pytest.raises(s2s.InputError, match="at least one batched input"):
        s2s.vmap(constant_output, in_dims=None)(_normal(7, 3))


@pytest.mark.parametrize("randomness", ["sometimes", None, "Same"])
def test_error_bad_randomness(randomness):
    with pytest.raises(s2s.InputError, match="randomness"):
        s2s.vmap(square, randomness=randomness)


@pytest.mark.parametrize("chunk_size", [0, -2, 2.5, "4"])
def test_error_bad_chunk_size(chunk_size):
    with pytest.raises(s2s.InputError, match="chunk_size"):
        s2s.vmap(square, chunk_size=chunk_size)


def test_error_out_dims_wrong_structure():
    with pytest.raises(s2s.InputError, match="out_dims"):
        s2s.vmap(two_outputs, out_dims=(0, 1, 2))(_normal(7, 3))


def _value_and_parts(p, x):
    h = np.tanh(p["W"] @ x)
    return np.sum(h), {"h": h, "hh": (h * h, h[:2])}


def _layered(p, x):
    h = x
    for w in p["layers"]:
        h = np.tanh(w @ h)
    return {"out": h * p["scale"], "norm": np.sum(h ** 2)}


def test_in_dims_and_out_dims_are_prefixes_of_the_structure():
    # as in torch.func and JAX: None for a whole list in a dict, a dict for a dict
    # output (both were structure errors)
    p = {"layers": [_normal(3, 3), _normal(3, 3)], "scale": 2.0}
    xs = _normal(5, 3)
    got = s2s.vmap(_layered, in_dims=({"layers": None, "scale": None}, 0),
                   out_dims={"out": 1, "norm": 0})(p, xs)
    loop = [_layered(p, x) for x in xs]
    np.testing.assert_allclose(got["out"], np.stack([r["out"] for r in loop], axis=1))
    np.testing.assert_allclose(got["norm"], [r["norm"] for r in loop])
    with pytest.raises(s2s.InputError, match="in_dims for argument 0 has structure"):
        s2s.vmap(_layered, in_dims=({"layers": None}, 0))(p, xs)  # a key missing
    with pytest.raises(s2s.InputError, match="in_dims for argument 0 has structure"):
        s2s.vmap(_layered, in_dims=({"layers": (None,), "scale": None}, 0))(p, xs)


def test_out_dims_of_the_parts_of_an_output():
    # an entry of out_dims shaped like its output (a dict here) raised a TypeError
    p, xs = {"W": _normal(4, 3)}, _normal(6, 3)
    total, parts = s2s.vmap(_value_and_parts, in_dims=(None, 0),
                            out_dims=(0, {"h": 1, "hh": (0, -1)}))(p, xs)
    loop = [_value_and_parts(p, x) for x in xs]
    np.testing.assert_allclose(total, [t for t, _ in loop])
    np.testing.assert_allclose(parts["h"], np.stack([q["h"] for _, q in loop], axis=1))
    np.testing.assert_allclose(parts["hh"][0], np.stack([q["hh"][0] for _, q in loop]))
    np.testing.assert_allclose(parts["hh"][1], np.stack([q["hh"][1] for _, q in loop], axis=-1))
    with pytest.raises(s2s.InputError, match=r"out_dims for output 1 has structure \{'h': leaf\}"):
        s2s.vmap(_value_and_parts, in_dims=(None, 0), out_dims=(0, {"h": 1}))(p, xs)
    with pytest.raises(s2s.InputError, match="in_dims for argument 0 has structure"):
        s2s.vmap(_value_and_parts, in_dims=({"V": None}, 0))(p, xs)


def test_error_out_dims_out_of_range():
    with pytest.raises(ValueError):  # s2s.InputError or numpy's AxisError
        s2s.vmap(square, out_dims=3)(_normal(7, 3))


def _ones_of_two(x):
    return np.ones(2)


def _row_sums_and_ones(x):
    return np.sum(x), np.ones(2)


def test_out_dims_none_returns_the_output_unbatched():
    # torch.func: an output of out_dims=None has no batch axis (s2s kept one)
    xs = _normal(7, 3)
    np.testing.assert_array_equal(s2s.vmap(_ones_of_two, out_dims=None)(xs), np.ones(2))
    total, ones = s2s.vmap(_row_sums_and_ones, out_dims=(0, None))(xs)
    np.testing.assert_allclose(total, xs.sum(axis=1))
    np.testing.assert_array_equal(ones, np.ones(2))
    inner = s2s.vmap(_ones_of_two, out_dims=None)
    assert s2s.vmap(inner)(_normal(5, 7, 3)).shape == (5, 2)


def test_error_out_dims_none_for_an_output_that_varies_over_the_batch():
    # torch.func: "returned a batched output but out_dims is None"
    with pytest.raises(s2s.InputError, match="varies over the batch, but out_dims is None"):
        s2s.vmap(square, out_dims=None)(_normal(7, 3))
    with pytest.raises(s2s.InputError, match="out_dims is None"):
        s2s.vmap(_row_sums_and_ones, out_dims=(None, 0))(_normal(7, 3))


def test_a_batch_independent_output_is_writable():
    # it was a read-only broadcast view: out += 1 failed
    xs = _normal(7, 3)
    for out in (s2s.vmap(_ones_of_two)(xs), s2s.vmap(_ones_of_two, out_dims=1)(xs),
                s2s.vmap(_ones_of_two, out_dims=None)(xs)):
        out += 1.0
        np.testing.assert_array_equal(out, 2.0)


def _three(x):
    return 3.0


def _three_numpy(x):
    return np.float64(3.0)


def _three_or_first(x):
    if x.shape[0] > 1:
        return 3
    return x[0]


@pytest.mark.parametrize("fn,value", [(_three, 3.0), (_three_numpy, 3.0), (_three_or_first, 3)])
def test_a_number_literal_output_is_broadcast_along_the_batch(fn, value):
    # as in JAX, and as np.float64(3.0) already was: the literal came back as it is
    xs = _normal(7, 3)
    for vm in (s2s.vmap(fn), s2s.vmap(fn, chunk_size=3), s2s.vmap(fn, in_dims=1)):
        for _ in range(2):  # the second call takes the fast path
            out = vm(xs)
            np.testing.assert_array_equal(out, np.full(xs.shape[vm.in_dims], value))
            assert out.dtype == np.asarray(value).dtype
    assert s2s.vmap(s2s.vmap(fn))(_normal(5, 7, 3)).shape == (5, 7)


def test_source_before_first_call_is_an_error():
    vm = s2s.vmap(square)
    with pytest.raises(s2s.InputError, match="call"):
        vm.source()
    vm(_normal(7, 3))
    text = vm.source()
    assert "def " in text and "square" in text


# -- compositions ------------------------------------------------------------------------


def elementwise_and_reduce(x):
    return np.tanh(x) * np.sum(x ** 2)


def test_vmap_of_jacfwd():
    x = _normal(7, 4)
    out = s2s.vmap(s2s.jacfwd(elementwise_and_reduce))(x)
    assert out.shape == (7, 4, 4)
    expected = np.stack([s2s.jacfwd(elementwise_and_reduce)(row) for row in x])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # and against the analytic Jacobian
    for row, jac in zip(x, out):
        analytic = (np.diag(1.0 - np.tanh(row) ** 2) * np.sum(row ** 2)
                    + np.outer(np.tanh(row), 2.0 * row))
        np.testing.assert_allclose(jac, analytic, rtol=1e-12, atol=1e-14)


def test_vmap_of_jacfwd_with_argnums_and_in_dims():
    x, w = _normal(4), _normal(7, 3, 4)
    out = s2s.vmap(s2s.jacfwd(ef.mlp_layer, argnums=2), in_dims=(0, None, None))(
        w, np.ones(3), x)
    assert out.shape == (7, 3, 4)
    for b in range(7):
        pre = w[b] @ x + 1.0
        analytic = (1.0 - np.tanh(pre) ** 2)[:, None] * w[b]
        np.testing.assert_allclose(out[b], analytic, rtol=1e-12)


def test_vmap_of_jacfwd_is_vectorised():
    """The design: vmap(jacfwd(f)) batches generated code (one call of the
    generated function for the whole batch, not a Python loop over it)."""
    x = _normal(7, 4)
    vm = s2s.vmap(s2s.jacfwd(elementwise_and_reduce))
    vm(x)
    assert vm.calls == 1


X0 = np.array([0.5, -1.0, 2.0, 0.3, 1.1])


def jvp_column(v):
    # torch's example: jacobian = vmap(get_vjp)(I_N); here with s2s.jvp
    return s2s.jvp(square, (X0,), (v,))[1]


def test_vmap_of_a_function_calling_jvp():
    jac = s2s.vmap(jvp_column)(np.eye(5))
    np.testing.assert_allclose(jac, np.diag(2.0 * X0), rtol=1e-14)


_B4 = np.linspace(1.0, 2.0, 4)
_W34 = np.linspace(-0.5, 0.5, 12).reshape(3, 4)
_B23 = np.linspace(0.1, 0.6, 6).reshape(2, 3)


def _scaled_by(x, b):
    return np.sin(x) * b


def _dense_scaled_by(x, b):
    return np.tanh(_W34 @ x + b) * b


def _jvp_with_a_zero_closure_tangent(a, v):
    return s2s.jvp(_scaled_by, (a, _B4), (v, np.zeros_like(_B4)))[1]


def _jvp_with_a_fixed_closure_tangent(a, v):
    return s2s.jvp(_dense_scaled_by, (a, _B23), (v, _B23 * 0.3))[1]


def _jvp_with_a_batched_closure_tangent(a, v):
    return s2s.jvp(_scaled_by, (a, _B4), (v, a * v))


def _jvp_of_a_lambda(a, v):
    return s2s.jvp(lambda x: _dense_scaled_by(x, _B23), (a,), (v,))[1]


def _jvp_of_a_lambda_of_both(a, v):
    return s2s.jvp(lambda x, b: _scaled_by(x, b) * _B4, (a, _B4), (v, v))[1]


@pytest.mark.parametrize("g", [_jvp_with_a_zero_closure_tangent, _jvp_with_a_fixed_closure_tangent,
                               _jvp_with_a_batched_closure_tangent, _jvp_of_a_lambda,
                               _jvp_of_a_lambda_of_both], ids=lambda g: g.__name__)
def test_vmap_of_jvp_with_unbatched_primals_and_tangents_beside_batched_ones(g):
    # the tuple (a, b) was given the batch axis on every item, while the flags
    # handed to the batched jvp said b had none: rows of the batch were paired
    # with one another, (5, 5, 4) for (5, 4); jvp of a lambda in the vmapped
    # function was refused: "its file was edited after it was defined"
    xs, vs = _normal(5, 4), _normal(5, 4)
    assert_tree_close(s2s.vmap(g)(xs, vs), _loop(g, (xs, vs)), rtol=1e-12, what="vmap")
    assert_tree_close(s2s.vmap(g, in_dims=(0, None))(xs, vs[0]), _loop(g, (xs, vs[0]), (0, None)),
                      rtol=1e-12, what="vmap, v unbatched")


def _jvp_of_a_lambda_reading_a_batched_value(a, v):
    return s2s.jvp(lambda x: _scaled_by(x, a), (a,), (v,))[1]


def _jvp_of_a_named_lambda_reading_a_batched_value(a, v):
    scale = lambda x: _scaled_by(x, a)  # noqa: E731
    return s2s.jvp(scale, (a,), (v,))[1]


@pytest.mark.parametrize("g, fname", [(_jvp_of_a_lambda_reading_a_batched_value, "the lambda"),
                                      (_jvp_of_a_named_lambda_reading_a_batched_value, "scale")])
def test_vmap_of_jvp_of_a_lambda_reading_a_batched_value_is_refused_naming_the_line(g, fname):
    # the lambda, called with the batch, read all of a: (5, 5, 4) for (5, 4); held
    # in a variable, it was indexed per example ("'function' object is not subscriptable")
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.vmap(g)(_normal(5, 4), _normal(5, 4))
    assert f"{fname} reads a, which differs per batch element" in str(info.value)
    assert f"test_vmap.py:{line_of(g, 'return s2s.jvp')}" in str(info.value)


def sum_of_vmapped_squares(x):
    return np.sum(s2s.vmap(elementwise_and_reduce)(x), axis=0)


def test_vmap_inside_a_function_called_plainly():
    x = _normal(7, 4)
    out = sum_of_vmapped_squares(x)
    np.testing.assert_allclose(out, sum(elementwise_and_reduce(r) for r in x), rtol=1e-12)


def test_math_module_function_under_vmap():
    out = s2s.vmap(ef.damped_oscillator)(np.linspace(0.1, 2.0, 7))
    expected = [ef.damped_oscillator(float(t)) for t in np.linspace(0.1, 2.0, 7)]
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    assert math.isfinite(out.sum())


def pair_helper(x):
    return x * 2.0, 3.0


def uses_pair_whole(x):
    r = pair_helper(x)
    return r[0] + r[1]


def uses_pair_unpacked(x):
    a, b = pair_helper(x)
    return a * b


@pytest.mark.parametrize("fn", [uses_pair_whole, uses_pair_unpacked])
def test_callee_returning_a_batched_and_an_unbatched_item(fn):
    x = _normal(7, 3)
    vm = s2s.vmap(fn)
    np.testing.assert_allclose(vm(x), np.stack([fn(x[i]) for i in range(7)]), rtol=1e-14)
    jac = s2s.jacfwd(fn)(x[0])
    np.testing.assert_allclose(jac, np.diag(np.full(3, 2.0 if fn is uses_pair_whole else 6.0)))


# -- matmul where a per-example rank is only known at run time ---------------------------------


def _nested_matmul(d, w):
    # items of a nested dict: their ranks are not part of the spec
    return np.tanh(d["in"]["a"] @ w) @ np.matmul(w, d["in"]["b"])


def _nested_loop(d, w):
    size = len(d["in"]["a"])
    return np.stack([_nested_matmul({"in": {k: v[i] for k, v in d["in"].items()}}, w)
                     for i in range(size)])


@pytest.mark.parametrize("a_shape,w_shape,b_shape", [
    ((4, 3), (3, 3), (3,)),  # matrix @ matrix, then @ vector
    ((3,), (3, 3), (3, 2)),  # vector @ matrix
    ((2, 4, 3), (3, 3), (3, 5)),  # a stack of matrices
])
def test_matmul_of_ranks_known_at_run_time_is_vectorised_not_looped(a_shape, w_shape, b_shape):
    size = 7
    d = {"in": {"a": _normal(size, *a_shape), "b": _normal(size, *b_shape)}}
    w = _normal(*w_shape)
    batched = s2s.vmap(_nested_matmul, in_dims=({"in": {"a": 0, "b": 0}}, None))
    np.testing.assert_allclose(batched(d, w), _nested_loop(d, w), rtol=1e-12)
    code = s2s.source(batched)
    assert code.count("_s2s.matmul_batched(") == 3 and "map_batched" not in code


def test_matmul_with_a_0d_item_is_refused_as_numpy_refuses():
    d = {"in": {"a": _normal(5), "b": _normal(5, 3)}}
    with pytest.raises(ValueError, match="matmul"):
        _nested_matmul({"in": {"a": d["in"]["a"][0], "b": d["in"]["b"][0]}}, _normal(3, 3))
    with pytest.raises(ValueError, match="matmul"):
        s2s.vmap(_nested_matmul, in_dims=({"in": {"a": 0, "b": 0}}, None))(d, _normal(3, 3))


def _dict_loss(p, x):
    h = np.tanh(p["W1"] @ x + p["b1"])
    return np.sum((p["W2"] @ h) ** 2)


def _central(f, p, h=1e-6):
    """d f / d p by central differences: for each key of the dict p, an
    array of shape f(p).shape + p[key].shape (f(p) an array)."""
    out = {}
    for key, value in p.items():
        columns = []
        for i in np.ndindex(value.shape):
            step = np.zeros(value.shape)
            step[i] = h
            columns.append((f({**p, key: value + step}) - f({**p, key: value - step})) / (2 * h))
        first = np.asarray(columns[0])
        out[key] = np.moveaxis(np.array(columns), 0, -1).reshape(first.shape + value.shape)
    return out


def test_jacobian_and_hessian_of_a_loss_of_a_parameter_dict():
    p = {"W1": _normal(5, 4), "b1": _normal(5), "W2": _normal(2, 5)}
    x = _normal(4)
    jac = s2s.jacfwd(_dict_loss)
    got = jac(p, x)
    code = s2s.source(jac)  # the items' ranks are known: code as for arrays
    assert "map_batched" not in code and "align_batched" not in code
    assert "matmul_batched" not in code and "_t1_dot = _t0_dot @ x" in code, code
    expected = _central(lambda q: _dict_loss(q, x), p)
    for key in p:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-8)
    hess = s2s.hessian(_dict_loss)
    got = hess(p, x)
    assert "map_batched" not in s2s.source(hess)
    for out_key in p:  # row out_key of the Hessian: the Jacobian of jac(p)[out_key]
        expected = _central(lambda q, k=out_key: jac(q, x)[k], p)
        for in_key in p:
            np.testing.assert_allclose(got[out_key][in_key], expected[in_key],
                                       rtol=1e-5, atol=1e-6)


def _sum_over(x, axis):
    return np.sum(x * x, axis=axis, keepdims=True) + np.max(x, axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1), (1, -1)])
def test_reduction_over_an_axis_known_only_at_run_time_is_vectorised(axis):
    x = _normal(7, 3, 4, 5)
    batched = s2s.vmap(_sum_over, in_dims=(0, None))
    np.testing.assert_allclose(batched(x, axis), np.stack([_sum_over(e, axis) for e in x]),
                               rtol=1e-12)
    assert "map_batched" not in s2s.source(batched) and "shift_axis_of" in s2s.source(batched)


def _sum_over_own_axis(x, axis):
    return np.sum(x, axis=axis)


def test_reduction_over_an_axis_that_differs_per_example_loops():
    x, axes = _normal(4, 3, 3), np.array([0, 1, 0, 1])
    batched = s2s.vmap(_sum_over_own_axis)
    np.testing.assert_allclose(batched(x, axes), np.stack([e.sum(axis=a) for e, a in zip(x, axes)]))
    assert "map_batched" in s2s.source(batched) and "shift_axis_of" not in s2s.source(batched)


# -- the items of a dict or tuple argument: their ranks are part of the spec -------------------


def _layer_of(p, x):
    w, b = p["layer"]
    return np.tanh(w @ x + b) * p["scale"]


def _per_example(f, args, in_dims):
    size = next(np.shape(leaf)[0] for a, d in zip(args, in_dims) if d is not None
                for leaf in pytree.flatten(a)[0])
    take = [(lambda a, i: pytree.unflatten(pytree.flatten(a)[1], [
        leaf[i] for leaf in pytree.flatten(a)[0]])) if d is not None else (lambda a, i: a)
        for d in in_dims]
    return np.stack([f(*[t(a, i) for t, a in zip(take, args)]) for i in range(size)])


def test_items_of_dict_and_tuple_arguments_have_static_ranks():
    p = {"layer": (_normal(6, 4, 3), _normal(6, 4)), "scale": _normal(6)}
    x = _normal(3)
    batched = s2s.vmap(_layer_of, in_dims=(0, None))
    np.testing.assert_allclose(batched(p, x), _per_example(_layer_of, (p, x), (0, None)),
                               rtol=1e-12)
    flat = {"w": _normal(6, 4, 3), "b": _normal(4), "scale": 2.0}  # b and scale unbatched

    def flat_layer(q, x):
        return np.tanh(q["w"] @ x + q["b"]) * q["scale"]

    mixed = s2s.vmap(flat_layer, in_dims=({"w": 0, "b": None, "scale": None}, None))
    expected = np.stack([flat_layer({**flat, "w": w}, x) for w in flat["w"]])
    np.testing.assert_allclose(mixed(flat, x), expected, rtol=1e-12)
    code = s2s.source(mixed)
    assert "align_batched" not in code and "matmul_batched" not in code, code
    twice = s2s.vmap(s2s.vmap(flat_layer, in_dims=({"w": 0, "b": None, "scale": None}, None)),
                     in_dims=({"w": 0, "b": 0, "scale": None}, None))
    nested = {"w": _normal(5, 6, 4, 3), "b": _normal(5, 4), "scale": 2.0}
    np.testing.assert_allclose(
        twice(nested, x),
        np.stack([mixed({"w": w, "b": b, "scale": 2.0}, x)
                  for w, b in zip(nested["w"], nested["b"])]), rtol=1e-12)


def _rebinds_an_item(p, x):
    p = dict(p)
    p["w"] = p["w"][..., None]  # the item's rank changes: the spec's ranks no longer hold
    return np.sum(p["w"] * x, axis=-2)


def _passes_it_on(p, x):
    return _rebinds_an_item(p, x) + np.sum(p["w"])


@pytest.mark.parametrize("f", [_rebinds_an_item, _passes_it_on])
def test_a_dict_argument_whose_items_may_change_keeps_run_time_ranks(f):
    p, x = {"w": _normal(5, 4, 3)}, _normal(3)
    batched = s2s.vmap(f, in_dims=({"w": 0}, None))
    np.testing.assert_allclose(batched(p, x), np.stack([f({"w": w}, x) for w in p["w"]]),
                               rtol=1e-12)


def _updates_a_copy(p, x):
    q = p.copy()
    q["w"] = q["w"] * 2.0
    r = q  # another name for the same dict
    return np.sum(r["w"] * x) + np.sum(p["w"])


def _copies_with_dict(p, x):
    q = dict(p)  # (vmap only: dict() of a value with a derivative has no jvp rule)
    q["w"] = q["w"][::-1]
    return np.sum(q["w"] * x)


@pytest.mark.parametrize("f", [_updates_a_copy, _copies_with_dict])
def test_a_copy_of_a_dict_argument_stays_a_dict(f):
    # the copy was taken for an array: q[:, "w"] = ... failed with a TypeError
    p, x = {"w": _normal(5, 3)}, _normal(3)
    batched = s2s.vmap(f, in_dims=({"w": 0}, None))
    np.testing.assert_allclose(batched(p, x), np.stack([f({"w": w}, x) for w in p["w"]]),
                               rtol=1e-12)


def test_jacobian_and_hessian_through_a_copy_of_a_dict_argument():
    p, x = {"w": _normal(3)}, _normal(3)
    np.testing.assert_allclose(s2s.jacfwd(_updates_a_copy)(p, x)["w"], 2.0 * x + 1.0,
                               rtol=1e-12)
    hess = s2s.hessian(_updates_a_copy, argnums=(0, 1))(p, x)
    # blocks: [d/dp or d/dx of the gradient][its part][d/dp or d/dx again]
    np.testing.assert_allclose(hess[0]["w"][1], 2.0 * np.eye(3), rtol=1e-12)  # d2 / dw dx
    np.testing.assert_allclose(hess[1][0]["w"], 2.0 * np.eye(3), rtol=1e-12)  # d2 / dx dw
    np.testing.assert_allclose(hess[0]["w"][0]["w"], np.zeros((3, 3)), atol=1e-12)
    np.testing.assert_allclose(hess[1][1], np.zeros((3, 3)), atol=1e-12)


def _get_with_defaults(p, x):
    cfg = {"scale": 3.0}
    shift = cfg.get("shift", x)  # an unbatched dict, a batched default
    return np.sum(p.get("w") * x) + np.sum(p.get("missing", 0.5) * x) + np.sum(shift) \
        + cfg.get("scale", 1.0) * np.sum(p.pop("b", 0.0)) + np.sum(p.pop("gone", x) ** 2)


def _update_a_dict(p, x):
    q = {"c": 2.0}
    q.update(p)
    q.update(d=x)
    q["w"] = q["w"] + 1.0
    return np.sum(q["w"] * q["d"]) * q["c"]


@pytest.mark.parametrize("f", [_get_with_defaults, _update_a_dict])
@pytest.mark.parametrize("in_dims", [(0, None), (None, 0), (0, 0)])
def test_dict_methods_under_vmap_match_a_loop(f, in_dims):
    # d.get(k, default) and d.update(other) of batched dicts failed (float has no .shape,
    # KeyError: the update ran on per-example copies)
    p, x = {"w": _normal(5, 3), "b": _normal(5, 3)}, _normal(5, 3)
    given = [p if in_dims[0] is not None else {k: v[0] for k, v in p.items()},
             x if in_dims[1] is not None else x[0]]
    expected = [f({k: v[i] if in_dims[0] is not None else v for k, v in given[0].items()},
                  given[1][i] if in_dims[1] is not None else given[1]) for i in range(5)]
    got = s2s.vmap(f, in_dims=in_dims)(*given)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-12)


@pytest.mark.parametrize("f", [_get_with_defaults, _update_a_dict])
def test_dict_methods_jacobians_match_finite_differences(f):
    p, x = {"w": _normal(3), "b": _normal(3)}, _normal(3)
    jac = s2s.jacfwd(f, argnums=(0, 1))(dict(p), x)
    h = 1e-6
    for key in p:
        for i in range(3):
            step = np.zeros(3)
            step[i] = h
            expected = (f({**p, key: p[key] + step}, x) - f({**p, key: p[key] - step}, x)) / (2 * h)
            np.testing.assert_allclose(jac[0][key][i], expected, rtol=1e-6, atol=1e-8)
    expected = [(f(dict(p), x + h * e) - f(dict(p), x - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(jac[1], expected, rtol=1e-6, atol=1e-8)


def _zip_keys_values(p, x):
    out = 0.0
    for k, v in zip(p.keys(), p.values()):
        out = out + np.sum(v * x) * len(k)
    keys = list(p.keys())
    q = {k: v for k, v in zip(keys, [p[k] * 2.0 for k in keys])}
    return out + np.sum(q["w0"] * x)


def test_the_keys_of_a_batched_dict_are_the_same_for_every_example():
    # d.keys() was mapped over the batch: an AxisError from the generated code
    p, x = {"w0": _normal(5, 3), "w12": _normal(5, 3)}, _normal(3)
    batched = s2s.vmap(_zip_keys_values, in_dims=(0, None))
    np.testing.assert_allclose(batched(p, x), [_zip_keys_values({k: v[i] for k, v in p.items()}, x)
                                               for i in range(5)], rtol=1e-12)
    assert "map_batched" not in s2s.source(batched)


def _sorted_items(p, x):
    out = 0.0
    for k, v in sorted(p.items()):
        out = out * 0.5 + np.sum(v * x) * len(k)
    first = list(p.items())[0][1]
    return out + np.sum(first ** 2)


def test_sorted_items_of_a_dict_argument():
    # .items() had no jvp rule, and under vmap it was mapped over the batch (AxisError)
    p, x = {"w12": _normal(3), "w0": _normal(3)}, _normal(3)
    check_jvp(_sorted_items, (p, x))
    batch = {k: _normal(5, 3) for k in p}
    batched = s2s.vmap(_sorted_items, in_dims=(0, None))
    np.testing.assert_allclose(batched(batch, x), [
        _sorted_items({k: v[i] for k, v in batch.items()}, x) for i in range(5)], rtol=1e-12)
    assert "map_batched" not in s2s.source(batched)
    jac = s2s.jacfwd(_sorted_items, argnums=1)
    expected = [(jac(p, x + 1e-6 * e) - jac(p, x - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    np.testing.assert_allclose(s2s.hessian(_sorted_items, argnums=1)(p, x), expected,
                               rtol=1e-5, atol=1e-6)


def _list_of_dict_items(p, x):
    lst = [p["w"], x]
    lst.insert(0, p["w"] * 2.0)
    lst.extend([x * x])
    last = lst.pop()
    return np.sum(np.stack(lst) ** 2) + np.sum(last * x)


def test_hessian_in_one_argument_of_code_mixing_a_dict_argument_in():
    # p is not differentiated but shares a list with x: its zero tangent was
    # xp.zeros_like(p) of a dict (an IndexError from the generated code)
    p, x = {"w": _normal(3)}, _normal(3)
    jac = s2s.jacfwd(_list_of_dict_items, argnums=1)
    expected = [(jac(p, x + 1e-6 * e) - jac(p, x - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    np.testing.assert_allclose(s2s.hessian(_list_of_dict_items, argnums=1)(p, x), expected,
                               rtol=1e-5, atol=1e-6)


# -- dot and inner with a 0-d operand ---------------------------------------------


def _jacobian_by_differences(f, x, h=1e-6):
    """d f / d x by central differences: the output's axes, then x's."""
    directions = np.eye(x.size).reshape((x.size,) + x.shape)
    columns = [(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in directions]
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(f(x)) + x.shape)


def _assert_batched_like_loops(fn, xs):
    """vmap, jacfwd, vmap of jacfwd and hessian of ``fn`` against loops and
    finite differences, none of them looping over a batch."""
    x = xs[0]
    vm, jac = s2s.vmap(fn), s2s.jacfwd(fn)
    assert_tree_close(vm(xs), _loop(fn, (xs,)), rtol=1e-12, what="vmap")
    assert_tree_close(jac(x), _jacobian_by_differences(fn, x), what="jacfwd")
    of_jac = s2s.vmap(jac)
    assert_tree_close(of_jac(xs), _loop(jac, (xs,)), rtol=1e-12, what="vmap of jacfwd")
    hess = s2s.hessian(fn)
    assert_tree_close(hess(x), _jacobian_by_differences(jac, x), rtol=1e-5, atol=1e-5,
                      what="hessian")
    for transformed in (vm, jac, of_jac, hess):
        assert "map_batched" not in s2s.source(transformed), s2s.source(transformed)


def _dot_scalar(x):
    return np.sum(np.dot(x, 2.0) - x)


def _scalar_dot(x):
    return np.sum(np.dot(3.0, x) * x)


def _inner_scalar(x):
    return np.inner(x, 2.0) + x


def _scalar_inner(x):
    return np.inner(2.5, x) * x


def _dot_of_a_sum(x):
    return np.dot(np.sum(x), np.sin(x))


@pytest.mark.parametrize("fn", [_dot_scalar, _scalar_dot, _inner_scalar, _scalar_inner,
                                _dot_of_a_sum], ids=lambda f: f.__name__)
def test_dot_and_inner_with_a_0d_operand_multiply(fn):
    # the batching read the 0-d operand's result as one axis short (rank -1):
    # vmap gave (4, 4, 3) for (4,), jacfwd (3, 3, 3) for (3,), hessian and
    # inner raised
    _assert_batched_like_loops(fn, _normal(4, 3))


def _inner_of_nested_items(d):
    # items of a nested dict: their ranks are known only at run time
    return np.inner(d["in"]["a"], d["in"]["s"]) + np.inner(d["in"]["s"], 2.0)


def test_inner_with_a_0d_operand_of_rank_known_at_run_time():
    d = {"in": {"a": _normal(7, 3), "s": _normal(7)}}
    batched = s2s.vmap(_inner_of_nested_items)
    expected = [_inner_of_nested_items({"in": {k: v[i] for k, v in d["in"].items()}})
                for i in range(7)]
    assert_tree_close(batched(d), np.array(expected), rtol=1e-12)
    code = s2s.source(batched)
    assert "_s2s.inner_batched(" in code and "map_batched" not in code


# -- einsum's sublist form ---------------------------------------------------------


def test_einsum_sublist_form_batches_as_the_string_form():
    a, b = _normal(6, 3, 4), _normal(4, 2)
    vm = s2s.vmap(einsum_sublists, in_dims=(0, None))
    assert_tree_close(vm(a, b), _loop(einsum_sublists, (a, b), (0, None)), rtol=1e-12)
    assert "'Zab,bc->Zac'" in s2s.source(vm)
    for argnums, vary, x in ((0, lambda v: einsum_sublists(v, b), a[0]),
                             (1, lambda v: einsum_sublists(a[0], v), b)):
        jac = s2s.jacfwd(einsum_sublists, argnums=argnums)
        assert_tree_close(jac(a[0], b), _jacobian_by_differences(vary, x))
        assert "map_batched" not in s2s.source(jac)
    c, d = _normal(6, 2, 3, 4), _normal(6, 4, 5)
    vm = s2s.vmap(einsum_sublists_implicit)
    assert_tree_close(vm(c, d), _loop(einsum_sublists_implicit, (c, d)), rtol=1e-12)
    assert "map_batched" not in s2s.source(vm)


def _einsum_into_a_changed_list(a, b):
    out = [0, 2]
    out.reverse()  # the list written above is not the one einsum gets
    return np.einsum(a, [0, 1], b, [1, 2], out)


def test_einsum_sublists_changed_in_place_are_read_at_run_time():
    a, b = _normal(6, 3, 4), _normal(6, 4, 2)
    vm = s2s.vmap(_einsum_into_a_changed_list)
    assert_tree_close(vm(a, b), _loop(_einsum_into_a_changed_list, (a, b)), rtol=1e-12)


# -- np.pad -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", PAD_FUNCTIONS + PAD_ROW_FUNCTIONS, ids=lambda f: f.__name__)
def test_pad_batches_without_loops(fn):
    xs = _normal(7, 3, 4) if fn in PAD_ROW_FUNCTIONS else _normal(7, 5)
    _assert_batched_like_loops(fn, xs)


def test_pad_with_batched_values_to_pad_with():
    xs, cs = _normal(5, 2, 3), _normal(5)
    for fn, c in ((pad_with, cs), (ramp_to, _normal(5, 2))):
        assert_tree_close(s2s.vmap(fn)(xs, c), _loop(fn, (xs, c)), rtol=1e-12)
        jac = s2s.jacfwd(fn, argnums=1)
        assert_tree_close(jac(xs[0], c[0]), _jacobian_by_differences(
            lambda v, f=fn: f(xs[0], v), np.asarray(c[0])))


# -- Python's max, min and sum ------------------------------------------------------


def _max_of_three(x):
    return max(x[0], x[1], 2.0 * x[2]) * x


def _min_of_three(x):
    return min(x[0], 0.25, x[2] ** 2) * x


def _min_of_a_list(x):
    return min([x[0] * 2, x[1], x[2] + 1.0]) * x


def _max_of_a_generator(x):
    return max(x[i] ** 2 for i in range(len(x))) * x


def _max_of_an_array(x):
    return max(x) * x


def _sum_of_an_array(x):
    return sum(x) * x


def _sum_of_rows(m):
    return sum(m) * 2.0


def _sum_of_a_list_of_numbers(x):
    return sum(x.tolist()) * x


@pytest.mark.parametrize("fn", [_max_of_three, _min_of_three, _min_of_a_list,
                                _max_of_a_generator, _max_of_an_array, _sum_of_an_array,
                                _sum_of_rows, _sum_of_a_list_of_numbers],
                         ids=lambda f: f.__name__)
def test_builtin_max_min_and_sum(fn):
    # max(a, b, c) became np.maximum(a, b, c), whose third argument is out= (a wrong
    # answer, the caller's array overwritten); max/min of one iterable had no rule
    # and crashed under vmap; sum(x) of a batched array summed over the batch axis
    xs = np.array([[0.5, -1.3, 0.7, 0.2], [2.0, 1.0, -0.5, 0.3], [-0.3, 0.4, 1.1, -2.0],
                   [0.1, 0.2, 0.3, 0.4], [1.5, -0.5, 0.25, 0.6]])[:, :3]
    if fn is _sum_of_rows:
        xs = _normal(5, 2, 3)
    before, vm = xs.copy(), s2s.vmap(fn)
    for b in (1, 2, 5):
        assert_tree_close(vm(xs[:b]), _loop(fn, (xs[:b],)), rtol=1e-12, what=f"B={b}")
    np.testing.assert_array_equal(xs, before)
    assert "map_batched" not in s2s.source(vm)
    x = xs[0]
    check_jvp(fn, (x,))
    jac = s2s.jacfwd(fn)
    assert_tree_close(jac(x), _jacobian_by_differences(fn, x), what="jacfwd")
    assert "map_batched" not in s2s.source(jac)
    assert_tree_close(s2s.vmap(jac)(xs), _loop(jac, (xs,)), rtol=1e-12, what="vmap of jacfwd")
    assert_tree_close(s2s.hessian(fn)(x), _jacobian_by_differences(jac, x), rtol=1e-5,
                      atol=1e-5, what="hessian")


def test_builtin_max_of_three_is_a_chain_of_maximum():
    vm = s2s.vmap(_max_of_three)
    vm(_normal(4, 3))
    assert "xp.maximum(xp.maximum(_t0, _t1), _t3)" in s2s.source(vm)


def test_builtin_max_and_min_ties_share_the_tangent():
    def three(a, b, c):
        return max(a, b, c)

    def of_list(x):
        return min([x[0], x[1], x[2]])

    assert s2s.jvp(three, (1.5, 1.5, 1.5), (1.0, 2.0, 6.0))[1] == 3.0
    assert s2s.jvp(of_list, (np.array([1.0, 1.0, 3.0]),), (np.array([5.0, 1.0, 2.0]),))[1] == 3.0
    assert s2s.jvp(lambda x: max(x), (np.array([1.0, 3.0, 3.0]),),
                   (np.array([5.0, 1.0, 2.0]),))[1] == 1.5
    jac = s2s.jacfwd(three, argnums=(0, 1, 2))(2.0, 2.0, 1.0)
    np.testing.assert_allclose(jac, (0.5, 0.5, 0.0))


# -- try/except and range over values that differ per example ------------------------


def _log_or_half(x):
    with np.errstate(divide="raise"):
        try:
            y = np.log(x)
        except FloatingPointError:
            y = x * 0.5
    return y


def _solve_or_double(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return b * 2.0


def _cube_unless_large(x):
    if np.sum(x) > 0.5:
        raise ValueError("too large")
    return x ** 3


def _cube_or_negate(x):
    try:
        y = _cube_unless_large(x)
    except ValueError:
        y = -x
    return y


def _powers_summed(x):
    n = int(abs(x[0]) * 3) + 1
    s = 0.0
    for k in range(n):
        s = s + x[1] ** k
    return s * x


def test_try_catches_per_example():
    # the body ran once for the whole batch: one example raising sent every
    # example to the except branch; the function loops over the batch now
    cases = [(_log_or_half, (np.array([[0.5, 1.0, 0.7], [1.5, 1.0, 0.0], [2.0, 0.1, 0.3]]),)),
             (_solve_or_double, (np.stack([np.eye(2) * 2.0, np.ones((2, 2)), np.eye(2)]),
                                 np.array([[1.0, 2.0], [1.0, 3.0], [0.5, 0.25]]))),
             (_cube_or_negate, (np.array([[0.1, -0.2, 0.1], [1.0, 1.0, 1.0], [0.2, 0.0, -0.1]]),))]
    for fn, args in cases:
        vm = s2s.vmap(fn)
        assert_tree_close(vm(*args), _loop(fn, args), rtol=1e-14, what=fn.__name__)
        assert "loops over the batch: the try on" in s2s.source(vm)


def test_try_under_jacfwd_stays_vectorised():
    # jacfwd batches directions only: every direction raises, or none does
    for fn, x in ((_log_or_half, np.array([0.5, 1.0, 0.7])),
                  (_cube_or_negate, np.array([0.1, -0.2, 0.1])),
                  (_cube_or_negate, np.array([1.0, 1.0, 1.0]))):
        jac = s2s.jacfwd(fn)
        assert_tree_close(jac(x), _jacobian_by_differences(fn, x), what=fn.__name__)
        assert "loop_batched" not in s2s.source(jac)
        hess = s2s.hessian(fn)
        assert_tree_close(hess(x), _jacobian_by_differences(jac, x), rtol=1e-5, atol=1e-5)
        assert "loop_batched" not in s2s.source(hess)
    a, b = np.array([[2.0, 0.5], [0.0, 1.0]]), np.array([1.0, 2.0])
    jac = s2s.jacfwd(_solve_or_double, argnums=1)
    assert_tree_close(jac(a, b), np.linalg.inv(a))
    assert "loop_batched" not in s2s.source(jac)


def test_range_of_a_count_that_differs_per_example():
    # range() of a batched count: a TypeError from the generated code
    xs = np.array([[0.5, -1.3, 0.7], [0.9, 0.4, 1.1], [0.1, 2.0, -0.5]])
    for b in (1, 3):
        vm = s2s.vmap(_powers_summed)
        assert_tree_close(vm(xs[:b]), _loop(_powers_summed, (xs[:b],)), rtol=1e-14)
    assert "loops over the batch: the range on" in s2s.source(vm)
    jac = s2s.jacfwd(_powers_summed)  # the count comes from the primal: no loop
    assert_tree_close(jac(xs[0]), _jacobian_by_differences(_powers_summed, xs[0]))
    assert "loop_batched" not in s2s.source(jac)


def _fourier_sum(x):
    acc = 0j  # a Python complex: NumPy makes it complex64 with float32 values
    for k in range(3):
        acc = acc + x * np.exp(1j * k * x)
    return acc


def test_a_python_complex_accumulator_keeps_complex64():
    # the batched 0j was a complex128 array, which made the batch complex128
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    xs = np.stack([x, 2 * x, -x, 0.5 * x])
    expected = _loop(_fourier_sum, (xs,))
    assert expected.dtype == np.complex64
    got = s2s.vmap(_fourier_sum)(xs)
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert s2s.vmap(_fourier_sum)(xs.astype(np.float64)).dtype == np.complex128
    jacobians = s2s.vmap(s2s.jacfwd(_fourier_sum))(xs)
    assert jacobians.dtype == np.complex64
    np.testing.assert_allclose(jacobians, [s2s.jacfwd(_fourier_sum)(r.astype(np.float64))
                                           for r in xs], rtol=1e-5)


def _scaled_and_described(x):
    return 2 * x, ("scaled", 2, 0.5, None)


def test_out_dims_none_gives_python_values_back_as_they_are():
    # as torch.func.vmap and jax.vmap do: they came back as NumPy scalars
    xs = _normal(5, 3)
    for chunk_size in (None, 2):
        vm = s2s.vmap(_scaled_and_described, out_dims=(0, None), chunk_size=chunk_size)
        for _ in range(2):  # (the second call takes the fast path)
            scaled, described = vm(xs)
            np.testing.assert_allclose(scaled, 2 * xs)
            assert described == ("scaled", 2, 0.5, None)
            assert [type(v) for v in described] == [str, int, float, type(None)]
    number = s2s.vmap(lambda x: 3, out_dims=None)(xs)
    assert number == 3 and type(number) is int


def _scaled_and_labelled(x):
    return 2 * x, "scaled"


def test_a_string_output_with_a_batch_axis_is_an_error():
    # torch.func.vmap and jax.vmap refuse it; it was an array of copies of the string
    xs = _normal(5, 3)
    vm = s2s.vmap(_scaled_and_labelled)
    for _ in range(2):
        with pytest.raises(s2s.InputError, match="(?s)returned the str 'scaled'.*out_dims=None") as info:
            vm(xs)
        assert (info.value.filename, info.value.lineno) == (__file__, line_of(
            _scaled_and_labelled, "def _scaled_and_labelled"))
    assert s2s.vmap(_scaled_and_labelled, out_dims=(0, None))(xs)[1] == "scaled"


def _energy_by_a_python_float_sum(x):
    total = 0.0  # a Python float: NumPy keeps float32 values float32 when they meet
    for xi in x:
        total = total + 0.5 * xi ** 2
    return total * x


def test_a_python_float_accumulator_keeps_float32():
    # the batched 0.0 was a float64 array, which made jacfwd, vmap and hessian float64
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    assert _energy_by_a_python_float_sum(x).dtype == np.float32
    xs = np.stack([x, 2 * x])
    got = s2s.vmap(_energy_by_a_python_float_sum)(xs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _loop(_energy_by_a_python_float_sum, (xs,)), rtol=1e-6)
    J = s2s.jacfwd(_energy_by_a_python_float_sum)(x)
    assert J.dtype == np.float32
    x64 = x.astype(np.float64)
    expected = np.outer(x64, x64) + np.sum(0.5 * x64 ** 2) * np.eye(3)
    np.testing.assert_allclose(J, expected, rtol=1e-6)
    assert s2s.hessian(lambda v: np.sum(_energy_by_a_python_float_sum(v)))(x).dtype == np.float32
    twice = s2s.vmap(s2s.vmap(_energy_by_a_python_float_sum))  # like= batched again: no loop
    np.testing.assert_allclose(twice(np.stack([xs, xs])), [_loop(_energy_by_a_python_float_sum,
                                                                 (xs,))] * 2, rtol=1e-6)
    assert "map_batched" not in twice.source()


_ROWS = np.array([0, 2])


def _store_at_global_rows(x):
    y = np.zeros((3, 3))
    j = 1
    y[_ROWS, j] = x[1, j] ** 2
    return y


def test_a_store_through_a_global_index_array():
    # the index array's rank was unknown, so the batched value was not given
    # the axis the target has: a shape error under jacfwd
    x = np.arange(9.0).reshape(3, 3) / 10
    expected = np.zeros((3, 3, 3, 3))
    expected[[0, 2], 1, 1, 1] = 2 * x[1, 1]
    np.testing.assert_allclose(s2s.jacfwd(_store_at_global_rows)(x), expected, rtol=1e-14)
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(s2s.vmap(_store_at_global_rows)(xs),
                               _loop(_store_at_global_rows, (xs,)), rtol=1e-14)


def _replace_an_item(x, k):
    items = [x[0], x[1], x[2]]
    items[k] = x[0] * 5.0
    return items[0] + items[1] + items[2]


def test_a_list_store_at_a_per_example_index_loops_over_the_batch():
    # before: a TypeError from the generated code (a list indexed by an array)
    xs, ks = np.arange(12.0).reshape(4, 3), np.array([0, 1, 2, 1])
    vm = s2s.vmap(_replace_an_item)
    np.testing.assert_allclose(vm(xs, ks), _loop(_replace_an_item, (xs, ks)), rtol=1e-14)
    assert "puts a value at a different place of a list" in vm.source()


def _store_through_an_index(x, idx):
    y = x * 1.0
    y[idx] = 3.0 * x[0] ** 2
    return y


def _store_in(y, idx, v):
    y[idx] = v


def _store_through_a_helper(x, idx):
    y = x * 1.0
    _store_in(y, idx, 3.0 * x[0] ** 2)
    return y


def _rows_through_an_index(x, idx):
    y = x * 1.0
    y[idx] = np.sin(x[0])
    return y


# two selected slots each, like the batch size 2 below (rows 0, 2 of a 4 x 3 matrix)
_INDEX_ARGUMENTS = {"mask": np.array([True, False, True, False]), "ints": np.array([0, 2]),
                    "ints-2d": np.array([[0, 2], [2, 0]])}
_INDEX_BATCHES = {"mask": np.array([[True, False, True, False], [False, True, False, True],
                                    [True, True, False, False]]),
                  "ints": np.array([[0, 2], [1, 3], [3, 3]]),
                  "ints-2d": np.array([[[0, 2], [2, 0]], [[1, 1], [3, 0]], [[3, 2], [1, 0]]])}


def _across_the_batch(jacobians):
    """The Jacobian of a batched function from those of its examples (``B x
    out x in`` each): nothing across examples."""
    size, shape = jacobians.shape[0], jacobians.shape[1:]
    half = len(shape) // 2
    full = np.zeros((size, *shape[:half], size, *shape[half:]))
    for b in range(size):
        full[(b, *[slice(None)] * half, b)] = jacobians[b]
    return full


@pytest.mark.parametrize("size", [1, 2, 3])  # 2: as many as the slots selected
@pytest.mark.parametrize("kind", list(_INDEX_ARGUMENTS))
@pytest.mark.parametrize("f", [_store_through_an_index, _store_through_a_helper,
                               _rows_through_an_index])
def test_a_store_through_an_index_argument(f, kind, size):
    # before: the rank of y[idx] was unknown (a mask of rank k takes k axes, an
    # integer array one), so a number per example met the region's last axis: a
    # shape error, silently wrong values when the batch size equals that axis
    index = _INDEX_ARGUMENTS[kind]
    xs = _normal(size, 4, 3) if f is _rows_through_an_index else _normal(size, 4)
    np.testing.assert_allclose(s2s.vmap(f, in_dims=(0, None))(xs, index),
                               _loop(f, (xs, index), (0, None)), rtol=1e-14)
    jac = s2s.jacfwd(f)  # (against central differences in test_jacfwd)
    jacobians = _loop(jac, (xs, index), (0, None))
    np.testing.assert_allclose(s2s.jacfwd(s2s.vmap(f, in_dims=(0, None)))(xs, index),
                               _across_the_batch(jacobians), rtol=1e-14)
    np.testing.assert_allclose(s2s.vmap(jac, in_dims=(0, None))(xs, index), jacobians,
                               rtol=1e-14)
    indices = _INDEX_BATCHES[kind][:size]  # an index per example
    for g in (f, jac, s2s.hessian(f)):
        np.testing.assert_allclose(s2s.vmap(g)(xs, indices), _loop(g, (xs, indices)), rtol=1e-14)


def _sum_of_rows(x):
    s = 0.0  # a Python number: s += row rebinds it to an array
    for i in range(2):
        s += x[i] * x[i]
    return s


def _mixed_precision_sum(x, y):
    s = 0.0
    for i in range(2):
        s += x[i] * y  # float32 times float64: float64, as NumPy gives per example
    return s


def test_a_number_accumulator_updated_with_arrays():
    # batched, s was a buffer of the number's shape (and later of x's dtype)
    # updated in place: a shape error under jacfwd, vmap and hessian, and
    # float64 terms cast down to float32
    x = np.arange(1.0, 7.0).reshape(2, 3)
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(s2s.vmap(_sum_of_rows)(xs), _loop(_sum_of_rows, (xs,)), rtol=1e-14)
    expected = np.zeros((3, 2, 3))
    for i in range(2):
        expected[np.arange(3), i, np.arange(3)] = 2 * x[i]
    np.testing.assert_allclose(s2s.jacfwd(_sum_of_rows)(x), expected, rtol=1e-14)
    assert s2s.hessian(_sum_of_rows)(x).shape == (3, 2, 3, 2, 3)
    x32, y = np.array([1.0, 1.0], dtype=np.float32), np.array([1.000000001])
    got = s2s.vmap(_mixed_precision_sum, in_dims=(0, None))(np.stack([x32, x32]), y)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [_mixed_precision_sum(x32, y)] * 2)


class _Config:
    W = np.array([1.0, 2.0, 3.0])


def _scaled_by_an_attribute(x):
    return _Config.W * x


def test_batched_code_follows_an_attribute_rebound_to_another_rank(monkeypatch):
    # the rank dependency was on names only: cfg.W rebound to a matrix kept the
    # vector's code (a wrong shape, silently)
    xs = np.arange(6.0).reshape(2, 3)
    vm = s2s.vmap(_scaled_by_an_attribute)
    np.testing.assert_allclose(vm(xs), _loop(_scaled_by_an_attribute, (xs,)), rtol=1e-14)
    monkeypatch.setattr(_Config, "W", np.arange(9.0).reshape(3, 3))
    np.testing.assert_allclose(vm(xs), _loop(_scaled_by_an_attribute, (xs,)), rtol=1e-14)
    np.testing.assert_allclose(s2s.jacfwd(_scaled_by_an_attribute)(xs[0]),
                               _Config.W[:, :, None] * np.eye(3), rtol=1e-14)


# -- *args and **kwargs of calls ----------------------------------------------------


def _add_parts(x):
    parts = [x[0], x[1]]
    return np.add(*parts)


def _hypot_parts(x):
    parts = list(x[:2])  # no display: the call runs once per example
    return np.hypot(*parts)


def _where_unpacked(x):
    args = tuple([x > 0.3, x, -x])
    return np.where(*args)


def _sum_with_kwargs(x):
    kw = {"axis": 0}
    return np.sum(x, **kw)


def _cumsum_with_kwargs(x):
    kw = dict(axis=0)
    return np.cumsum(x, **kw)


def _times(a, b=1.0):
    return a * b


def _helper_unpacked(x):
    args = list(x[:2])
    return _times(*args)


def _helper_unpacked_display(x):
    args = [x[0], x[1]]
    return _times(*args)


def _reshape_starred(x):
    return x.reshape(*x.shape[::-1])[0]


@pytest.mark.parametrize("f", [_add_parts, _hypot_parts, _where_unpacked, _sum_with_kwargs,
                               _cumsum_with_kwargs, _helper_unpacked, _helper_unpacked_display,
                               _reshape_starred], ids=lambda f: f.__name__)
def test_starred_calls_batch_as_a_loop_would(f):
    # align_batched was handed *parts as one operand, the axis of **kw was given
    # twice, and helper(*args) bound the whole batch to its first parameter
    xs = _normal(5, 4, 3)
    np.testing.assert_allclose(s2s.vmap(f)(xs), _loop(f, (xs,)), rtol=1e-14)


def _noisy(x, rng):
    return x + rng.normal(size=x.shape)


@pytest.mark.parametrize("randomness", ["error", "different"])
def test_a_random_generator_argument_is_refused_unless_the_draws_are_the_same(randomness):
    # its draws ran once for the whole batch: 'different' gave every example the same
    # noise, 'error' raised nothing
    xs = np.zeros((4, 3))
    with pytest.raises(s2s.InputError, match="random generator"):
        s2s.vmap(_noisy, in_dims=(0, None), randomness=randomness)(xs, np.random.default_rng(0))


def test_a_random_generator_argument_draws_once_for_the_batch_also_in_chunks():
    xs = np.zeros((4, 3))
    whole = s2s.vmap(_noisy, in_dims=(0, None), randomness="same")(xs, np.random.default_rng(0))
    chunked = s2s.vmap(_noisy, in_dims=(0, None), randomness="same", chunk_size=2)(
        xs, np.random.default_rng(0))
    np.testing.assert_array_equal(whole, np.broadcast_to(whole[0], whole.shape))
    np.testing.assert_array_equal(chunked, whole)  # (chunks drew anew: rows 2-3 differed)


def _counts_distinct(x):
    return np.sum(x) * np.unique(np.round(x)).shape[0]


def test_a_size_that_depends_on_the_values_is_a_clear_error_naming_the_line():
    # NumPy's "all input arrays must have the same shape" from s2s's stacking
    xs = np.array([[0.2, 0.4, 1.6], [-1.0, 0.1, 2.0]])
    with pytest.raises(s2s.InputError, match="its size depends on the values") as info:
        s2s.vmap(_counts_distinct)(xs)
    notes = "\n".join(getattr(info.value, "__notes__", ()))
    assert "test_vmap.py" in notes and "np.unique(np.round(x))" in notes, notes


# -- parts of np.split written in place ------------------------------------------------


def _product_of_halves(x):
    a, b = np.split(x.copy(), 2)
    a *= b
    return np.sum(a * a)


def _halves_written_through(x):
    y = x.copy()
    top, bottom = np.split(y, 2)
    top += 1.0
    top *= bottom
    return np.sum(y ** 2) + np.sum(top * x[:3])


def _thirds_updated(x):
    a, b, c = np.array_split(x.copy(), 3)
    b -= a ** 2
    c *= 2.0
    return np.concatenate([a, b, c]) * x


def _list_of_parts_updated(x):
    parts = np.split(x.copy(), 2)
    parts[0] *= parts[1]
    return np.sum(parts[0] ** 2) + parts[1]


@pytest.mark.parametrize("fn", [_product_of_halves, _halves_written_through, _thirds_updated,
                                _list_of_parts_updated], ids=lambda f: f.__name__)
def test_parts_of_a_split_written_in_place_batch_like_loops(fn):
    # hessian broadcast the unbatched parts (read-only views) for the inner tangents
    # written in place: "output array is read-only"; the list np.split returns was
    # indexed as a batched array (parts[:, 0] = ...: "list indices must be integers")
    _assert_batched_like_loops(fn, _normal(5, 6))


@pytest.mark.parametrize("fn", [nested_list_item_updated, nested_dict_item_updated,
                                adam_step_with_a_nested_state,
                                nested_item_seen_through_other_names,
                                item_of_a_mixed_list_updated], ids=lambda f: f.__name__)
def test_items_of_nested_lists_and_dicts_updated_in_place_batch_like_loops(fn):
    # the inner list or dict (rows[0] of rows = [[a, b], [c]]) was indexed as a batched
    # array: rows_dot[0][:, 0] = ... ("list indices must be integers or slices, not
    # tuple"; of a dict, "unhashable type: 'slice'")
    _assert_batched_like_loops(fn, _normal(5, 6))


def _counter_of_a_dict_updated(x):
    s = {"m": x * 0.1, "t": 0}  # (the count: the same in every example)
    s["t"] += 1
    return s["m"] + s["t"]


def _appended_item_updated(x):
    r = [x * 1.0]
    r.append(x * 2.0)  # (batched again, hessian: an unbatched array put in)
    r[1] *= x
    return np.sum(r[0] + r[1])


@pytest.mark.parametrize("fn", [_counter_of_a_dict_updated, _appended_item_updated],
                         ids=lambda f: f.__name__)
def test_an_unbatched_item_updated_in_place_batch_like_loops(fn):
    # "output array is read-only": the unbatched item (the count; x * 2.0 under hessian)
    # was a broadcast view put into the dict or list, then updated in place
    _assert_batched_like_loops(fn, _normal(5, 6))


# -- sets ---------------------------------------------------------------------------


def _weighted_by_set_keys(x):
    keys = {int(k) for k in range(3)}
    y = x * 0.0
    for k in sorted(keys):
        y = y + x[k] * k
    return y


def _dict_over_set_keys(x):
    keys = {k for k in ("a", "b")}
    d = {k: x * i for i, k in enumerate(sorted(keys))}
    return d["a"] + d["b"] ** 2


def _scaled_by_distinct_signs(x):
    signs = {bool(v > 0) for v in x}
    return x * len(signs)


def _scaled_by_distinct_rounded(x):
    rounded = {float(np.round(v)) for v in x}
    return np.sum(x ** 2) * len(rounded) + max({0.5, 1.5})


def _scaled_by_distinct_rounded_added(x):
    seen = set()
    for v in x:
        seen.add(float(np.round(v)))
    return x * len(seen)


def _scaled_by_distinct_rounded_list(x):
    seen = set(np.round(x).tolist())
    return x * len(seen)


@pytest.mark.parametrize("fn", [_weighted_by_set_keys, _dict_over_set_keys,
                                _scaled_by_distinct_signs, _scaled_by_distinct_rounded,
                                _scaled_by_distinct_rounded_added,
                                _scaled_by_distinct_rounded_list],
                         ids=lambda f: f.__name__)
def test_set_comprehensions_batch_like_loops(fn):
    # the rank of a set (never decided) crashed the analysis of a loop over it; a set
    # of batched values hashed the batch's rows (unhashable arrays) instead of numbers,
    # or (s.add in a loop) collected the values of every example in one set
    xs = np.array([[0.3, -1.2, 2.6, 0.4], [1.5, 0.2, -0.7, 1.1], [-2.2, -0.6, -0.4, 0.9],
                   [0.8, 0.1, 3.4, -1.9], [1.2, 2.4, 0.6, 0.05]])
    _assert_transforms_like_loops(fn, xs)


def _assert_transforms_like_loops(fn, xs):
    """vmap, jacfwd and hessian of ``fn`` against loops and finite differences
    (a loop over the batch allowed)."""
    assert_tree_close(s2s.vmap(fn)(xs), _loop(fn, (xs,)), rtol=1e-12, what="vmap")
    jac = s2s.jacfwd(fn)
    assert_tree_close(jac(xs[0]), _jacobian_by_differences(fn, xs[0]), what="jacfwd")
    assert_tree_close(s2s.hessian(fn)(xs[0]), _jacobian_by_differences(jac, xs[0]),
                      rtol=1e-5, atol=1e-5, what="hessian")


# -- writes through .view() --------------------------------------------------------


def _first_set_through_a_view(x):
    a = x.copy()
    b = a.view(np.float64)
    b[0] = 5.0
    return a * x


def _imaginary_parts_through_a_real_view(x):
    c = x.astype(np.complex128)
    r = c.view(np.float64)
    r[1::2] = x ** 2
    return np.real(c) * np.imag(c)


def _absolute_by_clearing_the_sign_bit(x):
    a = x.copy()
    bits = a.view(np.int64)
    bits &= 0x7FFFFFFFFFFFFFFF
    return a


def _zeros_filled_through_a_view(x):
    a = np.zeros(4)
    b = a.view(dtype=np.float64)
    b[1:] = x[:3]
    return a + 1.0


@pytest.mark.parametrize("fn", [_first_set_through_a_view, _imaginary_parts_through_a_real_view,
                                _absolute_by_clearing_the_sign_bit, _zeros_filled_through_a_view],
                         ids=lambda f: f.__name__)
def test_writes_through_a_view_batch_like_loops(fn):
    # .view ran once per example on copies (map_batched): the writes were lost
    xs = _normal(5, 4)
    vm = s2s.vmap(fn)
    np.testing.assert_array_equal(vm(xs), _loop(fn, (xs,)))
    assert "map_batched" not in vm.source()
    np.testing.assert_array_equal(s2s.vmap(vm)(xs.reshape(1, 5, 4)), _loop(fn, (xs,))[None])


def _number_viewed_as_two(x):
    return x[0].copy().view(np.float32)


def test_a_view_of_one_number_as_another_size_is_refused_as_numpy_refuses():
    xs = _normal(5, 4)
    with pytest.raises(ValueError, match="0d array"):
        _number_viewed_as_two(xs[0])
    with pytest.raises(ValueError, match="0d array"):
        s2s.vmap(_number_viewed_as_two)(xs)
    with pytest.raises(ValueError, match="0d array"):
        s2s.vmap(s2s.vmap(_number_viewed_as_two))(xs.reshape(1, 5, 4))


# -- out= inside an expression ----------------------------------------------------


def _doubled_into_a_buffer_plus_one(x):
    y = np.empty_like(x)
    z = np.multiply(x, 2.0, out=y) + 1.0
    return z * y


def _exp_into_a_fixed_buffer(x):
    y = np.empty(4)
    z = 2.0 * np.exp(x, out=y)
    return z + y


def _sine_into_itself_returned(x):
    y = x * 1.5
    return np.sum(np.sin(y, out=(y,))) * y


def _written_twice_in_one_line(x):
    y, w = np.zeros(4), np.zeros(4)
    z = np.add(np.square(x, out=y), 1.0, out=w) * y
    return z + w


def _squared_in_place_minus_one(x):
    y = x.copy()
    z = np.multiply(y, y, out=y) - 1.0
    return z + y


@pytest.mark.parametrize("fn", [_doubled_into_a_buffer_plus_one, _exp_into_a_fixed_buffer,
                                _sine_into_itself_returned, _written_twice_in_one_line,
                                _squared_in_place_minus_one],
                         ids=lambda f: f.__name__)
def test_out_inside_an_expression_batches_like_loops(fn):
    # a fixed buffer got the whole batch ("non-broadcastable output operand"), and
    # jacfwd had no rule for out= in a call whose value is used
    _assert_batched_like_loops(fn, _normal(5, 4))


def _summed_into_a_number_buffer(x):
    total = np.zeros(())
    return np.sum(x ** 2, out=total) * x


def test_out_of_a_reduction_inside_an_expression_batches_like_loops():
    _assert_transforms_like_loops(_summed_into_a_number_buffer, _normal(5, 4))


def _out_into_a_buffer_read_before(x):
    y = np.zeros(4)
    return np.sum(y) + np.exp(x, out=y)


def _out_in_a_conditional_expression(x):
    y = np.zeros(4)
    return np.exp(x, out=y) if x[0] > 0 else x


@pytest.mark.parametrize("fn", [_out_into_a_buffer_read_before, _out_in_a_conditional_expression],
                         ids=lambda f: f.__name__)
def test_out_inside_an_expression_that_cannot_be_hoisted_is_refused_naming_the_line(fn):
    for transform in (s2s.vmap, s2s.jacfwd):
        with pytest.raises(s2s.UnsupportedSyntaxError, match="out=") as info:
            transform(fn)(_normal(5, 4) if transform is s2s.vmap else _normal(4))
        assert f"test_vmap.py:{line_of(fn, 'out=y')}" in str(info.value)


# -- map ------------------------------------------------------------------------------


def _stacked_sines_of_rows(x):
    rows = list(map(np.sin, x))
    return np.stack(rows) * 2.0


def _sum_of_cosines(x):
    return sum(map(np.cos, x))


def _softplus(v):
    return np.log1p(np.exp(v))


def _pairs_mapped_through_a_function(x):
    total = 0.0
    for p in map(np.multiply, x[:3], x[1:]):
        total = total + _softplus(p)
    return total


def _rows_mapped_through_a_lambda(x):
    return np.array(tuple(map(lambda r: r * np.tanh(r), x)))


@pytest.mark.parametrize("fn", [_stacked_sines_of_rows, _sum_of_cosines,
                                _pairs_mapped_through_a_function, _rows_mapped_through_a_lambda],
                         ids=lambda f: f.__name__)
def test_map_batches_like_loops(fn):
    # map_batched stacked map objects (an object array): "axis 1 is out of bounds";
    # jacfwd had no rule for map
    _assert_transforms_like_loops(fn, _normal(5, 4, 3))


# -- dataclasses --------------------------------------------------------------------


@dataclasses.dataclass
class _State:
    u: np.ndarray
    v: float


@dataclasses.dataclass(frozen=True)
class _Frozen:
    u: np.ndarray
    scale: float = 2.0
    total: float = dataclasses.field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "total", float(np.sum(self.u)))


def _state_read_back(x):
    s = _State(x * 2, 3.0)
    return s.u + s.v


def _state_with_a_computed_field(x):
    s = _Frozen(np.sin(x))
    return s.u * s.scale - s.total


def _states_of_a_loop(x):
    states = []
    for k in range(3):
        states.append(_State(x ** k, float(k)))
    return sum(s.u * s.v for s in states)


def _state_updated(x):
    s = _State(x, 0.5)
    s.u = s.u * s.v
    s.v = 4.0
    return s.u - s.v


@pytest.mark.parametrize("fn", [_state_read_back, _state_with_a_computed_field,
                                _states_of_a_loop, _state_updated], ids=lambda f: f.__name__)
def test_a_dataclass_built_in_the_function_batches_like_loops(fn):
    # the instances of the examples were stacked into an object array: "'numpy.ndarray'
    # object has no attribute 'u'"
    xs = _normal(5, 4)
    assert_tree_close(s2s.vmap(fn)(xs), _loop(fn, (xs,)), rtol=1e-12)


def _mean_of_a_list(x):
    return np.mean([x, 2 * x], axis=0)


def _sum_of_a_tuple(x):
    return np.sum((x, np.sin(x)), 0)


def _sum_of_items(x):
    return np.sum([x[0], x[1]])


_W23 = np.arange(6.0).reshape(2, 3) / 6


def _numpy_functions_of_lists(x):
    t = np.transpose([x, 2 * x]) * np.flip([x, 2 * x], 0).T
    r = np.roll([x, 2 * x], 1, axis=0) + np.sort([x, -x], axis=0)
    d = np.linalg.det([[x[0], x[1]], [x[2], 1.0]])
    e = np.einsum("i,i->", [x[0], x[1]], [x[1], x[2]])
    c = np.sum(np.exp([x[0], x[1]])) + np.sum(np.clip([x, 2 * x], 0.5, 3.5)) \
        + np.max([x[0], x[1]]) * 2 + np.interp(0.5, [0.0, x[0] + 1.0], [x[1], x[2]])
    return np.sum(t) + np.sum(r * np.reshape([x, x * x], (2, 3))) + d * e + c \
        + np.sum(np.tile([x[0], x[1]], 2) * np.outer([x[0], x[1]], x)[:, 0].repeat(2))


@pytest.mark.parametrize("f", [_mean_of_a_list, _sum_of_a_tuple, _sum_of_items,
                               _numpy_functions_of_lists], ids=lambda f: f.__name__)
def test_a_reduction_of_a_list_of_batched_arrays(f):
    # NumPy makes the list one array: batched, its batch axis came second, and the
    # reduction's axis landed on it (vmap silently wrong, jacfwd a reshape error)
    xs = np.arange(6.0).reshape(2, 3) + 1
    np.testing.assert_allclose(s2s.vmap(f)(xs), [f(r) for r in xs], rtol=1e-14)
    x = xs[0]
    fd = np.stack([central_difference(f, (x,), (e,)) for e in np.eye(3)], -1)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), fd, rtol=1e-6, atol=1e-8)
