"""Bad input raises the documented error type; errors about the user's code
name the user's file and line and say what to do."""

import functools
import math

import numpy as np
import pytest
from helpers import line_of

import s2s
from s2s import api
from s2s.errors import S2SError
from s2s.rules import registry


def _assert_names_user_line(error, fn, text):
    message = str(error)
    lineno = line_of(fn, text)
    assert f"test_errors.py:{lineno}" in message, message
    assert "what to do" in message, message
    assert error.hint, message
    assert error.lineno == lineno, (error.lineno, lineno)


def _jvp(fn, x=None):
    x = np.array([0.5, 1.5, 2.5]) if x is None else x
    return s2s.jvp(fn, (x,), (np.ones_like(x),))


def square(x):
    return x * x


def add(x, y):
    return x + y


# -- tangents that do not match the primals ------------------------------------------


def test_tangent_of_another_shape():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, (np.ones(3),), (np.ones(4),))
    message = str(info.value)
    assert "shape" in message and "(4,)" in message and "(3,)" in message
    assert "what to do" in message


def test_tangent_of_another_shape_in_a_pytree():
    with pytest.raises(s2s.InputError, match="shape"):
        s2s.jvp(lambda p: p["a"] * 2.0, ({"a": np.ones((2, 3))},), ({"a": np.ones((3, 2))},))


def test_scalar_tangent_for_array_primal():
    with pytest.raises(s2s.InputError, match="shape"):
        s2s.jvp(square, (np.ones(3),), (1.0,))


def test_integer_tangent_for_float_primal():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, (np.ones(3),), (np.ones(3, dtype=int),))
    assert "float" in str(info.value)
    assert "what to do" in str(info.value)


def test_complex_tangent_for_real_primal():
    """A tangent of another dtype kind than its primal (complex for real)."""
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, (np.ones(3),), (np.ones(3, dtype=complex),))
    assert "what to do" in str(info.value)


def test_tangent_of_another_structure():
    primal = {"a": np.ones(2), "b": np.ones(2)}
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(lambda p: p["a"] * p["b"], (primal,), ({"a": np.ones(2)},))
    assert "structure" in str(info.value)
    assert "what to do" in str(info.value)


def test_tuple_tangent_for_list_primal():
    with pytest.raises(s2s.InputError, match="structure"):
        s2s.jvp(lambda p: p[0] * p[1], ([np.ones(2), np.ones(2)],),
                ((np.ones(2), np.ones(2)),))


def test_array_tangent_for_tuple_primal():
    with pytest.raises(s2s.InputError, match="structure"):
        s2s.jvp(lambda p: p[0] * p[1], ((np.ones(2), np.ones(2)),), (np.ones(2),))


def test_more_tangents_than_primals():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(add, (np.ones(2),), (np.ones(2), np.ones(2)))
    assert "what to do" in str(info.value)


def test_primals_not_a_tuple():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, np.ones(2), np.ones(2))
    assert "tuple" in str(info.value)
    assert "what to do" in str(info.value)


def test_more_primals_than_parameters():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, (np.ones(2), np.ones(2)), (np.ones(2), np.ones(2)))
    assert "what to do" in str(info.value)


# -- integer primals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "primal, tangent",
    [
        (np.array([1, 2, 3]), np.ones(3)),
        (3, 1.0),
        (np.array([True, False]), np.ones(2)),
        (True, 1.0),
    ],
    ids=["int-array", "python-int", "bool-array", "python-bool"],
)
def test_integer_or_bool_primal(primal, tangent):
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(square, (primal,), (tangent,))
    message = str(info.value)
    assert "not differentiable" in message, message
    assert "what to do" in message


def test_integer_leaf_in_pytree_primal():
    with pytest.raises(s2s.InputError, match="not differentiable"):
        s2s.jvp(lambda p: p["a"] * 2.0, ({"a": np.arange(3)},), ({"a": np.ones(3)},))


# -- has_aux -----------------------------------------------------------------------------


def no_pair(x):
    return x * 2.0


def triple(x):
    return x * 2.0, x, x


def test_has_aux_without_a_pair():
    with pytest.raises(s2s.InputError) as info:
        s2s.jvp(no_pair, (np.ones(2),), (np.ones(2),), has_aux=True)
    message = str(info.value)
    assert "has_aux" in message and "what to do" in message


def test_has_aux_with_a_triple():
    with pytest.raises(s2s.InputError, match="has_aux"):
        s2s.jvp(triple, (np.ones(2),), (np.ones(2),), has_aux=True)


# -- strict ---------------------------------------------------------------------------------


def constant(x):
    n = x.shape[0]
    return np.ones(n)


def test_strict_error_names_return_line():
    with pytest.raises(s2s.NonDifferentiableOutputError) as info:
        s2s.jvp(constant, (np.ones(2),), (np.ones(2),), strict=True)
    message = str(info.value)
    assert str(line_of(constant, "return np.ones(n)")) in message, message
    assert "what to do" in message


# -- primitives without a rule ---------------------------------------------------------


def uses_i0(x):
    y = x * 2.0
    z = np.i0(y)
    return np.abs(z)


def uses_gamma(t):
    u = t + 1.0
    return math.gamma(u)


def helper_without_rule(v):
    return np.linalg.qr(v, mode="raw")  # (Householder reflectors: refused)


def calls_helper_without_rule(x):
    m = np.outer(x, x) + np.eye(3)
    return helper_without_rule(m)


def test_no_rule_names_primitive_and_line():
    with pytest.raises(s2s.NoRuleError) as info:
        _jvp(uses_i0)
    assert "i0" in str(info.value)
    _assert_names_user_line(info.value, uses_i0, "np.i0(y)")


def test_no_rule_for_math_function():
    with pytest.raises(s2s.NoRuleError) as info:
        s2s.jvp(uses_gamma, (1.5,), (1.0,))
    assert "gamma" in str(info.value)
    _assert_names_user_line(info.value, uses_gamma, "math.gamma(u)")


def test_no_rule_in_callee_names_the_callee_line():
    with pytest.raises(s2s.NoRuleError) as info:
        _jvp(calls_helper_without_rule)
    assert "qr's mode='raw'" in str(info.value)
    _assert_names_user_line(info.value, helper_without_rule, 'np.linalg.qr(v, mode="raw")')


def pad_median(x):
    return np.pad(x, 2, mode="median")


def pad_in_mode(x, mode):
    return np.pad(x, 2, mode=mode)


def test_pad_modes_without_a_rule_are_refused():
    # they were differentiated as the same pad of the tangent: the median of
    # the tangent's window, not the tangent at the array's median
    with pytest.raises(s2s.NoRuleError) as info:
        _jvp(pad_median)
    assert "numpy.pad with mode='median'" in str(info.value)
    _assert_names_user_line(info.value, pad_median, 'mode="median"')
    with pytest.raises(s2s.NoRuleError) as info:
        s2s.jvp(pad_in_mode, (np.ones(3), "edge"), (np.ones(3), None))
    assert "a mode that is not a string known when s2s reads the code" in str(info.value)
    _assert_names_user_line(info.value, pad_in_mode, "mode=mode")


def shaped_like(a, b):
    return a * np.ones_like(b)


def calls_shaped_like(x):
    y = x * x
    return shaped_like(x, y)


@pytest.mark.parametrize("passive", [(), ("b",)])
def test_a_linear_rule_refuses_a_derivative_in_a_parameter_it_is_not_linear_in(passive):
    # a rule that forgets a parameter (complex(real, imag) was linear in real
    # only) gave the primal value of that parameter in the tangent, silently
    registry.linear(shaped_like, argnums=(0,), passive=passive)
    try:
        if passive:  # declared passive (b gives only a shape): no derivative through it
            assert _jvp(calls_shaped_like)[1].tolist() == [1.0, 1.0, 1.0]
        else:
            with pytest.raises(s2s.NoRuleError) as info:
                _jvp(calls_shaped_like)
            assert "differentiated in a only, and the value passed as b carries a " \
                "derivative" in str(info.value)
            _assert_names_user_line(info.value, calls_shaped_like, "shaped_like(x, y)")
    finally:
        del registry.RULES[shaped_like]
        registry.generation += 1  # (as a registration does: the cache's key changes)
        api._forget_all()


def complex_of(a, b):
    return complex(a, b).imag * 3.0


def test_complex_is_differentiated_in_its_imaginary_part():
    assert s2s.jvp(complex_of, (1.0, 2.0), (0.0, 1.0)) == (6.0, 3.0)


def test_no_rule_not_raised_for_inactive_call():
    """A call whose arguments are all inactive needs no rule."""

    out, out_dot = _jvp(inactive_fft)
    np.testing.assert_allclose(out_dot, np.ones(3) * 3.0)


def inactive_fft(x):
    k = np.abs(np.fft.rfft(np.arange(4.0)))[0]
    return x * k / 2.0


# -- unsupported syntax ---------------------------------------------------------------


def gen(x):
    for i in range(3):
        yield x * i


def gen_from(x):
    yield from [x, x]


async def coroutine(x):
    return x * 2.0


COUNTER = 0.0


def writes_global(x):
    global COUNTER
    COUNTER = 1.0
    return x * 2.0


def make_nonlocal():
    total = 0.0

    def accumulate(x):
        nonlocal total
        total = 1.0
        return x * total

    return accumulate


writes_nonlocal = make_nonlocal()


def class_body(x):
    class Point:
        scale = 2.0
    return x * Point.scale


def uses_exec(x):
    exec("y = 1")
    return x * 2.0


def uses_eval(x):
    k = eval("2.0")
    return x * k


def uses_match(x):
    match x.ndim:
        case 1:
            return x * 2.0
        case _:
            return x


def uses_walrus(x):
    if (n := x.shape[0]) > 1:
        return x * n
    return x


def reads_locals(x):
    # the generated code's locals are not these: a zero tangent, silently
    y = x * 2.0
    return locals()["y"]


def reads_vars(x):
    y = x * 2.0
    return vars()["y"] + y


class _Holder:
    pass


def uses_setattr(x):
    # setattr got around the refusal of o.v = x: a zero tangent
    o, name = _Holder(), "v"
    setattr(o, name, x)
    return getattr(o, name) * 2.0


def sets_a_shape(x):
    # the array was reshaped in place, its tangent not: a (3, 1) tangent of a (3,) value
    y = x.reshape(3, 1) * 2.0
    y.shape = (3,)
    return y


def defines_inner_function(x):
    def inner(v):
        return v * 2.0
    return inner(x)


_UNSUPPORTED = [
    (gen, "yield x * i", ("generator", "yield")),
    (gen_from, "yield from", ("generator", "yield")),
    (writes_global, "global COUNTER", ("global",)),
    (writes_nonlocal, "nonlocal total", ("nonlocal",)),
    (class_body, "class Point", ("class",)),
    (uses_exec, 'exec("y = 1")', ("exec",)),
    (uses_eval, 'eval("2.0")', ("eval",)),
    (uses_match, "match x.ndim", ("match",)),
    (uses_walrus, ":=", (":=",)),
    (defines_inner_function, "def inner", ("function",)),
    (reads_locals, 'locals()["y"]', ("locals()",)),
    (reads_vars, 'vars()["y"]', ("vars()",)),
    (uses_setattr, "setattr(o, name, x)", ("setattr()",)),
    (sets_a_shape, "y.shape = (3,)", (".shape",)),
]


@pytest.mark.parametrize("fn, text, words", _UNSUPPORTED,
                         ids=[case[0].__name__ for case in _UNSUPPORTED])
def test_unsupported_syntax(fn, text, words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(fn)
    message = str(info.value)
    assert any(w in message for w in words), message
    _assert_names_user_line(info.value, fn, text)


def test_async_function():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(coroutine)
    message = str(info.value)
    assert "async" in message
    assert f"test_errors.py:{coroutine.__code__.co_firstlineno}" in message
    assert "what to do" in message


def calls_generator(x):
    total = x * 0.0
    for v in gen(x):
        total = total + v
    return total


def test_unsupported_syntax_in_callee():
    """A generator called with an active argument: the error names the
    generator's own line."""
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(calls_generator)
    _assert_names_user_line(info.value, gen, "yield x * i")


# -- source unavailable ----------------------------------------------------------------


def test_exec_made_function():
    namespace = {"np": np}
    exec("def made(x):\n    return x * 2.0\n", namespace)
    with pytest.raises(s2s.SourceUnavailableError) as info:
        _jvp(namespace["made"])
    assert "what to do" in str(info.value)


def test_builtin_without_rule():
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.jvp(math.gamma, (1.5,), (1.0,))
    assert "gamma" in str(info.value)
    assert "what to do" in str(info.value)


class _Scale:
    def __init__(self, k):
        self.k = k

    def apply(self, v):
        return self.k * v


def method_of_a_local_object(x):
    s = _Scale(2.0)
    return s.apply(x)  # s carries no derivative, x does


def draw_around(x):
    rng = np.random.default_rng(0)
    return rng.normal(x, 1.0)


def test_a_method_of_a_local_object_is_called_through_s2s():
    # (the code of a method of the user's: read when it runs, tests/test_methods.py)
    out, tangent = s2s.jvp(method_of_a_local_object, (np.ones(3),), (np.arange(3.0),))
    np.testing.assert_allclose(tangent, 2.0 * np.arange(3.0))


@pytest.mark.parametrize("f, method", [(draw_around, "normal")])
def test_a_method_given_a_value_with_a_derivative_is_refused(f, method):
    # the method's receiver carries no derivative: the tangent was silently zero
    with pytest.raises(s2s.NoRuleError) as info:
        s2s.jvp(f, (np.ones(3),), (np.ones(3),))
    message = str(info.value)
    assert f".{method}()" in message and "called with a value that carries" in message
    assert f"test_errors.py:{line_of(f, method + '(')}" in message


def fills_the_diagonal(x):
    b = np.outer(x, x)
    np.fill_diagonal(b, 0.0)
    return b


def adds_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 1, 0], x)
    return y


def writes_where(x):
    y = np.zeros(3)
    np.multiply(x, x, out=y, where=x > 0)
    return y


@pytest.mark.parametrize("f, what, line", [
    (fills_the_diagonal, "np.fill_diagonal", "np.fill_diagonal("),
    (adds_at, "np.add.at", "np.add.at("), (writes_where, "out= with where=", "out=y")])
def test_numpy_calls_writing_into_an_argument_are_refused(f, what, line):
    # their effect on the array was missing from the derivative
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.jvp(f, (np.ones(3),), (np.ones(3),))
    message = str(info.value)
    assert what in message and "what to do" in message
    assert f"test_errors.py:{line_of(f, line)}" in message


def _scaled_sine(x, scale=1.0):
    return np.sin(x) * scale


def _scaled_sines(*xs, scale=1.0):
    return [np.sin(x) * scale for x in xs]


def test_partials_s2s_cannot_bind_say_what_to_do_instead():
    with pytest.raises(s2s.SourceUnavailableError, match="cannot bind") as info:
        s2s.jacfwd(functools.partial(_scaled_sines, scale=3.0))(np.ones(2))
    assert "s2s.jacfwd(_scaled_sines)(x, scale=3.0)" in str(info.value)
    with pytest.raises(s2s.InputError, match="fixes arguments that _scaled_sine does not take"):
        s2s.jvp(functools.partial(_scaled_sine, shift=3.0), (np.ones(2),), (np.ones(2),))


def test_every_error_is_an_s2s_error():
    for cls in (s2s.InputError, s2s.NoRuleError, s2s.NonDifferentiableOutputError,
                s2s.SourceUnavailableError, s2s.UnsupportedSyntaxError):
        assert issubclass(cls, S2SError)


# -- a lambda that reads a value carrying a derivative --------------------------


def lambda_reads_active(x):
    a = np.exp(x)
    scale = lambda t: t * a  # noqa: E731
    return scale(x)


def lambda_reads_constant(x):
    k = np.arange(3.0)
    scale = lambda t: t * k  # noqa: E731
    return scale(x)


def lambda_reads_parameter(x):
    scale = lambda t: t * x  # noqa: E731
    return scale(x)


def lambda_reads_active_without_arguments(x):
    # called with no argument carrying a derivative: it was a zero tangent, silently
    scale = lambda: x * 2.0  # noqa: E731
    return scale()


def _times_sin(t, a):
    return np.sin(t) * a


def jvp_of_a_lambda_reading_its_primal(a):
    # the lambda's a carries a derivative of the outer jvp: it was lost (a wrong answer)
    return s2s.jvp(lambda t: _times_sin(t, a), (a,), (np.ones(3),))[1]


def jvp_of_a_held_lambda_reading_its_primal(a):
    inner = lambda t: _times_sin(t, a)  # noqa: E731
    return s2s.jvp(inner, (a,), (np.ones(3),))[1]


@pytest.mark.parametrize("fn, name", [(jvp_of_a_lambda_reading_its_primal, "the lambda"),
                                      (jvp_of_a_held_lambda_reading_its_primal, "inner")])
def test_s2s_jvp_of_a_lambda_reading_an_active_value_is_refused(fn, name):
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(fn)
    assert f"{name} reads a, which depends on the differentiated inputs" in str(info.value)
    _assert_names_user_line(info.value, fn, "return s2s.jvp(")


def test_local_function_without_arguments_reading_an_active_value_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(lambda_reads_active_without_arguments)
    assert "scale reads x, which depends on the differentiated inputs" in str(info.value)
    _assert_names_user_line(info.value, lambda_reads_active_without_arguments,
                            "return scale()")


@pytest.mark.parametrize("fn, name", [(lambda_reads_active, "a"), (lambda_reads_parameter, "x")])
def test_local_function_reading_an_active_value_is_refused(fn, name):
    # it would be differentiated through its argument only: a wrong answer
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(fn)
    assert f"scale reads {name}, which depends on the differentiated inputs" in str(info.value)
    _assert_names_user_line(info.value, fn, "return scale(x)")
    # under vmap: a loop over x's examples gave each call all of the batch (wrong shapes)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.vmap(fn)(np.ones((4, 3)))
    assert f"scale reads {name}, which differs per batch element" in str(info.value)
    _assert_names_user_line(info.value, fn, "return scale(x)")
    xs = np.arange(12.0).reshape(4, 3)  # a constant read: fine
    np.testing.assert_allclose(s2s.vmap(lambda_reads_constant)(xs), xs * np.arange(3.0))


def test_local_function_reading_an_inactive_value_is_differentiated():
    x = np.array([0.5, 1.5, 2.5])
    _, out_dot = _jvp(lambda_reads_constant, x)
    np.testing.assert_allclose(out_dot, np.arange(3.0))


# -- calls that leave parameters out, functions that return nothing -----------------


def _two_args(x, y):
    return x * y


def _returns_nothing(x):
    y = x * 2.0  # noqa: F841 (the return is missing)


def test_too_few_arguments_name_the_parameters_left_out():
    # before: a TypeError naming the generated code (two_args_jvp() missing 'x_dot')
    x = np.ones(3)
    with pytest.raises(s2s.InputError, match="_two_args needs y, which the one primal given"):
        s2s.jvp(_two_args, (x,), (x,))
    for transform in (s2s.jacfwd, s2s.vmap):
        with pytest.raises(s2s.InputError, match="_two_args needs y"):
            transform(_two_args)(np.ones((2, 3)))
    assert s2s.jacfwd(_two_args)(x, y=np.ones(3)).shape == (3, 3)  # a keyword fills it


def test_a_function_that_returns_nothing_is_an_error():
    # before: s2s.jvp returned None (unpacking failed later), jacfwd a TypeError
    x = np.ones(3)
    with pytest.raises(s2s.InputError, match="returned nothing"):
        s2s.jvp(_returns_nothing, (x,), (x,))
    for transform in (s2s.jacfwd, s2s.hessian):
        with pytest.raises(s2s.InputError, match="returned nothing"):
            transform(_returns_nothing)(np.ones((2, 3)))


def _scaled(x, w):
    return x * w


def _partial_of_an_active_value(x):
    scale = functools.partial(_scaled, w=x)
    return scale(x)


def test_partial_errors_name_the_partial_and_say_what_to_do():
    with pytest.raises(s2s.InputError, match=r"functools.partial\(_scaled, \.\.\.\) needs w"):
        s2s.jvp(functools.partial(_scaled), (np.ones(2),), (np.ones(2),))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="partial that fixes a value") as info:
        s2s.jvp(_partial_of_an_active_value, (np.ones(2),), (np.ones(2),))
    assert "call the function with all its arguments" in str(info.value)
    _assert_names_user_line(info.value, _partial_of_an_active_value, "functools.partial(")


    with pytest.raises(s2s.InputError, match="_returns_nothing returned None"):
        s2s.vmap(_returns_nothing)(np.ones((2, 3)))  # (vmap's code returns None either way)


def _returns_none(x):
    return None


def _bare_return(x):
    y = x + 1.0  # noqa: F841 (nothing returned)
    return


def _returns_on_one_branch(x):
    if x[0] > 0:
        return x * 2.0


_ALL_TRANSFORMS = {"jacfwd": s2s.jacfwd, "hessian": s2s.hessian, "vmap": s2s.vmap,
                   "vmap(jacfwd)": lambda f: s2s.vmap(s2s.jacfwd(f)),
                   "jacfwd(vmap)": lambda f: s2s.jacfwd(s2s.vmap(f))}


@pytest.mark.parametrize("f", [_returns_none, _bare_return])
def test_a_function_that_returns_none_is_an_error(f):
    # before: jvp gave (None, 0.0), jacfwd zeros or an object array of None,
    # hessian an unpacking error, vmap said no return statement was reached
    x = np.ones(3)
    with pytest.raises(s2s.InputError, match=f"{f.__name__} returned None"):
        s2s.jvp(f, (x,), (x,))
    for transform in _ALL_TRANSFORMS.values():
        with pytest.raises(s2s.InputError, match=f"{f.__name__} returned None"):
            transform(f)(np.ones((2, 3)))


@pytest.mark.parametrize("name", ["vmap", "vmap(jacfwd)", "jacfwd(vmap)"])
def test_vmap_of_a_function_that_returns_for_some_examples_only(name):
    # the loop over the batch: before, an object array of None where no example
    # returns, a stacking error (or a TypeError) where some do
    transform = _ALL_TRANSFORMS[name]
    xs = np.array([[1.0, 2.0, 3.0], [-1.0, 2.0, 3.0], [2.0, 1.0, 0.0]])
    with pytest.raises(s2s.InputError, match="_returns_on_one_branch returned"):
        transform(_returns_on_one_branch)(-np.abs(xs))
    with pytest.raises(s2s.InputError, match="_returns_on_one_branch gives None for example 1 "):
        transform(_returns_on_one_branch)(xs)


# -- *args and **kwargs whose items s2s cannot see -----------------------------------


def dot_unpacked(x):
    args = tuple([x, x])
    return np.dot(*args)


def where_unpacked(x):
    args = tuple([x > 1.0, x, -x])
    return np.where(*args)


def sin_unpacked(x):
    args = list(x[None])
    return np.sin(*args)


def sum_with_kwargs(x):
    kw = dict(axis=0)
    return np.sum(x, **kw)


@pytest.mark.parametrize("fn, text", [
    (dot_unpacked, "np.dot(*args)"), (where_unpacked, "np.where(*args)"),
    (sin_unpacked, "np.sin(*args)"), (sum_with_kwargs, "np.sum(x, **kw)")])
def test_a_primitive_given_a_derivative_through_star_args_is_refused(fn, text):
    # a linear rule put *args_dot in place of *args (np.dot(*args) lost a term);
    # np.where(*args) was inactive: a zero tangent
    with pytest.raises(s2s.NoRuleError) as info:
        _jvp(fn)
    assert "*args or **kwargs" in str(info.value)
    _assert_names_user_line(info.value, fn, text)


def scaled(a, b=1.0):
    return a * b


def helper_unpacked(x):
    args = tuple([x])
    return scaled(*args, 2.0)


def helper_with_kwargs(x):
    kw = {"a": x, "b": 2.0}
    kw["b"] = 3.0
    return scaled(**kw)


@pytest.mark.parametrize("fn, text", [(helper_unpacked, "scaled(*args, 2.0)"),
                                      (helper_with_kwargs, "scaled(**kw)")])
def test_a_helper_given_a_derivative_through_star_args_is_refused(fn, text):
    # scaled(*args, 2.0) became invalid Python; scaled(**kw) lacked "a"
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        _jvp(fn)
    assert "pass the arguments of" in str(info.value)
    assert "by position or name, not through *args/**kwargs" in str(info.value)
    _assert_names_user_line(info.value, fn, text)


@pytest.mark.parametrize("bad, what", [("abc", "a str"), (None, "None"), (object(), "an object")])
def test_a_primal_that_is_no_number_says_what_it_is(bad, what):
    # it said "integer and bool inputs are not differentiable" for a string
    with pytest.raises(s2s.InputError, match=f"primal 1 \\(y\\) is {what}: s2s differentiates "
                       "floating-point arrays and numbers"):
        s2s.jvp(add, (np.ones(2), bad), (np.ones(2), bad))


@pytest.mark.parametrize("transform", [
    lambda f: s2s.jvp(f, (np.ones(2),), (np.ones(2),)),
    lambda f: s2s.jacfwd(f)(np.ones(2)),
    lambda f: s2s.vmap(f)(np.ones(2)),
])
def test_a_func_that_is_no_function_is_named(transform):
    # "cannot read the Python source of 3 (int)"
    with pytest.raises(s2s.InputError, match=r"3 \(int\) is not a function"):
        transform(3)
