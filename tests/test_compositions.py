"""Compositions of transforms, with torch.func semantics: ``vmap(vmap(f))``,
``jacfwd(vmap(f))``, ``jacfwd(jacfwd(f))``, ``hessian`` with several
arguments and structured outputs, ``vmap(hessian(f))``, and ``s2s.jvp`` of
what vmap/jacfwd return. Each is one call of generated code (no Python loop
over batch elements or directions), checked against loops of the plain
function and against finite differences.

Hessians are compared with central differences of the (exact) jacfwd
Jacobian, step 1e-6: the truncation error is about 1e-12 times the third
derivative and the rounding error about 1e-16 / 1e-6 = 1e-10 times the
Jacobian's size, so rtol = atol = 1e-5 leaves room for the scaled cases.
"""

import numpy as np
import pytest
from helpers import assert_tree_close
from test_e2e import CASES
from test_jacfwd import fd_jacobian

import s2s

_rng = np.random.default_rng(2024)


def _normal(*shape):
    return _rng.normal(size=shape)


def _no_loop(transformed):
    src = transformed.source()
    assert "map_batched" not in src and "loop_batched" not in src, src
    assert transformed.calls == 1


def g(x):
    return np.sin(x) * x + np.tanh(x).sum()


def two(x, w):
    return np.tanh(w @ x).sum() + (x ** 3).sum()


def with_loop(x):
    y = x
    for _ in range(3):
        y = np.tanh(y) * x
    return y


# -- vmap(vmap(f)) ------------------------------------------------------------------------


@pytest.mark.parametrize("outer, inner", [(0, 0), (1, 0), (0, 1), (-1, -1), (2, 1)])
def test_nested_vmap_matches_a_double_loop(outer, inner):
    x = _normal(3, 4, 5)
    vv = s2s.vmap(s2s.vmap(g, in_dims=inner), in_dims=outer)
    expected = np.stack([np.stack([g(xi) for xi in np.moveaxis(xo, inner, 0)])
                         for xo in np.moveaxis(x, outer, 0)])
    np.testing.assert_allclose(vv(x), expected, rtol=1e-13)
    _no_loop(vv)


def test_nested_vmap_with_arguments_batched_at_one_level_each():
    x, w = _normal(6, 3), _normal(5, 4, 3)  # x batched by the inner vmap, w by the outer
    vv = s2s.vmap(s2s.vmap(two, in_dims=(0, None)), in_dims=(None, 0))
    expected = np.array([[two(xi, wo) for xi in x] for wo in w])
    np.testing.assert_allclose(vv(x, w), expected, rtol=1e-13)
    _no_loop(vv)


def test_nested_vmap_out_dims():
    x = _normal(3, 4, 2)
    vv = s2s.vmap(s2s.vmap(g, out_dims=1), out_dims=0)
    expected = np.stack([np.stack([g(xi) for xi in xo], axis=1) for xo in x])
    np.testing.assert_allclose(vv(x), expected, rtol=1e-13)


def test_triple_vmap():
    x = _normal(2, 3, 4, 5)
    vvv = s2s.vmap(s2s.vmap(s2s.vmap(with_loop)))
    expected = np.array([[[with_loop(c) for c in b] for b in a] for a in x])
    np.testing.assert_allclose(vvv(x), expected, rtol=1e-13)
    _no_loop(vvv)


# -- jacfwd(vmap(f)) and jvp of transformed functions -------------------------------------


def test_jacfwd_of_vmap_is_block_diagonal():
    x = _normal(3, 4)
    jac = s2s.jacfwd(s2s.vmap(g))
    result = jac(x)
    assert result.shape == (3, 4, 3, 4)
    for b in range(3):
        for c in range(3):
            block = s2s.jacfwd(g)(x[b]) if b == c else np.zeros((4, 4))
            np.testing.assert_allclose(result[b, :, c, :], block, rtol=1e-12, atol=1e-14)
    _no_loop(jac)


def test_jvp_of_vmap_equals_vmap_of_jvp():
    x, t = _normal(5, 3), _normal(5, 3)
    out, out_dot = s2s.jvp(s2s.vmap(g), (x,), (t,))
    pairs = [s2s.jvp(g, (x[i],), (t[i],)) for i in range(5)]
    np.testing.assert_allclose(out, np.stack([p[0] for p in pairs]), rtol=1e-13)
    np.testing.assert_allclose(out_dot, np.stack([p[1] for p in pairs]), rtol=1e-13)


def test_jvp_of_jacfwd_against_finite_differences():
    x, t = _normal(4), _normal(4)
    jac = s2s.jacfwd(with_loop)
    out, out_dot = s2s.jvp(jac, (x,), (t,))
    np.testing.assert_allclose(out, jac(x), rtol=1e-13)
    h = 1e-6
    expected = (jac(x + h * t) - jac(x - h * t)) / (2 * h)
    np.testing.assert_allclose(out_dot, expected, rtol=1e-6, atol=1e-8)


def test_jvp_of_transformed_checks_its_inputs():
    with pytest.raises(s2s.InputError, match="shape|tangent"):
        s2s.jvp(s2s.vmap(g), (np.ones((2, 3)),), (np.ones((3, 2)),))


def _derivative_of_a_helper_along_ones(x):
    # the tangent passed to s2s.jvp does not depend on x: under jacfwd it has
    # no tangent of its own (None), which vmap's loop indexed per example
    return s2s.jvp(sin_x_squared, (x,), (np.ones_like(x),))[1]


@pytest.mark.parametrize("size", [1, 3])
def test_jacfwd_of_vmap_of_a_jvp_along_a_constant_tangent(size):
    # a TypeError ('NoneType' object is not subscriptable) from s2s's runtime
    xs = _normal(size, 4)
    vm = s2s.vmap(_derivative_of_a_helper_along_ones)
    jac = s2s.jacfwd(vm)(xs)
    assert jac.shape == (size, size, 4)
    np.testing.assert_allclose(jac, fd_jacobian(vm, (xs,), 0), rtol=1e-6, atol=1e-8)


# -- jacfwd(jacfwd(f)) and hessian ---------------------------------------------------------


def test_jacfwd_of_jacfwd_equals_hessian():
    x = _normal(5)
    jj = s2s.jacfwd(s2s.jacfwd(with_loop))
    h = s2s.hessian(with_loop)
    np.testing.assert_allclose(jj(x), h(x), rtol=1e-13, atol=1e-15)
    _no_loop(jj)
    _no_loop(h)


def test_jacfwd_of_jacfwd_with_different_argnums():
    x, w = _normal(3), _normal(4, 3)
    mixed = s2s.jacfwd(s2s.jacfwd(two, argnums=1), argnums=0)(x, w)  # d/dx (d/dw two)
    assert mixed.shape == (4, 3, 3)
    expected = fd_jacobian(lambda x_, w_: s2s.jacfwd(two, argnums=1)(x_, w_), (x, w), 0)
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-5)


def test_hessian_of_several_arguments_is_a_nested_tuple():
    x, w = _normal(3), _normal(4, 3)
    hess = s2s.hessian(two, argnums=(0, 1))(x, w)
    assert [[block.shape for block in row] for row in hess] == [
        [(3, 3), (3, 4, 3)], [(4, 3, 3), (4, 3, 4, 3)]]
    expected = fd_jacobian(s2s.jacfwd(two, argnums=(0, 1)), (x, w), (0, 1))
    assert_tree_close(hess, expected, rtol=1e-5, atol=1e-5, what="hessian of two")


def test_vmap_of_hessian_matches_a_loop():
    x, w = _normal(6, 3), _normal(4, 3)
    vh = s2s.vmap(s2s.hessian(two), in_dims=(0, None))
    expected = np.stack([s2s.hessian(two)(xi, w) for xi in x])
    np.testing.assert_allclose(vh(x, w), expected, rtol=1e-12, atol=1e-14)
    _no_loop(vh)


def test_hessian_of_a_norm_is_refused_clearly():
    def norm_of(x):  # (the default order's tangent is a template: differentiable again)
        return np.linalg.norm(x, 3)

    with pytest.raises(s2s.NoRuleError, match="norm_tangent") as info:
        s2s.hessian(norm_of)(_normal(3))
    assert "test_compositions.py" in str(info.value)


# power_iteration stops when its eigenvalue settles to 1e-15, its vector to about 1e-8 only:
# differences of its jacfwd are that noise divided by the step, no reference for the hessian
_NO_SECOND_ORDER = {"power_iteration_break"}


@pytest.mark.parametrize("name", sorted(set(CASES) - _NO_SECOND_ORDER))
def test_hessian_e2e_against_finite_differences_of_jacfwd(name):
    fn, primals, _ = CASES[name]
    argnums = tuple(range(len(primals)))
    hess = s2s.hessian(fn, argnums=argnums)
    result = hess(*primals)
    assert hess.calls == 1
    expected = fd_jacobian(s2s.jacfwd(fn, argnums=argnums), primals, argnums)
    assert_tree_close(result, expected, rtol=1e-5, atol=1e-5, what=name)


def _at_its_argmax(x):
    i = np.argmax(x)
    return x[i] ** 2 + np.sum(x) * x[i]


def _set_at(x, i):
    y = x * 2.0
    y[i] = x[i] ** 3  # a read and a write at an index that differs per example
    return np.sum(y ** 2)


def _row_and_column_at(m, i):
    return np.sum(m[i] ** 2 * m[0]) + m[i, 1] * np.sum(m[:, i % 3] ** 3)


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("fn", [_at_its_argmax, _set_at, _row_and_column_at],
                         ids=lambda f: f.__name__)
def test_vmap_of_derivatives_indexing_at_a_per_example_index(fn, size):
    # the tangent basis is shared by the batch, the index is not: the batch size
    # was read from the index (slice(None), i), an IndexError in s2s's runtime
    shape = (4, 3) if fn is _row_and_column_at else (4,)
    args = (_normal(size, *shape),) if fn is _at_its_argmax else (
        _normal(size, *shape), np.arange(1, size + 1) % shape[0])
    jacobians = s2s.vmap(s2s.jacfwd(fn))(*args)
    hessians = s2s.vmap(s2s.hessian(fn))(*args)
    assert jacobians.shape == (size, *shape) and hessians.shape == (size, *shape, *shape)
    for b in range(size):
        example = [a[b] for a in args]
        np.testing.assert_allclose(jacobians[b], fd_jacobian(fn, example, 0),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(hessians[b], fd_jacobian(s2s.jacfwd(fn), example, 0),
                                   rtol=1e-5, atol=1e-5)


# -- functions that call vmap/jacfwd, or a function held in a variable -------------------

G_VMAPPED = s2s.vmap(g)


def sum_of_vmapped(x):
    return s2s.vmap(g)(x).sum(axis=0)


def sum_of_global_vmapped(x):
    return np.tanh(G_VMAPPED(x)).sum(axis=0)


def apply(fn, x):
    return fn(x) * x


def uses_a_function_argument(x):
    return apply(g, x) + apply(np.sin, x)


@pytest.mark.parametrize("fn", [sum_of_vmapped, sum_of_global_vmapped, uses_a_function_argument])
def test_jacfwd_of_a_function_calling_a_transformed_function(fn):
    x = _normal(3, 4)
    jac = s2s.jacfwd(fn)
    np.testing.assert_allclose(jac(x), fd_jacobian(fn, (x,), 0), rtol=1e-6, atol=1e-8)
    _no_loop(jac)
    x_dot = _normal(3, 4)
    out, out_dot = s2s.jvp(fn, (x,), (x_dot,))
    np.testing.assert_allclose(out, fn(x), rtol=1e-13)
    np.testing.assert_allclose(out_dot, np.tensordot(jac(x), x_dot, axes=2), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("fn", [sum_of_vmapped, uses_a_function_argument])
def test_vmap_of_a_function_calling_a_transformed_function(fn):
    x = _normal(5, 3, 4)
    vm = s2s.vmap(fn)
    np.testing.assert_allclose(vm(x), np.stack([fn(xi) for xi in x]), rtol=1e-13)
    _no_loop(vm)


def test_the_generated_code_shows_the_run_time_call():
    jac = s2s.jacfwd(sum_of_vmapped)
    jac(_normal(2, 3))
    assert "_s2s.call_jvp_batched(" in jac.source()


V_DIRECTION = np.array([1.0, -2.0, 0.5])


def sin_x_squared(x):
    return np.sum(np.sin(x) * x ** 2)


def directional_derivative(x):
    return s2s.jvp(sin_x_squared, (x,), (V_DIRECTION,))[1]


def test_the_code_of_s2s_jvp_itself_is_never_transformed(monkeypatch):
    # a call of s2s.jvp inside a batched function runs as call_jvp_batched:
    # the batcher must not transform s2s.jvp's source (to learn what it returns)
    from s2s import batch_api, transform

    targets = []
    real = transform.batch_function

    def recording(fn, *args, **kwargs):
        targets.append(fn)
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(transform, "batch_function", recording)
    monkeypatch.setattr(batch_api, "batch_function", recording)
    monkeypatch.setattr(transform, "_MEMO", type(transform._MEMO)())  # transform anew,
    monkeypatch.setenv("S2S_CACHE", "0")  # not from memory or disk
    vm = s2s.vmap(directional_derivative)
    xs = _normal(4, 3)
    np.testing.assert_allclose(vm(xs), [directional_derivative(r) for r in xs], rtol=1e-13)
    assert directional_derivative in targets  # (the function itself was transformed)
    assert not [f for f in targets if f.__module__.startswith("s2s.")]


def test_jacfwd_of_a_jvp_based_function_is_a_hessian_vector_product():
    x = np.array([0.3, 0.7, -1.1])
    jac = s2s.jacfwd(directional_derivative)
    np.testing.assert_allclose(jac(x), s2s.hessian(sin_x_squared)(x) @ V_DIRECTION,
                               rtol=1e-13, atol=1e-14)
    _no_loop(jac)
    vm = s2s.vmap(directional_derivative)
    xs = _normal(4, 3)
    np.testing.assert_allclose(vm(xs), [directional_derivative(r) for r in xs], rtol=1e-13)


def _cube_at(x, i):
    y = np.zeros(3)
    y[i] = x[i] ** 3
    return y


def test_a_store_at_a_per_example_index_batched_twice():
    # vmap(vmap(jacfwd)): the inner batched store (setitem_batched) batched again
    # wrote every example into one unbatched array (a silent wrong Jacobian)
    rng = np.random.default_rng(0)
    xs, idx = rng.normal(size=(2, 4, 3)), np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    got = s2s.vmap(s2s.vmap(s2s.jacfwd(_cube_at)))(xs, idx)
    for a in range(2):
        for b in range(4):
            expected = np.zeros((3, 3))
            i = idx[a, b]
            expected[i, i] = 3 * xs[a, b, i] ** 2
            np.testing.assert_allclose(got[a, b], expected, rtol=1e-14)
    vv = s2s.vmap(s2s.vmap(_cube_at))(xs, idx)
    np.testing.assert_allclose(vv, [[_cube_at(xs[a, b], idx[a, b]) for b in range(4)]
                                    for a in range(2)], rtol=1e-14)


def _set_at(y, i, v):
    y[i] = v


def _fills_a_new_array_by_a_helper(x):
    y = np.zeros(3)
    _set_at(y, 0, x[1])
    return y


def test_vmap_of_jacfwd_of_a_helper_filling_a_new_array():
    # under jacfwd only tangents are batched: the primal y was batched too (its
    # helper writes into it), and batched again by vmap the store broke
    xs = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
    expected = np.zeros((3, 3))
    expected[0, 1] = 1.0
    np.testing.assert_array_equal(s2s.vmap(s2s.jacfwd(_fills_a_new_array_by_a_helper))(xs),
                                  [expected, expected])


# -- writes through views made by functions -----------------------------------------------


def _through_reshape(x):
    y = np.zeros(4)
    r = y.reshape(2, 2)
    r[0] = x[:2] * x[2]
    return y * x[3]


def _through_ravel(x):
    y = np.zeros((2, 2))
    r = np.ravel(y)
    r += x * x
    return y


def _through_transpose(x):
    y = np.zeros((2, 2))
    t = y.T
    t[0, 1] = x[0] * x[1]
    t[1] = x[2:] ** 2
    return y


def _through_asarray(x):
    y = x * 1.0
    z = np.asarray(y)
    z[0] = x[1] * x[2]
    return y


def _through_expand_dims(x):
    y = np.zeros(4)
    e = np.expand_dims(y, 0)
    e[0, 1:] = np.sin(x[1:])
    return y * x[0]


def _through_a_dict(x):
    u = np.zeros(4)
    state = {"u": u}
    state["u"][1:3] = x[:2] * x[2]
    return u * x[3]


def _through_a_list_of_rows(x):
    m = np.zeros((2, 2))
    rows = [m[0], m[1]]
    for i in range(2):
        rows[i][:] = x[2 * i:2 * i + 2] ** 2
    return m


def _through_a_pair_of_names(x):
    y = np.zeros(2)
    pair = [y, y]
    pair[0][0] = x[0] * x[3]
    pair[1][1] = 2.0 * x[1]
    return pair[0] + y


def _through_squeeze(x):
    y = x.reshape(1, 4) * 1.0
    v = np.squeeze(y)
    v[2:4] = np.cos(v[:2])
    return y.ravel() * x[0]


def _through_atleast_2d(x):
    y = x * 1.0
    m = np.atleast_2d(y)
    m[0, 0] = x[1] * x[2]
    return y


_VIEW_WRITERS = [_through_squeeze, _through_atleast_2d, _through_reshape, _through_ravel, _through_transpose, _through_asarray,
                 _through_expand_dims, _through_a_dict, _through_a_list_of_rows,
                 _through_a_pair_of_names]


@pytest.mark.parametrize("fn", _VIEW_WRITERS, ids=[f.__name__ for f in _VIEW_WRITERS])
def test_writes_through_views_made_by_functions_reach_the_array(fn):
    # batched, the view's tangent was a copy (batched_copy of the view): the writes
    # reached neither the array nor its tangent (jacfwd, vmap zero; hessian zero)
    x = np.array([0.3, -0.5, 1.2, 0.7])
    jac = s2s.jacfwd(fn)(x)
    np.testing.assert_allclose(jac, fd_jacobian(fn, (x,), 0), rtol=1e-6, atol=1e-8)
    xs = np.stack([x, 2 * x, x - 1.0])
    np.testing.assert_allclose(s2s.vmap(fn)(xs), np.stack([fn(v) for v in xs]), rtol=1e-12)

    def total(v):
        return np.sum(fn(v))

    hess = s2s.hessian(total)(x)
    np.testing.assert_allclose(hess, fd_jacobian(s2s.jacfwd(total), (x,), 0), rtol=1e-5, atol=1e-6)
