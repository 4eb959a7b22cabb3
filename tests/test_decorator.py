"""``@s2s.differentiable``: problems raise at decoration, the decorated
function calls like the original, its methods agree with the API, and
decorated functions compose with plain ones (s2s transforms through them)."""

import inspect
import math

import numpy as np
import pytest
from helpers import assert_tree_close, central_difference, line_of, make_function

import s2s

# -- failing at decoration -------------------------------------------------------------


def _gamma_user(x):
    return np.sum(math.gamma(x[0]) * x)


def test_no_rule_raises_at_decoration_the_error_jvp_raises():
    with pytest.raises(s2s.NoRuleError) as at_decoration:
        s2s.differentiable(_gamma_user)
    with pytest.raises(s2s.NoRuleError) as at_call:
        s2s.jvp(_gamma_user, (np.ones(2),), (np.ones(2),))
    assert str(at_decoration.value) == str(at_call.value)
    assert at_decoration.value.lineno == line_of(_gamma_user, "math.gamma")
    assert "test_decorator.py" in at_decoration.value.filename


def test_unsupported_syntax_raises_at_decoration():
    src = "def gen(x):\n    y = x * 2\n    yield y\n"
    fn = make_function(src)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.differentiable(fn)
    assert info.value.lineno == 3 and "yield" in str(info.value)


def test_problem_in_a_callee_raises_at_decoration():
    src = ("def inner(v):\n    v.sort()\n    return v\n\n"
           "def outer(x):\n    return inner(x * 2.0)\n")
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.differentiable(make_function(src, name="outer"))
    assert info.value.lineno == 2 and ".sort()" in str(info.value)


def test_source_unavailable_raises_at_decoration():
    namespace = {}
    exec("def made(x):\n    return x * 2\n", namespace)
    with pytest.raises(s2s.SourceUnavailableError):
        s2s.differentiable(namespace["made"])
    with pytest.raises(s2s.SourceUnavailableError):
        s2s.differentiable(len)
    with pytest.raises(s2s.InputError, match="decorates a function"):
        s2s.differentiable(3)


def test_helper_defined_later_in_the_module_is_not_an_error():
    src = ("import s2s\n\n@s2s.differentiable\ndef f(x):\n    return later(x) * 2.0\n\n"
           "def later(v):\n    return np.sin(v)\n")
    f = make_function(src, name="f")
    x = np.array([0.2, 0.4])
    out, out_dot = f.jvp((x,), (np.ones(2),))
    np.testing.assert_allclose(out_dot, 2 * np.cos(x))


def test_only_array_like_parameters_are_checked_by_default():
    def scaled(x, k: int, eps=1e-3):
        return x * math.gamma(k) + eps

    f = s2s.differentiable(scaled)  # k annotated int, eps has a default: not differentiated
    assert f.params == ("x",)
    assert "k_dot" not in f.source() and "x_dot" in f.source()

    def unannotated(x, k):
        return x * math.gamma(k)

    with pytest.raises(s2s.NoRuleError):
        s2s.differentiable(unannotated)
    g = s2s.differentiable(argnums=0)(unannotated)
    assert "k_dot" not in g.source()
    np.testing.assert_allclose(g.jacfwd(argnums=0)(np.ones(2), 4), 6.0 * np.eye(2))


# -- the decorated function --------------------------------------------------------------


@s2s.differentiable
def model(x, w):
    """A small model."""
    y = np.sin(x) * w
    for _ in range(2):
        y = y * x + 0.5
    return np.sum(y ** 2)


X = np.array([0.3, -0.7, 1.1])
W = np.array([0.5, 2.0, -1.5])


def test_calls_like_the_original():
    plain = model.__wrapped__
    assert model(X, W) == plain(X, W)
    assert model.__name__ == "model" and model.__doc__ == "A small model."
    assert str(inspect.signature(model)) == "(x, w)"
    assert inspect.getsource(model) == inspect.getsource(plain)


def test_jvp_method():
    tangents = (np.array([1.0, 0.5, -0.2]), np.array([0.0, 1.0, 0.3]))
    out, out_dot = model.jvp((X, W), tangents)
    expected = s2s.jvp(model.__wrapped__, (X, W), tangents)
    assert (out, out_dot) == expected
    assert_tree_close(out_dot, central_difference(model, (X, W), tangents), rtol=1e-6)


def test_jacfwd_and_hessian_methods():
    J = model.jacfwd(argnums=(0, 1))(X, W)
    eye = np.eye(3)
    for k, J_k in enumerate(J):
        fd = [central_difference(model, (X, W), (eye[i], np.zeros(3)) if k == 0
                                 else (np.zeros(3), eye[i])) for i in range(3)]
        np.testing.assert_allclose(J_k, fd, rtol=1e-6)
    H = model.hessian()(X, W)
    grad = model.jacfwd()
    fd = [(grad(X + 1e-5 * e, W) - grad(X - 1e-5 * e, W)) / 2e-5 for e in eye]
    np.testing.assert_allclose(H, fd, rtol=1e-5)


def test_vmap_method():
    xs = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    ys = model.vmap(in_dims=(0, None))(xs, W)
    np.testing.assert_allclose(ys, [model(x, W) for x in xs])


def test_source_method_for_every_transform():
    plain = model.__wrapped__
    assert model.source() == s2s.source(plain) == s2s.source(model)
    assert model.source(argnums=1) == s2s.source(plain, argnums=1)
    jac = model.jacfwd()
    jac(X, W)
    assert model.source("jacfwd", ranks=(1, 1)) == s2s.source(jac)
    hess = model.hessian()
    hess(X, W)
    assert model.source("hessian", ranks=(1, 1)) == s2s.source(hess)
    mapped = model.vmap(in_dims=(0, None))
    mapped(np.ones((4, 3)), W)
    assert model.source("vmap", in_dims=(0, None), ranks=(1, 1)) == s2s.source(mapped)


# -- composition -------------------------------------------------------------------------


def plain_helper(v):
    return np.tanh(v) * 3.0


@s2s.differentiable
def decorated_helper(v):
    return np.exp(-v * v)


@s2s.differentiable
def uses_both(x):
    return np.sum(plain_helper(x) * decorated_helper(x))


def uses_decorated(x):
    return np.sum(decorated_helper(x) ** 2)


def test_decorated_function_calling_plain_and_decorated_ones():
    t = np.array([0.3, 1.0, -0.5])
    out, out_dot = uses_both.jvp((X,), (t,))
    assert out == uses_both(X)
    np.testing.assert_allclose(out_dot, central_difference(uses_both, (X,), (t,)), rtol=1e-6)
    text = uses_both.source()
    # both callees are transformed (decorated_helper through to its function)
    assert "plain_helper_jvp(" in text and "decorated_helper_jvp(" in text


def test_plain_function_calling_a_decorated_one():
    t = np.array([1.0, 0.0, 2.0])
    out, out_dot = s2s.jvp(uses_decorated, (X,), (t,))
    np.testing.assert_allclose(out_dot, central_difference(uses_decorated, (X,), (t,)),
                               rtol=1e-6)
    J = s2s.jacfwd(uses_decorated)(X)
    np.testing.assert_allclose(J @ t, out_dot, rtol=1e-10)
    np.testing.assert_allclose(s2s.vmap(decorated_helper)(np.ones((2, 3))),
                               np.exp(-np.ones((2, 3))))


def test_defjvp_on_a_decorated_function_applies_where_it_is_called():
    src = ("import s2s\n\n@s2s.differentiable\ndef soft(v):\n    return np.log1p(np.exp(v))\n\n"
           "def user(x):\n    return np.sum(soft(x))\n")
    user = make_function(src, name="user")
    soft = user.__globals__["soft"]

    @s2s.defjvp(soft)
    def soft_jvp(z, v, v_dot):
        z_dot = v_dot * 0.0 + 7.0  # noqa: F841 (deliberately not the derivative)

    assert s2s.jvp(user, (np.zeros(2),), (np.ones(2),))[1] == 14.0


@s2s.differentiable(argnums=1)
def _in_the_second(w, x):
    return np.sum(np.sin(w) * x ** 2)


def test_the_decorators_argnums_is_the_default_of_its_jacobians():
    # .jacfwd() and .hessian() differentiated argument 0 whatever argnums said
    w, x = np.array([0.3, -0.5]), np.array([1.5, 2.0])
    np.testing.assert_allclose(_in_the_second.jacfwd()(w, x), 2 * np.sin(w) * x)
    np.testing.assert_allclose(_in_the_second.hessian()(w, x), np.diag(2 * np.sin(w)))
    np.testing.assert_allclose(_in_the_second.jacfwd(0)(w, x), np.cos(w) * x ** 2)
