"""Batching rules for the primitives the generic kinds of :mod:`s2s.batching`
(elementwise, reduction over ``axis``, matmul...) would leave to the loop over
the batch, at least for some mixes of batched and unbatched arguments.

A rule gets the Batcher (and uses its building blocks: ``_lift``, ``_axes``,
``_reshape``...), the call (its arguments atoms, one of them at least
batched) and the call's arguments bound by parameter name, and returns the
expression to use instead, the same per example as the call, or None: then
the generic kinds, and last the loop (``_s2s.map_batched``), take over. The
arguments that shape the result (axes, orders, keys, sides) must be
unbatched, and known at transform time where the rule depends on them (a
literal or a global). Batched operands get their axes inserted after the
batch axis, unbatched ones broadcast from the left: no rule relies on a
coincidence of sizes. Where inline code would be unreadable a rule calls a
helper of :mod:`s2s.runtime` (``_s2s.<name>_batched``).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    y = np.roll(x, 2)\\n    return np.average(w, weights=y)\\n",
...            "vmap"))
def f_vmap(x, w):
    xp = _s2s.namespace_of(x, w)
    # <doctest>:2  y = np.roll(x, 2)
    y = xp.reshape(xp.roll(_s2s.flatten_batched(x), 2, axis=1), xp.shape(x))
    # <doctest>:3  return np.average(w, weights=y)
    _t0 = _s2s.average_batched(w, y, (False, True))
    return _t0
"""

import inspect
import math

import gast
import numpy

from .. import runtime as rt
from ..context import call, const, name
from . import registry

_CONTAINERS = ("container", "list", "dict")
_UNKNOWN = object()

RULES = {}  # numpy path (a str) or the object itself -> (rule, takes lists)


def batching_rule(*keys, lists=False):
    """Register a rule for the primitives ``keys``. Unless ``lists``, the rule
    steps aside when a batched argument is a list or tuple (whose items, not
    the sequence, carry the batch axis)."""

    def register(rule):
        for key in keys:
            RULES[key] = (rule, lists)
        return rule

    return register


def batch_call(b, v, obj):
    """The batched expression for the call ``v`` of ``obj`` by a rule here, or
    None."""
    path = registry.numpy_path(obj)
    try:
        found = RULES.get(path if path is not None else obj)
    except TypeError:  # an unhashable callable
        return None
    if found is None:
        return None
    rule, lists = found
    atoms = list(v.args) + [k.value for k in v.keywords]
    if not lists and any(b.is_batched(a) and b.kind.get(getattr(a, "id", None)) in _CONTAINERS
                         for a in atoms):
        return None
    args = _bind(obj, v)
    if args is None:
        return None
    return rule(b, v, args, path if path is not None else obj)


def _bind(obj, v):
    """Parameter name -> argument atom, for the arguments the call passes; a
    builtin without a signature binds its positional arguments as ``#0``...;
    None when the call does not bind."""
    if any(isinstance(a, gast.Starred) for a in v.args) or any(k.arg is None for k in v.keywords):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        # NumPy's C functions before 2.3: the signature their jvp rule spells out
        numpy_function = registry.numpy_path(obj) is not None \
            or isinstance(getattr(obj, "__self__", None), numpy.ufunc)
        rule = registry.lookup(obj) if numpy_function else None
        sig = rule.signature() if rule is not None else None
    if sig is None:
        return None if v.keywords else {f"#{i}": a for i, a in enumerate(v.args)}
    try:
        return dict(sig.bind(*v.args, **{k.arg: k.value for k in v.keywords}).arguments)
    except TypeError:
        return None


# -- building blocks -----------------------------------------------------------------


def _flags(b, *atoms):
    return gast.Tuple(elts=[const(b.is_batched(a)) for a in atoms], ctx=gast.Load())


def _keywords(args, names):
    return [gast.keyword(arg=k, value=args[k]) for k in names if k in args]


def _any_batched(b, args, names):
    return any(b.is_batched(args.get(k)) for k in names)


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None


def _holds_none(b, node):
    """Whether ``node`` is None at transform time: a literal, or a global
    holding None (the generated code then depends on its value)."""
    return _is_none(node) or (isinstance(node, gast.Name) and _is_none(b.static_axis(node)))


def _no_out(b, args):
    """Whether the call writes to no ``out=`` array (a per-example shape)."""
    return "out" not in args or _holds_none(b, args["out"])


def _subscript(node, *parts):
    index = parts[0] if len(parts) == 1 else gast.Tuple(elts=list(parts), ctx=gast.Load())
    return gast.Subscript(value=node, slice=index, ctx=gast.Load())


def _front(node, count):
    """``node`` with ``count`` new leading axes (an unbatched operand made to
    have as many axes as a batched one)."""
    if count <= 0:
        return node
    return _subscript(node, *[const(None)] * count, const(Ellipsis))


def _axis(b, args, key, default=None):
    """The axis argument ``key`` as a literal (None when not passed and the
    default is None), or _UNKNOWN when it is known only at run time."""
    node = args.get(key)
    if node is None:
        return const(default) if not isinstance(default, tuple) else gast.Tuple(
            elts=[const(d) for d in default], ctx=gast.Load())
    literal = b.static_axis(node)
    return _UNKNOWN if literal is None else literal


def _shift(b, axis):
    """A literal per-example axis (int or tuple) as an axis of the batched
    array: non-negative ones move past the batch axis."""
    from ..batch_axes import _shift as shift

    return shift(axis, b)


def _static_str(b, node):
    """The string ``node`` holds at transform time (a literal, or a global
    whose value the generated code then depends on), or _UNKNOWN."""
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, gast.Name) and not b.ctx.is_local(node.id):
        value = b.ctx.resolve(node)
        if isinstance(value, str):
            b.ctx.resolver.depend_on_value(node.id, value)
            return value
    return _UNKNOWN


def _batched_array(b, atom):
    """``atom`` as a batched array: an unbatched one broadcast to the batch,
    as the array it stands for (a list of numbers is one array, not a list
    of batched leaves)."""
    if b.is_batched(atom):
        return atom
    if not isinstance(atom, gast.Constant) and b.kind.get(getattr(atom, "id", None)) != "array":
        atom = call(b._xp("asarray"), [atom])
    return call(b.rt("batched"), [atom, name(b.B)])


def _flat(b, atom):
    """A batched array flattened per example: ``(B, -1)``."""
    return call(b.rt("flatten_batched"), [atom])


# -- reductions ----------------------------------------------------------------------

_WITH_INITIAL = {"sum": "add", "nansum": "add", "prod": "multiply"}


@batching_rule("sum", "nansum", "prod", "mean", "nanmean", "max", "min", "amax", "amin",
               "nanmax", "nanmin", "any", "all", "var", "std", "nanvar", "nanstd")
def _reduction(b, v, args, key):
    """A batched ``where=`` mask gets axes up to the array's rank (and an
    unbatched array is broadcast to the batch); a batched ``initial=`` of a
    sum or product is combined with the reduction after it."""
    where, initial = args.get("where"), args.get("initial")
    if not (b.is_batched(where) or b.is_batched(initial)) or not _no_out(b, args):
        return None
    if b.is_batched(initial) and key not in _WITH_INITIAL:
        return None
    if _any_batched(b, args, [k for k in args if k not in ("a", "where", "initial")]):
        return None
    a = args["a"]
    keywords = _keywords(args, [k for k in args if k not in ("a", "where", "initial")])
    if initial is not None and not b.is_batched(initial):
        keywords.append(gast.keyword(arg="initial", value=initial))
    if b.is_batched(a) or b.is_batched(where):
        r = b.atom_rank(a)
        axis = _axis(b, args, "axis")
        if axis is _UNKNOWN or r is None:
            return None
        axis = gast.Tuple(elts=[const(k) for k in range(1, r + 1)], ctx=gast.Load()) \
            if _is_none(axis) else _shift(b, axis)
        keywords = [k for k in keywords if k.arg != "axis"]
        keywords.insert(0, gast.keyword(arg="axis", value=axis))
        if where is not None:
            mask = b._lift(where, r) if b.is_batched(where) else where
            keywords.append(gast.keyword(arg="where", value=mask))
        a = _batched_array(b, a)  # every example has its own mask
    elif where is not None:
        keywords.append(gast.keyword(arg="where", value=where))
    reduced = call(v.func, [a], keywords)
    if b.is_batched(initial):
        return call(b.rt("reduced_with_initial"), [
            reduced, initial, const(_WITH_INITIAL[key]), const(b.is_batched(a))])
    return reduced


@batching_rule("average")
def _average(b, v, args, key):
    """Without weights: a reduction over ``axis``; with weights (either
    batched): ``_s2s.average_batched``."""
    a, weights = args["a"], args.get("weights")
    if _any_batched(b, args, ("axis", "returned", "keepdims")):
        return None
    options = _keywords(args, ("axis", "returned", "keepdims"))
    if weights is None or _holds_none(b, weights):
        return b._axes(call(v.func, [a], options), key) if b.is_batched(a) else None
    return call(b.rt("average_batched"), [a, weights, _flags(b, a, weights)], options)


_SCALAR_TYPES = (numpy.float64, numpy.float32, numpy.longdouble, numpy.complex64,
                 numpy.complex128, numpy.clongdouble, numpy.int8, numpy.int16, numpy.int32,
                 numpy.int64, numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64, numpy.bool_)


@batching_rule(*(registry.numpy_path(t) for t in _SCALAR_TYPES))
def _scalar_type(b, v, args, key):
    """np.float64(x) and its kin of a batched value: a new array of that type
    (NumPy before 2.3 makes a batch of one example a scalar)."""
    if len(v.args) != 1 or v.keywords:
        return None
    return call(b._xp("array"), list(v.args), [gast.keyword(arg="dtype", value=v.func)])


@batching_rule("bincount")
def _bincount(b, v, args, key):
    """bincount of batched bins or weights: ``_s2s.bincount_batched``."""
    if b.is_batched(args.get("minlength")):
        return None
    x, weights = args["x"], args.get("weights", const(None))
    return call(b.rt("bincount_batched"), [x, weights, _flags(b, x, weights)],
                _keywords(args, ("minlength",)))


@batching_rule(numpy.maximum.accumulate, numpy.minimum.accumulate)
def _accumulate(b, v, args, key):
    """maximum.accumulate and minimum.accumulate along the axis (0 when not
    passed) shifted past the batch axis."""
    array = args["array"]
    axis = _axis(b, args, "axis", 0)
    if set(args) - {"array", "axis"} or not b.is_batched(array) or b.is_batched(args.get("axis")) \
            or axis is _UNKNOWN or _is_none(axis):
        return None
    return call(v.func, [array], [gast.keyword(arg="axis", value=_shift(b, axis))])


@batching_rule("interp")
def _interp(b, v, args, key):
    """interp of batched x alone: interp takes x of any shape; else
    ``_s2s.interp_batched``."""
    if not _any_batched(b, args, [k for k in args if k != "x"]):
        return v
    names = ("x", "xp", "fp", "left", "right", "period")
    return call(b.rt("interp_batched"), [args["x"], args["xp"], args["fp"],
                                        _flags(b, *(args.get(k) for k in names))],
                _keywords(args, names[3:]))


@batching_rule("polyval")
def _polyval(b, v, args, key):
    """polyval of batched x alone: elementwise; of batched coefficients (one
    vector per example): ``_s2s.polyval_batched``."""
    p, x = args["p"], args["x"]
    if not b.is_batched(p):
        return v
    if b.atom_rank(p) != 1:
        return None
    return call(b.rt("polyval_batched"), [p, x, _flags(b, p, x)])


@batching_rule("meshgrid")
def _meshgrid(b, v, args, key):
    """meshgrid with a batched vector: ``_s2s.meshgrid_batched``."""
    xs = args.get("xi", ())
    if not isinstance(xs, tuple) or _any_batched(b, args, ("copy", "sparse", "indexing")):
        return None
    return call(b.rt("meshgrid_batched"), [gast.Tuple(elts=list(xs), ctx=gast.Load()),
                                           _flags(b, *xs)],
                _keywords(args, ("copy", "sparse", "indexing")))


@batching_rule("quantile", "percentile", "median")
def _quantile(b, v, args, key):
    """quantile, percentile and median of a batched array over its shifted
    axes; the axes of q come first in the result, the batch axis is moved
    in front of them. A batched number q alone: a vector of them gives the
    result its axis first; else, q batched: ``_s2s.quantile_batched``."""
    a, q = args["a"], args.get("q")
    others = [k for k in args if k not in ("a", "q", "axis")]
    axis = _axis(b, args, "axis")
    r, q_rank = b.atom_rank(a), 0 if q is None else b.atom_rank(q)
    if _any_batched(b, args, ["axis"] + others) or not _no_out(b, args) or axis is _UNKNOWN:
        return None
    if b.is_batched(q):
        if not b.is_batched(a) and q_rank == 0:
            return v
        if set(others) - {"keepdims", "method"}:
            return None
        return call(b.rt("quantile_batched"), [_batched_array(b, a), q,
                                               const(100 if key == "percentile" else 1)],
                    [gast.keyword(arg="axis", value=axis)] + _keywords(args, others))
    if r is None or q_rank is None:
        return None
    axis = gast.Tuple(elts=[const(k) for k in range(1, r + 1)], ctx=gast.Load()) \
        if _is_none(axis) else _shift(b, axis)
    result = call(v.func, [a] + ([q] if q is not None else []),
                  [gast.keyword(arg="axis", value=axis)] + _keywords(args, others))
    return call(b._xp("moveaxis"), [result, const(q_rank), const(0)]) if q_rank else result


@batching_rule("diff")
def _diff(b, v, args, key):
    """diff with ``prepend=``/``append=`` (an edge or the array batched):
    ``_s2s.diff_batched``; without them the reduction kind does it."""
    if "prepend" not in args and "append" not in args or _any_batched(b, args, ("n", "axis")):
        return None
    flags = _flags(b, args["a"], args.get("prepend"), args.get("append"))
    return call(b.rt("diff_batched"), [args["a"], flags],
                _keywords(args, ("n", "axis", "prepend", "append")))


# -- shapes --------------------------------------------------------------------------


@batching_rule("reshape", "ravel")
def _reshape_order(b, v, args, key):
    """reshape/ravel with ``order=``: 'C' as without it, 'F' by
    ``_s2s.reshape_batched`` (the batch axis read last)."""
    if "order" not in args or set(args) - {"a", "shape", "order"}:
        return None
    a = args["a"]
    if not b.is_batched(a) or _any_batched(b, args, ("shape", "order")):
        return None
    order = _static_str(b, args["order"])
    shape = args.get("shape", const(-1))
    if order == "C":
        return b._reshape(call(v.func, [a] + ([shape] if key == "reshape" else [])), key)
    if order == "F":
        return call(b.rt("reshape_batched"), [a, shape, args["order"]])
    return None  # 'A' and 'K' follow each example's memory layout


@batching_rule("roll")
def _roll(b, v, args, key):
    """roll without an axis rolls the flattened example and restores its
    shape; with axes the axis kind shifts them."""
    a = args["a"]
    if not b.is_batched(a) or _any_batched(b, args, ("shift", "axis")):
        return None
    axis = _axis(b, args, "axis")
    if axis is _UNKNOWN or not _is_none(axis):
        return None
    rolled = call(v.func, [_flat(b, a), args["shift"]], [gast.keyword(arg="axis", value=const(1))])
    return call(b._xp("reshape"), [rolled, call(b._xp("shape"), [a])])


@batching_rule("append")
def _append(b, v, args, key):
    """append is a concatenation (of the flattened examples without an
    axis); the unbatched operand is broadcast to the batch."""
    if b.is_batched(args.get("axis")):
        return None
    axis = _axis(b, args, "axis")
    if axis is _UNKNOWN:
        return None
    parts = gast.List(elts=[_batched_array(b, args["arr"]), _batched_array(b, args["values"])],
                      ctx=gast.Load())
    if _is_none(axis):
        return call(b.rt("concatenate_flat_batched"), [parts])
    return call(b._xp("concatenate"), [parts], [gast.keyword(arg="axis", value=_shift(b, axis))])


def _operand_axis(b, args, operand):
    """``(operand, axis)`` for a batched call: the ``axis`` argument shifted
    past the batch axis, or for ``axis=None`` the flattened examples along
    axis 1; None when the axis is known only at run time."""
    axis = _axis(b, args, "axis")
    if axis is _UNKNOWN:
        return None
    if _is_none(axis):
        return _flat(b, operand), const(1)
    return operand, _shift(b, axis)


@batching_rule("delete")
def _delete(b, v, args, key):
    """delete of unbatched indices from a batched array, along a shifted axis
    (without one, from the flattened examples)."""
    arr = args["arr"]
    if not b.is_batched(arr) or _any_batched(b, args, ("obj", "axis")):
        return None
    found = _operand_axis(b, args, arr)
    if found is None:
        return None
    arr, axis = found
    return call(v.func, [arr, args["obj"]], [gast.keyword(arg="axis", value=axis)])


@batching_rule("full_like")
def _full_like(b, v, args, key):
    """full_like with a batched fill: ``_s2s.full_like_batched`` (the layout
    keywords ``order``/``subok`` do not change the values)."""
    fill = args["fill_value"]
    if not b.is_batched(fill) or set(args) - {"a", "fill_value", "dtype", "shape", "order", "subok"} \
            or _any_batched(b, args, ("dtype", "shape")):
        return None
    a = args["a"]
    return call(b.rt("full_like_batched"), [a, fill, const(b.is_batched(a)), name(b.B)],
                _keywords(args, ("dtype", "shape")))


# -- products and linear algebra -----------------------------------------------------


@batching_rule("kron")
def _kron(b, v, args, key):
    a, c = args["a"], args["b"]
    return call(b.rt("kron_batched"), [a, c, const(b.is_batched(a)), const(b.is_batched(c))])


# -- indexing, sorting, searching ------------------------------------------------------


@batching_rule("take_along_axis")
def _take_along_axis(b, v, args, key):
    """Both operands get the batch axis (an unbatched one a leading axis of
    size 1, which take_along_axis broadcasts); axis None takes from the
    flattened examples."""
    arr, indices = args["arr"], args["indices"]
    if b.is_batched(args.get("axis")):
        return None
    axis = _axis(b, args, "axis", -1)
    if axis is _UNKNOWN:
        return None
    if _is_none(axis):
        arr = _flat(b, arr) if b.is_batched(arr) else _front(call(b._xp("ravel"), [arr]), 1)
        axis = const(1)
    else:
        arr = arr if b.is_batched(arr) else _front(arr, 1)
        axis = _shift(b, axis)
    indices = indices if b.is_batched(indices) else _front(indices, 1)
    return call(v.func, [arr, indices], [gast.keyword(arg="axis", value=axis)])


@batching_rule("compress")
def _compress(b, v, args, key):
    """compress by an unbatched condition (a batched one selects a different
    number of elements per example: the loop)."""
    a = args["a"]
    if not b.is_batched(a) or not _no_out(b, args) or _any_batched(b, args, ("condition", "axis")):
        return None
    found = _operand_axis(b, args, a)
    if found is None:
        return None
    a, axis = found
    return call(v.func, [args["condition"], a], [gast.keyword(arg="axis", value=axis)])


@batching_rule("extract")
def _extract(b, v, args, key):
    """extract by an unbatched condition: NumPy's own definition,
    ``take(ravel(arr), nonzero(ravel(condition))[0])``, per example."""
    arr, condition = args["arr"], args["condition"]
    if not b.is_batched(arr) or b.is_batched(condition):
        return None
    where = _subscript(call(b._xp("nonzero"), [call(b._xp("ravel"), [condition])]), const(0))
    return call(b._xp("take"), [_flat(b, arr), where], [gast.keyword(arg="axis", value=const(1))])


@batching_rule("select", lists=True)
def _select(b, v, args, key):
    condlist, choicelist = args["condlist"], args["choicelist"]
    default = args.get("default", const(0))
    return call(b.rt("select_batched"), [condlist, choicelist, default,
                                         _flags(b, condlist, choicelist, default)])


@batching_rule("searchsorted")
def _searchsorted(b, v, args, key):
    """Batched values alone: searchsorted takes values of any shape; a
    batched sorted array (or sorter): ``_s2s.searchsorted_batched``."""
    if b.is_batched(args.get("side")):
        return None
    a, values, sorter = args["a"], args["v"], args.get("sorter")
    if not (b.is_batched(a) or b.is_batched(sorter)):
        return v
    return call(b.rt("searchsorted_batched"), [a, values, _flags(b, a, values, sorter)],
                _keywords(args, ("side", "sorter")))


@batching_rule("digitize")
def _digitize(b, v, args, key):
    """Batched values alone: digitize takes values of any shape; batched
    bins: ``_s2s.digitize_batched``."""
    x, bins = args["x"], args["bins"]
    if b.is_batched(args.get("right")):
        return None
    if not b.is_batched(bins):
        return v
    return call(b.rt("digitize_batched"), [x, bins, const(b.is_batched(x))],
                _keywords(args, ("right",)))


@batching_rule(sorted, lists=True)
def _sorted(b, v, args, key):
    """sorted of a batched list (or 1-d array): ``_s2s.sorted_batched``, a
    stable sort of the stacked items; a key must act elementwise (a NumPy
    ufunc, abs)."""
    iterable = args["iterable"]
    if not b.is_batched(iterable) or _any_batched(b, args, ("key", "reverse")):
        return None
    by = args.get("key")
    if (by is None or _holds_none(b, by)) and getattr(iterable, "id", None) in b.item_views:
        return v  # the items of a dict: distinct keys decide, the values are never compared
    if by is not None and not _holds_none(b, by):
        fn = b.ctx.resolve(by) if isinstance(by, (gast.Name, gast.Attribute)) else None
        if not (fn is abs or isinstance(fn, numpy.ufunc)):
            return None
    return call(b.rt("sorted_batched"), [iterable], _keywords(args, ("key", "reverse")))


# -- Python builtins and the math module ---------------------------------------------


@batching_rule(list, tuple, lists=True)
def _sequence(b, v, args, key):
    """list(x)/tuple(x): of a batched array, its rows (iterated along the
    first per-example axis); a list or tuple already holds batched items."""
    if list(args) != ["iterable"]:
        return None
    x = args["iterable"]
    if b.kind.get(getattr(x, "id", None)) in _CONTAINERS:
        return v
    return call(v.func, [call(b.rt("iter_batched"), [x])])


@batching_rule(dict, lists=True)
def _dict(b, v, args, key):
    """dict(d) of a dict: a copy, its values carry the batch axis already.
    (Pairs and keywords go through the loop.)"""
    d = args.get("#0")  # (dict has no signature: its arguments bind by position)
    return v if list(args) == ["#0"] and b.kind.get(getattr(d, "id", None)) == "dict" else None


_TO_INT = {math.floor: "floor", math.ceil: "ceil", math.trunc: "trunc", round: "round"}


@batching_rule(math.floor, math.ceil, math.trunc, round)
def _to_int(b, v, args, key):
    """math.floor/ceil/trunc and round(x) of batched numbers: the NumPy twin
    (round: half to even, as Python rounds), then ints, as Python returns.
    round(x, ndigits) stays a loop: NumPy scales by 10**ndigits, Python
    rounds the decimal value exactly, and they differ now and then."""
    x = v.args[0] if len(v.args) == 1 and not v.keywords else None
    if x is None and list(args) == ["number", "ndigits"] and _holds_none(b, args["ndigits"]):
        x = args["number"]
    if x is None or b.atom_rank(x) != 0:
        return None
    return call(b.rt("scalar_batched"), [call(b._xp(_TO_INT[key]), [x]), b.ctx.ref(int)])


@batching_rule(any, all, lists=True)
def _truth(b, v, args, key):
    """any/all of a batched 1-d array: the NumPy reduction over its items;
    of a batched list (or other array): ``_s2s.truth_batched``."""
    if list(args) != ["iterable"]:
        return None
    x = args["iterable"]
    if b.kind.get(getattr(x, "id", None)) not in _CONTAINERS and b.atom_rank(x) == 1:
        return call(b._xp(key.__name__), [x], [gast.keyword(arg="axis", value=const(1))])
    return call(b.rt("truth_batched"), [const(key.__name__), x, name(b.B)])


@batching_rule(max, min, lists=True)
def _extremum(b, v, args, key):
    """max/min of two values or more: a chain of np.maximum/np.minimum (three
    values: ``xp.maximum(xp.maximum(a, b), c)``; np.maximum's third positional
    parameter is ``out=``); of a batched 1-d array: np.max/np.min over its
    axis; of a batched list or tuple: ``_s2s.extremum_batched``. (A key or a
    default: the loop.)"""
    if v.keywords or not v.args:
        return None
    if len(v.args) == 1:
        x = v.args[0]
        if b.kind.get(getattr(x, "id", None)) not in _CONTAINERS and b.atom_rank(x) == 1:
            return call(b._xp(key.__name__), [x], [gast.keyword(arg="axis", value=const(1))])
        return call(b.rt("extremum_batched"), [x, const(key.__name__)])
    combine = "maximum" if key is max else "minimum"
    operands = b._align(list(v.args))
    total = operands[0]
    for operand in operands[1:]:
        total = call(b._xp(combine), [total, operand])
    return total


@batching_rule(sum, lists=True)
def _sum(b, v, args, key):
    """sum(x) of a batched array adds its items along the first axis of an
    example, not the batch axis: it iterates ``_s2s.iter_batched(x)``. A
    list or tuple holds batched items already. A start adds to the items
    where its batch axis lines up with theirs: where the batched one of
    them has as many axes as the other or more (else the loop; ranks known
    only at run time: as it is, for an unbatched array)."""
    if not v.args or len(v.args) > 2 or v.keywords:
        return None
    x, start = v.args[0], v.args[1:]
    if b.kind.get(getattr(x, "id", None)) in _CONTAINERS:
        return v
    x_batched = b.is_batched(x)
    if start:
        rank, item = b.atom_rank(start[0]), b.atom_rank(x)
        item = item - 1 if isinstance(item, int) and item > 0 else None
        if rank is None or item is None:
            return None if x_batched else v
        start_batched = b.is_batched(start[0])
        if (x_batched and start_batched and rank != item) or (x_batched and rank > item) \
                or (start_batched and item > rank):
            return None
    if not x_batched:
        return v
    return call(v.func, [call(b.rt("iter_batched"), [x])] + start)


@batching_rule(bool)
def _bool(b, v, args, key):
    """bool(x) of a batched number: one bool per example."""
    if len(v.args) != 1 or v.keywords or b.atom_rank(v.args[0]) != 0:
        return None
    return call(b.rt("scalar_batched"), [v.args[0], b.ctx.ref(bool)])


# -- s2s's own helpers, batched again ------------------------------------------------


@batching_rule(rt.lift, rt.flatten_batched, rt.squeeze_batched, rt.transpose_batched,
               rt.iter_batched, rt.iter_unpacked_batched, rt.flat_batched, rt.extremum_batched,
               rt.concatenate_flat_batched, rt.getitem_batched, rt.atleast_batched,
               rt.batched_under, rt.batched_copy_under, lists=True)
def _deeper(b, v, args, key):
    """A helper of batched code, batched again: the new batch axis goes in
    front, and the helper skips one more leading axis (``lead``)."""
    params = list(inspect.signature(key).parameters)
    lead = _lead(args)
    if lead is None or not b.is_batched(args[params[0]]) \
            or _any_batched(b, args, params[1:]):
        return None
    return _with_lead(v, lead + 1)


@batching_rule(rt.align_batched, lists=True)
def _align_again(b, v, args, key):
    """align_batched batched again: ``value`` skips one more leading axis, and
    each operand's flag counts the batch axes it has (one more for an
    operand batched again). An unbatched value is aligned alike in every
    example: the result is broadcast."""
    value, operands, flags = args["value"], args["operands"], args["flags"]
    lead = _lead(args)
    counts = _static_value(b, flags)
    if lead is None or not isinstance(counts, tuple) or b.is_batched(flags):
        return None
    # a batched tuple variable is batched in every item (unbatched ones are
    # broadcast when it is built); a display written in the call is not
    again = [b.is_batched(item) for item in operands.elts] if isinstance(operands, gast.Tuple) \
        else [b.is_batched(operands)] * len(counts)
    if len(again) != len(counts):
        return None
    new = gast.Tuple(elts=[const(int(c) + a) for c, a in zip(counts, again)], ctx=gast.Load())
    if b.is_batched(value):
        return _with_lead(call(v.func, [value, operands, new]), lead + 1)
    aligned = call(v.func, [value, operands, new], _keywords(args, ("lead",)))
    return call(b.rt("batched"), [aligned, name(b.B)])


@batching_rule(rt.lift_region)
def _lift_region_again(b, v, args, key):
    """lift_region batched again: the value and the target (broadcast where
    unbatched) skip one more leading axis; a batched index (which entries of
    a tuple are) is said."""
    lead, index = _lead(args), args["index"]
    if lead is None or _any_batched(b, args, ("lead", "index_batched")) \
            or ("index_batched" in args and b.is_batched(index)):
        return None
    value, target = (args[k] if b.is_batched(args[k]) else call(b.rt("batched"), [args[k], name(b.B)])
                     for k in ("value", "target"))
    keywords = [gast.keyword(arg="lead", value=const(lead + 1))]
    if b.names_batched(index):
        flags = gast.Tuple(elts=[const(b.names_batched(e)) for e in index.elts], ctx=gast.Load()) \
            if isinstance(index, gast.Tuple) else const(True)
        keywords.append(gast.keyword(arg="index_batched", value=flags))
    return call(v.func, [value, target, index], keywords)


@batching_rule(rt.matmul_batched)
def _matmul_again(b, v, args, key):
    """matmul_batched batched again: each operand gets an axis for every
    batch level (size 1 where it has none), and both count as batched."""
    lead = _lead(args)
    flags = [_static_value(b, args[k]) for k in ("a_batched", "b_batched")]
    if lead is None or any(f not in (True, False) for f in flags) \
            or _any_batched(b, args, ("a_batched", "b_batched")):
        return None
    operands = [_levels(b, args[k], f, lead) for k, f in zip(("a", "b"), flags)]
    return call(v.func, operands + [const(True), const(True)],
                [gast.keyword(arg="lead", value=const(lead + 1))])


def _levels(b, x, batched_before, lead):
    """``x`` with the new batch axis in front and the ``lead`` older ones
    after it, each of size 1 where ``x`` does not have it."""
    again = b.is_batched(x)
    if batched_before:
        return x if again else _front(x, 1)
    if again:
        return _subscript(x, gast.Slice(lower=None, upper=None, step=None),
                          *[const(None)] * lead, const(Ellipsis))
    return _front(x, lead + 1)


@batching_rule(rt.pad_extremum_tangent)
def _pad_extremum_tangent(b, v, args, key):
    """The helper pads the last ``ndim`` axes and broadcasts leading ones: a
    batched tangent alone runs as it is; a batched array is told how many
    axes an example has, and the array and tangent get axes after the batch
    axis up to the larger rank (a tangent with axes of its own, jacfwd)."""
    if _any_batched(b, args, ("pad_width", "mode", "stat_length", "ndim")):
        return None
    a, a_dot = args["a"], args["a_dot"]
    if not b.is_batched(a):
        return v
    ndim = args.get("ndim", const(b.atom_rank(a)))
    if _is_none(ndim):
        return None  # the rank of an example is known only at run time
    a, a_dot = b._align([a, a_dot])
    return call(v.func, [a, a_dot], _keywords(args, ("pad_width", "mode", "stat_length"))
                + [gast.keyword(arg="ndim", value=ndim)])


@batching_rule(rt.scalar_batched)
def _elementwise_helper(b, v, args, key):
    """scalar_batched converts elementwise: any leading axes pass."""
    return None if b.is_batched(args.get("kind")) else v


def _lead(args):
    """The literal ``lead=`` of a helper call (1 when not passed), or None."""
    node = args.get("lead", const(1))
    value = node.value if isinstance(node, gast.Constant) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _with_lead(v, lead):
    keywords = [k for k in v.keywords if k.arg != "lead"]
    return call(v.func, list(v.args), keywords + [gast.keyword(arg="lead", value=const(lead))])


def _display(b, node):
    """The items of a tuple display ``node`` is (or a local holds), or None."""
    if isinstance(node, (gast.Tuple, gast.List)):
        return list(node.elts)
    if isinstance(node, gast.Name) and node.id in b.displays:
        return list(b.displays[node.id].elts)
    return None


def _static_value(b, node):
    """The constant (or tuple of constants) ``node`` holds at transform time:
    a literal, a local tuple display of literals, or a global (the generated
    code then depends on its value); else _UNKNOWN."""
    items = _display(b, node)
    if items is not None:
        values = [item.value if isinstance(item, gast.Constant) else _UNKNOWN for item in items]
        return _UNKNOWN if _UNKNOWN in values else tuple(values)
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Name) and not b.ctx.is_local(node.id):
        value = b.ctx.resolve(node)
        if isinstance(value, (bool, int, str, tuple)):
            b.ctx.resolver.depend_on_value(node.id, value)
            return value
    return _UNKNOWN



# -- linear algebra (rules-linalg) ----------------------------------------------------

# act on the last two axes (or one: vectors) and broadcast over the others
# (stacks): a batch axis in front is one more stack axis
_STACKED = ("linalg.svd", "linalg.svdvals", "linalg.qr", "linalg.eig", "linalg.eigvals",
            "linalg.pinv", "linalg.matrix_power", "linalg.cond", "linalg.matrix_rank",
            "linalg.matrix_norm", "linalg.trace", "linalg.diagonal", "linalg.matrix_transpose",
            "matrix_transpose")


@batching_rule(*_STACKED)
def _stacked(b, v, args, key):
    """The matrix argument batched alone: the call as it is."""
    first = next(iter(args), None)
    if first is None or not b.is_batched(args[first]) or _any_batched(b, args, list(args)[1:]):
        return None
    return v


# options that broadcast against the stack axes: a batched one gets axes up to
# the stack rank of an example
_CUTOFFS = {"linalg.pinv": ("rcond", "rtol"), "linalg.matrix_rank": ("tol", "rtol")}


@batching_rule(*_CUTOFFS)
def _cutoff(b, v, args, key):
    """pinv and matrix_rank: a batched cutoff (rcond, tol, rtol) gets axes up
    to the number of stack axes of an example; the matrix, when unbatched,
    broadcasts against it."""
    cutoffs = [k for k in _CUTOFFS[key] if b.is_batched(args.get(k))]
    if not cutoffs:
        return _stacked(b, v, args, key)
    a = list(args)[0]
    r = b.atom_rank(args[a])
    if r is None or _any_batched(b, args, [k for k in list(args)[1:] if k not in cutoffs]):
        return None
    for k in cutoffs:
        args[k] = b._lift(args[k], r - 2)
    # (an unbatched matrix broadcast too: pinv writes its singular values in place)
    return call(v.func, [_batched_array(b, args[a])], _keywords(args, list(args)[1:]))


@batching_rule(rt.hermitian_from_lower, rt.axes_to_end)
def _last_axes_helper(b, v, args, key):
    """Helpers of the linalg rules that act on an array's last axes (or on
    axes counted from its own rank): the array batched alone, as they are."""
    return _stacked(b, v, args, key)


@batching_rule(rt.defined_completion)
def _defined_completion(b, v, args, key):
    """The check reads the matrix's last two axes: as it is, the tangent
    broadcast to the batch where the matrix alone is batched."""
    if _any_batched(b, args, ("full", "what", "wide_ok")):
        return None
    if b.is_batched(args["a_dot"]):
        return v
    return call(b.rt("batched"), [v, name(b.B)])


@batching_rule("linalg.solve")
def _solve_any_rank(b, v, args, key):
    """solve where a rank is known only at run time (a factor of a
    decomposition): ``_s2s.solve_batched``; known ranks: the batcher's own
    rule."""
    a, rhs = args.get("a"), args.get("b")
    if a is None or rhs is None or len(args) != 2 \
            or (b.atom_rank(a) is not None and b.atom_rank(rhs) is not None):
        return None
    return call(b.rt("solve_batched"), [a, rhs, const(b.is_batched(a)), const(b.is_batched(rhs))])


@batching_rule(rt.multi_dot_tangent, lists=True)
def _multi_dot_tangent(b, v, args, key):
    """The tangents batched alone (jacfwd): the helper keeps leading axes."""
    return None if b.is_batched(args["arrays"]) else v


@batching_rule("linalg.multi_dot", lists=True)
def _multi_dot(b, v, args, key):
    """multi_dot of a batched list (each item batched): the chain of matmuls
    over stacks, ``_s2s.multi_dot_batched``."""
    if not b.is_batched(args["arrays"]) or not _no_out(b, args):
        return None
    return call(b.rt("multi_dot_batched"), [args["arrays"]])


@batching_rule("linalg.matmul")
def _linalg_matmul(b, v, args, key):
    """As ``@``."""
    x1, x2 = args["x1"], args["x2"]
    done = b._matmul(x1, x2, lambda x, y: gast.BinOp(left=x, op=gast.MatMult(), right=y))
    return done if done is not None else b._matmul_any_rank(x1, x2)


@batching_rule("linalg.outer")
def _linalg_outer(b, v, args, key):
    """Of vectors: ``_s2s.outer_batched``."""
    x1, x2 = args["x1"], args["x2"]
    return call(b.rt("outer_batched"), [x1, x2, const(b.is_batched(x1)), const(b.is_batched(x2))])


@batching_rule("linalg.tensordot")
def _linalg_tensordot(b, v, args, key):
    """``_s2s.tensordot_batched``, axes (2 when not passed) unbatched."""
    if b.is_batched(args.get("axes")):
        return None
    x1, x2 = args["x1"], args["x2"]
    return call(b.rt("tensordot_batched"), [x1, x2, args.get("axes", const(2)),
                                           const(b.is_batched(x1)), const(b.is_batched(x2))])


def _core_aligned(b, operands, cores):
    """Operands of a generalised ufunc with ``cores`` core axes each: batched
    ones get axes after the batch axis up to the largest loop rank, so loop
    axes broadcast as in one example; None where a rank is unknown."""
    ranks = [b.atom_rank(o) for o in operands]
    if any(r is None for r in ranks):
        return None
    loop = max(r - c for r, c in zip(ranks, cores))
    return [b._lift_node(o, r, loop + c) if b.is_batched(o) else o
            for o, r, c in zip(operands, ranks, cores)]


_CORES = {"linalg.vecdot": (1, 1), "vecdot": (1, 1), "linalg.cross": (1, 1),
          "matvec": (2, 1), "vecmat": (1, 2)}


@batching_rule(*_CORES)
def _gufunc(b, v, args, key):
    """vecdot, cross (array API), matvec, vecmat: operands aligned by loop
    axes; an axis (vecdot's, cross's) counted from the end, as its default."""
    names = list(args)[:2]
    if len(names) < 2 or _any_batched(b, args, names[2:]) or set(args) - set(names) - {"axis"}:
        return None
    axis = _axis(b, args, "axis", -1)
    if axis is _UNKNOWN or not (isinstance(axis, gast.UnaryOp) or _is_none(axis)) \
            and not (isinstance(axis, gast.Constant) and isinstance(axis.value, int)
                     and axis.value < 0):
        return None
    operands = _core_aligned(b, [args[k] for k in names], _CORES[key])
    if operands is None:
        return None
    return call(v.func, operands, _keywords(args, ("axis",)))


@batching_rule("linalg.tensorsolve")
def _tensorsolve(b, v, args, key):
    """One stacked solve: ``_s2s.tensorsolve_batched``."""
    if b.is_batched(args.get("axes")):
        return None
    a, rhs = args["a"], args["b"]
    return call(b.rt("tensorsolve_batched"), [a, rhs, args.get("axes", const(None)),
                                             const(b.is_batched(a)), const(b.is_batched(rhs))])


@batching_rule("linalg.tensorinv")
def _tensorinv(b, v, args, key):
    """One stacked inverse: ``_s2s.tensorinv_batched``."""
    if b.is_batched(args.get("ind")):
        return None
    return call(b.rt("tensorinv_batched"), [args["a"]], _keywords(args, ("ind",)))


# ================================================================ rules-more
# batching rules of the statistics, signals, shape and polynomial rules added
# together (one block)


@batching_rule("nan_to_num")
def _nan_to_num(b, v, args, key):
    """nan_to_num of a batched array alone: elementwise; batched fills:
    ``_s2s.nan_to_num_batched``."""
    names = ("nan", "posinf", "neginf")
    if not _any_batched(b, args, names):
        return v if b.is_batched(args["x"]) else None
    if b.is_batched(args.get("copy")):
        return None
    return call(b.rt("nan_to_num_batched"), [args["x"]] + [args.get(k, const(None)) for k in names]
                + [_flags(b, args["x"], *(args.get(k) for k in names))])


@batching_rule("cov")
def _cov(b, v, args, key):
    """cov per example: ``_s2s.cov_batched`` (dtype= stays a loop)."""
    if _any_batched(b, args, ("rowvar", "bias", "ddof", "dtype")) or "dtype" in args:
        return None
    m, y = args["m"], args.get("y", const(None))
    fw, aw = args.get("fweights", const(None)), args.get("aweights", const(None))
    return call(b.rt("cov_batched"), [m, y, _flags(b, m, y, fw, aw)],
                _keywords(args, ("rowvar", "bias", "ddof", "fweights", "aweights")))


@batching_rule("corrcoef")
def _corrcoef(b, v, args, key):
    """corrcoef per example: ``_s2s.corrcoef_batched``."""
    if set(args) - {"x", "y", "rowvar"} or b.is_batched(args.get("rowvar")):
        return None
    x, y = args["x"], args.get("y", const(None))
    return call(b.rt("corrcoef_batched"), [x, y, _flags(b, x, y)], _keywords(args, ("rowvar",)))


@batching_rule(rt.cov_matrix, rt.cov_matrix_pair)
def _cov_matrix(b, v, args, key):
    """cov_matrix batched again: the arrays (an unbatched one broadcast)
    have one more leading batch axis."""
    lead = _static_value(b, args.get("lead", const(0)))
    if _any_batched(b, args, ("rowvar", "lead")) or not isinstance(lead, int):
        return None
    parts = [_batched_array(b, args[k]) for k in ("m", "y") if k in args]
    return call(v.func, parts, _keywords(args, ("rowvar",))
                + [gast.keyword(arg="lead", value=const(lead + 1))])


@batching_rule(rt.cov_tangent)
def _cov_tangent(b, v, args, key):
    """cov_tangent broadcasts the leading axes of its two matrices: they
    get axes after the batch axis up to the same rank (weights that differ
    per example: the loop)."""
    if _any_batched(b, args, ("ddof", "bias", "fweights", "aweights")):
        return None
    x, x_dot = b._align([args["x"], args["x_dot"]])
    return call(v.func, [x, x_dot], _keywords(args, ("ddof", "bias", "fweights", "aweights")))


@batching_rule("convolve", "correlate")
def _convolve(b, v, args, key):
    """convolve and correlate of batched sequences: ``_s2s.convolve_stacked``
    (one sequence per row, the unbatched one broadcast)."""
    if b.is_batched(args.get("mode")):
        return None
    mode = args.get("mode", const("full" if key == "convolve" else "valid"))
    a, v_ = (_as_sequence(b, args[k]) for k in ("a", "v"))
    return call(b.rt("convolve_stacked"), [a, v_, mode, const(key)])


def _as_sequence(b, x):
    """A batched operand of convolve or correlate as the sequence it stands
    for: a number is a sequence of one, not the batch a sequence. (An
    unbatched number: ``_s2s.convolve_stacked`` reads it as one.)"""
    if not b.is_batched(x) or b.atom_rank(x) == 1:
        return x
    return call(b.rt("atleast_batched"), [x, const(1)])


@batching_rule("gradient")
def _gradient(b, v, args, key):
    """gradient of a batched array along its axes shifted past the batch
    axis (all of an example's for axis=None); batched spacings: the loop."""
    f = args["f"]
    r = b.atom_rank(f)
    spacing = args.get("varargs", ())
    if not b.is_batched(f) or r is None or _any_batched(b, args, ("axis", "edge_order")) \
            or any(b.is_batched(s) for s in spacing):
        return None
    axis = _axis(b, args, "axis")
    if axis is _UNKNOWN:
        return None
    axis = gast.Tuple(elts=[const(k) for k in range(1, r + 1)], ctx=gast.Load()) \
        if _is_none(axis) else _shift(b, axis)
    return call(v.func, [f, *spacing], [gast.keyword(arg="axis", value=axis)]
                + _keywords(args, ("edge_order",)))


@batching_rule("ediff1d")
def _ediff1d(b, v, args, key):
    """ediff1d per example: ``_s2s.ediff1d_batched``."""
    ary = args["ary"]
    to_end, to_begin = args.get("to_end", const(None)), args.get("to_begin", const(None))
    return call(b.rt("ediff1d_batched"), [ary, to_end, to_begin,
                                          _flags(b, ary, to_end, to_begin)])


@batching_rule("unwrap")
def _unwrap(b, v, args, key):
    """unwrap along the axis shifted past the batch axis; a batched discont
    or period: ``_s2s.unwrap_batched``."""
    p = args["p"]
    if b.is_batched(args.get("axis")):
        return None
    axis = _axis(b, args, "axis", -1)
    if axis is _UNKNOWN or _is_none(axis):
        return None
    axis = _shift(b, axis)
    if not _any_batched(b, args, ("discont", "period")):
        return call(v.func, [p], _keywords(args, ("discont", "period"))
                    + [gast.keyword(arg="axis", value=axis)])
    discont, period = args.get("discont", const(None)), args.get("period")
    period = period if period is not None else call(b._xp("asarray"), [const(2 * math.pi)])
    return call(b.rt("unwrap_batched"), [p, discont, axis, period, _flags(b, p, discont, period)])


_SPLIT_AXES = {"hsplit": 1, "vsplit": 0, "dsplit": 2}


@batching_rule("hsplit", "vsplit", "dsplit")
def _hsplit(b, v, args, key):
    """hsplit/vsplit/dsplit of a batched array: np.split along the axis
    they split (hsplit: the first of a vector), past the batch axis."""
    ary = args["ary"]
    r = b.atom_rank(ary)
    if not b.is_batched(ary) or r is None or b.is_batched(args["indices_or_sections"]):
        return None
    axis = 0 if key == "hsplit" and r == 1 else _SPLIT_AXES[key]
    if axis >= r:
        return None  # (NumPy's error, per example)
    return call(b._xp("split"), [ary, args["indices_or_sections"]],
                [gast.keyword(arg="axis", value=const(axis + 1))])


@batching_rule("dstack", lists=True)
def _dstack(b, v, args, key):
    """dstack per example: each array made 3-d as NumPy does (a vector
    (1, n, 1), a matrix (m, n, 1)), the unbatched ones broadcast, then
    joined along the third axis."""
    items = _display(b, args["tup"])
    if items is None:  # a batched list or tuple: each item is batched
        return call(b.rt("dstack_batched"), [args["tup"]]) if b.is_batched(args["tup"]) else None
    parts = [call(b.rt("atleast_batched"), [_batched_array(b, item), const(3)]) for item in items]
    return call(b._xp("concatenate"), [gast.List(elts=parts, ctx=gast.Load())],
                [gast.keyword(arg="axis", value=const(3))])


@batching_rule("rollaxis")
def _rollaxis(b, v, args, key):
    """rollaxis with its axis and start (0 when not passed) past the batch
    axis."""
    a = args["a"]
    if not b.is_batched(a) or _any_batched(b, args, ("axis", "start")):
        return None
    axis, start = _axis(b, args, "axis"), _axis(b, args, "start", 0)
    if axis is _UNKNOWN or start is _UNKNOWN:
        return None
    return call(v.func, [a, _shift(b, axis), _shift(b, start)])


@batching_rule("unstack")
def _unstack(b, v, args, key):
    a = args["x"]
    axis = _axis(b, args, "axis", 0)
    if not b.is_batched(a) or b.is_batched(args.get("axis")) or axis is _UNKNOWN:
        return None
    return call(v.func, [a], [gast.keyword(arg="axis", value=_shift(b, axis))])


@batching_rule("broadcast_arrays")
def _broadcast_arrays(b, v, args, key):
    """broadcast_arrays per example: the operands aligned as those of an
    elementwise operation (the batched ones get axes after the batch axis
    up to the largest rank, ``_s2s.align_batched`` where a rank is known
    only at run time); every result then has the batch axis."""
    items = args.get("args", ())
    if not isinstance(items, tuple) or "subok" in args:
        return None
    return call(v.func, b._align(list(items)))


@batching_rule("diagflat")
def _diagflat(b, v, args, key):
    v_ = args["v"]
    if not b.is_batched(v_) or b.is_batched(args.get("k")):
        return None
    return call(b.rt("diag_batched"), [_flat(b, v_)] + ([args["k"]] if "k" in args else []))


@batching_rule("resize")
def _resize(b, v, args, key):
    a = args["a"]
    if not b.is_batched(a) or b.is_batched(args["new_shape"]):
        return None
    return call(b.rt("resize_batched"), [a, args["new_shape"]])


_FFT_DEFAULT_AXES = {"fft.fftn": None, "fft.ifftn": None, "fft.rfftn": None, "fft.irfftn": None,
                     "fft.rfft2": (-2, -1), "fft.irfft2": (-2, -1), "fft.fftshift": None,
                     "fft.ifftshift": None, "fft.hfft": -1, "fft.ihfft": -1}


@batching_rule(*_FFT_DEFAULT_AXES)
def _fft_axes(b, v, args, key):
    """The Fourier transforms of a batched array along the axes past the
    batch axis: axes=None (all of an example's) listed from the end, or
    ``_s2s.tail_axes`` when the rank is known only at run time; axes known
    only at run time shifted then (``_s2s.shift_axis_of``: None is every
    axis of an example)."""
    a = args["a"] if "a" in args else args["x"]
    r = b.atom_rank(a)
    name_ = "axis" if key in ("fft.hfft", "fft.ihfft") else "axes"
    if not b.is_batched(a) or _any_batched(b, args, [k for k in args if k not in ("a", "x")]):
        return None
    axes = _axis(b, args, name_, _FFT_DEFAULT_AXES[key])
    no_s = _holds_none(b, args.get("s", const(None)))
    if axes is _UNKNOWN:
        if not no_s:
            return None  # (None would mean the last len(s) axes)
        axes = call(b.rt("shift_axis_of"), [a, args[name_]])
    elif _is_none(axes):
        # (fftn with s= and no axes transforms the last len(s) axes)
        count = r if no_s else None
        if not no_s:
            s = _static_value(b, args["s"])
            if not isinstance(s, tuple):
                return None
            count = len(s)
        axes = call(b.rt("tail_axes"), [a]) if count is None else gast.Tuple(
            elts=[const(-k) for k in range(count, 0, -1)], ctx=gast.Load())
    else:
        axes = _shift(b, axes)
    others = [gast.keyword(arg=p, value=args[p]) for p in args if p not in ("a", "x", name_)]
    return call(v.func, [a], others + [gast.keyword(arg=name_, value=axes)])
