"""Every registered rule, on every one of its samples, batched: ``s2s.vmap``
against stacking the per-slice results, and ``s2s.jacfwd`` against a Jacobian
from central differences (column by column).

vmap runs over each array argument alone (the others unbatched, ``in_dims``
None) and over all of them together, with the batch axis first, last
(``in_dims=-1``) and second (``in_dims=1``) where the rank allows. The batch
size differs from every size in the sample (shapes, integer arguments, the
output's shape), so a coincidence of sizes cannot hide a misaligned axis.

Array arguments are the sample's ArraySpecs, NumPy arrays written into the
sample, lists and tuples of those, and the Python floats the sample
differentiates (a batched scalar is an array of shape ``(B,)``); keyword
arguments of those kinds (``initial=``, ``where=``, ``prepend=``) become
parameters too, passed on by keyword. Each slice
gets its own values: fresh draws for an ArraySpec, a perturbation of a
written-in float (zeros, NaNs and order survive it), a permutation of a
written-in integer or bool array (indices stay valid). The other arguments
are bound as globals, as in test_rules.py, and, in a second function, written
into the source where they are plain Python constants (``axis=1``, a shape
tuple), as users write them: descriptions end in [globals] or [literal].

Correctness and vectorisation are separate tests: ``test_no_loop_fallback``
(vmap) and ``test_jacfwd_no_loop_fallback`` fail when the generated batched
code, or a generated callee's, runs a per-example loop (``_s2s.map_batched``,
``loop_batched``, ``gather_batched``, ``setitem_batched``) for a rule whose
batching kind is not None or ``"loop"`` (a declared loop: outputs whose shape
depends on the values).
"""

import inspect
import itertools
import math
import traceback
import zlib

import numpy as np
import pytest
from helpers import make_function
from test_rules import _NO_PRIMAL_CHECK, _OPERATORS, RULES, _diff_argnums, _float_input

import s2s
from s2s import pytree
from s2s.rules.registry import ArraySpec, ZeroRule

RTOL = 1e-11  # batched against looped: the same arithmetic, up to summation order
_LOOPS = ("map_batched", "loop_batched", "gather_batched", "setitem_batched")
# kinds that declare a loop over the batch (outputs whose shape depends on the
# values, strings): the no-fallback tests skip them
_LOOP_KINDS = (None, "loop")
_PRIMES = (5, 7, 11, 13, 17, 19, 23)


def _cases():
    for prim, rule in sorted(RULES.items(), key=lambda kv: kv[1].name):
        for k, sample in enumerate(rule.samples):
            yield pytest.param(prim, rule, sample, id=f"{rule.name}-{k}{sample!r}")


CASES = list(_cases())


# -- the sample's arguments ---------------------------------------------------------


def _is_array_leaf(value):
    return isinstance(value, ArraySpec) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "biufc")


def _batchable(sample, i):
    """Whether positional argument ``i`` of the sample is an array argument."""
    value = sample.args[i]
    if _is_array_leaf(value):
        return True
    if isinstance(value, (list, tuple)) and value:
        if all(_is_array_leaf(v) for v in value):
            return True
    return i in _diff_argnums(sample)  # Python floats (and lists of them) the maths takes


def _batchable_kw(sample, key):
    """Whether keyword argument ``key`` is an array argument (``where=``,
    ``initial=``, ``prepend=``): it becomes a parameter, passed by keyword."""
    value = sample.kwargs[key]
    if _is_array_leaf(value) or type(value) is float and math.isfinite(value):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(map(_is_array_leaf, value))


def _diff_slots(sample):
    """The slots jacfwd differentiates: test_rules' positional arguments, and
    float keyword arguments."""
    slots = [("arg", i) for i in _diff_argnums(sample)]
    return slots + [("kw", key) for key, value in sample.kwargs.items()
                    if _batchable_kw(sample, key) and _float_input(value)]


def _per_example(spec, value, rng):
    """One slice's value of an argument whose base value is ``value``."""
    if isinstance(spec, ArraySpec):
        return spec.make(rng)
    if isinstance(spec, (list, tuple)) and not isinstance(spec, np.ndarray):
        return type(value)(_per_example(s, v, rng) for s, v in zip(spec, value))
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            scaled = value.copy()  # each part scaled (a complex product would turn inf to NaN)
            factor = 1 + 0.05 * rng.uniform(-1, 1, size=value.shape)
            scaled.real *= factor
            if value.dtype.kind == "c":
                scaled.imag *= factor
            return scaled
        return rng.permutation(value.ravel()).reshape(value.shape)
    if isinstance(value, float):
        return float(value * (1 + 0.05 * rng.uniform(-1, 1)))
    return value


def _ints(value):
    if isinstance(value, ArraySpec):
        yield from value.shape
    elif isinstance(value, np.ndarray):
        yield from value.shape
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _ints(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield abs(value)


def _batch_size(sample, outputs):
    taken = set(_ints(list(sample.args) + list(sample.kwargs.values())))
    for leaf in pytree.flatten(outputs)[0]:
        taken.update(np.shape(leaf))
    return next(p for p in _PRIMES if p not in taken)


def _literal(value):
    """Whether ``value`` is written as a literal in "literal" mode."""
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in (tuple, list) and all(map(_literal, value))


def _slot_name(slot):
    return f"a{slot[1]}" if slot[0] == "arg" else f"k_{slot[1]}"


def _function(prim, sample, slots, args, kwargs, literal):
    """Source of ``f(a<i>..., k_<key>...)`` calling ``prim``, and its
    namespace. The other arguments are globals, or (``literal``) written into
    the source where they are plain Python constants, as users write axes
    and shapes."""
    namespace = {"prim": prim}
    names = []
    for i, value in enumerate(args):
        if ("arg", i) in slots:
            names.append(f"a{i}")
        elif literal and _literal(value):
            names.append(repr(value))
        else:
            names.append(f"c{i}")
            namespace[f"c{i}"] = value
    kwargs_src = []
    for key, value in kwargs.items():
        if ("kw", key) in slots:
            kwargs_src.append(f"{key}=k_{key}")
        elif literal and _literal(value):
            kwargs_src.append(f"{key}={value!r}")
        else:
            kwargs_src.append(f"{key}=k_{key}")
            namespace[f"k_{key}"] = value
    if prim in _OPERATORS:
        expr = _OPERATORS[prim].format(*names)
    else:
        expr = f"prim({', '.join(names + kwargs_src)})"
    src = f"def f({', '.join(map(_slot_name, slots))}):\n    return {expr}\n"
    return src, namespace


class Case:
    """One sample made concrete: the function of its array arguments, their
    values, B slices of each, and the per-slice results."""

    def __init__(self, prim, rule, sample):
        self.rule, self.sample = rule, sample
        rng = np.random.default_rng(zlib.crc32(f"{rule.name}{sample!r}".encode()))
        args, kwargs = sample.make(rng)
        # the array arguments: parameters of f, positional ones first
        self.slots = [("arg", i) for i in range(len(args)) if _batchable(sample, i)]
        self.slots += [("kw", key) for key in kwargs if _batchable_kw(sample, key)]
        self.params = self.slots
        # the function twice: constants as globals, and as literals (when
        # that gives different source)
        self.functions = []
        for mode in ("globals", "literal"):
            src, namespace = _function(prim, sample, self.slots, args, kwargs,
                                       mode == "literal")
            if all(src != other_src for _, _, other_src in self.functions):
                self.functions.append((mode, make_function(src, namespace), src))
        self.f = self.functions[0][1]
        value = {("arg", i): v for i, v in enumerate(args)}
        value.update({("kw", key): v for key, v in kwargs.items()})
        spec = {("arg", i): v for i, v in enumerate(sample.args)}
        spec.update({("kw", key): v for key, v in sample.kwargs.items()})
        self.args = [value[slot] for slot in self.slots]
        self.B = _batch_size(sample, self.f(*self.args))
        self.slices = [[_per_example(spec[slot], value[slot], rng) for _ in range(self.B)]
                       for slot in self.slots]

    def variants(self):
        """(description, in_dims, batched arguments, per-slice arguments)."""
        n = len(self.params)
        groups = [(j,) for j in range(n)] + ([tuple(range(n))] if n > 1 else [])
        for group in groups:
            seen = set()
            for mode in (0, -1, 1):
                in_dims, batched_args, key = [], [], []
                for j in range(n):
                    if j not in group:
                        in_dims.append(None)
                        batched_args.append(self.args[j])
                        continue
                    leaves, treedef = pytree.flatten(self.slices[j][0])
                    per_leaf = list(zip(*[pytree.flatten(s)[0] for s in self.slices[j]]))
                    dims = [_dim(mode, np.ndim(leaf)) for leaf in leaves]
                    key.append(tuple(d % (np.ndim(leaf) + 1) for d, leaf in zip(dims, leaves)))
                    stacked = [np.stack([np.asarray(v) for v in column], axis=d)
                               for column, d in zip(per_leaf, dims)]
                    batched_args.append(pytree.unflatten(treedef, stacked))
                    in_dims.append(pytree.unflatten(treedef, dims))
                if tuple(key) in seen:
                    continue
                seen.add(tuple(key))
                names = ",".join(_slot_name(self.slots[j]) for j in group)
                desc = f"vmap over {names} in_dims={tuple(in_dims)}"
                # slice b of every batched input, exactly as vmap defines it
                slices = [[_slice(batched_args[j], in_dims[j], b) if j in group
                           else self.args[j] for j in range(n)] for b in range(self.B)]
                yield desc, tuple(in_dims), batched_args, slices


def _slice(value, dims, b):
    leaves, treedef = pytree.flatten(value)
    dims = pytree.flatten(dims)[0]
    return pytree.unflatten(treedef, [np.take(leaf, b, axis=d) for leaf, d in zip(leaves, dims)])


def _dim(mode, rank):
    if mode == 0 or rank == 0:
        return 0
    if mode == 1 and rank >= 2:
        return 1
    return -1


# -- running -----------------------------------------------------------------------------


def _failure(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines[-3:]).rstrip()


def _stack_results(results):
    flat = [pytree.flatten(r) for r in results]
    treedef = flat[0][1]
    columns = zip(*[leaves for leaves, _ in flat])
    return pytree.unflatten(treedef, [np.stack([np.asarray(v) for v in c]) for c in columns])


def _compare(actual, expected, rtol, atol):
    """None if ``actual`` matches ``expected`` leaf by leaf, else why not."""
    flat_a, def_a = pytree.flatten(actual)
    flat_e, def_e = pytree.flatten(expected)
    if def_a != def_e:
        return f"structure {pytree.describe(def_a)} != {pytree.describe(def_e)}" + (
            f" ({type(actual).__name__} != {type(expected).__name__})" if def_a and def_e else "")
    for k, (a, e) in enumerate(zip(flat_a, flat_e)):
        a, e = np.asarray(a), np.asarray(e)
        where = f"leaf {k}: " if len(flat_e) > 1 else ""
        if a.shape != e.shape:
            return f"{where}shape {a.shape} != {e.shape}"
        if e.dtype.kind not in "biufc":
            if not np.array_equal(a, e):
                return f"{where}{a!r} != {e!r}"
            continue
        if a.dtype.kind != e.dtype.kind:
            return f"{where}dtype {a.dtype} != {e.dtype}"
        scale = max(1.0, float(np.nanmax(np.abs(e))) if e.size and not np.all(np.isnan(e))
                    else 1.0)
        try:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale)
        except AssertionError as exc:
            return where + str(exc).strip()
    return None


def _shapes(tree):
    leaves, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [np.zeros(np.shape(v), np.asarray(v).dtype) for v in leaves])


def _generated_sources(fn, seen=None):
    """The source of a generated function and of every generated callee it
    holds in its closure cells."""
    seen = set() if seen is None else seen
    if id(fn) in seen:
        return []
    seen.add(id(fn))
    try:
        sources = [inspect.getsource(fn)]
    except (OSError, TypeError):
        sources = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if inspect.isfunction(value) and hasattr(value, "__s2s_origin__"):
            sources += _generated_sources(value, seen)
    return sources


def _all_sources(transformed):
    last = transformed._last
    return [transformed.source()] + _generated_sources(last.fn)[1:]


_RUNS = {}


def _runs(transform, prim, rule, sample):
    """(case, [(description, failure or None, generated sources)]) for every
    vmap variant or every jacfwd argument; run once for the tests that read it."""
    key = (transform, rule.name, id(sample))
    if key not in _RUNS:
        case = Case(prim, rule, sample)
        run = _vmap_variants if transform == "vmap" else _jacfwd_arguments
        _RUNS[key] = case, run(prim, case)
    return _RUNS[key]


def _vmap_variants(prim, case):
    runs = []
    for (mode, f, _), (desc, in_dims, batched_args, slices) in itertools.product(
            case.functions, list(case.variants())):
        sources = []
        desc = f"{desc} [{mode}]"
        try:
            expected = _stack_results([f(*args) for args in slices])
            vm = s2s.vmap(f, in_dims=in_dims)
            try:
                actual = vm(*batched_args)
            finally:
                if vm._last is not None:
                    sources = _all_sources(vm)
            if prim in _NO_PRIMAL_CHECK:  # empty_like: only the shape and dtype are defined
                actual, expected = _shapes(actual), _shapes(expected)
            problem = _compare(actual, expected, RTOL, 1e-12)
        except Exception as exc:  # noqa: BLE001 - reported per variant
            problem = _failure(exc)
        runs.append((f"B={case.B} {desc}", problem, sources))
    return runs


def _jacfwd_arguments(prim, case):
    runs = []
    for (mode, f, _), slot in itertools.product(case.functions, _diff_slots(case.sample)):
        j = case.slots.index(slot)
        sources = []
        try:
            expected = _fd_jacobian(f, case.args, j)
            jac = s2s.jacfwd(f, argnums=j)
            try:
                actual = jac(*case.args)
            finally:
                if jac._last is not None:
                    sources = _all_sources(jac)
            problem = _compare(actual, expected, max(case.sample.rtol, 1e-6), 1e-6)
        except Exception as exc:  # noqa: BLE001 - reported per argument
            problem = _failure(exc)
        runs.append((f"jacfwd argnums={j} ({_slot_name(slot)}) [{mode}]", problem, sources))
    return runs


def _report(runs):
    return "\n\n".join(f"{desc}:\n{problem}" for desc, problem, _ in runs if problem)


def _known_loops():
    import pathlib

    path = pathlib.Path(__file__).with_name("known_loops.txt")
    return {line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


KNOWN_LOOPS = _known_loops()


def _assert_no_loop(rule, runs, node_name=None):
    if rule.batching in _LOOP_KINDS:
        pytest.skip(f"batching kind {rule.batching!r}: a loop over the batch is declared")
    if not any(sources for _, _, sources in runs):
        pytest.skip("failed before generating code (see the correctness test)")
    looped = [(desc, [h for h in _LOOPS if any(h in s for s in sources)], sources)
              for desc, _, sources in runs]
    looped = [item for item in looped if item[1]]
    if node_name in KNOWN_LOOPS:
        if looped:
            pytest.xfail("a known loop over the batch (tests/rules/known_loops.txt)")
        pytest.fail(f"{node_name} no longer loops: remove it from tests/rules/known_loops.txt")
    assert not looped, (f"batching kind {rule.batching!r}, yet {len(looped)} of {len(runs)} "
                        "runs loop over the batch:\n" + "\n\n".join(
                            f"{desc}: {', '.join(helpers)}\n" + "".join(sources)
                            for desc, helpers, sources in looped[:2]))


@pytest.mark.parametrize("prim, rule, sample", CASES)
def test_vmap_matches_stacked_slices(prim, rule, sample):
    case, runs = _runs("vmap", prim, rule, sample)
    if not case.params:
        pytest.skip("no array argument to batch")
    failed = [r for r in runs if r[1]]
    assert not failed, f"{len(failed)} of {len(runs)} variants differ from the loop:\n" + _report(
        runs)


@pytest.mark.parametrize("prim, rule, sample", CASES)
def test_no_loop_fallback(prim, rule, sample, request):
    case, runs = _runs("vmap", prim, rule, sample)
    if not case.params:
        pytest.skip("no array argument to batch")
    _assert_no_loop(rule, runs, request.node.name)


# -- jacfwd ---------------------------------------------------------------------------


def _fd_jacobian(f, args, j, h=1e-6):
    """d f / d args[j], column by column: output leaves of shape
    ``out.shape + in.shape`` holding the structure of ``args[j]``."""
    in_leaves, in_def = pytree.flatten(args[j])
    out_leaves, out_def = pytree.flatten(f(*args))
    blocks = [[np.zeros(np.shape(o) + np.shape(x)) for x in in_leaves] for o in out_leaves]

    def call_with(k, index, delta):
        leaves = list(in_leaves)
        leaf = np.array(leaves[k], dtype=complex if np.iscomplexobj(leaves[k]) else float)
        leaf[index] += delta
        leaves[k] = leaf if np.ndim(in_leaves[k]) else float(leaf)
        new = list(args)
        new[j] = pytree.unflatten(in_def, leaves)
        return pytree.flatten(f(*new))[0]

    for k, x in enumerate(in_leaves):
        for index in np.ndindex(*np.shape(x)):
            plus, minus = call_with(k, index, h), call_with(k, index, -h)
            for m, (p, q) in enumerate(zip(plus, minus)):
                p, q = np.asarray(p), np.asarray(q)
                if p.dtype.kind in "fc":
                    if p.dtype.kind == "c":
                        blocks[m][k] = blocks[m][k].astype(complex)
                    blocks[m][k][(...,) + index] = (p - q) / (2 * h)
    return pytree.unflatten(out_def, [pytree.unflatten(in_def, b) for b in blocks])


def _jacobian_cases():
    for param in CASES:
        prim, rule, sample = param.values
        if not isinstance(rule, ZeroRule) and _diff_slots(sample):
            yield param


JACOBIAN_CASES = list(_jacobian_cases())


@pytest.mark.parametrize("prim, rule, sample", JACOBIAN_CASES)
def test_jacfwd_against_finite_differences(prim, rule, sample):
    _, runs = _runs("jacfwd", prim, rule, sample)
    failed = [r for r in runs if r[1]]
    assert not failed, _report(runs)


@pytest.mark.parametrize("prim, rule, sample", JACOBIAN_CASES)
def test_jacfwd_no_loop_fallback(prim, rule, sample, request):
    _, runs = _runs("jacfwd", prim, rule, sample)
    _assert_no_loop(rule, runs, request.node.name)
