"""Batching: the same function over a leading batch axis on chosen inputs.

Expects a function in A-normal form, the names of its batched parameters and
the per-example rank of every array parameter (the transform specialises on
ranks; they are part of the cache key). Guarantees a function with the same
signature in which every batched value carries the batch axis first, and

- statements that touch no batched value are unchanged;
- elementwise operations get axes inserted after the batch axis of a batched
  operand of lower rank than the result (``x_dot[:, None] * w``);
- axis arguments skip the batch axis (``axis=0`` -> ``axis=1``, ``axis=None``
  -> every axis but the batch axis), subscripts get a leading ``:``;
- matmul/dot/einsum/reshape/transpose have their own rules;
- a batched value is batched in every leaf: an unbatched value assigned to a
  batched variable is broadcast (``_s2s.batched(v, _B)``);
- control flow whose test depends on batched values makes the whole function
  fall back to a loop over the batch (said in a comment);
- a primitive with no batching rule runs once per batch element
  (``_s2s.map_batched``), correct and visible in the source.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    return np.sum(np.sin(x) * w, axis=0)\\n", "vmap"))
def f_vmap(x, w):
    xp = _s2s.namespace_of(x, w)
    # <doctest>:2  return np.sum(np.sin(x) * w, axis=0)
    _t0 = xp.sin(x)
    _t1 = _t0 * w
    _t2 = xp.sum(_t1, axis=1)
    return _t2
"""


import functools
import types

import gast
import numpy

from . import views
from .analysis import (
    BINOPS,
    MUTATORS,
    VIEW_FUNCTIONS,
    attribute_names,
    container_mutated_names,
    iterated_atoms,
    iteration,
    library_objects,
    method_call,
    mutated_names,
    number_names,
    object_method,
    unpacks,
    user_function,
)
from .batch_axes import AxisRules, _full, _index, _shift, einsum_sublist_names
from .batch_ranks import (
    _BOTTOM,
    RankInference,
    _advanced_count,
    _arrayish,
    _index_rank,
    _int_const,
    returns_tuple,
)
from .codegen import comment
from .containers import container_names
from .context import assign, call, const, name, walk_statements
from .effects import changed_arguments, changed_bindings
from .errors import UnsupportedSyntaxError
from .frontend import MISSING
from .nodes import Transformer, children, clone, name_nodes, walk, walk_values
from .rules import batching_rules, registry
from .rules.batching_axes import AXES, AXIS_PAIRS, TANGENT_HELPERS
from .statements import StatementPass

_SHAPE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}
_CONTAINERS = ("container", "list", "dict")
_UNBATCHED_CALLS = {"len", "shape", "ndim", "size", "isinstance", "range", "type"}
# helpers of batched code that query shapes: the same for every example when
# the code is batched again
_SHAPE_HELPERS = {"batch_size", "tail_axes", "len_batched", "shift_axis_of"}
# NumPy functions whose result's size depends on the values (with np.where of one
# argument): indexing with them selects a different number of elements per example
_SELECTIONS = {"nonzero", "argwhere", "flatnonzero", "logical_and", "logical_or",
               "logical_not", "logical_xor", "isnan", "isfinite", "isinf"}
# Fourier transforms over all of an example's axes by default (the n-d ones
# without s=, the shifts): never the call as it is, which would take the batch
# axis too
_FFT_ALL_AXES = {"fft.fftn", "fft.ifftn", "fft.rfftn", "fft.irfftn", "fft.fftshift",
                 "fft.ifftshift"}
# NumPy functions that return a list of arrays
_SPLITS = {"split", "array_split", "hsplit", "vsplit", "dsplit"}
# runtime helpers whose result has the structure of their first argument
_SAME_STRUCTURE = {"zeros_like_tree", "fresh_copy", "tangent_copy", "batched", "batched_copy", "batched_under",
                   "batched_copy_under", "own_tangents"}


class Batcher(RankInference, AxisRules, StatementPass):
    def __init__(self, ctx, fn_node, batched_params, ranks, *, name_suffix="vmap",
                 callee=None, randomness="error", callee_ranks=None, callee_items=None,
                 entry=True, identity=(), masks=()):
        self.ctx = ctx
        self.fn = fn_node
        self.batched = set(batched_params)
        self.given = set(batched_params)
        self.params = [a.id for a in fn_node.args.args + fn_node.args.kwonlyargs]
        self.kwonly = [a.id for a in fn_node.args.kwonlyargs]
        for extra in (fn_node.args.vararg, fn_node.args.kwarg):
            if extra is not None:
                self.params.append(extra.id)
        # ranks[p]: per-example rank of an array argument, or "container"
        # (a list/tuple/dict argument), or None (unknown)
        self.ranks = dict(ranks)
        self.rank = {p: (r if isinstance(r, int) else None) for p, r in
                     ((p, ranks.get(p)) for p in self.params)}
        self.kind = {p: _kind(ranks.get(p)) for p in self.params}
        # names updated in place, directly or through a view (``v = z[1:]``):
        # a batched update makes the view and its base batched (and writable)
        # ``s = 0.0`` then ``s += t``: a Python number, rebound by ``+=`` (to an
        # array of t's shape, even); batched, ``s = s + t``, not an update of a
        # buffer of the number's shape and type
        nodes = [n for n in walk(fn_node) if isinstance(n, (gast.Assign, gast.AugAssign,
                                                           gast.For, gast.Call))]
        self.rebound = _number_accumulators(nodes)
        calls = [n for n in nodes if isinstance(n, gast.Call)]
        direct = (mutated_names(fn_node, nodes) - self.rebound) | changed_arguments(
            calls, ctx) | {t for t in (_written_by_helper(n, ctx.resolve) for n in calls)
                           if t is not None}
        # (lists and dicts changed in place: another name for one that gets batched
        # items must hold the same, batched, container)
        containers = container_mutated_names(fn_node, nodes)
        # (and, for what may change, the arrays a list holds: lst.append(x); lst[0] += 1
        # writes into x)
        # (lists and dicts the function builds, and their items that are ones too)
        self.containers = container_names(nodes, ctx)[0]
        self.alias_class, held = _view_classes(fn_node, direct | containers, direct,
                                               self.containers)
        self.mutated = set(direct) | {n for c in held.values() for n in c}
        # parameters holding jacfwd's identity basis of a vector, never reassigned
        # or updated: batch_axes multiplies by them symbolically
        stored = {n.id for n in walk(fn_node)
                  if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del))}
        self.identity = {p for p in identity
                         if p in self.batched and p not in stored and p not in self.mutated}
        # parameters holding a boolean array per example: indexing with one selects
        # a number of elements that differs per example
        self.masks = {p for p in masks if p in self.batched}
        # jacfwd's and hessian's directions: tangent parameters of generated jvp
        # code, batched alone; every primal value is then the same in every example
        tangents = getattr(ctx.parsed.fn, "__dict__", {}).get("__s2s_tangents__", ())
        self.directions_only = bool(self.given) and self.given <= set(tangents)
        # the ranks of the items of a dict or list argument, from the spec, where
        # the function only reads them (``p["w"]``, ``p[0]``, ``w, b = p``)
        self.container_items = {p: ranks[p][1] for p in _items_only_read(fn_node, [
            p for p in self.params if isinstance(ranks.get(p), tuple)])}
        self.suffix = name_suffix
        self.callee = callee
        self.attribute_names = attribute_names(walk_statements(fn_node.body))
        self.library = library_objects(walk_statements(fn_node.body), ctx)
        self.randomness = randomness
        self.fallback = None
        self.callee_ranks = callee_ranks
        # tuple displays assigned once: name -> the display (for item ranks)
        self.displays = _single_displays(fn_node)
        self.sublist_names = einsum_sublist_names(fn_node, self.displays, ctx.resolve)
        self.displays_free = _assigned_once(fn_node)
        self.item_views = self._item_views(fn_node)
        self.item_ranks = {  # name -> ranks of the items of the tuple it holds
            p: list(items) for p, items in self.container_items.items()
            if self.kind[p] == "list"}
        # a callee's tuple result unpacked right away may mix batched and
        # unbatched items (the primal stays unbatched): name -> item flags
        self.callee_items = callee_items
        self.item_batched = {}
        self.unpacked_once = _unpacked_once(fn_node)
        self.tuple_calls = set()  # ids of calls of callees whose tuple result is unpacked
        # items of lists and dicts that container_names does not know to be ones:
        # lists, dicts or arrays, as run time tells
        self.opaque_items = set()
        self._analysing = False
        self._analyse()
        self.return_displays, self.return_batched = ({}, None) if entry else self._return_items()
        self.entry = entry
        self.uses_outer = False  # an _s2s.outer_product was emitted

    # -- analysis --------------------------------------------------------------

    def is_batched(self, atom):
        if isinstance(atom, gast.Name):
            return atom.id in self.batched
        if isinstance(atom, gast.Starred):
            return self.is_batched(atom.value)
        return False

    def names_batched(self, node):
        """Whether ``node`` reads a batched name (its shape does not count:
        every example has the same)."""
        todo = [node]
        while todo:
            n = todo.pop()
            if isinstance(n, gast.Attribute) and n.attr in _SHAPE_ATTRIBUTES:
                continue
            if isinstance(n, gast.Name) and n.id in self.batched:
                return True
            todo.extend(children(n))
        return False

    def fix_shapes(self, node):
        """``x.shape`` of a batched ``x`` -> the per-example shape, everywhere
        in ``node``."""
        batcher = self

        class Fix(Transformer):
            def visit_Call(self, n):
                self.generic_visit(n)
                if n.args and isinstance(n.args[0], gast.Name) and n.args[0].id in batcher.batched:
                    return batcher._shape_query(n)
                return n

            def visit_Attribute(self, n):
                if n.attr in _SHAPE_ATTRIBUTES and isinstance(n.value, gast.Name) \
                        and n.value.id in batcher.batched \
                        and batcher.kind.get(n.value.id) not in _CONTAINERS:
                    return batcher._attribute(n)
                self.generic_visit(n)
                return n

        return Fix().visit(node)

    def _analyse(self):
        self._analysing = True
        while True:
            before = (len(self.batched), dict(self.rank), dict(self.item_ranks))
            self._body(self.fn.body)
            for n in list(self.batched):  # views of a batched array and their bases
                self.batched.update(self.alias_class.get(n, ()))
            if (len(self.batched), self.rank, self.item_ranks) == before:
                break
        self._analysing = False
        for var, r in list(self.rank.items()):
            if r is _BOTTOM:
                self.rank[var] = None

    def _body(self, stmts):
        for s in walk_statements(stmts):  # nested statements included
            self._stmt(s)

    def _set_rank(self, var, rank):
        if rank is _BOTTOM:
            return
        old = self.rank.get(var, _BOTTOM)
        if old is _BOTTOM:
            self.rank[var] = rank
        elif old != rank:
            self.rank[var] = None

    def _stmt(self, s):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                if self.value_batched(s.value):
                    self.batched.add(target.id)
                self._set_rank(target.id, self.rank_of(s.value))
                if isinstance(s.value, gast.Call) and target.id in self.displays_free:
                    ranks = self._tuple_ranks(s.value, -1)
                    if ranks is not None:
                        self.item_ranks[target.id] = ranks
                    if target.id in self.unpacked_once:
                        flags = self._callee_flags(s.value)
                        if flags is not None:
                            self.item_batched[target.id] = flags
                if isinstance(s.value, (gast.List, gast.Tuple, gast.Dict)) \
                        or self.kind.get(self._copied_container(s.value)) in _CONTAINERS \
                        or isinstance(s.value, gast.Call) and (registry.numpy_path(
                            self._resolve(s.value.func)) in _SPLITS or _runtime_name(
                            self._resolve(s.value.func)) == "dict_tangent"
                            or returns_tuple(self._resolve(s.value.func))) \
                        or isinstance(s.value, gast.BinOp) and self._sequence_op(s.value) \
                        or isinstance(s.value, (gast.Subscript, gast.Call)) \
                        and target.id in self.containers:  # (rows[0] of rows = [[a], [b]])
                    self.kind[target.id] = "container"
                elif self.kind.get(target.id) != "container" and self.rank.get(target.id) is not None:
                    self.kind[target.id] = "array"
                elif self._opaque_item(s.value):
                    self.opaque_items.add(target.id)
            elif isinstance(target, gast.Tuple):
                flags = self.item_batched.get(getattr(s.value, "id", None))
                if flags is None and isinstance(s.value, gast.Call):
                    # y, y_dot = helper_jvp(x, ...): the callee's items keep their own
                    # batchedness (its primal stays unbatched)
                    flags = self._callee_flags(s.value)
                    if flags is not None and len(flags) == len(target.elts):
                        self.tuple_calls.add(id(s.value))
                if flags is not None and len(flags) == len(target.elts):
                    self.batched.update(e.id for e, f in zip(target.elts, flags) if f)
                elif self.value_batched(s.value):
                    self.batched.update(e.id for e in target.elts)
                ranks = self._tuple_ranks(s.value, len(target.elts))
                for e, r in zip(target.elts, ranks):
                    self._set_rank(e.id, r)
            elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                if self.names_batched(s.value) or self.names_batched(target.slice):
                    self.batched.add(target.value.id)
        elif isinstance(s, gast.AugAssign):
            if self.is_batched(s.value):
                self.batched.add(s.target.id)
            if s.target.id in self.rebound:  # (x = x + v: its rank may change)
                self._set_rank(s.target.id, self.rank_of(
                    gast.BinOp(left=name(s.target.id), op=s.op, right=s.value)))
        if isinstance(s, (gast.Assign, gast.Expr)) and isinstance(s.value, gast.Call) \
                and self.names_batched(s.value):
            # a function of the user's writing batched values into arrays it is given
            self.batched.update(n for n in self._changed_by(s.value) if self.ctx.is_local(n))
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            func = s.value.func
            target = _written_by_helper(s.value, self._resolve)
            if target is not None and self.names_batched(s.value):
                self.batched.add(target)  # (batched code batched again: a store per example)
            if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                    and func.attr in ("append", "extend", "insert", "update", "setdefault"):
                self.kind[func.value.id] = "container"
                if any(self.is_batched(a) for a in
                       list(s.value.args) + [k.value for k in s.value.keywords]):
                    self.batched.add(func.value.id)
        elif isinstance(s, gast.For):
            self._for_target(s.iter, s.target)

    def _opaque_item(self, value):
        """Whether ``value`` is an item of a list or dict (or of what may be
        one) that may be a list, a dict or an array, as only run time tells
        (``rows[0]`` of a list argument, or of ``[[a], b]``; in code batched
        already, ``_s2s.getitem_batched(rows, 0)``), or another name for one."""
        if isinstance(value, gast.Name):
            return value.id in self.opaque_items
        if isinstance(value, gast.Call) and value.args \
                and _runtime_name(self._resolve(value.func)) == "getitem_batched":
            base, index = value.args[0], value.args[1] if len(value.args) > 1 else None
        elif isinstance(value, gast.Subscript):
            base, index = value.value, value.slice
        else:
            return False
        return isinstance(base, gast.Name) and self.kind.get(base.id) != "array" \
            and not self.names_batched(index)

    def _changed_by(self, call_node):
        """The names a call of a function of the user's writes into. Where
        only directions are batched (jacfwd), only the tangents it writes:
        its primal values are the same in every example."""
        return {name for param, name, fn in changed_bindings(call_node, self.ctx)
                if not self.directions_only
                or param in getattr(fn, "__dict__", {}).get("__s2s_tangents__", ())}

    def _item_views(self, fn_node):
        """Names assigned once from ``d.items()`` or ``sorted(d.items())``:
        (key, value) pairs with distinct keys (ordered by the keys alone)."""
        calls = [(n.targets[0].id, n.value) for n in walk_values(fn_node)
                 if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
                 and n.targets[0].id in self.displays_free and isinstance(n.value, gast.Call)
                 and not n.value.keywords]
        views = {t for t, v in calls if not v.args and isinstance(v.func, gast.Attribute)
                 and v.func.attr == "items"}
        return views | {t for t, v in calls if len(v.args) == 1
                        and getattr(v.args[0], "id", None) in views
                        and self._resolve(v.func) is sorted}

    def _sequence_op(self, v):
        """Whether the BinOp ``v`` concatenates or repeats lists or tuples
        (``t + (x,)``, ``t * 2``) rather than computing on arrays."""
        if not isinstance(v.op, (gast.Add, gast.Mult)):
            return False
        sequences = [isinstance(o, (gast.Tuple, gast.List)) or (
            isinstance(o, gast.Name) and self.kind.get(o.id) in ("container", "list"))
            for o in (v.left, v.right)]
        if sequences.count(True) == 1:
            other = v.right if sequences[0] else v.left
            if isinstance(other, gast.Name) and other.id in self.ufunc_results:
                return False  # exp(lst) * lst_dot: NumPy's array times the list, elementwise
        return any(sequences)

    @functools.cached_property
    def ufunc_results(self):
        """Names bound to the result of a NumPy ufunc (an array, whatever its
        arguments: ``xp.exp(lst)`` of a list too)."""
        return {n.targets[0].id for n in walk(self.fn)
                if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
                and isinstance(n.value, gast.Call)
                and isinstance(self._resolve(n.value.func), numpy.ufunc)}

    def _copied_container(self, value):
        """The name whose container ``value`` is, or a copy of: ``p``,
        ``p.copy()``, ``dict(p)``, ``list(p)``, ``tuple(p)``, and s2s's helpers
        that keep the structure of their first argument (``_SAME_STRUCTURE``:
        ``zeros_like_tree(p)``, ``batched(p, _B)``...); else None."""
        if isinstance(value, gast.Name):
            return value.id
        if not isinstance(value, gast.Call):
            return None
        func = value.func
        if isinstance(func, gast.Attribute) and func.attr == "copy" and not value.args \
                and not value.keywords and isinstance(func.value, gast.Name):
            return func.value.id
        if not (value.args and isinstance(value.args[0], gast.Name)):
            return None
        obj = self._resolve(func)
        if len(value.args) == 1 and not value.keywords and obj in (dict, list, tuple):
            return value.args[0].id
        if _runtime_name(obj) in _SAME_STRUCTURE:
            return value.args[0].id
        if _runtime_name(obj) == "dict_tangent" and len(value.args) == 2 \
                and isinstance(value.args[1], gast.Name) and self.kind.get(value.args[1].id) == "dict":
            return value.args[1].id  # dict(p)'s tangent: a copy of p_dot
        return None

    def _tuple_ranks(self, value, n):
        """Per-example ranks of the items of a tuple value: from a tuple
        display, or from what a transformed callee returns."""
        if isinstance(value, gast.Name):
            display = self.displays.get(value.id)
            if display is not None and len(display.elts) == n:
                return [self.atom_rank(e) for e in display.elts]
            items = self.item_ranks.get(value.id)
            if items is not None and len(items) == n:
                return list(items)
        if isinstance(value, gast.Call) and self.callee_ranks is not None \
                and self.names_batched(value):
            obj = self._resolve(value.func)
            if user_function(obj):
                args = list(value.args) + [k.value for k in value.keywords]
                if any(isinstance(a, gast.Name) and self.atom_rank(a) is _BOTTOM for a in args):
                    return None if n < 0 else [_BOTTOM] * n
                ranks = self.callee_ranks(obj, value, self)
                if ranks is not None and (n < 0 or len(ranks) == n):
                    return list(ranks)
        return None if n < 0 else [None] * n

    def _callee_flags(self, value):
        """Item flags of what a transformed user function returns, or None."""
        if self.callee_items is None or not self.names_batched(value):
            return None
        obj = self._resolve(value.func)
        if not user_function(obj):
            return None
        args = list(value.args) + [k.value for k in value.keywords]
        if any(isinstance(a, gast.Name) and self.atom_rank(a) is _BOTTOM for a in args):
            return None
        return self.callee_items(obj, value, self)

    def _return_items(self):
        """For a callee: ({display name: flags}, flags) when every return
        returns a tuple display that nothing else reads, so its items keep
        their own batchedness (no broadcast of the primal); else ({}, None)."""
        names = []
        for s in walk_statements(self.fn.body):
            if isinstance(s, gast.Return):
                if not isinstance(s.value, gast.Name) or s.value.id not in self.displays:
                    return {}, None
                names.append(s.value.id)
        if not names:
            return {}, None
        loads = {}
        for node in walk(self.fn):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
        if any(loads.get(n, 0) != names.count(n) for n in set(names)):
            return {}, None
        lengths = {len(self.displays[n].elts) for n in names}
        if len(lengths) != 1:
            return {}, None
        flags = [any(self.is_batched(self.displays[n].elts[i]) for n in names)
                 for i in range(lengths.pop())]
        return {n: flags for n in names}, flags

    def return_ranks(self):
        """Per-example ranks of the items of the tuple this function returns
        (the same display at every return), or None."""
        found = None
        for s in walk_statements(self.fn.body):
            if not isinstance(s, gast.Return):
                continue
            if not isinstance(s.value, gast.Name) or s.value.id not in self.displays:
                return None
            ranks = [self.atom_rank(e) for e in self.displays[s.value.id].elts]
            if found is not None and found != ranks:
                return None
            found = ranks
        return found

    def _for_target(self, it, target):
        """Batchedness and rank of loop targets, item by item of
        ``enumerate``/``zip``/``.items()``."""
        kind, parts = iteration(it, self.ctx)
        names = [n.id for n in walk(target) if isinstance(n, gast.Name)]
        if kind == "range":
            for n in names:
                self._set_rank(n, 0)
            return
        if kind == "atom" and getattr(parts, "id", None) in self.item_views \
                and isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2:
            # (key, value) pairs of a dict: the keys are the same for every example
            if self.is_batched(it):
                self.batched.update(n.id for n in walk(target.elts[1]) if isinstance(n, gast.Name))
            return
        if kind in ("atom", "reversed"):
            batched = self.is_batched(parts)
            r = self.atom_rank(parts)
            item_rank = _BOTTOM if r is _BOTTOM else r - 1 if r is not None and r > 0 \
                and isinstance(target, gast.Name) \
                and self.kind.get(getattr(parts, "id", None)) != "container" else None
            for n in names:
                if batched:
                    self.batched.add(n)
                self._set_rank(n, item_rank)
                if n in self.containers:  # (for r in rows, of rows = [[a, b], [c]])
                    self.kind[n] = "container"
                elif self.kind.get(getattr(parts, "id", None)) != "array":
                    self.opaque_items.add(n)
            return
        if kind == "enumerate" and isinstance(target, (gast.Tuple, gast.List)) \
                and len(target.elts) == 2:
            for n in walk(target.elts[0]):
                if isinstance(n, gast.Name):
                    self._set_rank(n.id, 0)
            self._for_target(parts, target.elts[1])
            return
        if kind == "zip" and isinstance(target, (gast.Tuple, gast.List)) \
                and len(target.elts) == len(parts):
            for sub, elt in zip(parts, target.elts):
                self._for_target(sub, elt)
            return
        if kind == "items" and isinstance(target, (gast.Tuple, gast.List)) \
                and len(target.elts) == 2:
            for n in walk(target.elts[1]):
                if isinstance(n, gast.Name):
                    if self.is_batched(parts):
                        self.batched.add(n.id)
                    self._set_rank(n.id, None)
            return
        for n in names:
            if self.iterable_batched(it):
                self.batched.add(n)
            self._set_rank(n, None)

    def iterable_batched(self, it):
        return any(self.is_batched(a) for a in iterated_atoms(it, self.ctx))

    def value_batched(self, v):
        if isinstance(v, gast.Attribute) and v.attr in _SHAPE_ATTRIBUTES:
            return False
        if isinstance(v, gast.Call):
            obj = self._resolve(v.func)
            fname = getattr(obj, "__name__", None)
            if _runtime_name(obj) == "namespace_of" or _runtime_name(obj) in _SHAPE_HELPERS:
                return False  # the same for every example (of an outer batch too)
            if _runtime_name(obj) == "batched" and not any(self.names_batched(a) for a in v.args):
                return False  # a constant broadcast like= a batched value: its dtype only
            if _runtime_name(obj) == "batch_index":
                return self.names_batched(v.args[0])  # (of its target: only whether it is a list)
            if fname in _UNBATCHED_CALLS and getattr(obj, "__module__", "") in (
                    "builtins", "numpy", "numpy._core.fromnumeric"):
                return False
            if self._is_random(v):
                return self.randomness == "different" or self._random_parameters_batched(v)
            if obj is sorted and v.args and self.kind.get(getattr(v.args[0], "id", None)) == "dict":
                return False  # the keys of a dict: the same for every example
            if isinstance(v.func, gast.Attribute) and v.func.attr == "keys" and not v.args \
                    and self.kind.get(getattr(v.func.value, "id", None)) in _CONTAINERS:
                return False  # d.keys() too
        return self.names_batched(v)

    def _resolve(self, func):
        if isinstance(func, gast.Attribute) and not self._is_reference(func):
            return MISSING
        return self.ctx.resolve(func)

    def _is_reference(self, e):
        while isinstance(e, gast.Attribute):
            e = e.value
        return isinstance(e, gast.Name) and not self.ctx.is_local(e.id)

    def _is_random(self, call_):
        obj = self._resolve(call_.func)
        mod = getattr(obj, "__module__", "") or ""
        if mod.startswith("numpy.random"):
            return True
        func = call_.func
        if isinstance(func, gast.Attribute):
            recv = self.ctx.resolve(func.value) if self._is_reference(func.value) else MISSING
            import numpy

            return isinstance(recv, (numpy.random.Generator, numpy.random.RandomState))
        return False


    # -- emission -------------------------------------------------------------------

    def run(self):
        fn = self.fn
        name_ = self.ctx.namer.fresh(f"{fn.name}_{self.suffix}")
        self.B = self.ctx.namer.fresh("_B")
        first = self.first = next((p for p in self.params if p in self.given), None)
        body = []
        if first is not None:
            body.append(assign(self.B, call(self.rt("batch_size"), [name(first)])))
            # a parameter given unbatched but later assigned batched values
            # holds a batched value from the start
            for p in self.params:
                if p in self.batched and p not in self.given:
                    helper = "batched_copy" if p in self.mutated else "batched"
                    body.append(assign(p, self._broadcast(helper, name(p))))
        if self.entry and not hasattr(self.ctx.parsed.fn, "__s2s_origin__"):
            # inputs the function changes in place are copied, so the caller's
            # arrays stay intact (as in jvp; a batched copy copies already; code
            # s2s generated, batched again, copies them itself)
            changed = self.mutated | container_mutated_names(fn)
            body.extend(assign(p, call(self.rt("fresh_copy"), [name(p)])) for p in self.params
                        if p in changed and (p in self.given or p not in self.batched))
        if self.randomness == "error":
            for node in walk(fn):
                if isinstance(node, gast.Call) and self._is_random(node):
                    stmt = next(st for st in walk_statements(fn.body)
                                if any(n is node for n in walk(st)))
                    raise self.ctx.error(
                        UnsupportedSyntaxError, stmt,
                        "a random draw inside vmap/jacfwd with randomness='error'",
                        "pass randomness='same' (one draw shared by the batch) or "
                        "'different' (a draw per batch element)",
                    )
        reason = self._fallback_reason(fn.body)
        if reason is not None:
            body = [comment(reason)]
            positional = [a.id for a in fn.args.args]
            keyword = self.kwonly
            # (the arguments given batched: one later assigned batched values, a list
            # filled with them, say, comes in unbatched)
            flags = gast.Tuple(elts=[const(p in self.given) for p in positional + keyword],
                               ctx=gast.Load())
            looped = call(self.rt("loop_batched"), [
                name(self.ctx.bind(f"{fn.name}_each", self._each())),
                gast.Tuple(elts=[name(p) for p in positional + keyword], ctx=gast.Load()), flags,
                gast.Tuple(elts=[const(k) for k in keyword], ctx=gast.Load())])
            body.append(gast.Return(value=looped))
            self.fallback = reason
        else:
            body.extend(self.body(fn.body))
            if self.uses_outer and self.entry:
                body = _dense_returns(body, self.rt("dense_tree"))
        new = gast.FunctionDef(name=name_, args=clone(fn.args), body=body,
                               decorator_list=[], returns=None, type_comment=None,
                               type_params=[])
        new.lineno = fn.lineno
        if first is not None and reason is None \
                and not any(n.id == self.B for st in body[1:] for n in name_nodes(st)):
            del new.body[0]  # ``_B = _s2s.batch_size(x)``, read nowhere: a call per call saved
        views.run(new, self.rt("identity_matmul").value.id, self.mutated)
        new.body = self.ctx.prologue(new) + new.body
        return new

    def _each(self):
        """The function for one batch element, for the loop over the batch:
        the function itself through the namespace (``np.ones(n)`` makes an
        array of the call's library), batched over nothing."""
        from .transform import batch_function

        per_example = {p: r for p, r in self.ranks.items() if p in self.params}
        return batch_function(self.ctx.parsed.fn, (), per_example, randomness=self.randomness,
                              suffix="each", shape=self.ctx.parsed.shape).fn

    def rt(self, helper):
        from . import runtime

        return self.ctx.ref(getattr(runtime, helper))

    def _broadcast(self, helper, value):
        """``_s2s.batched(value, _B, xp=xp)`` (or ``batched_copy``): ``value``
        broadcast over the batch, as an array of the call's library when it
        is a Python number; a float or complex literal ``like`` the batched
        input that gives the batch size (``s = 0.0`` summing float32 values
        stays float32, ``s = 0j`` complex64, as in NumPy, where a Python
        number takes the array's precision)."""
        keywords = [gast.keyword(arg="xp", value=name(self.ctx.xp))]
        # (not for a writable copy: an update in place would keep float32 where
        # NumPy's Python float would take float64 values as they are)
        if isinstance(value, gast.Constant) and type(value.value) in (float, complex) \
                and self.first and helper == "batched":
            keywords.append(gast.keyword(arg="like", value=name(self.first)))
        return call(self.rt(helper), [value, name(self.B)], keywords)

    def _fallback_reason(self, stmts):
        sources = {s.targets[0].id: s.value for s in walk_statements(stmts)  # (for _selects)
                   if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)}
        for s in walk_statements(stmts):
            test = getattr(s, "test", None)
            if isinstance(s, (gast.If, gast.While)) and self.names_batched(test):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the test on {where} depends on batched values")
            target = s.targets[0] if isinstance(s, gast.Assign) else None
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) \
                    and (self.kind.get(target.value.id) in _CONTAINERS
                         or self.kind.get(target.value.id) is None
                         and target.value.id in self.opaque_items) \
                    and self.names_batched(target.slice):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the store on {where} puts a value at a "
                        "different place of a list or dict per example")
            value = getattr(s, "value", None)
            if isinstance(value, gast.Subscript) and self.names_batched(value.slice) \
                    and self._selects(value.slice, sources):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the index on {where} selects a number of "
                        "elements that differs per example")
            if self._is_set(value, sources) and self.names_batched(value):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the set on {where} holds batched values "
                        "(a set per example)")
            if isinstance(value, gast.JoinedStr) and self.names_batched(value):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the f-string on {where} formats batched values "
                        "(a string per example)")
            own = [getattr(s, f) for f in ("value", "iter") if isinstance(getattr(s, f, None), gast.AST)]
            if any(isinstance(n, gast.Call) and self._resolve(n.func) is range
                   and self.names_batched(n) for e in own for n in walk_values(e)):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the range on {where} depends on batched values "
                        "(a number of iterations per example)")
            if isinstance(s, gast.Try) and s.handlers and not self.directions_only \
                    and any(self.names_batched(st) for st in s.body):
                where = self.ctx.parsed.where(s.lineno)
                return (f"loops over the batch: the try on {where} computes batched values "
                        "(an exception is caught per example)")
        return None

    def _is_set(self, value, sources):
        """Whether ``value`` builds a set (a display, a comprehension, ``set(...)``)
        or adds to one (``s.add(v)`` of a set ``s`` of ``sources``)."""
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                and isinstance(value.func.value, gast.Name) and not self._is_reference(value.func):
            return self._is_set(sources.get(value.func.value.id), {})
        return isinstance(value, (gast.Set, gast.SetComp)) or isinstance(value, gast.Call) \
            and self._resolve(value.func) in (set, frozenset)

    def _selects(self, index, sources):
        """Whether ``index`` (its names, through their assignments: ``sources``,
        name -> value) is a mask (computed, or a boolean parameter) or what
        ``nonzero`` found: a selection whose size depends on the values, so
        examples select different numbers of elements."""
        todo, seen = [n.id for n in name_nodes(index)], set()
        while todo:
            found = todo.pop()
            if found in self.masks:
                return True
            value = sources.get(found)
            if value is None or id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, gast.Compare):
                return True
            if isinstance(value, gast.Call):
                path = registry.numpy_path(self._resolve(value.func))
                if path in _SELECTIONS or (path == "where" and len(value.args) == 1):
                    return True
            if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Name, gast.Tuple)) or (
                    isinstance(value, gast.Subscript)):  # masks combined, or items of nonzero
                todo.extend(n.id for n in name_nodes(value))
        return False

    def prepare(self, s):
        """``x.shape`` and ``len(x)`` of batched values, per example."""
        for field in ("value", "test", "iter", "slice"):
            if isinstance(getattr(s, field, None), gast.AST):
                setattr(s, field, self.fix_shapes(getattr(s, field)))
        if isinstance(s, gast.Assign):
            s.targets = [self.fix_shapes(t) if isinstance(t, gast.Subscript) else t
                         for t in s.targets]
        return s

    def stmt_For(self, s):
        if self.iterable_batched(s.iter):
            s.iter = self._batched_iterable(s.iter, s.target)
        s.body = self.nested(s.body)
        s.orelse = self.nested(s.orelse) if s.orelse else []
        return self._after_compound(s)

    def _batched_iterable(self, it, target=None):
        """The iterable of a loop over batched values, per example; ``target``:
        what each item is assigned to (a tuple: the item is unpacked)."""
        kind, parts = iteration(it, self.ctx)
        elts = target.elts if isinstance(target, gast.Tuple) else None
        if kind in ("atom", "reversed"):
            atom = parts
            if self.is_batched(atom) and self.kind.get(getattr(atom, "id", None)) not in _CONTAINERS:
                helper = "iter_unpacked_batched" if elts is not None else "iter_batched"
                new = call(self.rt(helper), [atom])
                if kind == "reversed":
                    return call(name("reversed"), [call(name("list"), [new])])
                return new
            return it
        if kind == "enumerate":
            it.args[0] = self._batched_iterable(
                parts, elts[1] if elts is not None and len(elts) == 2 else None)
            return it
        if kind == "zip":
            targets = elts if elts is not None and len(elts) == len(parts) else [None] * len(parts)
            it.args = [self._batched_iterable(p, t) for p, t in zip(parts, targets)]
            return it
        return it

    def stmt_Return(self, s):
        if not self.given:
            return [s]  # batched over nothing: the function for one element
        if isinstance(s.value, gast.Name) and s.value.id in self.return_displays:
            return [s]  # items keep their own batchedness (return_batched says which)
        if s.value is not None and not self.is_batched(s.value) and not isinstance(
                s.value, gast.Constant):
            s.value = self._broadcast("batched", s.value)
        return [s]

    def stmt_AugAssign(self, s):
        x = s.target.id
        if x not in self.batched:
            return [s]
        if x in self.rebound:
            rebinding = assign(x, gast.BinOp(left=name(x), op=s.op, right=s.value))
            rebinding.lineno = getattr(s, "lineno", None)
            return self.stmt_Assign(rebinding)
        if self.is_batched(s.value):
            # axes after the batch axis up to the target's rank (at run time where a
            # rank is unknown): a per-example number must not meet the last axis
            s.value = self._align([name(x), s.value])[1]
        return [s]

    def stmt_Expr(self, s):
        v = s.value
        # a method of a batched local (a container of batched items, as a rule)
        method = v.func.attr if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
            and isinstance(v.func.value, gast.Name) and v.func.value.id in self.batched else None
        if method in ("append", "insert", "extend", "setdefault", "update"):
            # what goes into a batched container gets the batch axis (keys and positions don't)
            into = v.func.value.id
            v.args = [self._ensure_item(into, a) if i == len(v.args) - 1 else a
                      for i, a in enumerate(v.args)]
            for k in v.keywords:  # d.update(w=...)
                k.value = self._ensure_item(into, k.value)
            return [s]
        if method in ("reverse", "clear", "pop", "popitem") \
                and self.kind.get(v.func.value.id) in ("list", "container") \
                and not any(self.is_batched(a) for a in v.args):
            return [s]  # the same change of the list (of batched items) in every example
        if method in ("remove", "sort"):  # (per example, on copies: lost)
            raise self.ctx.unsupported(
                s, f"s2s cannot batch .{method}() of a list whose items differ from "
                "example to example", "build a new list (sorted(items), a comprehension)")
        if isinstance(v, gast.Call) and self.names_batched(v):
            value, pre = self.batch_value(v, None, s)
            return pre + [gast.Expr(value=value)]
        return [s]

    def _ensure_item(self, container, atom):
        """``atom`` with the batch axis, to go into the list or dict
        ``container``: a writable copy of each example where an item of it is
        updated in place later (``r.append(y); r[1] *= x``: a broadcast view
        is read-only)."""
        if container in self.mutated and not self.is_batched(atom) \
                and not (isinstance(atom, gast.Constant) and atom.value is None):
            return self._broadcast("batched_copy", atom)
        return self._ensure(atom)

    def _ensure(self, atom):
        """``atom`` with the batch axis (broadcast if it has none; None stays:
        it is no value, e.g. a missing tangent)."""
        if self.is_batched(atom) or (isinstance(atom, gast.Constant) and atom.value is None):
            return atom
        return self._broadcast("batched", atom)

    def stmt_Assign(self, s):
        target = s.targets[0]
        if isinstance(target, gast.Subscript):
            return self._store(s, target)
        if isinstance(target, gast.Tuple):
            if self.is_batched(s.value):
                if not self._holds_items(s.value):
                    # x, y, z = u of a batched array: along its first per-example axis,
                    # not the batch axis (a tuple or list passes through as it is)
                    s.value = call(self.rt("iter_batched"), [s.value])
            elif any(e.id in self.batched for e in target.elts):
                # (a, b = np.split(c): parts written in place need writable copies)
                s.value = self._broadcast("batched_copy", s.value) if any(
                    e.id in self.mutated for e in target.elts) else self._ensure(s.value)
            return [s]
        if isinstance(target, gast.Attribute):
            if isinstance(target.value, gast.Name) and target.value.id in self.batched \
                    and not hasattr(numpy.ndarray, target.attr):  # (not a.real = v)
                s.value = self._ensure(s.value)  # a field of a record of batched fields
                return [s]
            if self.names_batched(s.value):
                raise self.ctx.unsupported(s, "s2s cannot batch an attribute assignment")
            return [s]
        z = target.id
        if z not in self.batched:
            return [s]
        if isinstance(s.value, (gast.List, gast.Dict)) and not (
                getattr(s.value, "elts", None) or getattr(s.value, "keys", None)):
            return [s]  # an empty list or dict holds no unbatched leaf
        if not self.value_batched(s.value):
            mutable = z in self.mutated
            helper = "batched_copy" if mutable else "batched"
            if isinstance(s.value, (gast.Name, gast.Constant)) or (
                    isinstance(s.value, gast.Attribute)):
                s.value = self._broadcast(helper, s.value)
                return [s]
            tmp = self.ctx.temp()
            return [assign(tmp, s.value), assign(z, self._broadcast(helper, name(tmp)))]
        # an item of one example is a copy (a NumPy scalar), a column of the
        # batch a view: copied where the item or its array is written later
        item = isinstance(s.value, gast.Subscript) and z in self.mutated \
            and self.rank_of(s.value) == 0
        value, pre = self.batch_value(s.value, z, s)
        if item and isinstance(value, gast.Subscript):
            value = call(gast.Attribute(value=value, attr="copy", ctx=gast.Load()), [])
        s.value = value
        return pre + [s]

    def _store(self, s, target):
        base = target.value
        if isinstance(base, gast.Name) and self.names_batched(s.value) \
                and base.id in self.attribute_names:
            raise self.ctx.unsupported(
                s, "s2s cannot batch a write of values that differ per batch element into an "
                "array an object holds (the object is the same for every element)")
        if not isinstance(base, gast.Name) or base.id not in self.batched:
            return [s]
        value = s.value
        if self.kind.get(base.id) in _CONTAINERS:
            # (an item updated in place later needs a writable copy of each example)
            s.value = self._broadcast("batched_copy", value) if base.id in self.mutated \
                and not self.is_batched(value) else self._ensure(value)
            return [s]
        if base.id in self.opaque_items and self.kind.get(base.id) is None:
            return self._store_item(s, target)
        if self.names_batched(target.slice):
            s2 = gast.Expr(value=call(self.rt("setitem_batched"), [
                base, _index_value(target.slice), value, const(self.is_batched(value)),
                self._index_flags(target.slice)]))
            return [s2]
        index, again = target.slice, False
        if isinstance(index, gast.Call) and _runtime_name(self._resolve(index.func)) \
                == "batch_index":  # batched again: one more batch axis in front
            depth = index.args[1].value if len(index.args) > 1 else 1
            index.args = index.args[:1] + [const(depth + 1)]
            index, again = index.args[0], True
        elif isinstance(index, gast.Name) and self.atom_rank(index) is None:
            # an index whose type is known only at run time, a tuple perhaps
            target.slice = call(self.rt("batch_index"), [index])
        else:
            target.slice = _prepend_slice(index)
        if self.is_batched(value):
            r_target = _index_rank(self.rank.get(base.id), _strip_first(target.slice), self)
            if r_target is None and not again:
                # an index whose dtype (a mask takes as many axes as it has, an
                # integer array one) or rank is known only at run time: an argument
                s.value = call(self.rt("lift_region"), [value, base, _index_value(index)])
            else:  # (batched again, the first batching lifted it)
                s.value = self._lift(value, r_target)
        return [s]

    def _store_item(self, s, target):
        """``r[k] = v`` where ``r`` (``rows[0]``, an item of a list argument)
        may be a list or dict, each item holding every example, or an array,
        the batch axis in front: ``_s2s.batch_index`` and ``_s2s.lift_region``
        leave the index and the value as they are for a list or dict. (Batched
        again, the index is the first batching's ``batch_index``, in a
        temporary: the new one goes in front of it.)"""
        base, index = target.value, target.slice  # (not batched: see _fallback_reason)
        s.value = self._broadcast("batched_copy", s.value) if base.id in self.mutated \
            and not self.is_batched(s.value) else self._ensure(s.value)
        target.slice = call(self.rt("batch_index"), [_index_value(index)],
                            [gast.keyword(arg="target", value=name(base.id))])
        s.value = call(self.rt("lift_region"), [s.value, base, _index_value(index)])
        return [s]

    # -- values ------------------------------------------------------------------------

    def _lift(self, atom, target_rank):
        """A batched operand with axes inserted up to ``target_rank``."""
        r = self.atom_rank(atom)
        if r is None or target_rank is None:
            if target_rank is None:
                return atom
            return call(self.rt("lift"), [atom, const(target_rank)])
        if r >= target_rank:
            return atom
        index = [gast.Slice(lower=None, upper=None, step=None)] + [const(None)] * (target_rank - r)
        return gast.Subscript(value=atom, slice=gast.Tuple(elts=index, ctx=gast.Load()),
                              ctx=gast.Load())

    def batch_value(self, v, z, s):
        """(new value, statements before it) for ``z = v`` with batched operands."""
        if isinstance(v, gast.Name):
            return v, []
        if isinstance(v, (gast.Tuple, gast.List)):
            flags = self.return_displays.get(z)
            v.elts = [e if isinstance(e, gast.Starred) or (flags is not None and not flags[i])
                      else self._ensure_item(z, e) for i, e in enumerate(v.elts)]
            return v, []
        if isinstance(v, gast.Dict):
            v.values = [self._ensure_item(z, e) for e in v.values]
            return v, []
        if isinstance(v, gast.Attribute):
            return self._attribute(v), []
        if isinstance(v, gast.Subscript):
            return self._subscript(v), []
        if isinstance(v, gast.BinOp) and self._sequence_op(v):
            if isinstance(v.op, gast.Add):  # concatenation: every item batched
                v.left, v.right = self._ensure(v.left), self._ensure(v.right)
                return v, []
            if not (self.is_batched(v.left) and self.is_batched(v.right)):
                return v, []  # repetition by an unbatched count
            return self._map(v, [v.left, v.right], None), []
        if isinstance(v, gast.BinOp):
            if isinstance(v.op, gast.MatMult):
                done = self._matmul(v.left, v.right, lambda a, b: gast.BinOp(
                    left=a, op=gast.MatMult(), right=b)) or self._matmul_any_rank(v.left, v.right)
                return (done if done is not None else self._map(v, [v.left, v.right], None)), []
            rule = registry.lookup(BINOPS[type(v.op)])
            if rule is not None and rule.batching in ("elementwise", "python"):
                pre = []  # (an operand that is a list of batched arrays: NumPy's array of it)
                v.left, v.right = self._stacked(v.left, pre), self._stacked(v.right, pre)
                outer = self._outer_product(v) or self._identity_scale(v)
                if outer is not None:
                    return outer, pre
                v.left, v.right = self._align([v.left, v.right])
                return v, pre
            return self._map(v, [v.left, v.right], lambda a: gast.BinOp(
                left=a[0], op=type(v.op)(), right=a[1])), []
        if isinstance(v, gast.UnaryOp):
            if isinstance(v.op, gast.Not):
                return call(self._xp("logical_not"), [v.operand]), []
            return v, []
        if isinstance(v, gast.Compare):
            return self._compare(v), []
        if isinstance(v, gast.Call):
            return self._call(v, z, s)
        return v, []

    def _copied_whole(self, kind, source):
        """Whether ``dict(source)`` (``list(source)``) is a shallow copy of a
        dict (list) the function builds, holding the same batched items: not
        a dict of (key, value) pairs, nor a list of a batched array's rows."""
        if source not in self.containers:
            return False
        display = gast.Dict if kind is dict else gast.List
        values = [n.value for n in walk(self.fn) if isinstance(n, gast.Assign)
                  and isinstance(n.targets[0], gast.Name) and n.targets[0].id == source]
        return bool(values) and all(isinstance(v, display) for v in values)

    def _outer_product(self, v):
        """``a * c`` with ``a`` a batched vector and ``c`` an unbatched matrix
        (a value of an inner batch level, or a matrix of the user's): the
        product of the two, kept factored (``s2s.outer``) until a sum over
        its last axis. Not where anything is updated in place."""
        if not isinstance(v.op, gast.Mult) or self.mutated:
            return None
        for a, c in ((v.left, v.right), (v.right, v.left)):
            if isinstance(a, gast.Name) and isinstance(c, gast.Name) and self.is_batched(a) \
                    and not self.is_batched(c) and self.atom_rank(a) == 1 \
                    and self.atom_rank(c) == 2:
                self.uses_outer = True
                return call(self.rt("outer_product"), [a, c])
        return None

    def _identity_scale(self, v):
        """``c * x_dot`` with ``x_dot`` jacfwd's identity basis of a vector
        and ``c`` an unbatched vector (a derivative coefficient): the
        diagonal matrix of ``c`` (``_s2s.identity_scale``), without the n x n
        multiplication."""
        if not isinstance(v.op, gast.Mult):
            return None
        for a, c in ((v.left, v.right), (v.right, v.left)):
            if self._identity(a) and isinstance(c, gast.Name) and not self.is_batched(c) \
                    and self.atom_rank(c) == 1:
                return call(self.rt("identity_scale"), [a, c])
        return None

    def _compare(self, v):
        operands = [v.left, *v.comparators]
        if all(isinstance(o, (gast.Name, gast.Constant)) for o in operands):
            aligned = self._align(operands)
            v.left, v.comparators = aligned[0], aligned[1:]
        return v

    def _align(self, operands):
        """Elementwise operands: batched ones get axes up to the result's rank."""
        ranks = [self.atom_rank(o) for o in operands]
        batched = [self.is_batched(o) for o in operands]
        if not any(batched):
            return operands
        if any(r is None for r, o in zip(ranks, operands) if _arrayish(o)):
            return [call(self.rt("align_batched"), [o, gast.Tuple(
                elts=[p for p in operands if _arrayish(p)], ctx=gast.Load()),
                gast.Tuple(elts=[const(self.is_batched(p)) for p in operands if _arrayish(p)],
                           ctx=gast.Load())]) if b else o
                    for o, b in zip(operands, batched)]
        target = max(r for r, o in zip(ranks, operands) if _arrayish(o))
        return [self._lift(o, target) if b else o for o, b in zip(operands, batched)]

    def _shape_query(self, v):
        """``len(x)``, ``np.shape(x)``... of a batched x: per example."""
        obj = self._resolve(v.func)
        path = registry.numpy_path(obj)
        container = v.args and self.kind.get(getattr(v.args[0], "id", None)) in _CONTAINERS
        if obj is len and not container:
            return call(self.rt("len_batched"), v.args)
        if path in ("shape", "ndim", "size") and len(v.args) == 1 and not v.keywords \
                and not container:
            attr_ = gast.Attribute(value=v.args[0], attr=path, ctx=gast.Load())
            return self._attribute(attr_)
        if path == "size" and len(v.args) == 2:
            return call(v.func, [v.args[0], _shift(v.args[1], self)])
        if _runtime_name(obj) == "batch_size" and v.args and not v.keywords:
            # an inner batch's size: its axis is one further in now
            axis = v.args[1].value if len(v.args) > 1 else 0  # a constant the batcher wrote
            return call(v.func, [v.args[0], const(axis + 1)])
        if path in ("shape", "ndim", "size") or obj is len or _runtime_name(obj) in _SHAPE_HELPERS:
            # every example has the same shape: ask the first one
            flags = gast.Tuple(elts=[const(self.is_batched(a)) for a in v.args], ctx=gast.Load())
            return call(self.rt("call_first_example"), [v.func, flags, *v.args])
        return v

    def _attribute(self, v):
        if v.attr == "shape":
            return gast.Subscript(value=v, slice=gast.Slice(lower=const(1), upper=None, step=None),
                                  ctx=gast.Load())
        if v.attr == "ndim":
            return gast.BinOp(left=v, op=gast.Sub(), right=const(1))
        if v.attr == "size":
            return gast.BinOp(left=v, op=gast.FloorDiv(), right=name(self.B))
        if v.attr == "flat":  # (one flat iterator would run across the examples)
            return call(self.rt("flat_batched"), [v.value])
        return v

    def _subscript(self, v):
        base = v.value
        if self.is_batched(base) and not self.names_batched(v.slice):
            if self.kind.get(getattr(base, "id", None)) in _CONTAINERS:
                return v
            if self.kind.get(getattr(base, "id", None)) != "array":
                return call(self.rt("getitem_batched"), [base, _index_value(v.slice)])
            if _advanced_count(v.slice) >= 2:
                return call(self.rt("getitem_batched"), [base, _index_value(v.slice)])
            if isinstance(v.slice, gast.Name) and self.atom_rank(v.slice) is None:
                # an index whose type is known only at run time, a tuple perhaps (as _store)
                v.slice = call(self.rt("batch_index"), [v.slice])
                return v
            v.slice = _prepend_slice(v.slice)
            return v
        return call(self.rt("gather_batched"), [
            base, const(self.is_batched(base)), _index_value(v.slice), self._index_flags(v.slice)])

    def _index_flags(self, index):
        """Whether a subscript's index is batched; for a tuple, which entries
        are (an unbatched array next to a batched one is the same for every
        example)."""
        if isinstance(index, gast.Tuple):
            return gast.Tuple(elts=[const(self.names_batched(e)) for e in index.elts],
                              ctx=gast.Load())
        return const(self.names_batched(index))

    def _call(self, v, z, s):
        func = v.func
        if isinstance(func, gast.Attribute) and not self._is_reference(func):
            return self._method(v), []
        obj = self.ctx.resolve(func)
        if self._is_random(v):
            return self._random(v, s), []
        if obj in (dict, list) and len(v.args) == 1 and not v.keywords \
                and isinstance(v.args[0], gast.Name) and self._copied_whole(obj, v.args[0].id):
            return v, []  # dict(p) of a dict of the function's: the same batched arrays
        stacked = self._stacked_operand(v, obj)
        if stacked:  # np.mean([x, y], axis=0): the list as one array, batch axis first
            out, more = self._call(v, z, s)
            return out, stacked + more
        done = self._dynamic_call(v, obj, s)
        if done is None:
            done = batching_rules.batch_call(self, v, obj)
        if done is not None:
            return done, []
        rule = registry.lookup(obj)
        path = registry.numpy_path(obj)
        if rule is not None and (unpacks(v.args, v.keywords)
                                 or any(self.is_batched(k.value) for k in v.keywords)):
            # a batched keyword argument, or *args/**kwargs (which parameter gets
            # which value is known at run time only): per element
            return self._map(v, v.args, None), []
        helper = _runtime_name(obj)
        if helper in TANGENT_HELPERS:
            pre = []  # (a list display of batched values: NumPy's array of it, batch axis first)
            v.args = [self._stacked(a, pre) for a in v.args]
            done = self._tangent_helper(v, helper)
            if done is not None:
                return done, pre
            if pre:
                return self._map(v, v.args, None), pre
        if helper == "batched" and not any(self.is_batched(a) for a in v.args):
            return v, []  # (only like= batched: a dtype, the same for every example)
        if helper in ("batched", "batched_copy") and self.is_batched(v.args[0]) \
                and not self.is_batched(v.args[1]):
            # an inner batch axis put after this (outer) batch axis
            return call(self.rt(f"{helper}_under"), v.args, v.keywords), []
        if helper == "view_batched" and self.is_batched(v.args[0]) \
                and not any(self.is_batched(a) for a in v.args[1:]):
            lead = next((k for k in v.keywords if k.arg == "lead"), None)
            if lead is None:
                v.keywords.append(gast.keyword(arg="lead", value=const(2)))
            else:
                lead.value = const(lead.value.value + 1)  # (a constant the batcher wrote)
            return v, []  # one more outer batch axis in front
        if helper in ("batched_under", "batched_copy_under", "getitem_batched") \
                and len(v.args) >= 2 and self.is_batched(v.args[0]) \
                and not any(self.is_batched(a) for a in v.args[1:]):
            depth = v.args[2].value if len(v.args) > 2 else 1  # a constant the batcher wrote
            v.args = v.args[:2] + [const(depth + 1)]
            return v, []  # one more outer batch axis in front
        if helper == "tangent_copy" and len(v.args) == 2 and self.is_batched(v.args[1]) \
                and not self.is_batched(v.args[0]):
            v.args[0] = self._broadcast("batched", v.args[0])  # (copied: one per example)
            return v, []
        if helper == "own_tangents" and z in self.mutated:
            # a callee's result whose items change in place: batched, they may be
            # read-only broadcast views (of values the same in every example)
            if not self.is_batched(v.args[0]):
                return self._broadcast("batched_copy", v.args[0]), []
            return call(self.rt("fresh_copy"), v.args), []
        if helper in ("fresh_copy", "tangent_copy", "zeros_like_tree", "dict_tangent",
                      "own_tangents"):
            return v, []  # batched the same way as their argument (the items of a dict)
        if helper == "identity_matmul" and not self.is_batched(v.args[0]):
            return v, []  # a copy of its second argument: batched as that is
        if helper == "dense_tree":
            return v, []  # batched the same way as its argument
        if helper == "identity_scale" and len(v.args) == 2 and not self.is_batched(v.args[0]):
            # the coefficient once more batched (hessian): the product c * basis of
            # a batched vector and a matrix, batched as such (kept factored)
            basis, c = v.args
            product = gast.BinOp(left=c, op=gast.Mult(), right=basis)
            outer = self._outer_product(product)
            if outer is None:
                product.left, product.right = self._align([c, basis])
            return outer or product, []
        if helper == "outer_product" and len(v.args) == 2:
            # a[:, None] * c once more batched: the product itself, axes aligned
            a, c = v.args
            left = _index(a, [_full(), _full(), const(None)] if self.is_batched(a)
                          else [const(None), _full(), const(None)])
            right = _index(c, [_full(), const(None)]) if self.is_batched(c) else c
            return gast.BinOp(left=left, op=gast.Mult(), right=right), []
        if helper == "tuple_like":
            v.args = v.args[:1] + [self._ensure(a) for a in v.args[1:]]
            return v, []
        if helper is not None and rule is None:
            return self._map(v, v.args, None), []  # never transform s2s's own helpers
        if rule is None:
            if type(obj) is types.MethodType and user_function(obj) and self.callee is not None \
                    and not unpacks(v.args, v.keywords):
                if _has_varargs(obj.__func__):  # (a decorated method: its *args would hold
                    return self._map(v, v.args, None), []  # the receiver, never batched)
                # m.forward(x): its class's function, called as forward(m, x)
                binding = self.callee(obj, v, self)
                return call(name(binding), method_call(obj, v)[1], v.keywords), []
            if isinstance(obj, types.FunctionType) and self.callee is not None:
                if unpacks(v.args, v.keywords):  # its parameters' values known at run time
                    return self._map(v, v.args, None), []
                if _has_varargs(obj) and any(self.is_batched(a) for a in v.args):
                    # the callee's *args tuple is batched as a whole: every item
                    v.args = [self._ensure(a) for a in v.args]
                binding = self.callee(obj, v, self)
                result = call(name(binding), v.args, v.keywords)
                flags = self.callee_items(obj, v, self) if self.callee_items else None
                if flags is not None and not all(flags) and z not in self.item_batched:
                    # used as a whole: every item batched, as a batched value must be
                    result = call(self.rt("batched_items"), [
                        result, gast.Tuple(elts=[const(f) for f in flags], ctx=gast.Load()),
                        name(self.B)], [gast.keyword(arg="xp", value=name(self.ctx.xp))])
                return result, []
            if obj in (len,):
                return call(self.rt("len_batched"), v.args), []
            return self._map(v, v.args, None), []
        kind = rule.batching
        swap = _NAMESPACE_TWINS.get(obj)
        if swap is not None and any(self.is_batched(a) for a in v.args):
            v.func = self._xp(swap)
            v.args = self._align(list(v.args))
            return v, []
        if getattr(obj, "__module__", None) == "math" or obj in (max, min):
            return self._map(v, v.args, None), []
        if obj in (float, int, complex):
            if len(v.args) != 1 or v.keywords:  # complex(real, imag): per example
                return self._map(v, v.args, None), []
            return call(self.rt("scalar_batched"), [v.args[0], func]), []
        if obj is len:
            return call(self.rt("len_batched"), v.args), []
        if path in ("array", "asarray") and v.args and not v.keywords \
                and self.kind.get(getattr(v.args[0], "id", None)) != "array":
            return call(self.rt("array_batched"), [v.args[0]]), []
        if kind == "elementwise" and any(isinstance(a, (gast.List, gast.Tuple)) or
                                         self.kind.get(getattr(a, "id", None)) in ("list", "container")
                                         for a in v.args):
            return self._map(v, v.args, None), []
        if kind == "elementwise" and path not in ("copy", "array", "asarray") or obj is abs:
            # keyword operands (clip's a_min=, where=) align like positional ones
            kws = [k for k in v.keywords if self.is_batched(k.value)
                   or self.atom_rank(k.value) is not None]
            aligned = self._align(list(v.args) + [k.value for k in kws])
            v.args = aligned[:len(v.args)]
            for k, a in zip(kws, aligned[len(v.args):]):
                k.value = a
            return v, []

        if path in ("copy", "array", "asarray", "ascontiguousarray"):
            return v, []
        if path in ("dot", "inner") and len(v.args) == 2 and not v.keywords and 0 in (
                self.atom_rank(v.args[0]), self.atom_rank(v.args[1])):
            a, b = self._align(list(v.args))  # dot or inner with a scalar multiplies
            return gast.BinOp(left=a, op=gast.Mult(), right=b), []
        if path in ("dot", "matmul") and len(v.args) == 2 and not v.keywords:
            ra, rb = (self.atom_rank(v.args[0]), self.atom_rank(v.args[1]))
            if path == "matmul" or ra == 1 or rb in (1, 2):
                # dot and matmul agree unless both have more than two axes
                # (dot pairs every stack of one with every stack of the other)
                done = self._matmul(v.args[0], v.args[1], lambda a, b: gast.BinOp(
                    left=a, op=gast.MatMult(), right=b))
                if done is None and path == "matmul":
                    done = self._matmul_any_rank(v.args[0], v.args[1])
                if done is not None:
                    return done, []
            elif ra is not None and rb is not None:
                # dot sums the last axis of a with the second-to-last of b
                axes = gast.Tuple(elts=[gast.List(elts=[const(ra - 1)], ctx=gast.Load()),
                                        gast.List(elts=[const(rb - 2)], ctx=gast.Load())],
                                  ctx=gast.Load())
                flags = [const(self.is_batched(a)) for a in v.args]
                return call(self.rt("tensordot_batched"), [*v.args, axes, *flags]), []
            return self._map(v, v.args, None), []
        done = self._helper_rule(v, path, func)
        if done is not None:
            return done, []
        if path in ("full_like",) and any(self.is_batched(a) for a in v.args[1:]):
            return self._map(v, v.args, None), []
        if path in ("reshape", "ravel") and v.keywords:
            return self._map(v, v.args, None), []
        if path == "einsum":
            return self._einsum(v), []
        if path in ("reshape", "ravel"):
            return self._reshape(v, path), []
        if path == "transpose":
            return self._transpose(v), []
        if path in AXES or path in AXIS_PAIRS:
            done = self._axes(v, path)
            if done is not None:
                return done, []
        if path in ("zeros_like", "ones_like", "empty_like", "full_like"):
            return v, []
        if path in ("linalg.inv", "linalg.det", "linalg.slogdet", "linalg.eigh") \
                and self.is_batched(v.args[0]):
            return v, []
        return self._map(v, v.args, None), []

    def _helper_rule(self, v, path, func):
        """Primitives batched by one call of a helper, or as they are."""
        args, kws = v.args, v.keywords
        flags = [self.is_batched(a) for a in args]
        if not args:
            return None
        first_only = flags[0] and not any(flags[1:]) and not any(
            self.is_batched(k.value) for k in kws)
        if first_only and path in ("triu", "tril", "linalg.inv", "linalg.det", "linalg.slogdet",
                                   "linalg.eigh", "linalg.eigvalsh", "linalg.cholesky",
                                   "matrix_transpose"):
            return v  # they act on the last two axes and broadcast over the rest
        if path in ("linalg.inv", "linalg.det", "linalg.slogdet", "linalg.eigh") and flags[0]:
            return v
        if path == "linalg.solve" and len(args) == 2 and not kws:
            return self._solve(func, *args)
        if path and path.startswith("fft.") and first_only and not kws and len(args) <= 2 \
                and not (path in _FFT_ALL_AXES and (len(args) == 1 or path.endswith("shift"))):
            return v  # along the last axes: the batch axis is left alone
        if path in ("flipud", "fliplr") and first_only and not kws and len(args) == 1:
            return call(self._xp("flip"), [args[0], const(1 if path == "flipud" else 2)])
        if path == "rot90" and first_only:
            k = args[1] if len(args) > 1 else next((kw.value for kw in kws if kw.arg == "k"),
                                                   const(1))
            axes = args[2] if len(args) > 2 else next(
                (kw.value for kw in kws if kw.arg == "axes"), None)
            axes = self.static_axis(axes) if axes is not None else gast.Tuple(
                elts=[const(0), const(1)], ctx=gast.Load())
            if axes is None:
                return None
            return call(func, [args[0], k], [gast.keyword(arg="axes", value=_shift(axes, self))])
        if path == "diag" and first_only:
            return call(self.rt("diag_batched"), args, kws)
        if path == "pad" and first_only:
            return call(self.rt("pad_batched"), args, kws)
        if path == "tile" and first_only and len(args) == 2 and not kws:
            return call(self.rt("tile_batched"), args)
        if path == "broadcast_to" and first_only and len(args) == 2 and not kws:
            return call(self.rt("broadcast_to_batched"), args)
        if path in ("atleast_1d", "atleast_2d", "atleast_3d") and first_only and len(args) == 1:
            return call(self.rt("atleast_batched"), [args[0], const(int(path[-2]))])
        if path in ("hstack", "vstack", "column_stack") and flags[0] and len(args) == 1 \
                and not kws:
            return call(self.rt("stack_like_batched"), [const(path), args[0]])
        if path in ("outer", "vdot", "inner") and len(args) == 2 and not kws:
            return call(self.rt(f"{path}_batched"), [*args, const(flags[0]), const(flags[1])])
        if path == "tensordot" and len(args) >= 2:
            axes = args[2] if len(args) > 2 else next(
                (kw.value for kw in kws if kw.arg == "axes"), const(2))
            if self.is_batched(axes):
                return None
            return call(self.rt("tensordot_batched"), [args[0], args[1], axes,
                                                       const(flags[0]), const(flags[1])])
        if path == "cross" and not kws and len(args) == 2:
            return call(func, self._align(list(args)))
        if path == "full" and len(args) >= 2 and flags[1] and not flags[0]:
            return call(self.rt("full_batched"), [args[0], args[1], name(self.B)], kws)
        return None

    def _solve(self, func, a, b):
        """``solve(a, b)`` per example: ``b`` a stack of matrices, or of one
        vector (made a column, solved, taken out again). Operands get axes
        after the batch axis up to the larger rank (unbatched ones leading
        axes), so stacks broadcast as in one example and both have as many
        axes (which NumPy 1 needs to read ``b`` as matrices)."""
        ra, rb = self.atom_rank(a), self.atom_rank(b)
        if ra is None or rb is None or ra < 2 or rb < 1:
            return None
        r = max(ra, rb, 2)
        batched_a, batched_b = self.is_batched(a), self.is_batched(b)
        if rb == 1:
            b = _index(b, [const(Ellipsis), const(None)])
        rank_b = max(rb, 2)
        a = self._lift_node(a, ra, r) if batched_a else _index(
            a, [const(None)] * (r + 1 - ra) + [const(Ellipsis)])
        b = self._lift_node(b, rank_b, r) if batched_b else _index(
            b, [const(None)] * (r + 1 - rank_b) + [const(Ellipsis)])
        solved = call(func, [a, b])
        return _index(solved, [const(Ellipsis), const(0)]) if rb == 1 else solved

    def _tangent_helper(self, v, helper):
        tangents, axis_pos, primal_pos = TANGENT_HELPERS[helper]
        if any(self.is_batched(a) for i, a in enumerate(v.args) if i not in tangents):
            return None
        if helper == "clip_tangent":
            v.args = self._align(list(v.args))
            return v
        if axis_pos is not None and len(v.args) > axis_pos:
            axis = v.args[axis_pos]
            r = self.atom_rank(v.args[primal_pos])
            value = _int_const(axis)
            if helper == "cumprod_tangent" and isinstance(axis, gast.Constant) \
                    and axis.value is None:
                return v  # None flattens: the helper keeps leading batch axes itself
            if r is not None and value is not None:
                new = const(value % r - r) if r else axis
            elif r is not None and isinstance(axis, gast.Constant) and axis.value is None:
                new = gast.Tuple(elts=[const(-k) for k in range(r, 0, -1)], ctx=gast.Load())
            else:
                new = call(self.rt("negative_axis"), [axis, v.args[primal_pos]])
            v.args[axis_pos] = new
        return v

    def _method(self, v):
        method = v.func.attr
        if method in ("get", "pop") and len(v.args) == 2 and not self.is_batched(v.args[0]):
            # d.get(key, default): the item or the default, either of them batched
            if self.is_batched(v.func.value):
                v.args[1] = self._ensure(v.args[1])
                return v
            if method == "get":  # an unbatched dict, a batched default: items broadcast
                v.func.value = self._broadcast("batched", v.func.value)
                return v
        if method in ("copy", "astype", "conj", "conjugate", "get", "pop", "values", "items"):
            return v
        if method == "view" and len(v.args) + len(v.keywords) <= 1 \
                and not any(self.is_batched(a) for a in v.args) \
                and all(k.arg == "dtype" and not self.is_batched(k.value) for k in v.keywords):
            # a view of the batch (writes through it must reach the array)
            return call(self.rt("view_batched"), [v.func.value, *v.args], v.keywords)
        if method in ("item", "tolist"):
            return call(gast.Attribute(value=v.func.value, attr="copy", ctx=gast.Load()), [])
        if object_method(v.func, self.ctx, self.batched, self.library) and not v.keywords \
                and not any(isinstance(a, gast.Starred) for a in v.args) \
                and any(self.is_batched(a) for a in v.args):
            # self.other(x): the method of an object this function holds, batched
            # by the same transform when it runs
            return call(self.rt("call_batched"), [
                v.func, gast.Tuple(elts=list(v.args), ctx=gast.Load()),
                _flags([self.is_batched(a) for a in v.args]), const(self.randomness)])
        return self._map(v, [v.func.value] + list(v.args), None)

    def _dynamic_call(self, v, obj, s):
        """Calls whose code is known only at run time: of what vmap/jacfwd
        returned, of a function in a local variable, and ``_s2s.call_jvp`` of
        them. Batched by the same transform when they run (``call_batched``)."""
        from .api import jvp as api_jvp
        from .batch_api import _Transformed

        if (_runtime_name(obj) == "call_jvp" or obj is api_jvp) and len(v.args) == 3 \
                and not v.keywords:
            func, args, tangents = v.args
            if self.names_batched(func):
                raise self._reads_batched(func, s)
            arg_flags, tangent_flags = self._item_flags(args), self._item_flags(tangents)
            if arg_flags is None or tangent_flags is None:
                return self._map(v, v.args, None)
            return call(self.rt("call_jvp_batched"), [
                func, args, tangents, _flags(arg_flags), _flags(tangent_flags),
                const(self.randomness)])
        if obj is not MISSING and not isinstance(obj, _Transformed):
            return None
        if obj is MISSING and not (isinstance(v.func, gast.Name) and self.ctx.is_local(v.func.id)):
            raise self.ctx.unsupported(s, "s2s cannot tell which function is called here")
        if self.is_batched(v.func):
            raise self._reads_batched(v.func, s)
        if v.keywords or any(isinstance(a, gast.Starred) for a in v.args):
            return self._map(v, v.args, None)
        return call(self.rt("call_batched"), [
            v.func, gast.Tuple(elts=list(v.args), ctx=gast.Load()),
            _flags([self.is_batched(a) for a in v.args]), const(self.randomness)])

    def _reads_batched(self, func, s):
        """The error for calling ``func``, a lambda that reads a batched value of
        this function: called with the arguments' examples, it would see the
        whole batch of that value."""
        if isinstance(func, gast.Lambda):
            fname = "the lambda"
            own = {a.id for a in func.args.args + func.args.kwonlyargs}
            read = next((n.id for n in name_nodes(func.body)
                         if n.id not in own and n.id in self.batched), None) or "a value"
        else:
            fname = func.id if isinstance(func, gast.Name) else "the function"
            read = self._captured(fname) or "a value"
        return self.ctx.error(
            UnsupportedSyntaxError, s,
            f"{fname} reads {read}, which differs per batch element; a function "
            f"{'written here' if fname == 'the lambda' else 'held in a variable'} is "
            "batched through its arguments only",
            f"pass {read} to {fname} as an argument")

    def _stacked_operand(self, v, obj):
        """For a NumPy function given a list or tuple of batched arrays where
        it takes one array (``np.mean([x, 2 * x], axis=0)``,
        ``np.transpose([a, b])``: NumPy makes one array of it), that array
        with the batch axis first, in a temporary put in the call's place:
        its assignments (else []). Taken as an array, the list's batch axis
        would come second, and axes land on the wrong ones. Functions that
        take a sequence of arrays as such (concatenate, stack...) keep it."""
        path = registry.numpy_path(obj) if obj is not MISSING else None
        if path is None or path in _SEQUENCE_TAKING or registry.lookup(obj) is None:
            return []
        pre = []
        v.args = [self._stacked(a, pre) for a in v.args]
        return pre

    def _stacked(self, items, pre):
        """``items``, or where it is a list or tuple of batched arrays (a
        display, or a name bound to one) that NumPy takes as one array, a
        temporary holding that array with the batch axis first (its
        assignment appended to ``pre``)."""
        if isinstance(items, gast.Starred) or not self.names_batched(items):
            return items
        display = items if isinstance(items, (gast.Tuple, gast.List)) else self.displays.get(
            getattr(items, "id", None))
        if not isinstance(display, (gast.Tuple, gast.List)):
            return items  # (a dict, or a function's tuple result: not NumPy's array of it)
        ranks = {self.atom_rank(e) for e in display.elts} if isinstance(
            display, (gast.Tuple, gast.List)) and display.elts and not any(
            isinstance(e, gast.Starred) for e in display.elts) else {None}
        tmp = self.ctx.temp()
        self.batched.add(tmp)
        rank = ranks.pop() if len(ranks) == 1 else None
        self._set_rank(tmp, None if rank is None or rank is _BOTTOM else rank + 1)
        self.kind[tmp] = "array"
        pre.append(assign(tmp, call(self.rt("array_batched"), [items])))
        return name(tmp)

    def _holds_items(self, value):
        """Whether ``value`` is known to be a tuple, list or dict (whose items
        carry the batch axis), not a batched array."""
        if isinstance(value, (gast.Tuple, gast.List)) or id(value) in self.tuple_calls:
            return True
        return isinstance(value, gast.Name) and (
            value.id in self.displays or self.kind.get(value.id) in _CONTAINERS
            or value.id in self.item_batched)  # (a callee's tuple result)

    def _captured(self, fname):
        """A batched name the lambda assigned to ``fname`` reads from this
        function (not one of its own parameters), or None."""
        for node in walk(self.fn):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) \
                    and any(isinstance(t, gast.Name) and t.id == fname for t in node.targets):
                own = {a.id for a in node.value.args.args + node.value.args.kwonlyargs}
                for n in name_nodes(node.value.body):
                    if n.id not in own and n.id in self.batched:
                        return n.id
        return None

    def _item_flags(self, atom):
        """Which items of a tuple display (inline or in a variable) are batched.
        A batched variable's display has every item broadcast (``batch_value``)."""
        every = isinstance(atom, gast.Name) and atom.id in self.batched \
            and atom.id not in self.return_displays
        if isinstance(atom, gast.Name) and atom.id in self.displays:
            atom = self.displays[atom.id]
        if isinstance(atom, gast.Tuple) and not any(isinstance(e, gast.Starred) for e in atom.elts):
            return [every or self.is_batched(e) for e in atom.elts]
        return None

    def _map(self, v, operands, build):
        """Fallback: run ``v`` once per batch element (``_s2s.map_batched``)."""
        if isinstance(v, gast.Call):
            # f(*args): the lambda is given args (every item batched) and unpacks it
            operands = [o.value if isinstance(o, gast.Starred) else o for o in operands]
            seen = {id(o) for o in operands}
            operands = list(operands) + [k.value for k in v.keywords
                                         if isinstance(k.value, gast.Name) and id(k.value) not in seen]
        fn = gast.Lambda(args=gast.arguments(
            args=[gast.Name(id=f"_a{i}", ctx=gast.Param(), annotation=None, type_comment=None)
                  for i in range(len(operands))],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=_replace_operands(v, operands))
        flags = gast.Tuple(elts=[const(self.is_batched(o)) for o in operands], ctx=gast.Load())
        return call(self.rt("map_batched"), [fn, flags, name(self.B), *operands])

    def _random(self, v, s):
        if self.randomness == "error":
            raise self.ctx.error(
                UnsupportedSyntaxError, s,
                "a random draw inside vmap/jacfwd with randomness='error'",
                "pass randomness='same' (one draw shared by the batch) or 'different' "
                "(a draw per batch element)",
            )
        if self._random_parameters_batched(v):
            # np.random.normal(loc=x) with x batched: a parameter per example
            if self.randomness == "same":
                raise self.ctx.error(
                    UnsupportedSyntaxError, s,
                    "a random draw whose parameters differ per batch element, with "
                    "randomness='same' (the same draws for every element)",
                    "draw standard values and transform them (x + np.random.normal(size=n)), "
                    "or pass randomness='different'")
            name_ = getattr(v.func, "attr", None) or getattr(v.func, "id", None)
            if name_ in _BROADCASTING_DRAWS and not any(k.arg == "size" for k in v.keywords):
                return v  # independent draws, each with its example's parameters
            return self._map(v, list(v.args), None)  # one draw per example, in turn
        if self.randomness == "same":
            return v
        return call(self.rt("repeat_batched"), [gast.Lambda(args=gast.arguments(
            args=[], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[]), body=v), name(self.B)])


    def _random_parameters_batched(self, v):
        return any(self.names_batched(a) for a in list(v.args) + [k.value for k in v.keywords])

    def _xp(self, attr_):
        return gast.Attribute(value=name(self.ctx.xp), attr=attr_, ctx=gast.Load())


_MISSING_DEFAULT = object()
# NumPy's draws whose parameters broadcast against each other (one draw per element)
_BROADCASTING_DRAWS = {
    "normal", "uniform", "binomial", "poisson", "exponential", "gamma", "beta", "lognormal",
    "laplace", "logistic", "gumbel", "chisquare", "standard_t", "f", "geometric",
    "negative_binomial", "pareto", "rayleigh", "triangular", "vonmises", "wald", "weibull",
    "standard_gamma", "power", "hypergeometric", "logseries", "zipf", "noncentral_chisquare",
    "noncentral_f", "integers", "randint"}


def _twins():
    """math-module functions of scalars -> the namespace function
    that does the same elementwise (what they become on batched values)."""
    import math

    names = {"sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log",
             "sqrt": "sqrt", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "atan": "arctan",
             "asin": "arcsin", "acos": "arccos", "atan2": "arctan2", "hypot": "hypot",
             "fabs": "abs", "log1p": "log1p", "expm1": "expm1", "log10": "log10",
             "log2": "log2", "pow": "power", "asinh": "arcsinh", "acosh": "arccosh",
             "atanh": "arctanh", "radians": "deg2rad", "degrees": "rad2deg",
             "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite"}
    twins = {getattr(math, k): v for k, v in names.items() if hasattr(math, k)}
    return twins


_NAMESPACE_TWINS = _twins()


def _has_varargs(fn):
    import inspect

    return bool(fn.__code__.co_flags & inspect.CO_VARARGS)


def _unpacked_once(fn_node):
    """Names read exactly once, as the value of a tuple unpacking."""
    loads, unpacked = {}, set()
    for node in walk(fn_node):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            loads[node.id] = loads.get(node.id, 0) + 1
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Tuple) \
                and isinstance(node.value, gast.Name):
            unpacked.add(node.value.id)
    return {n for n in unpacked if loads.get(n) == 1}


def _flags(values):
    return gast.Tuple(elts=[const(f) for f in values], ctx=gast.Load())


def _number_accumulators(nodes):
    """Names ``nodes`` (the function's) bind to a Python number literal and
    update only by augmented assignments (``s = 0.0; s += t``), never by a
    store into them."""
    nodes = [n for n in nodes if isinstance(n, gast.Assign)]
    stores = {n.targets[0].value.id for n in nodes if isinstance(n.targets[0], gast.Subscript)
              and isinstance(n.targets[0].value, gast.Name)}
    return number_names(nodes) - stores


def _written_by_helper(call_node, resolve):
    """The name ``y`` of ``_s2s.setitem_batched(y, ...)`` (batched code's
    store at a per-example index, batched again), which writes into ``y``;
    else None."""
    from . import runtime

    if call_node.args and isinstance(call_node.args[0], gast.Name) \
            and resolve(call_node.func) is runtime.setitem_batched:
        return call_node.args[0].id
    return None


# calls whose result may be a view of their first argument
_VIEW_CALLS = VIEW_FUNCTIONS | {"getitem_batched", "flat_batched", "squeeze_batched",
                               "transpose_batched", "flatten_batched", "atleast_batched",
                               "view_batched"}


# NumPy functions that take a sequence of arrays as such (not one array_like)
_SEQUENCE_TAKING = {"concatenate", "stack", "hstack", "vstack", "dstack", "column_stack",
                    "row_stack", "block", "linalg.multi_dot", "meshgrid", "broadcast_arrays",
                    "array", "asarray", "asanyarray", "unstack", "split", "array_split"}


def _view_classes(fn_node, batched, mutated, containers):
    """``(views, held)``. ``views``: for each name of ``batched`` (names
    updated in place), the names it may share memory with through views and
    plain copies of the reference (``v = z[1:]``, ``v = z.flat``, ``v =
    np.reshape(z, s)``, ``w = v``, ``a, b = np.split(z, 2)``, an array a
    list or dict display holds, and ``v = _s2s.getitem_batched(z, ...)`` in
    code batched once already): batched together. ``held``: the same for
    each name of ``mutated``, with the arrays put into one of the lists and
    dicts ``containers`` (``d["a"] = y``, ``lst.append(y)``) too: changed
    together (not batched together: a list of unbatched items may get
    batched ones)."""
    views, held = {}, {}

    def find(parent, x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    def union(a, b, *parents):
        for parent in parents:
            parent[find(parent, a)] = find(parent, b)

    # names bound to what a function returned (a callee's tuple result): its items
    # are arrays of their own, not views of one another (unlike np.split's parts)
    results = {node.targets[0].id for node in walk(fn_node)
               if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name)
               and isinstance(node.value, gast.Call) and not _split_of_name(node.value)}
    for node in walk(fn_node):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript) \
                and isinstance(node.targets[0].value, gast.Name) \
                and node.targets[0].value.id in containers and isinstance(node.value, gast.Name):
            union(node.value.id, node.targets[0].value.id, views, held)  # d["a"] = y
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr in MUTATORS and isinstance(node.func.value, gast.Name):
            for item in node.args + [k.value for k in node.keywords]:  # lst.append(y)
                if isinstance(item, gast.Name):
                    union(item.id, node.func.value.id, held)
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Tuple) and (
                _split_of_name(node.value) or isinstance(node.value, gast.Name)
                and node.value.id not in results):
            # a, b = np.split(z, 2), or a, b = parts: each is a view of z, an item of parts
            whole = node.value.args[0] if isinstance(node.value, gast.Call) else node.value
            for part in node.targets[0].elts:
                if isinstance(part, gast.Name):
                    union(part.id, whole.id, views, held)
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            value = node.value
            if isinstance(value, gast.Subscript) or (
                    isinstance(value, gast.Attribute) and value.attr == "flat"):
                value = value.value
            elif isinstance(value, gast.Call) and value.args and getattr(
                    value.func, "attr", None) in _VIEW_CALLS:
                value = value.args[0]  # xp.reshape(z, ...), or batched code's view
            elif isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                    and value.func.attr == "view":
                value = value.func.value  # z.view(dtype)
            elif _split_of_name(value):
                value = value.args[0]  # parts = np.split(z, 2): a list of views of z
            if isinstance(value, gast.Name):
                union(node.targets[0].id, value.id, views, held)
            elif isinstance(value, (gast.List, gast.Tuple, gast.Dict)):
                # a display holds its arrays themselves: a write through an item
                # (state["u"][1:3] = v, rows[i][:] = v) is a write into them
                for item in value.elts if not isinstance(value, gast.Dict) else value.values:
                    while isinstance(item, gast.Subscript):
                        item = item.value
                    if isinstance(item, gast.Name):
                        union(item.id, node.targets[0].id, views, held)
    return ({m: [n for n in views if find(views, n) == find(views, m)]
             for m in batched if m in views},
            {m: [n for n in held if find(held, n) == find(held, m)] for m in mutated if m in held})


def _split_of_name(value):
    """Whether ``value`` is ``np.split(z, ...)`` (or array_split, hsplit...) of a name."""
    return isinstance(value, gast.Call) and getattr(value.func, "attr", None) in _SPLITS \
        and bool(value.args) and isinstance(value.args[0], gast.Name)


def _assigned_once(fn_node):
    counts = {}
    for node in walk(fn_node):
        targets = []
        if isinstance(node, gast.Assign):
            targets = [node.targets[0]]
        elif isinstance(node, (gast.AugAssign, gast.For)):
            targets = [node.target, node.target]
        for t in targets:
            for n in walk(t):
                if isinstance(n, gast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 1
    return {n for n, c in counts.items() if c == 1}


def _kind(rank):
    """What the spec's rank says a parameter holds: "array" (an int rank), a
    container kind ("dict", "list"; with item ranks or without), or None."""
    if isinstance(rank, int):
        return "array"
    return rank[0] if isinstance(rank, tuple) else rank


def _items_only_read(fn_node, names):
    """The ``names`` that the function only reads items of: every occurrence
    is ``name[constant]`` read, or the value of a tuple unpacking. (Anything
    else, an assignment, an update, a call that gets the container, may
    change what its items are.)"""
    allowed, seen = set(), {}
    for node in walk(fn_node):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                and isinstance(node.ctx, gast.Load) and isinstance(node.slice, gast.Constant):
            allowed.add(id(node.value))
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Tuple) \
                and isinstance(node.value, gast.Name):
            allowed.add(id(node.value))
        elif isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Param):
            seen.setdefault(node.id, []).append(node)
    return [n for n in names if all(id(node) in allowed for node in seen.get(n, []))]


def _single_displays(fn_node):
    """Names assigned exactly once, from a tuple display."""
    counts, displays = {}, {}
    for node in walk(fn_node):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            n = node.targets[0].id
            counts[n] = counts.get(n, 0) + 1
            if isinstance(node.value, (gast.Tuple, gast.List)):
                displays[n] = node.value
        elif isinstance(node, (gast.AugAssign, gast.For)):
            for t in walk(node.target):
                if isinstance(t, gast.Name):
                    counts[t.id] = counts.get(t.id, 0) + 2
    return {n: d for n, d in displays.items() if counts.get(n) == 1}


def _runtime_name(obj):
    from . import runtime

    name_ = getattr(obj, "__name__", None)
    return name_ if name_ and getattr(runtime, name_, None) is obj else None


def _prepend_slice(index):
    full = gast.Slice(lower=None, upper=None, step=None)
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    if parts and isinstance(parts[0], gast.Constant) and parts[0].value is Ellipsis:
        return index
    return gast.Tuple(elts=[full] + list(parts), ctx=gast.Load())


def _strip_first(index):
    """The per-example index of what :func:`_prepend_slice` returned."""
    if not isinstance(index, gast.Tuple) or (
            index.elts and isinstance(index.elts[0], gast.Constant)
            and index.elts[0].value is Ellipsis):
        return index  # (it began with ..., which covers the batch axis: nothing prepended)
    return gast.Tuple(elts=list(index.elts[1:]), ctx=gast.Load())


def _index_value(index):
    """A subscript's index as an ordinary expression (slices as slice(...))."""
    if isinstance(index, gast.Slice):
        return call(name("slice"), [p if p is not None else const(None)
                                    for p in (index.lower, index.upper, index.step)])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return index


def _replace_operands(v, operands):
    mapping = {id(o): i for i, o in enumerate(operands)}
    v = clone(v)
    ops = [clone(o) for o in operands]
    del mapping

    class R(Transformer):
        def visit_Name(self, node):
            for i, o in enumerate(ops):
                if isinstance(o, gast.Name) and o.id == node.id:
                    return gast.Name(id=f"_a{i}", ctx=gast.Load(), annotation=None,
                                     type_comment=None)
            return node

    return R().visit(v)


def _dense_returns(body, dense_tree):
    """Every ``return v`` of the function's own code as ``return dense_tree(v)``:
    factored products (``s2s.outer``) leave the batched code as arrays."""

    class Wrap(Transformer):
        def visit_FunctionDef(self, node):
            return node  # a nested function's returns are its own

        visit_Lambda = visit_FunctionDef

        def visit_Return(self, node):
            if node.value is not None:
                node.value = call(dense_tree, [node.value])
            return node

    wrap = Wrap()
    return [wrap.visit(stmt) for stmt in body]
