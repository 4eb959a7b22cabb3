"""Functions of ``*args`` / ``**kwargs`` (decorator wrappers above all),
transformed for the shape of each call (s2s/varargs.py)."""

import functools
import linecache

import numpy as np
import pytest
from helpers import check_jvp, line_of, make_function
from test_jacfwd import fd_jacobian

import s2s
from s2s import cache
from s2s.transform import jvp_function

# -- wrappers, as users write them ---------------------------------------------------


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def doubled_inputs(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args = tuple(a * 2 for a in args)
        return fn(*args, **kwargs)

    return wrapper


def halved_inputs(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        halves = [a / 2 for a in args]
        return fn(*halves, **kwargs)

    return wrapper


def counted(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        weight = kwargs.get("a", 1.0)
        return fn(*args, **kwargs) * len(args) * weight

    return wrapper


def popping(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        scale = kwargs.pop("scale", 1.0)
        return fn(*args, **kwargs) * scale

    return wrapper


def trimming(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        if len(args) > 1:
            args = args[:1]
        return fn(*args)

    return wrapper


@logged
def helper(x, a=2.0):
    return np.sin(x) * a


def f(x):
    return helper(x, a=3.0) + helper(x)


@logged
def helper2(x, y, a=2.0):
    return np.sin(x) * y * a


@logged
@logged
def twice(x, a=2.0):
    return np.cos(x) * a


@doubled_inputs
def doubled(x, a=1.0):
    return np.sin(x) * a


@halved_inputs
def halved(x, y):
    return x * np.exp(y)


@counted
def weighted(x, y=1.0, a=2.0):
    return np.tanh(x) * y * a


@popping
def popped(x):
    return np.sin(x)


@trimming
def trimmed(x, y=1.0):
    return x * y


X = np.array([0.3, -0.7, 1.1])
Y = np.array([1.5, 0.5, -2.0])


def _vmap_check(fn, *args):
    batched = s2s.vmap(fn)(*args)
    expected = np.stack([fn(*(a[i] for a in args)) for i in range(len(args[0]))])
    np.testing.assert_allclose(batched, expected, rtol=1e-13)


# -- the example of the issue ----------------------------------------------------------


def test_a_wrapped_helper_under_jvp():
    out, dot = check_jvp(f, (X,))
    np.testing.assert_allclose(dot, 5 * np.cos(X) * check_jvp_direction(X), rtol=1e-12)
    assert out.shape == (3,)


def check_jvp_direction(x):
    # check_jvp's random direction (seed 0), for the exact value above
    from helpers import random_like

    return random_like(x, np.random.default_rng(0))


def test_a_wrapped_helper_under_jacfwd_vmap_and_hessian():
    jac = s2s.jacfwd(f)(X)
    np.testing.assert_allclose(jac, fd_jacobian(f, (X,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jac, np.diag(5 * np.cos(X)), rtol=1e-13)
    _vmap_check(f, np.stack([X, Y, X + Y, 2 * X]))

    def total(x):
        return np.sum(f(x))

    hess = s2s.hessian(total)(X)
    np.testing.assert_allclose(hess, np.diag(-5 * np.sin(X)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(hess, fd_jacobian(s2s.jacfwd(total), (X,), 0), rtol=1e-6,
                               atol=1e-8)


def test_the_wrapper_given_to_the_transforms_directly():
    check_jvp(helper, (X,))
    check_jvp(helper2, (X, Y))
    check_jvp(helper2, (X, Y, 0.5))  # a third value for *args: (x, y, a)
    np.testing.assert_allclose(s2s.jacfwd(helper)(X), np.diag(2 * np.cos(X)), rtol=1e-13)
    jx, jy = s2s.jacfwd(helper2, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(jx, fd_jacobian(helper2, (X, Y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jy, fd_jacobian(helper2, (X, Y), 1), rtol=1e-6, atol=1e-8)
    jy = s2s.jacfwd(helper2, argnums=1)(X, Y)
    np.testing.assert_allclose(jy, np.diag(2 * np.sin(X)), rtol=1e-13)
    # a keyword for **kwargs at the call of what jacfwd and vmap returned
    np.testing.assert_allclose(s2s.jacfwd(helper)(X, a=3.0), np.diag(3 * np.cos(X)),
                               rtol=1e-13)
    xs = np.stack([X, Y, X * Y, X - Y])
    np.testing.assert_allclose(s2s.vmap(helper)(xs, a=3.0), helper(xs, a=3.0), rtol=1e-13)
    _vmap_check(helper2, xs, xs[::-1])
    hess = s2s.hessian(lambda x: np.sum(helper(x)))(X)
    np.testing.assert_allclose(hess, np.diag(-2 * np.sin(X)), rtol=1e-13, atol=1e-15)


def test_the_source_shows_the_specialisation():
    text = s2s.source(helper2, argnums=(0, 1))
    assert "def wrapper_jvp(args_0, args_1, args_0_dot, args_1_dot):" in text
    assert "jvp for *args of 2, **kwargs empty" in text.splitlines()[0]
    assert "args = (args_0, args_1)" in text
    assert "helper2_jvp(args_0, args_1, x_dot=args_0_dot, y_dot=args_1_dot)" in text
    callee = jvp_function(helper, ("args_0",), entry=False, shape=(1, ("a",))).source
    assert "def wrapper_jvp(args_0, *, kwargs_a, args_0_dot):" in callee
    assert "kwargs = {'a': kwargs_a}" in callee
    assert "helper_jvp(args_0, a=kwargs_a, x_dot=args_0_dot)" in callee
    # the caller passes a keyword of **kwargs by its parameter's name
    assert "kwargs_a=3.0, args_0_dot=x_dot" in s2s.source(f)
    with pytest.raises(s2s.InputError, match=r"(?s)takes \*args.*pass argnums"):
        s2s.source(helper)


# -- shapes of calls -------------------------------------------------------------------


def positional_and_keyword(x, y):
    return helper2(x, y, a=y) + helper2(x, a=x, y=y)


def two_arities(x, y):
    return helper(x) + helper(x, y) + helper(y, x)


def test_active_values_by_position_and_by_keyword():
    check_jvp(positional_and_keyword, (X, Y))
    jx, jy = s2s.jacfwd(positional_and_keyword, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(jx, fd_jacobian(positional_and_keyword, (X, Y), 0), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(jy, fd_jacobian(positional_and_keyword, (X, Y), 1), rtol=1e-6,
                               atol=1e-8)


def test_one_wrapper_called_with_two_arities():
    check_jvp(two_arities, (X, Y))
    jx, jy = s2s.jacfwd(two_arities, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(jx, fd_jacobian(two_arities, (X, Y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jy, fd_jacobian(two_arities, (X, Y), 1), rtol=1e-6, atol=1e-8)
    _vmap_check(two_arities, np.stack([X, Y, X * Y, X - Y]), np.stack([Y, X, Y, Y]))
    text = s2s.source(two_arities)
    assert "helper_jvp(x, args_0_dot=x_dot)" in text
    assert "helper_jvp_2(x, y, args_0_dot=x_dot, args_1_dot=y_dot)" in text


def stacked(x):
    return twice(x) + twice(x, a=x)


def test_a_wrapper_stacked_twice():
    check_jvp(stacked, (X,))
    np.testing.assert_allclose(s2s.jacfwd(stacked)(X), fd_jacobian(stacked, (X,), 0),
                               rtol=1e-6, atol=1e-8)
    _vmap_check(stacked, np.stack([X, Y, X * Y, X - Y]))
    check_jvp(twice, (X, Y))


def scaled_calls(x, y):
    return doubled(x, a=y) + halved(x, y) + weighted(x, y) + weighted(x, a=y)


@pytest.mark.parametrize("fn", [doubled, halved, weighted])
def test_wrappers_that_read_and_rebuild_their_arguments(fn):
    # args = tuple(a * 2 for a in args); [a / 2 for a in args]; len(args), kwargs.get
    check_jvp(scaled_calls, (X, Y))
    jx, jy = s2s.jacfwd(scaled_calls, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(jx, fd_jacobian(scaled_calls, (X, Y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jy, fd_jacobian(scaled_calls, (X, Y), 1), rtol=1e-6, atol=1e-8)
    _vmap_check(scaled_calls, np.stack([X, Y, X * Y, X - Y]), np.stack([Y, X, Y, Y]))
    check_jvp(fn, (X, Y))
    np.testing.assert_allclose(s2s.jacfwd(fn, argnums=1)(X, Y), fd_jacobian(fn, (X, Y), 1),
                               rtol=1e-6, atol=1e-8)


# -- what is refused -------------------------------------------------------------------


def calls_popped(x):
    return popped(x, scale=2.0)


def calls_trimmed(x):
    return trimmed(x, x)


@pytest.mark.parametrize("caller, wrapper, text", [
    (calls_popped, popping, "return fn(*args, **kwargs) * scale"),
    (calls_trimmed, trimming, "return fn(*args)"),
])
def test_arguments_changed_out_of_sight_are_refused(caller, wrapper, text):
    # kwargs.pop changes the keys; a rebinding in a branch hides which tuple is passed
    for run in (lambda: s2s.jvp(caller, (X,), (Y,)), lambda: s2s.jacfwd(caller)(X)):
        with pytest.raises(s2s.UnsupportedSyntaxError) as info:
            run()
        message = str(info.value)
        assert f"test_varargs.py:{line_of(wrapper, text)}" in message, message
        assert info.value.lineno == line_of(wrapper, text)
        assert "kwargs.pop" in info.value.hint and "what to do" in message


# -- the cache ------------------------------------------------------------------------


def test_each_shape_has_code_of_its_own():
    one = jvp_function(helper, ("args_0",), shape=(1, ()))
    two = jvp_function(helper, ("args_0", "args_1"), shape=(2, ()))
    keyword = jvp_function(helper, ("args_0",), shape=(1, ("a",)))
    assert len({id(one.fn), id(two.fn), id(keyword.fn)}) == 3
    assert jvp_function(helper, ("args_0",), shape=(1, ())) is one
    np.testing.assert_allclose(one.fn(X, Y)[1], 2 * np.cos(X) * Y, rtol=1e-13)
    np.testing.assert_allclose(two.fn(X, 3.0, Y, 1.0)[1], 3 * np.cos(X) * Y + np.sin(X),
                               rtol=1e-13)
    key = cache.key(helper.__wrapped__, ("jvp",))
    if key is not None:  # (the disk cache is on: the shape is part of the key)
        keys = {cache.key(helper, ("jvp", ("args_0",), True, ("varargs", n, ())))
                for n in (1, 2)}
        assert len(keys) == 2


MODEL = """
import functools


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


@logged
def helper(x, a=2.0):
    return np.{fn}(x) * a


def f(x, y):
    return helper(x, a=y) + helper(x) + helper(x, y)
"""


def _define(fn, filename):
    """A new module's ``f`` (the same file name: like another process)."""
    src = MODEL.format(fn=fn)
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace = {"np": np, "__name__": "varargs_model"}
    exec(compile(src, filename, "exec"), namespace)
    return namespace["f"]


def test_the_disk_cache_keeps_each_shape_and_follows_a_redefined_function(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("S2S_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("S2S_CACHE", raising=False)
    expected = np.cos(X) * X * (2 * Y + 2.0) + 2 * np.sin(X) * X
    first = s2s.jvp(_define("sin", "<varargs-model>"), (X, Y), (X, X))[1]
    before = dict(cache.stats)
    again = s2s.jvp(_define("sin", "<varargs-model>"), (X, Y), (X, X))[1]
    assert cache.stats["transforms"] == before["transforms"]  # every shape found on disk
    # f, the wrapper for 3 shapes, helper w.r.t. x and w.r.t. (x, a)
    assert cache.stats["hits"] - before["hits"] == 6
    np.testing.assert_allclose(first, expected, rtol=1e-13)
    np.testing.assert_array_equal(again, first)
    # the wrapped function redefined (the wrapper's own source is the same): new code
    f = _define("tanh", "<varargs-model>")
    got = s2s.jvp(f, (X, Y), (X, X))[1]
    t = 1 - np.tanh(X) ** 2
    np.testing.assert_allclose(got, t * X * (2 * Y + 2.0) + 2 * np.tanh(X) * X, rtol=1e-13)
    check_jvp(f, (X, Y))


def test_a_redefined_wrapped_function_in_memory():
    namespace = {}
    f1 = make_function(MODEL.format(fn="sin"), namespace, name="f")
    dot1 = s2s.jvp(f1, (X, Y), (X, np.zeros(3)))[1]
    f1.__globals__["helper"] = f1.__globals__["logged"](lambda x, a=2.0: np.exp(x) * a)
    dot2 = s2s.jvp(f1, (X, Y), (X, np.zeros(3)))[1]
    np.testing.assert_allclose(dot1, np.cos(X) * (2 * Y + 2.0) * X, rtol=1e-13)
    np.testing.assert_allclose(dot2, np.exp(X) * (2 * Y + 2.0) * X, rtol=1e-13)


def _takes_positional_only(*args):
    return _base_of_two(*args)


def _base_of_two(a, b):
    return np.sin(a) * b


def test_an_unexpected_keyword_is_pythons_error():
    # a keyword for a wrapper without **kwargs: Python's message (it was an internal
    # TypeError about a parameter None_c of the generated code)
    x = np.ones(3)
    with pytest.raises(s2s.InputError, match="unexpected keyword argument 'c'"):
        s2s.jacfwd(_takes_positional_only)(x, x, c=2.0)


def _dispatches_on_its_arity(*args):
    if len(args) == 2:
        return _base_of_two(*args)
    return _base_of_two(args[0], args[1]) + args[2]


@pytest.mark.parametrize("n", [2, 3])
def test_a_branch_on_the_number_of_arguments_keeps_the_branch_taken(n):
    # len(args) is known for the call's shape: the branch written for another
    # number of arguments is not differentiated (it was refused: "too many
    # positional arguments" in base(*args))
    rng = np.random.default_rng(n)
    primals = tuple(rng.normal(size=3) for _ in range(n))
    check_jvp(_dispatches_on_its_arity, primals)
    jac = s2s.jacfwd(_dispatches_on_its_arity, argnums=tuple(range(n)))(*primals)
    for k in range(n):
        np.testing.assert_allclose(jac[k], fd_jacobian(_dispatches_on_its_arity, primals, k),
                                   rtol=1e-6, atol=1e-8)
