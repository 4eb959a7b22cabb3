"""The optimisations of issue 6, each exact: golden tests show what a pass
removes from the generated code, and numerical tests show that the answer
does not change (against central differences, loops and the unoptimised
path). No timing here: tools/bench.py measures speed."""

import numpy as np
import pytest

import s2s
from s2s import runtime
from tests.test_jacfwd import fd_jacobian

W = np.arange(12.0).reshape(3, 4) / 7
V = np.linspace(0.5, 1.5, 4)
W_INT = np.arange(12).reshape(3, 4)


def layer(x):
    return np.tanh(W @ x) + V @ x


def updated_product(x):
    a = W @ x
    a[0] = a[0] * 3.0  # the product is updated in place
    return a * x[:3]


def squared_sines(x):
    return np.sum(np.sin(W @ x) ** 2) + x @ V


def integer_weights(x):
    return W_INT @ x


def linear(x):
    return W @ x  # the Jacobian is W itself


def two_inputs(x, y):
    return (W @ x) * y


def _jacfwd_source(f, *args, **kwargs):
    jac = s2s.jacfwd(f, **kwargs)
    jac(*args)
    return s2s.source(jac)


# -- identity basis: jacfwd's eye(n) times a matrix is the matrix ---------------------------


def test_identity_basis_times_a_matrix_is_no_multiplication():
    x = np.linspace(-1.0, 1.0, 4)
    source = _jacfwd_source(layer, x)
    # W.T itself: read only by arithmetic; V is indexed (a view): copied
    assert "_t0_dot = _s2s.identity_matmul(x_dot, W.T, copy=False)" in source
    assert "_t2_dot = _s2s.identity_matmul(x_dot, V)\n" in source
    assert "x_dot @" not in source
    # the same code without a call, as s2s.source shows it
    assert s2s.source(layer, "jacfwd", ranks=(1,)) == source


@pytest.mark.parametrize("f", [layer, updated_product, squared_sines, integer_weights])
def test_identity_basis_jacobians_match_finite_differences(f):
    x = np.random.default_rng(3).normal(size=4)
    expected = fd_jacobian(f, (x,), 0)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), expected, rtol=1e-6, atol=1e-8)
    # chunks of directions are not an identity: the plain product, same answer
    np.testing.assert_allclose(s2s.jacfwd(f, chunk_size=3)(x), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [layer, updated_product, squared_sines])
def test_identity_basis_under_hessian_and_vmap(f):
    rng = np.random.default_rng(4)
    x = rng.normal(size=4)
    hess = s2s.hessian(f)
    h = hess(x)
    assert "identity_matmul" in s2s.source(hess)
    assert s2s.source(f, "hessian", ranks=(1,)) == s2s.source(hess)
    np.testing.assert_allclose(h, fd_jacobian(s2s.jacfwd(f), (x,), 0), rtol=1e-5, atol=1e-7)
    xs = rng.normal(size=(5, 4))
    batched = s2s.vmap(s2s.jacfwd(f))(xs)
    np.testing.assert_allclose(batched, np.stack([s2s.jacfwd(f)(r) for r in xs]), atol=1e-12)


def test_identity_basis_keeps_dtype_and_never_aliases_the_matrix():
    before = W.copy()
    jac = s2s.jacfwd(linear)(np.ones(4))
    assert not np.shares_memory(jac, W)
    np.testing.assert_array_equal(jac, W)
    jac[...] = 0.0  # the caller owns the Jacobian
    np.testing.assert_array_equal(W, before)
    # eye(float32) @ float64 is float64; eye(float64) @ int is float64
    assert s2s.jacfwd(linear)(np.ones(4, np.float32)).dtype == np.float64
    assert s2s.jacfwd(integer_weights)(np.ones(4)).dtype == np.float64
    assert runtime.identity_matmul(np.eye(4, dtype=np.float32), W_INT.T).dtype == np.float64


def test_identity_products_are_copied_where_they_may_change_or_escape():
    x = np.linspace(-1.0, 1.0, 4)
    assert "identity_matmul(x_dot, W.T)\n" in _jacfwd_source(linear, x)  # returned
    assert "identity_matmul(x_dot, W.T)\n" in _jacfwd_source(updated_product, x)  # a[0] = ...
    before = W.copy()
    for f in (layer, updated_product):
        jac = s2s.jacfwd(f)(x)
        assert not np.shares_memory(jac, W)
        np.testing.assert_array_equal(W, before)
    assert runtime.identity_matmul(np.eye(4), W.T, copy=False).base is W
    assert not np.shares_memory(runtime.identity_matmul(np.eye(4), W.T), W)


def test_no_identity_where_the_basis_is_not_an_eye_matrix():
    x, y = np.ones(4), np.ones(3)
    # several differentiated inputs: each basis is a block of a bigger eye
    assert "identity_matmul" not in _jacfwd_source(two_inputs, x, y, argnums=(0, 1))
    jac = s2s.jacfwd(two_inputs, argnums=(0, 1))(x, y)
    expected = fd_jacobian(two_inputs, (x, y), (0, 1))
    for got, want in zip(jac, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    # a user's vmap over an identity matrix is not specialised on its values
    vm = s2s.vmap(linear)
    vm(np.eye(4))
    assert "identity_matmul" not in s2s.source(vm)
    np.testing.assert_allclose(vm(2 * np.eye(4)), 2 * W.T)


def elementwise_vector(x):
    return np.sin(x) * np.exp(-x * x) + x ** 3


def test_identity_basis_times_a_coefficient_vector_is_its_diagonal():
    x = np.random.default_rng(6).normal(size=5)
    source = _jacfwd_source(elementwise_vector, x)
    assert "= _s2s.identity_scale(x_dot, " in source
    assert "* x_dot" not in source and "x_dot *" not in source
    np.testing.assert_allclose(s2s.jacfwd(elementwise_vector)(x),
                               fd_jacobian(elementwise_vector, (x,), 0), rtol=1e-6, atol=1e-8)
    # hessian: the outer level's basis is scaled the same way; the inner
    # coefficient, batched once more, is an outer product kept factored
    hess = s2s.hessian(elementwise_vector)
    np.testing.assert_allclose(hess(x), fd_jacobian(s2s.jacfwd(elementwise_vector), (x,), 0),
                               rtol=1e-5, atol=1e-7)
    assert "identity_scale(x_dot_2, " in s2s.source(hess)
    assert "outer_product(" in s2s.source(hess)
    xs = np.random.default_rng(7).normal(size=(3, 5))
    np.testing.assert_allclose(s2s.vmap(s2s.jacfwd(elementwise_vector))(xs),
                               np.stack([s2s.jacfwd(elementwise_vector)(r) for r in xs]),
                               atol=1e-12)


def test_identity_scale_is_the_product_with_zeros_kept_zero():
    c = np.array([2.0, -1.5, 0.25])
    for basis, coefficient in ((np.eye(3), c), (np.eye(3, dtype=np.float32), c),
                               (np.eye(3), c.astype(np.float32)), (np.eye(3), c[:1]),
                               (np.eye(3), np.float64(3.0))):
        got = runtime.identity_scale(basis, coefficient)
        want = coefficient * basis
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        assert got is not basis and not np.shares_memory(got, coefficient)
    # an infinite coefficient: the directions' zeros stay zero (inf * 0 is not taken)
    got = runtime.identity_scale(np.eye(3), np.array([np.inf, 1.0, np.nan]))
    assert got[0, 0] == np.inf and np.isnan(got[2, 2])
    np.testing.assert_array_equal(got[~np.eye(3, dtype=bool)], 0.0)


# -- coefficients: one input, elementwise tangents, one multiplication by x_dot ----------------

B = np.linspace(-1.0, 1.0, 12).reshape(3, 4)


def wave(x):
    return np.sin(x) * np.exp(-x * x) + np.tanh(x) / (1 + x * x)


def plus_matrix(x):
    return 2.0 * x + B  # the output is bigger than the input


def cancelled_times_matrix(x):
    return (x - x) * B  # the coefficient folds to 0: B's shape is given back


def mutated_factor(x):
    a = np.ones(4)
    y = x * a  # d y / dx is a, an array changed below
    a[0] = 5.0
    return y * a


def summed(x):
    return np.sum(np.sin(x))


def product_of_two(x, w):
    return np.sin(x) * w


def test_coefficients_multiply_by_the_seed_once():
    source = s2s.source(wave)
    assert source.count("x_dot") == 3  # the signature, the namespace line, the output
    assert "_t9_dot = _t9_dx * x_dot" in source  # has the output's shape: no broadcast_with
    assert "_t0_dx = xp.cos(x)" in source  # was xp.cos(x) * x_dot
    assert "_t6_dx = x + x" in source  # was x_dot * x + x * x_dot
    assert "_t1_dot" not in source  # -x_dot: the coefficient -1 is folded into its use
    assert "_t2_dx = _t1 + _t1" in source  # -x is _t1 (common subexpression)


@pytest.mark.parametrize("f", [plus_matrix, cancelled_times_matrix])
def test_coefficients_broadcast_outputs_an_inactive_operand_grows(f):
    source = s2s.source(f)
    assert "_t0_dot" not in source  # coefficient form: the tangent is made once, at the output
    assert "_t1_dot = _s2s.broadcast_with(" in source
    out, out_dot = s2s.jvp(f, (np.ones(4),), (np.ones(4),))
    assert out.shape == out_dot.shape == (3, 4)


@pytest.mark.parametrize("f", [wave, plus_matrix, cancelled_times_matrix, mutated_factor, summed])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_coefficient_jvps_match_finite_differences(f, dtype):
    x = np.linspace(-0.7, 0.9, 4).astype(dtype)
    v = np.array([0.3, -1.0, 0.5, 2.0], dtype)
    out, out_dot = s2s.jvp(f, (x,), (v,))
    assert np.shape(out_dot) == np.shape(out)
    if f in (wave, summed):  # float32 throughout
        assert np.asarray(out_dot).dtype == dtype
    x64, v64 = x.astype(np.float64), v.astype(np.float64)
    expected = (f(x64 + 1e-6 * v64) - f(x64 - 1e-6 * v64)) / 2e-6
    np.testing.assert_allclose(out_dot, expected, rtol=1e-6 if dtype == np.float64 else 1e-3,
                               atol=1e-8 if dtype == np.float64 else 1e-4)


def test_no_coefficients_where_tangents_are_not_elementwise_in_one_input():
    assert "_dx" not in s2s.source(summed)  # a reduction of a tangent
    assert "_dx" not in s2s.source(mutated_factor)  # an array updated in place
    assert "_dx" not in s2s.source(product_of_two)  # two differentiated inputs


def test_coefficient_code_under_jacfwd_and_hessian():
    x = np.linspace(-0.7, 0.9, 5)
    np.testing.assert_allclose(s2s.jacfwd(wave)(x), fd_jacobian(wave, (x,), 0), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(s2s.hessian(wave)(x), fd_jacobian(s2s.jacfwd(wave), (x,), 0),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s2s.jacfwd(plus_matrix)(x[:4]),
                               fd_jacobian(plus_matrix, (x[:4],), 0), atol=1e-8)


# -- release: temporaries are deleted after their last use -------------------------------------


def loop_after_temporaries(x):
    a = np.exp(-x * x)
    b = np.sin(x) * a
    for _ in range(3):
        b = b * a  # a is read in the loop: released after it
    return b


def closure_over_temporaries(x):
    a = np.exp(x) * x
    k = np.cos(np.arange(5.0))
    scale = lambda t: t * k  # noqa: E731
    return scale(a) + a


def test_release_deletes_temporaries_after_their_last_use():
    source = s2s.source(wave)
    assert "    del _t0, _t0_dx, _t3, _t3_dx\n" in source
    assert "del x" not in source and "del xp" not in source  # parameters and xp stay
    lines = s2s.source(loop_after_temporaries, argnums=0).splitlines()
    loop = next(i for i, line in enumerate(lines) if line.strip().startswith("for _ in"))
    released = [i for i, line in enumerate(lines) if line.strip().startswith("del ")
                and "a_dot" in line]
    assert released and all(i > loop for i in released)  # not inside or before the loop
    assert "del " not in s2s.source(closure_over_temporaries)  # a lambda may read them later


@pytest.mark.parametrize("f", [loop_after_temporaries, closure_over_temporaries])
def test_released_code_matches_finite_differences(f):
    x = np.linspace(-0.7, 0.9, 5)
    v = np.linspace(1.0, -1.0, 5)
    _, out_dot = s2s.jvp(f, (x,), (v,))
    np.testing.assert_allclose(out_dot, (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6, rtol=1e-6)


def test_release_lowers_peak_memory_to_that_of_a_hand_written_jvp():
    import tracemalloc

    from s2s.transform import jvp_function

    x = np.linspace(-1.0, 1.0, 100_000)
    v = np.ones_like(x)
    fn = jvp_function(wave, ("x",)).fn
    fn(x, v)
    tracemalloc.start()
    try:
        fn(x, v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the hand-written JVP of this function holds 10 arrays of x's size at
    # its peak; the generated code without releases held 19
    assert peak <= 10 * x.nbytes


# -- broadcasts the tangent's use makes anyway ------------------------------------------


def dense_layer(x):
    return np.tanh(W @ x + B[:, 0])  # W @ x_dot grows to the sum's shape by the tanh's product


def grown_then_scaled(x):
    y = x + B  # x (4,) grows to (3, 4)
    return np.exp(y) * 2.0


def grown_then_times_a_smaller_value(x):
    y = x + B
    return y * x  # (in coefficient form: the derivative x + y has the product's shape)


def grown_in_a_product_rule(x):
    y = B - x
    return x[::-1] * y  # x_dot[::-1] * y grows x[::-1] * -x_dot, in the one use of y_dot


def grown_then_reduced(x):
    y = x + B
    return np.sum(y * x[::-1], axis=0)  # the sum of a product: its terms grow x_dot


def grown_then_reduced_alone(x):
    y = x + B
    return x * np.sum(y, axis=0)  # y_dot is summed by itself: it must have y's shape


def grown_then_summed(x):
    y = x + B
    return y + 1.0


def layers_in_a_loop(h):
    for _ in range(3):
        h = np.tanh(W[:, :3] @ h[:3] + B[:, 0])
        h = np.concatenate([h, h[:1]])
    return h


def test_broadcast_dropped_where_the_product_with_the_derivative_grows_the_tangent():
    source = s2s.source(dense_layer)
    assert "broadcast_with" not in source
    assert "    _t3_dot = (1 - _t3 * _t3) * _t0_dot\n" in source, source
    for f in (grown_then_reduced_alone, grown_then_summed):
        assert "broadcast_with(" in s2s.source(f), s2s.source(f)
    for f in (grown_in_a_product_rule, grown_then_reduced):
        assert "broadcast_with(" not in s2s.source(f), s2s.source(f)
    source = s2s.source(layers_in_a_loop)
    assert "broadcast_with" not in source  # in a loop's body too


@pytest.mark.parametrize("f", [dense_layer, grown_then_scaled, grown_then_times_a_smaller_value,
                               grown_in_a_product_rule, grown_then_reduced,
                               grown_then_reduced_alone, grown_then_summed, layers_in_a_loop])
def test_broadcast_dropped_code_matches_finite_differences_and_hessians(f):
    x = np.linspace(-0.7, 0.9, 4)
    v = np.linspace(1.0, -1.0, 4)
    out, out_dot = s2s.jvp(f, (x,), (v,))
    assert out_dot.shape == out.shape
    np.testing.assert_allclose(out_dot, (f(x + 1e-6 * v) - f(x - 1e-6 * v)) / 2e-6, rtol=1e-6)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), fd_jacobian(f, (x,), 0), rtol=1e-6, atol=1e-8)
    hessian = s2s.hessian(lambda x: np.sum(np.sin(f(x))))(x)
    fd = fd_jacobian(lambda x: s2s.jacfwd(lambda y: np.sum(np.sin(f(y))))(x), (x,), 0)
    np.testing.assert_allclose(hessian, fd, rtol=1e-5, atol=1e-7)


# -- common subexpressions ------------------------------------------------------------------


def repeated_slice(x, w):
    return np.sum(x[:-1] * w) + np.sum(np.cos(x[:-1]))


def changed_between(x, w):
    y = x * w
    a = np.sin(y)
    y[0] = 5.0  # the same expression below reads the changed y
    b = np.sin(y)
    return a + b


def test_cse_reuses_a_repeated_pure_computation():
    source = s2s.source(repeated_slice)
    assert source_count(source, "x[:-1]") == 1  # computed once (the comment shows it twice)
    assert "_t3 = _t0\n" in source and "_t3_dot = _t0_dot\n" in source


def test_cse_forgets_what_an_in_place_update_may_change():
    assert source_count(s2s.source(changed_between), "xp.sin(y)") == 2
    x, w = np.linspace(0.1, 0.9, 3), np.array([1.5, -0.5, 2.0])
    v = np.ones(3)
    _, out_dot = s2s.jvp(changed_between, (x, w), (v, np.zeros(3)))
    expected = (changed_between(x + 1e-6 * v, w) - changed_between(x - 1e-6 * v, w)) / 2e-6
    np.testing.assert_allclose(out_dot, expected, rtol=1e-6, atol=1e-9)


def repeated_then_updated(x):
    a = x * x
    b = x * x
    b *= 2.0  # a is another array: it keeps its values
    return a + b


def repeated_then_the_first_updated(x):
    a = np.sin(x)
    b = np.sin(x)
    a += x
    return a * b


def repeated_then_updated_in_a_dict(x):
    d = {"w": x * x}
    e = x * x
    d["w"] *= 2.0  # (the array the dict holds)
    return d["w"] + e


@pytest.mark.parametrize("fn", [repeated_then_updated, repeated_then_the_first_updated,
                                repeated_then_updated_in_a_dict], ids=lambda f: f.__name__)
def test_cse_never_makes_one_array_of_two_that_one_changes_in_place(fn):
    # b = x * x became b = a, and b *= 2.0 doubled a too
    x = np.array([0.3, -0.7, 1.1])
    out, out_dot = s2s.jvp(fn, (x,), (np.ones(3),))
    np.testing.assert_allclose(out, fn(x), rtol=1e-14)
    np.testing.assert_allclose(out_dot, fd_jacobian(fn, (x,), 0) @ np.ones(3), rtol=1e-6)
    np.testing.assert_allclose(s2s.jacfwd(fn)(x), fd_jacobian(fn, (x,), 0), rtol=1e-6, atol=1e-8)


def source_count(source, text):
    return sum(line.count(text) for line in source.splitlines() if not line.lstrip().startswith("#"))


def test_cse_code_matches_finite_differences_and_hessians():
    x, w = np.linspace(0.1, 0.9, 4), np.linspace(1.0, 2.0, 3)
    jac = s2s.jacfwd(repeated_slice, argnums=(0, 1))(x, w)
    expected = fd_jacobian(repeated_slice, (x, w), (0, 1))
    for got, want in zip(jac, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    hess = s2s.hessian(repeated_slice)(x, w)
    np.testing.assert_allclose(hess, fd_jacobian(s2s.jacfwd(repeated_slice), (x, w), 0),
                               rtol=1e-5, atol=1e-7)


# -- scaling: numbers and signs of tangents folded into their one use -------------------------


def scaled_powers(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def negated_term(x, w):
    a = 1.0 - x
    return np.sum(x * w + a)


def negated_quotient(x, w):
    return np.sum(-(x ** 2 / w))


def read_twice(x, w):
    a = 2.0 * (x * w)
    return np.sum(3.0 * a + a * a)


def rebound_between(x, w):
    y = x * w
    a = 2.0 * y
    y = y * w  # a's tangent reads y's: not moved past this
    return np.sum(3.0 * a + y)


def updated_between(x, w):
    y = x * w
    a = 2.0 * y
    y[0] = 0.0  # ... nor past an in-place update
    return np.sum(3.0 * a + y)


def scaled_in_loop(x, w):
    for _ in range(2):
        x = 3.0 * (1.0 - x) ** 2 * w
    return np.sum(x)


def test_scaling_folds_numbers_and_signs_into_the_one_use():
    source = s2s.source(scaled_powers)
    assert "_t5_dot = 200.0 * _t3 * _t3_dot" in source  # 2 (power rule) times 100.0
    assert "_t8_dot = -2 * _t7 * _t6_dot" in source  # the tangent of 1.0 - x is -x_dot
    assert "_t4_dot" not in source and "_t7_dot" not in source
    assert "_t1_dot = _t0_dot - x_dot" in s2s.source(negated_term)  # x*w + (1 - x)
    assert "_t2_dot = -2 * x * x_dot / w" in s2s.source(negated_quotient, argnums=0)
    assert "_t2_dot = -6.0 * _t0 * x_dot" in s2s.source(scaled_in_loop)


def test_scaling_keeps_temporaries_read_twice_or_changed_before_their_use():
    assert "a_dot = 2.0 * _t0_dot" in s2s.source(read_twice)
    for f in (rebound_between, updated_between):
        source = s2s.source(f)
        assert "a_dot = 2.0 * y_dot" in source and "6.0" not in source


@pytest.mark.parametrize("f", [scaled_powers, negated_term, negated_quotient, read_twice,
                               rebound_between, updated_between, scaled_in_loop])
def test_scaled_code_matches_finite_differences_and_hessians(f):
    x = np.linspace(0.2, 0.9, 4)
    args = (x,) if f is scaled_powers else (x, np.linspace(1.0, 1.6, 4))
    argnums = tuple(range(len(args)))
    jac = s2s.jacfwd(f, argnums=argnums)(*args)
    for got, want in zip(jac, fd_jacobian(f, args, argnums)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    directions = tuple(np.linspace(-1.0, 1.0, 4) for _ in args)
    _, out_dot = s2s.jvp(f, args, directions)
    shifted = [f(*(a + s * 1e-6 * d for a, d in zip(args, directions))) for s in (1, -1)]
    np.testing.assert_allclose(out_dot, (shifted[0] - shifted[1]) / 2e-6, rtol=1e-6, atol=1e-8)
    hess = s2s.hessian(f)(*args)
    np.testing.assert_allclose(hess, fd_jacobian(s2s.jacfwd(f), args, 0), rtol=1e-5, atol=1e-6)


# -- batched: a value unbatched in the code, given a batch axis as a stride-0 view -------------


def test_batched_views_of_numpy_values_and_copies_of_the_rest():
    scalar = runtime.batched(np.float32(2.5), 3)
    assert scalar.shape == (3,) and scalar.dtype == np.float32 and scalar.strides == (0,)
    assert not scalar.flags.writeable
    column = np.arange(6.0).reshape(2, 3)[:, 1]  # not contiguous: broadcast_to
    pair = runtime.batched((np.float64(1.5), column, 2.0), 4, xp=np)
    assert [np.shape(v) for v in pair] == [(4,), (4, 2), (4,)]
    np.testing.assert_array_equal(pair[1], np.broadcast_to(column, (4, 2)))
    assert all(isinstance(v, np.ndarray) and not v.flags.writeable for v in pair)


# -- batched code without work nobody reads ----------------------------------------------------


def _three(u, rho=28.0):
    x, y, z = u[0], u[1], u[2]
    return np.array([y - x, x * (rho - z), x * y])


def _scaled_sine(x):
    return np.sin(x) * 2.0


def _constant(x):
    return np.ones(3)


def test_batch_size_is_computed_only_where_the_code_reads_it():
    code = s2s.source(_scaled_sine, "vmap", ranks=[1])
    assert "batch_size" not in code and "_B" not in code
    # the output does not depend on x: it is broadcast over the batch, which reads _B
    keeps = s2s.source(_constant, "vmap", ranks=[1])
    assert "_B = _s2s.batch_size(x)" in keeps and "_s2s.batched(_t0, _B, xp=xp)" in keeps
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(s2s.vmap(_scaled_sine)(x), np.sin(x) * 2.0)
    np.testing.assert_array_equal(s2s.vmap(_constant)(x), np.ones((2, 3)))


def test_three_component_jacobian_matches_finite_differences():
    u = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(s2s.jacfwd(_three)(u), fd_jacobian(_three, (u,), 0), rtol=1e-7)
    for rho in (3.0, np.float64(3.0), np.array(3.0)):
        np.testing.assert_allclose(s2s.jacfwd(_three)(u, rho),
                                   fd_jacobian(_three, (u, rho), 0), rtol=1e-7)


def test_a_parameter_left_to_its_default_has_the_default_s_rank():
    jacobian = s2s.jacfwd(_three)
    jacobian(np.ones(3))
    code = s2s.source(_three, "jacfwd", ranks=[1])
    assert code == s2s.source(jacobian)  # what a call generates
    assert "align_batched" not in code
    # x_dot * (rho - z) grows -z_dot's product with x: no broadcast_with
    assert "_t8 = x * _t7\n" in code and "broadcast_with" not in code
    # passed, of a rank not given: decided at run time
    assert "align_batched" in s2s.source(_three, "jacfwd", ranks={"u": 1, "rho": None})


@pytest.mark.parametrize("items", [
    [np.arange(4.0), np.arange(4.0) * 2, -np.arange(4.0)],  # one call, a view of it
    [np.arange(6.0).reshape(2, 3), np.ones((2, 3))],  # items with axes after the batch axis
    [np.arange(4.0), np.ones(4, dtype=np.float32)],  # dtypes differ: stacked
    [[np.arange(4.0), 2.0 * np.ones(4)], [np.ones(4), np.zeros(4)]],  # nested lists: stacked
])
def test_array_batched_stacks_items_after_the_batch_axis(items):
    def per_example(b):
        return np.array([_item(v, b) for v in items])

    def _item(v, b):
        return [_item(w, b) for w in v] if isinstance(v, list) else v[b]

    out = runtime.array_batched(items)
    size = runtime.batch_size(items)
    np.testing.assert_array_equal(out, np.stack([per_example(b) for b in range(size)]))
    assert out.dtype == np.stack([per_example(b) for b in range(size)]).dtype
