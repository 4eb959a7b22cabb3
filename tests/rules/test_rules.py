"""Every registered rule, on every one of its samples: the jvp against central
differences in float64 along a random direction (all differentiable
arguments together, then each alone), the primal against a direct call, and
the tangent's dtype. Non-differentiable rules must give a zero tangent."""

import math
import operator

import numpy as np
import pytest
from helpers import assert_tree_close, leaves, make_function, random_like

import s2s
from s2s import pytree
from s2s.rules import registry
from s2s.rules.registry import ArraySpec, ZeroRule

RULES = registry.all_rules()

_OPERATORS = {
    operator.add: "{0} + {1}", operator.sub: "{0} - {1}", operator.mul: "{0} * {1}",
    operator.truediv: "{0} / {1}", operator.floordiv: "{0} // {1}", operator.mod: "{0} % {1}",
    operator.pow: "{0} ** {1}", operator.matmul: "{0} @ {1}", operator.neg: "-{0}",
    operator.pos: "+{0}", operator.and_: "{0} & {1}", operator.or_: "{0} | {1}",
    operator.xor: "{0} ^ {1}", operator.invert: "~{0}", operator.lshift: "{0} << {1}",
    operator.rshift: "{0} >> {1}", operator.lt: "{0} < {1}", operator.le: "{0} <= {1}",
    operator.gt: "{0} > {1}", operator.ge: "{0} >= {1}", operator.eq: "{0} == {1}",
    operator.ne: "{0} != {1}", operator.not_: "not {0}",
}
# outputs that are not a function of the inputs' values
_NO_PRIMAL_CHECK = {np.empty_like}


def _cases():
    for prim, rule in sorted(RULES.items(), key=lambda kv: kv[1].name):
        for k, sample in enumerate(rule.samples):
            yield pytest.param(prim, rule, sample, id=f"{rule.name}-{k}{sample!r}")


def _function(prim, sample, active):
    """A Python function of the ``active`` positional arguments that calls
    ``prim`` with the sample's arguments (the others bound as globals)."""
    names = [f"a{i}" if i in active else f"c{i}" for i in range(len(sample.args))]
    namespace = {"prim": prim}
    kwargs_src = []
    for key in sample.kwargs:
        namespace[f"k_{key}"] = None
        kwargs_src.append(f"{key}=k_{key}")
    if prim in _OPERATORS:
        expr = _OPERATORS[prim].format(*names)
    else:
        expr = f"prim({', '.join(names + kwargs_src)})"
    params = ", ".join(n for n in names if n.startswith("a"))
    src = f"def f({params}):\n    return {expr}\n"
    return src, namespace, names


def _run(prim, rule, sample, active, seed):
    rng = np.random.default_rng(seed)
    args, kwargs = sample.make(rng)
    src, namespace, names = _function(prim, sample, active)
    for name, value in zip(names, args):
        if name.startswith("c"):
            namespace[name] = value
    for key, value in kwargs.items():
        namespace[f"k_{key}"] = value
    f = make_function(src, namespace)
    primals = tuple(args[i] for i in active)
    direct = prim(*args, **kwargs) if prim not in _OPERATORS else f(*primals)
    if not primals:
        return
    tangents = tuple(random_like(p, rng) for p in primals)
    out, tangent = s2s.jvp(f, primals, tangents)
    if prim not in _NO_PRIMAL_CHECK:
        _assert_primal(out, direct)
    if isinstance(rule, ZeroRule):
        for o, t in zip(leaves(out), leaves(tangent)):
            if np.asarray(o).dtype.kind in "biufc":
                assert not np.any(np.asarray(t)), "a non-differentiable rule gave a non-zero tangent"
        return
    fd = _central_difference(f, primals, tangents)
    assert_tree_close(tangent, fd, rtol=sample.rtol, atol=1e-6, what=f"{rule.name} tangent")
    for o, t in zip(leaves(out), leaves(tangent)):
        o = np.asarray(o)
        if o.dtype.kind in "fc":
            assert np.asarray(t).dtype == o.dtype, f"tangent dtype {np.asarray(t).dtype} != {o.dtype}"


def _assert_primal(out, direct):
    flat_out, def_out = pytree.flatten(out)
    flat_direct, def_direct = pytree.flatten(direct)
    assert def_out == def_direct, f"primal: structure {def_out} != {def_direct}"
    for o, d in zip(flat_out, flat_direct):
        if np.asarray(d).dtype.kind in "biufc":
            assert_tree_close(o, d, rtol=1e-12, atol=1e-12, what="primal")
        else:  # str, repr, type
            assert o == d, f"primal: {o!r} != {d!r}"


def _central_difference(f, primals, tangents, h=1e-6):
    """Central differences, complex outputs too; zero for integer outputs."""
    plus = f(*[_axpy(h, p, t) for p, t in zip(primals, tangents)])
    minus = f(*[_axpy(-h, p, t) for p, t in zip(primals, tangents)])
    flat_plus, treedef = pytree.flatten(plus)
    flat_minus = leaves(minus)
    return pytree.unflatten(treedef, [
        (np.asarray(a) - np.asarray(b)) / (2 * h) if np.asarray(a).dtype.kind in "fc"
        else np.zeros(np.shape(a)) for a, b in zip(flat_plus, flat_minus)
    ])


def _axpy(a, x, y):
    flat_x, treedef = pytree.flatten(x)
    return pytree.unflatten(treedef, [xi + a * yi for xi, yi in zip(flat_x, leaves(y))])


def _float_input(value):
    """A sample argument the test differentiates: a float ArraySpec, a float
    array or Python float written into the sample, or a list or tuple of
    those. (A float that is no input of the maths, such as the order of a
    norm, needs ``argnums`` on its sample.)"""
    if isinstance(value, ArraySpec):
        return value.differentiable
    if isinstance(value, float):
        return math.isfinite(value)  # inf is a norm's order, never an input
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and bool(value) and all(map(_float_input, value))


def _diff_argnums(sample):
    if sample.argnums is not None:
        return sample.argnums
    return tuple(i for i, a in enumerate(sample.args) if _float_input(a))


@pytest.mark.parametrize("prim, rule, sample", list(_cases()))
def test_rule_against_finite_differences(prim, rule, sample):
    diff = _diff_argnums(sample)
    assert diff or isinstance(rule, ZeroRule), "the sample has no float input to differentiate"
    _run(prim, rule, sample, diff, seed=1)
    if len(diff) > 1:  # each argument alone: exercises the symbolic zeros
        for k, i in enumerate(diff):
            _run(prim, rule, sample, (i,), seed=2 + k)


# builtins that return one of their arguments, in whichever type that one has
_VALUE_TYPED = {max, min}


def _float32(value):
    """``value`` (a differentiated argument) in float32: arrays and Python floats."""
    if isinstance(value, float):
        return np.float32(value)
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    if isinstance(value, (list, tuple)):
        return type(value)(_float32(v) for v in value)
    return value


def _strong(value):
    """``value`` (an argument not differentiated) with its Python floats made
    NumPy float64s, which promote float32 values as float64 arrays do."""
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_strong(v) for v in value)
    return value


@pytest.mark.parametrize("strong", [False, True], ids=["as-given", "float64-constants"])
@pytest.mark.parametrize("prim, rule, sample", list(_cases()))
def test_rule_tangent_in_float32_has_its_primals_type(prim, rule, sample, strong):
    """Each differentiable argument alone in float32, the other arguments as
    the sample gives them or (``strong``) with their floats float64 NumPy
    values, which promote the primal: the tangent has the primal's shape and
    dtype (JAX's rule: a tangent's dtype is its primal's). A Python float's
    primal has no fixed type (a float32 value's tangent stays float32, as
    NumPy treats the float)."""
    if isinstance(rule, ZeroRule) or prim in _VALUE_TYPED:
        return
    rng = np.random.default_rng(3)
    args, kwargs = sample.make(rng)
    floats = [i for i, a in enumerate(sample.args) if strong and _float_input(a)]
    for i in _diff_argnums(sample):
        values = [_float32(a) if j == i else _strong(a) if j in floats else a
                  for j, a in enumerate(args)]
        src, namespace, names = _function(prim, sample, (i,))
        namespace.update((n, v) for n, v in zip(names, values) if n.startswith("c"))
        namespace.update((f"k_{key}", v) for key, v in kwargs.items())
        f = make_function(src, namespace)
        out, tangent = s2s.jvp(f, (values[i],), (_float32(random_like(values[i], rng)),))
        for o, t in zip(leaves(out), leaves(tangent)):
            if type(o) is float or np.asarray(o).dtype.kind not in "fc":
                continue
            o, t = np.asarray(o), np.asarray(t)
            if prim in (operator.pow, pow) and o.dtype != np.result_type(*values):
                continue  # (NumPy before 2.3: x ** 0.5 is sqrt(x), in x's type, for any 0.5)
            assert (t.dtype, t.shape) == (o.dtype, o.shape), \
                f"argument {i}: tangent {t.dtype}{t.shape}, primal {o.dtype}{o.shape}"


def test_every_rule_has_samples():
    missing = sorted(rule.name for rule in RULES.values() if not rule.samples)
    assert not missing, f"rules without samples: {missing}"


def test_every_python_function_with_a_built_in_rule_is_in_a_module_lookup_loads_rules_for():
    # lookup() of any other Python function does not load the rule tables
    outside = sorted(rule.name for rule in RULES.values()
                     if rule.builtin and registry._users_function(rule.primitive))
    assert not outside, f"rules lookup() would not find before the tables load: {outside}"


def test_every_rule_says_how_it_batches():
    missing = sorted(rule.name for rule in RULES.values() if not rule.batching)
    assert not missing, f"rules without a batching kind: {missing}"
