"""s2s.defjvp: a rule registered again replaces the old one everywhere, s2s.jvp
of the function with the rule uses it, calls may leave out its defaults, and
a rule that does not fit is refused where it is registered, naming its line."""

import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import central_difference, make_function

import s2s

X = np.array([0.3, -1.2, 2.0])
V = np.array([1.0, 0.5, -0.3])


def _square(x):
    return x * x


def _sum_of_squares(x):
    return np.sum(_square(x))


def test_a_rule_registered_again_replaces_the_old_one_in_code_built_before():
    # the in-memory code of s2s.jvp and of a jacfwd object kept the first rule
    s2s.defjvp(_square)(make_function("def rule(z, x, x_dot):\n    z_dot = 2 * x * x_dot\n"))
    jac = s2s.jacfwd(_sum_of_squares)
    np.testing.assert_allclose(s2s.jvp(_sum_of_squares, (X,), (V,))[1], np.sum(2 * X * V))
    np.testing.assert_allclose(jac(X), 2 * X)
    s2s.defjvp(_square)(make_function("def rule(z, x, x_dot):\n    z_dot = 100 * x * x_dot\n"))
    np.testing.assert_allclose(s2s.jvp(_sum_of_squares, (X,), (V,))[1], np.sum(100 * X * V))
    np.testing.assert_allclose(jac(X), 100 * X)
    # s2s.jvp of the function itself uses its rule, not its code
    np.testing.assert_allclose(s2s.jvp(_square, (X,), (V,))[1], 100 * X * V)


def _smooth_abs(x, eps=1e-2):
    return np.sqrt(x * x + eps)


def _total_smooth_abs(x):
    return np.sum(_smooth_abs(x))


def test_a_call_may_leave_out_the_defaults_of_a_function_with_a_rule():
    # "the rule ... does not cover this call: missing a required argument: 'eps'"
    s2s.defjvp(_smooth_abs)(make_function("def rule(z, x, eps, x_dot):\n    z_dot = x * x_dot / z\n"))
    np.testing.assert_allclose(s2s.jvp(_total_smooth_abs, (X,), (V,))[1],
                               central_difference(_total_smooth_abs, (X,), (V,)), rtol=1e-6)


def test_an_argument_left_out_has_the_functions_default_not_the_rules():
    # the primal used eps=1e-2; the tangent used the template's eps=100.0
    s2s.defjvp(_smooth_abs)(make_function(
        "def rule(z, x, eps=100.0, x_dot=None):\n    z_dot = x * x_dot / np.sqrt(x * x + eps)\n"))
    np.testing.assert_allclose(s2s.jvp(_total_smooth_abs, (X,), (V,))[1],
                               central_difference(_total_smooth_abs, (X,), (V,)), rtol=1e-6)
    np.testing.assert_allclose(s2s.jacfwd(_total_smooth_abs)(X), X / _smooth_abs(X), rtol=1e-12)


def _product(x, y):
    return x * y


@pytest.mark.parametrize("rule, message", [
    ("def r(z, x, y, w_dot):\n    z_dot = w_dot\n", "w_dot is the tangent of no parameter"),
    ("def r(x, y, x_dot, y_dot):\n    z_dot = x_dot\n", "x_dot is the tangent of no parameter"),
    ("def r(z, x, y, q, x_dot):\n    z_dot = x_dot\n", "takes (x, y)"),
    ("def r(z, x, y, x_dot):\n    w = x_dot * y\n", "never assigns z_dot"),
    ("def r(z, x, y, x_dot):\n    return x_dot * y\n", "is not an assignment to a name"),
])
def test_a_rule_that_does_not_fit_is_refused_where_it_is_registered(rule, message):
    # accepted before, then a zero tangent, a NameError from generated code, or an
    # error that blamed the user's call
    template = make_function(rule)
    with pytest.raises(s2s.InputError, match="the rule r for") as info:
        s2s.defjvp(_product)(template)
    assert message in str(info.value)
    assert info.value.filename == template.__code__.co_filename and info.value.lineno == 1


OVERRIDE = """
import numpy as np
import s2s


@s2s.defjvp(np.linalg.norm)
def norm_jvp(z, x, ord, axis, keepdims, x_dot):
    z_dot = 100.0 * np.sum(x_dot)


def f(x):
    return np.linalg.norm(x)


print(s2s.jvp(f, (np.ones(3),), (np.ones(3),))[1])
"""


def test_a_rule_for_a_function_with_a_built_in_rule_replaces_it_from_the_first_call(tmp_path):
    # in a fresh process, where s2s's rule tables load after the user's rule
    script = tmp_path / "override.py"
    script.write_text(OVERRIDE)
    env = dict(os.environ, S2S_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == 300.0
