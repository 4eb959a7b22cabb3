"""The frontend end to end: lambdas, closures with live cells, ``__main__``
scripts, NumPy import styles, live globals, and source that is unavailable."""

import functools
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import central_difference, check_jvp, make_function

import s2s

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")
sys.path.insert(0, SCRIPTS)

import import_styles  # noqa: E402

X = np.array([0.5, -1.0, 2.0])
T = np.array([1.0, 0.5, -2.0])


# -- lambdas ---------------------------------------------------------------------------


def test_lambda():
    f = lambda x, y: x * y  # noqa: E731
    out, out_dot = s2s.jvp(f, (X, 2.0 * X), (T, np.ones(3)))
    np.testing.assert_allclose(out, 2.0 * X * X)
    np.testing.assert_allclose(out_dot, T * 2.0 * X + X * np.ones(3))


def test_two_lambdas_on_one_line_different_arguments():
    f, g = (lambda x: np.sin(x) * 2.0), (lambda y: np.cos(y) * 3.0)
    _, f_dot = s2s.jvp(f, (X,), (T,))
    _, g_dot = s2s.jvp(g, (X,), (T,))
    np.testing.assert_allclose(f_dot, 2.0 * np.cos(X) * T)
    np.testing.assert_allclose(g_dot, -3.0 * np.sin(X) * T)


def test_two_lambdas_on_one_line_same_arguments():
    f, g = (lambda x: np.sin(x) * 2.0), (lambda x: x ** 3)
    _, f_dot = s2s.jvp(f, (X,), (T,))
    _, g_dot = s2s.jvp(g, (X,), (T,))
    np.testing.assert_allclose(f_dot, 2.0 * np.cos(X) * T)
    np.testing.assert_allclose(g_dot, 3.0 * X ** 2 * T)


def test_lambda_passed_inline():
    out, out_dot = s2s.jvp(lambda v: np.exp(v).sum(), (X,), (T,))
    assert out_dot == pytest.approx(np.sum(np.exp(X) * T))


def test_lambda_in_a_call_spanning_lines():
    results = [
        s2s.jvp(
            lambda v: v ** 2,
            (X,),
            (T,),
        )[1],
        s2s.jvp(lambda w: w * 5.0, (X,), (T,))[1],
    ]
    np.testing.assert_allclose(results[0], 2.0 * X * T)
    np.testing.assert_allclose(results[1], 5.0 * T)


_ACTIVATIONS = {
    "sin": lambda v: np.sin(v) * 2.0,
    "square": lambda v: v * v,
}


def test_lambdas_in_a_dict_display_spanning_lines():
    # "cannot parse the source of <lambda>": the item "sin": lambda ... alone
    np.testing.assert_allclose(s2s.jvp(_ACTIVATIONS["sin"], (X,), (T,))[1], 2 * np.cos(X) * T)
    np.testing.assert_allclose(s2s.jvp(_ACTIVATIONS["square"], (X,), (T,))[1], 2 * X * T)


def test_lambda_with_default_argument():
    f = lambda x, scale=3.0: scale * np.sin(x)  # noqa: E731
    _, out_dot = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(out_dot, 3.0 * np.cos(X) * T)


# -- nested functions and closures ------------------------------------------------------


def make_model(weights):
    def model(x):
        return np.tanh(weights @ x)

    return model


def make_settable(scale):
    def scaled(x):
        return scale * np.sin(x)

    def set_scale(value):
        nonlocal scale
        scale = value

    return scaled, set_scale


def test_closure_over_array():
    W = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 0.3]])
    check_jvp(make_model(W), (X,))


def test_two_closures_from_one_factory_use_their_own_cells():
    a = make_model(np.eye(3))
    b = make_model(2.0 * np.eye(3))
    _, a_dot = s2s.jvp(a, (X,), (T,))
    _, b_dot = s2s.jvp(b, (X,), (T,))
    np.testing.assert_allclose(a_dot, (1 - np.tanh(X) ** 2) * T)
    np.testing.assert_allclose(b_dot, 2.0 * (1 - np.tanh(2.0 * X) ** 2) * T)


def test_closure_cell_changed_after_first_transform():
    scaled, set_scale = make_settable(2.0)
    _, first = s2s.jvp(scaled, (X,), (T,))
    np.testing.assert_allclose(first, 2.0 * np.cos(X) * T)
    set_scale(5.0)
    out, second = s2s.jvp(scaled, (X,), (T,))
    np.testing.assert_allclose(out, 5.0 * np.sin(X))
    np.testing.assert_allclose(second, 5.0 * np.cos(X) * T)


def test_closure_cell_array_mutated_in_place():
    W = np.eye(3)
    model = make_model(W)
    s2s.jvp(model, (X,), (T,))
    W *= 3.0
    _, out_dot = s2s.jvp(model, (X,), (T,))
    np.testing.assert_allclose(out_dot, 3.0 * (1 - np.tanh(3.0 * X) ** 2) * T)


def make_caller(helper):
    def caller(x):
        return helper(x) * 2.0

    return caller


def test_closure_over_a_user_function():
    caller = make_caller(lambda v: v ** 3)
    _, out_dot = s2s.jvp(caller, (X,), (T,))
    np.testing.assert_allclose(out_dot, 6.0 * X ** 2 * T)


def test_nested_function_defined_in_test():
    offset = np.array([1.0, 2.0, 3.0])

    def shifted_square(x):
        return (x + offset) ** 2

    _, out_dot = s2s.jvp(shifted_square, (X,), (T,))
    np.testing.assert_allclose(out_dot, 2.0 * (X + offset) * T)


# -- the lines of a def (s2s.defblock, else inspect) -------------------------------------------

BLOCKS = {
    "plain": "def f(x):\n    return x\n\ng = 1\n",
    "comment below at def level": "def f(x):\n    return x\n# next\ng = 1\n",
    "comment below in the body": "def f(x):\n    return x\n    # kept\ng = 1\n",
    "comment below between": "def f(x):\n        return x\n    # ?\ng = 1\n",
    "bracket at column 0": "def f(x):\n    y = (x +\n1)\n    return y\n",
    "string at column 0": 'def f(x):\n    s = """\ndef g\n"""\n    return x\n',
    "string ending like a comment": 'def f(x):\n    s = """\n    # a"""\n',
    "decorated": "def d(f):\n    return f\n\n\n@d\n@d\ndef f(x):\n    return x\n",
    "decorator over lines": "def d(*a):\n    return lambda f: f\n\n\n@d(1,\n2)\ndef f(x):\n"
                            "    return x\n",
    "signature over lines": "def f(x,\n  y=2):\n    return x\n",
    "one line": "def f(x): return x\n# c\n    # d\ng = 1\n",
    "tabs": "def f(x):\n\tif x:\n\t\treturn x\n\treturn x\n",
    "nested": "def outer():\n    def f(x):\n        return x\n    return f\n\nf = outer()\n",
    "method": "class C:\n    @staticmethod\n    def f(x):\n        return x\n\n    y = 1\n"
              "\n\nf = C.f\n",
    "continued line": "def f(x):\n    y = x + \\\n1\n    return y\n",
    "end of file": "def f(x):\n    return x",
}


@pytest.mark.parametrize("src", BLOCKS.values(), ids=BLOCKS.keys())
def test_def_lines_as_inspect_reads_them(src):
    import inspect

    from s2s.frontend import _read_source

    namespace = {}
    fn = make_function(src, namespace, name="f")
    lines, start, _ = _read_source(fn)
    assert (lines, start) == inspect.getsourcelines(fn)


# -- __main__ scripts -----------------------------------------------------------------------


def _expected_script_output():
    x = np.array([0.5, -1.0, 2.0])
    t = np.array([1.0, 0.0, -1.0])
    dx = np.diff(x)
    energy = float(np.sum(dx ** 2) + np.sum(np.sin(x)))
    energy_dot = float(np.sum(2.0 * dx * np.diff(t)) + np.sum(np.cos(x) * t))
    scaled = 2.0 * np.tanh(0.3)
    scaled_dot = 0.5 * np.tanh(0.3) + 2.0 * (1 - np.tanh(0.3) ** 2) * 1.0
    return energy, energy_dot, scaled, scaled_dot


def test_function_in_main_script():
    script = os.path.join(SCRIPTS, "main_script.py")
    result = subprocess.run([sys.executable, script], capture_output=True, text=True,
                            cwd=SCRIPTS, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["module"] == "__main__"
    energy, energy_dot = (float(v) for v in lines["energy"].split())
    scaled, scaled_dot = (float(v) for v in lines["scaled"].split())
    expected = _expected_script_output()
    assert (energy, energy_dot, scaled, scaled_dot) == pytest.approx(expected, rel=1e-12)


def test_interactive_code_raises_source_unavailable():
    """Code typed at the prompt (here: python -c) has no source file before
    Python 3.13; 3.13 keeps the source of -c code and of the REPL, and then
    s2s differentiates it."""
    code = (
        "import numpy as np, s2s\n"
        "f = lambda x: x * 2.0\n"
        "try:\n"
        "    print('result', s2s.jvp(f, (np.ones(2),), (np.ones(2),))[1].tolist())\n"
        "except s2s.SourceUnavailableError as e:\n"
        "    print('SourceUnavailableError', 'what to do' in str(e))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    if sys.version_info >= (3, 13):
        assert result.stdout.strip() in ("SourceUnavailableError True", "result [2.0, 2.0]"), \
            result.stderr
    else:
        assert result.stdout.strip() == "SourceUnavailableError True", result.stderr


# -- import styles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, derivative",
    [
        (import_styles.plain_numpy, lambda x: np.cos(x) * x + np.sin(x)),
        (import_styles.from_import, lambda x: np.cos(x) ** 2 - np.sin(x) ** 2),
        (import_styles.renamed_from_import, lambda x: np.exp(-x) * (1.0 - x)),
        (import_styles.mixed, lambda x: (1 - np.tanh(x) ** 2) + 2.0 * (1 - np.tanh(2.0 * x) ** 2)
         + np.cos(x)),
    ],
    ids=["import numpy", "from numpy import sin", "from numpy import exp as e", "mixed"],
)
def test_numpy_import_styles(fn, derivative):
    out, out_dot = s2s.jvp(fn, (X,), (T,))
    np.testing.assert_allclose(out, fn(X))
    expected = derivative(X) * T
    if np.ndim(out) == 0:
        expected = np.sum(expected)
    np.testing.assert_allclose(out_dot, expected, rtol=1e-12)


def test_from_numpy_linalg_import():
    check_jvp(import_styles.submodule_from_import, (X,))


def test_math_module_alias():
    out, out_dot = s2s.jvp(import_styles.math_alias, (0.4,), (1.0,))
    assert out_dot == pytest.approx(np.cos(0.4) + 0.5 * np.exp(0.2), rel=1e-12)


def test_from_numpy_import_in_made_function():
    f = make_function("from numpy import sin\n\ndef f(x):\n    return sin(x) * x\n",
                      name="f")
    _, out_dot = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(out_dot, (np.cos(X) * X + np.sin(X)) * T)


def test_import_numpy_without_alias_in_made_function():
    f = make_function("import numpy\n\ndef f(x):\n    return numpy.exp(x).sum()\n",
                      name="f")
    _, out_dot = s2s.jvp(f, (X,), (T,))
    assert out_dot == pytest.approx(np.sum(np.exp(X) * T))


# -- live globals -------------------------------------------------------------------------


def test_global_constant_changed_after_first_call():
    f = make_function("def f(x):\n    return SCALE * np.sin(x)\n", {"SCALE": 2.0})
    _, first = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(first, 2.0 * np.cos(X) * T)
    f.__globals__["SCALE"] = 7.0
    out, second = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(out, 7.0 * np.sin(X))
    np.testing.assert_allclose(second, 7.0 * np.cos(X) * T)


def test_global_array_changed_after_first_call():
    f = make_function("def f(x):\n    return W @ x\n", {"W": np.eye(3)})
    s2s.jvp(f, (X,), (T,))
    f.__globals__["W"] = 2.0 * np.eye(3)
    _, out_dot = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(out_dot, 2.0 * T)


def test_global_helper_function_rebound_after_first_call():
    src = ("def helper(v):\n    return v * 2.0\n\n"
           "def other(v):\n    return v ** 2\n\n"
           "def f(x):\n    return helper(x)\n")
    f = make_function(src, name="f")
    _, first = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(first, 2.0 * T)
    f.__globals__["helper"] = f.__globals__["other"]
    out, second = s2s.jvp(f, (X,), (T,))
    np.testing.assert_allclose(out, X ** 2)
    np.testing.assert_allclose(second, 2.0 * X * T)


# -- source unavailable ---------------------------------------------------------------


def test_exec_made_function():
    namespace = {"np": np}
    exec("def made(x):\n    return np.sin(x)\n", namespace)
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.jvp(namespace["made"], (X,), (T,))
    assert "made" in str(info.value)
    assert "what to do" in str(info.value)


def test_exec_made_lambda():
    made = eval("lambda x: x * 2.0")
    with pytest.raises(s2s.SourceUnavailableError):
        s2s.jvp(made, (X,), (T,))


def test_builtin_without_rule():
    import math

    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.jvp(math.lgamma, (1.5,), (1.0,))
    assert "lgamma" in str(info.value)
    assert "what to do" in str(info.value)


def test_ufunc_without_rule():
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.jvp(np.gcd, (X,), (T,))
    assert "gcd" in str(info.value)


def test_primitive_with_rule_passed_directly():
    """A registered primitive has no Python source but has a rule: it works."""
    out, out_dot = s2s.jvp(np.sin, (X,), (T,))
    np.testing.assert_allclose(out, np.sin(X))
    np.testing.assert_allclose(out_dot, np.cos(X) * T)


_EDITED_MODULE = """\
from __future__ import annotations

import linecache

import numpy as np
from numpy import (
    cos,
)

_MADE = "def made(x):\\n    return np.sin(x) * 2\\n"
linecache.cache["<made-here>"] = (len(_MADE), None, _MADE.splitlines(True), "<made-here>")
exec(compile(_MADE, "<made-here>", "exec"))  # (inherits the module's __future__ flags)

if True:
    def in_block(x):
        return np.sin(x) * 2

lam = lambda x: np.sin(x) * 2  # noqa: E731


def f(x):
    return np.sin(x) * 2


def outer(k):
    def inner(x):
        return np.sin(x) * k
    return inner


class Model:
    @staticmethod
    def forward(x):
        return np.sin(x) * 2
"""


def test_a_function_whose_file_was_edited_after_import_is_refused(tmp_path, monkeypatch):
    # s2s read the new text and differentiated it: cos * 3 for a function running sin * 2
    # (code transformed before the edit stays right: it was built from the old text)
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for name in ("unedited_module", "edited_module"):
        (tmp_path / f"{name}.py").write_text(_EDITED_MODULE)
    import edited_module
    import unedited_module

    x, t = np.array([0.5]), np.ones(1)
    for fn in (unedited_module.f, unedited_module.outer(2.0), unedited_module.Model.forward,
               unedited_module.made, unedited_module.in_block, unedited_module.lam):
        assert s2s.jvp(fn, (x,), (t,))[1] == pytest.approx(2 * np.cos(0.5))
    (tmp_path / "edited_module.py").write_text(
        _EDITED_MODULE.replace("np.sin(x) * 2", "np.cos(x) * 3.0  # edited").replace(
            "np.sin(x) * k", "cos(x) * k  # edited"))
    for fn in (edited_module.f, edited_module.outer(2.0), edited_module.Model.forward,
               edited_module.in_block, edited_module.lam):
        with pytest.raises(s2s.SourceUnavailableError, match="its file was edited after it"):
            s2s.jvp(fn, (x,), (t,))
    importlib.reload(edited_module)  # the functions are the file's again
    assert s2s.jvp(edited_module.f, (x,), (t,))[1] == pytest.approx(-3 * np.sin(0.5))
    del sys.modules["edited_module"], sys.modules["unedited_module"]


def _written_through_a_view(x):
    y = np.zeros(4)
    w = y.view()
    w[:] = x * x
    return y


def test_writes_through_a_view_method_reach_the_array():
    # w = y.view() was a new array to s2s: y's tangent stayed zero
    x = np.array([1.0, 2.0, 3.0, 4.0])
    check_jvp(_written_through_a_view, (x,))
    np.testing.assert_allclose(s2s.jacfwd(_written_through_a_view)(x), np.diag(2 * x))
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(s2s.vmap(_written_through_a_view)(xs), xs * xs)


# -- *args and **kwargs of calls ----------------------------------------------------


def star_dot(v):
    args = (v, v)
    return np.dot(*args)


def star_where(v):
    args = (v > 0.3, v, -v)
    return np.where(*args)


def star_take(v):
    return np.take(*(v, [0, 2]))


def star_einsum(v):
    return np.einsum(*("i,i->", v, v))


def star_linspace(v):
    return np.linspace(*(v[0], v[1], 5))


def star_sum(v):
    kw = {"axis": 0}
    return np.sum(v * v, **kw)


def times(a, b=1.0):
    return a * b


def star_helper(v):
    args = (v,)
    return times(*args, 2.0)


def star_helper_default(v):
    args = [v[0], v[1]]
    return times(*args)


def kwargs_helper(v):
    kw = {"a": v[0], "b": v[1]}
    return times(**kw)


STARRED = [star_dot, star_where, star_take, star_einsum, star_linspace, star_sum, star_helper,
           star_helper_default, kwargs_helper]


def _jacobian_by_differences(f, x, h=1e-6):
    columns = [(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h)
               for e in np.eye(x.size)]
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("f", STARRED, ids=lambda f: f.__name__)
def test_starred_displays_are_passed_item_by_item(f):
    # the tangent replaced *args by *args_dot as a whole (np.dot(*args) missed
    # a term), np.where(*args) had none, and helper(*args, 2.0) was no Python
    x = np.array([0.1, 0.2, 0.7])
    check_jvp(f, (x,))
    np.testing.assert_allclose(s2s.jacfwd(f)(x), _jacobian_by_differences(f, x), atol=1e-6)


def reshape_unpacked(x):
    rest = x.shape[1:]
    return np.sum(x.reshape(2, -1, *rest)[0] ** 3)


def reshape_starred(x):
    return np.sum(np.sin(x.reshape(*x.shape[::-1])[0]) ** 2)


def transpose_starred(x):
    axes = list(range(x.ndim))[::-1]
    return x.transpose(*axes)[0] ** 2


@pytest.mark.parametrize("f", [reshape_unpacked, reshape_starred, transpose_starred],
                         ids=lambda f: f.__name__)
def test_reshape_and_transpose_with_starred_sizes(f):
    # x.reshape(*s) became np.reshape(x, *s): s's second size was taken as the order
    x = np.linspace(0.1, 1.2, 12).reshape(4, 3)
    check_jvp(f, (x,))
    jac = s2s.jacfwd(f)(x)
    np.testing.assert_allclose(jac.reshape(np.shape(f(x)) + (12,)),
                               _jacobian_by_differences(lambda u: f(u.reshape(4, 3)), x.ravel()),
                               atol=1e-6)
    if np.ndim(f(x)) == 0:
        hess = s2s.hessian(f)(x).reshape(12, 12)
        grad = s2s.jacfwd(lambda u: f(u.reshape(4, 3)))
        np.testing.assert_allclose(hess, _jacobian_by_differences(grad, x.ravel()), atol=1e-5)


def _array_api_style(x):
    xp = np  # the array API's namespace variable (scipy's style)
    return xp.sum(xp.sin(x) * x, axis=0)


def test_a_local_name_bound_to_a_module_reads_the_module():
    # xp.sin(x) was a method of an object: jvp had no rule, vmap called sum twice with axis
    x = np.array([[0.3, -0.5, 1.2], [0.1, 0.2, 0.3]])
    check_jvp(_array_api_style, (x,))
    np.testing.assert_allclose(s2s.vmap(_array_api_style)(x.T), [_array_api_style(v) for v in x.T])


def _squared(v):
    return v * v


def _calls_an_alias(x):
    act = np.tanh
    g = _squared
    return np.sum(g(act(x)))


def test_a_local_name_bound_to_a_function_calls_it_where_s2s_sees_it():
    # g(x) was a call known only at run time: hessian refused it ("no second-order
    # rule for s2s.runtime.call_jvp")
    x = np.array([0.3, -0.5, 1.2])
    check_jvp(_calls_an_alias, (x,))
    jacobian = s2s.jacfwd(_calls_an_alias)
    expected = [(jacobian(x + 1e-6 * e) - jacobian(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    np.testing.assert_allclose(s2s.hessian(_calls_an_alias)(x), expected, rtol=1e-5, atol=1e-6)


def _transposed_by(x, axes):
    return np.sin(x.transpose(*axes))


@pytest.mark.parametrize("axes", [(), (1, 0)])
def test_transpose_of_starred_axes_reverses_them_when_there_are_none(axes):
    # np.transpose(x, ()) raised where the method reverses the axes
    x = np.arange(6.0).reshape(2, 3)
    out, tangent = s2s.jvp(functools.partial(_transposed_by, axes=axes), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(tangent, np.cos(x.transpose(*axes)))


_JVP_OF_A_LAMBDA_MODULE = """\
import numpy as np

import s2s

B = np.linspace(1.0, 2.0, 4)


def scaled(x, b):
    return np.sin(x) * b


def of_a_lambda(a, v):
    return s2s.jvp(lambda x: scaled(x, B), (a,), (v,))[1]


def of_a_named_lambda(a, v):
    scale = lambda x, b: scaled(x, b) * 2.0  # noqa: E731
    return s2s.jvp(scale, (a, B), (v, np.zeros(4)))[1]
"""


def test_a_lambda_in_generated_code_is_not_taken_for_an_edited_file(tmp_path, monkeypatch):
    # vmap copies the lambda into its generated function, where it is compiled
    # inside a factory: that code differs from what the generated file's text
    # compiles to, and it was refused ("its file was edited after it was defined")
    # (outside a module pytest rewrites: the check is skipped in those)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "jvp_of_a_lambda_module.py").write_text(_JVP_OF_A_LAMBDA_MODULE)
    import jvp_of_a_lambda_module as m

    rng = np.random.default_rng(3)
    xs, vs = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    try:
        for g in (m.of_a_lambda, m.of_a_named_lambda):
            np.testing.assert_allclose(s2s.vmap(g)(xs, vs), [g(x, v) for x, v in zip(xs, vs)],
                                       rtol=1e-12)
            jac = s2s.jacfwd(g)(xs[0], vs[0])
            np.testing.assert_allclose(jac, np.transpose(
                [central_difference(g, (xs[0], vs[0]), (e, np.zeros(4))) for e in np.eye(4)]),
                rtol=1e-6, atol=1e-8)
    finally:
        del sys.modules["jvp_of_a_lambda_module"]


_TWO_ON_ONE_LINE = [lambda v: np.sin(v) * 2.0, lambda v: np.cos(v) * 2.0]
_LAMBDA_SHIFT = np.float64(0.5)
_TWO_IN_A_DICT = {"a": lambda x: np.fmod(x, _LAMBDA_SHIFT), "b": lambda x: np.sum(x + _LAMBDA_SHIFT)}


def test_each_of_two_lambdas_on_one_line_is_itself():
    # lambdas alike but for a name (sin, cos) compile to the same bytecode: the first
    # was differentiated for either (values and derivatives of the wrong function)
    for fn, d in zip(_TWO_ON_ONE_LINE, (np.cos, lambda v: -np.sin(v))):
        out, out_dot = s2s.jvp(fn, (0.7,), (1.0,))
        assert out == pytest.approx(fn(0.7)) and out_dot == pytest.approx(2.0 * d(0.7))
    out, out_dot = s2s.jvp(_TWO_IN_A_DICT["b"], (np.ones(2),), (np.ones(2),))
    assert out == pytest.approx(3.0) and out_dot == pytest.approx(2.0)
