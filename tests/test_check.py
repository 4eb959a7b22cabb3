"""s2s/check.py: every problem of a function, each at its file and line,
without running it; and exactly the problems the transform raises."""

import inspect
import types

import e2e_functions as ef
import pytest
from helpers import make_function

import s2s
from s2s.check import problems
from s2s.errors import S2SError
from s2s.transform import jvp_function

MANY = '''\
import math

def helper(v):
    v.sort()
    return np.sum(v) + math.gamma(v[0])

def f(x, w, o):
    def inner(t):
        return t * 2
    global G
    y = (z := x * 2)
    r = eval("x")
    for o.v in x:
        pass
    o.w += x
    with open("f") as (p, q):
        pass
    for pair in enumerate(x):
        pass
    a, *b = x
    q = helper(y * w)
    o.attr = q
    return x.frobnicate() + math.lgamma(q) + inner(x) + math.gamma(q)
'''


def _lines(src, *fragments):
    lines = src.splitlines()
    return [next(i for i, line in enumerate(lines, 1) if fragment in line)
            for fragment in fragments]


def test_every_problem_once_with_its_line():
    f = make_function(MANY, name="f")
    found = problems(f)
    where = sorted((e.lineno, type(e).__name__) for e in found)
    expected = _lines(MANY, "v.sort()", "math.gamma(v[0])", "def inner", "global G", ":=",
                      "eval(", "for o.v", "o.w +=", "as (p, q)", "enumerate(x)", "a, *b",
                      "o.attr = q", *["x.frobnicate()"] * 3)
    assert [line for line, _ in where] == sorted(expected)
    messages = " | ".join(e.message for e in found)
    for fragment in ("in-place array method .sort()", "math.gamma", "function defined inside",
                     "global statement", "assignment expression", "eval()",
                     "plain names as for-loop targets", "augmented assignment to an attribute",
                     "plain name after 'with ... as'", "unpacked in the for target",
                     "starred assignment target", "attribute assignment", ".frobnicate()",
                     "math.lgamma"):
        assert fragment in messages, fragment
    assert all(isinstance(e, S2SError) and e.hint for e in found)
    # the callee's problems name the callee's own file
    assert {e.filename for e in found} == {f.__code__.co_filename}


def test_callee_in_another_file_is_reported_there():
    helper = make_function("def helper(v):\n    return np.sum(v) * math.gamma(v[0])\n",
                           {"math": __import__("math")})
    caller = make_function("def caller(x):\n    return helper(x * 2.0) + helper(x)\n",
                           {"helper": helper})
    found = problems(caller)
    assert [(e.filename, e.lineno) for e in found] == [(helper.__code__.co_filename, 2)]


def test_recursive_function_checked_once():
    src = ("def rec(x, n):\n    if n == 0:\n        return math.gamma(x)\n"
           "    return rec(x * 0.5, n - 1)\n")
    rec = make_function(src, {"math": __import__("math")})
    assert [e.lineno for e in problems(rec, ("x",))] == [3]


def test_argnums_decide_what_is_checked():
    src = "def scaled(x, k):\n    return x * math.gamma(k)\n"
    scaled = make_function(src, {"math": __import__("math")})
    assert [e.lineno for e in problems(scaled)] == [2]
    assert problems(scaled, ("x",)) == []


def _e2e_functions():
    return [fn for name, fn in vars(ef).items()
            if isinstance(fn, types.FunctionType) and fn.__module__ == ef.__name__]


@pytest.mark.parametrize("fn", _e2e_functions(), ids=lambda fn: fn.__name__)
def test_agrees_with_the_transform(fn):
    """No problem exactly when the jvp transform succeeds; otherwise the first
    problem is the error the transform raises."""
    active = inspect.getfullargspec(fn).args
    found = problems(fn, active)
    try:
        jvp_function(fn, tuple(active))
    except S2SError as error:
        assert found and str(found[0]) == str(error)
    else:
        assert found == []


def test_agrees_with_the_transform_on_failures():
    for src in (MANY, "def g(x):\n    y = x.sort()\n    return y\n",
                "def h(x):\n    return math.gamma(x) + math.lgamma(x)\n"):
        fn = make_function(src, {"math": __import__("math")},
                           name="f" if src is MANY else None)
        with pytest.raises(S2SError) as info:
            s2s.jvp(fn, (1.0,) * fn.__code__.co_argcount, (1.0,) * fn.__code__.co_argcount)
        assert str(problems(fn)[0]) == str(info.value)
