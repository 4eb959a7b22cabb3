"""Shared test helpers: functions from source text, finite differences."""

import inspect
import itertools
import linecache

import numpy as np

import s2s
from s2s import pytree

_counter = itertools.count()


def make_function(src, namespace=None, name=None):
    """Define the functions in ``src`` (registered with linecache, so s2s can
    read their source) and return the one called ``name`` (default: first)."""
    filename = f"<s2s-test-{next(_counter)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"np": np}
    ns.update(namespace or {})
    exec(compile(src, filename, "exec"), ns)
    if name is None:
        name = src.split("def ", 1)[1].split("(", 1)[0].strip()
    return ns[name]


def leaves(tree):
    return pytree.flatten(tree)[0]


def random_like(tree, rng):
    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [rng.normal(size=np.shape(v)) if np.ndim(v) else
                                      (rng.normal() if isinstance(v, float) else
                                       np.asarray(rng.normal()))
                                      for v in flat])


def _axpy(a, x, y):
    flat_x, treedef = pytree.flatten(x)
    flat_y, _ = pytree.flatten(y)
    return pytree.unflatten(treedef, [xi + a * yi for xi, yi in zip(flat_x, flat_y)])


def central_difference(f, primals, tangents, h=1e-6):
    plus = f(*[_axpy(h, p, t) for p, t in zip(primals, tangents)])
    minus = f(*[_axpy(-h, p, t) for p, t in zip(primals, tangents)])
    flat_p, treedef = pytree.flatten(plus)
    flat_m, _ = pytree.flatten(minus)
    return pytree.unflatten(
        treedef,
        [(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) / (2 * h)
         if _is_float(a) else np.zeros(np.shape(a)) for a, b in zip(flat_p, flat_m)],
    )


def _is_float(value):
    return np.asarray(value).dtype.kind in "fc"


def assert_tree_close(actual, expected, rtol=1e-6, atol=1e-6, what=""):
    flat_a, def_a = pytree.flatten(actual)
    flat_e, def_e = pytree.flatten(expected)
    assert def_a == def_e, f"{what}: structure {def_a} != {def_e}"
    for a, e in zip(flat_a, flat_e):
        a = np.asarray(a)
        e = np.asarray(e)
        assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e))) if e.size else 1.0)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def check_jvp(f, primals, rtol=1e-6, atol=1e-6, seed=0, has_aux=False):
    """s2s.jvp of ``f`` at ``primals`` along a random direction, against
    central differences and against f itself. Returns (out, tangent)."""
    rng = np.random.default_rng(seed)
    tangents = tuple(random_like(p, rng) for p in primals)
    before = [np.copy(v) for v in leaves((primals, tangents))]
    result = s2s.jvp(f, primals, tangents, has_aux=has_aux)
    after = leaves((primals, tangents))
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a, err_msg="s2s.jvp changed its inputs")
    out, tangent = result[0], result[1]
    expected = f(*primals)
    g = f
    if has_aux:
        expected, aux = expected
        assert_tree_close(result[2], aux, what="aux")

        def g(*args):
            return f(*args)[0]
    assert_tree_close(out, expected, rtol=1e-12, atol=1e-12, what="primal output")
    fd = central_difference(g, primals, tangents)
    assert_tree_close(tangent, fd, rtol=rtol, atol=atol, what="tangent vs finite differences")
    return out, tangent


def line_of(fn, text):
    """Line number, in its file, of the line of ``fn`` containing ``text``."""
    lines, first = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if text in line:
            return first + k
    raise AssertionError(f"{text!r} not in {fn.__name__}")
