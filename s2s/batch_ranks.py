"""Rank inference for the batching transform: the per-example rank (number
of dimensions) of each value of the function being batched, where the code
shows it. The batched code is specialised on the ranks of its inputs; the
ranks of intermediate values decide where a batched operand gets axes
(``x_dot[:, None] * w``) without asking at run time (``_s2s.align_batched``).

``RankInference`` is a mixin of :class:`s2s.batching.Batcher`: it reads the
batcher's ``rank`` table (variable -> rank, None when unknown), which the
batcher's analysis fills to a fixed point (``_BOTTOM``: not reached yet).
"""

import builtins

import gast
import numpy

from . import runtime
from .frontend import MISSING, dotted, static_rank
from .nodes import walk
from .rules import registry
from .rules.batching_axes import AXES, TUPLE_RESULTS

_BOTTOM = object()  # rank not yet known (fixed point start)


class RankInference:
    def atom_rank(self, a):
        if isinstance(a, gast.Constant):
            return 0 if isinstance(a.value, (int, float, complex)) else None
        if isinstance(a, gast.UnaryOp) and isinstance(a.operand, gast.Constant):
            return 0
        if isinstance(a, gast.Name):
            r = self.rank.get(a.id, _BOTTOM if self.ctx.is_local(a.id) else None)
            if r is _BOTTOM:
                return _BOTTOM if self._analysing else None
            if r is None and not self.ctx.is_local(a.id):
                rank = static_rank(self.ctx.resolve(a))
                self.ctx.resolver.depend_on_rank(a.id, rank)
                return rank
            return r
        if isinstance(a, gast.Attribute) and self._is_reference(a):
            value = self.ctx.resolve(a)
            rank = static_rank(value)
            if type(value) is numpy.ndarray:  # (cfg.W of a module or object: rebound)
                self.ctx.resolver.depend_on_rank(dotted(a), rank)
            return rank
        return None

    def rank_of(self, v):
        if isinstance(v, (gast.Set, gast.SetComp)):
            return None  # (no array; its comprehension's names get no rank)
        if self._analysing and any(
                isinstance(n, gast.Name) and self.atom_rank(n) is _BOTTOM for n in walk(v)):
            return _BOTTOM  # an operand not reached yet: decide on a later pass
        if isinstance(v, (gast.Name, gast.Constant)) or (
                isinstance(v, gast.Attribute) and self._is_reference(v)):
            return self.atom_rank(v)
        if isinstance(v, gast.BinOp):
            ra, rb = self.atom_rank(v.left), self.atom_rank(v.right)
            if isinstance(v.op, gast.MatMult):
                return _matmul_rank(ra, rb)
            return _max_rank(ra, rb)
        if isinstance(v, gast.UnaryOp):
            return self.atom_rank(v.operand)
        if isinstance(v, gast.Subscript):
            item = self._item_rank(v)
            return item if item is not None else _index_rank(self.atom_rank(v.value), v.slice, self)
        if isinstance(v, gast.Call):
            return self._call_rank(v)
        if isinstance(v, gast.Compare):
            ranks = [self.atom_rank(o) if isinstance(o, (gast.Name, gast.Constant)) else None
                     for o in [v.left, *v.comparators]]
            return _max_rank(*ranks)
        return None

    def _item_rank(self, v):
        """The rank of ``p["w"]`` / ``p[0]`` for a dict or list argument whose
        item ranks the spec gives; else None."""
        if not (isinstance(v.value, gast.Name) and isinstance(v.slice, gast.Constant)):
            return None
        items = self.container_items.get(v.value.id)
        if items is None:
            return None
        key = v.slice.value
        if self.kind.get(v.value.id) == "dict":
            return dict(items).get(key) if type(key) is str else None
        if type(key) is int and 0 <= key < len(items):
            return items[key]
        return None

    def _builtin_reduction_rank(self, obj, args, ranks):
        """The rank of max/min of two values or more (broadcast), and of
        max/min/sum of one array (an item's rank) or of a tuple display of
        values of one rank."""
        if obj is not sum and len(args) >= 2:
            return _max_rank(*[r for a, r in zip(args, ranks) if _arrayish(a)])
        if len(args) != 1:
            return None
        x = args[0]
        display = self.displays.get(getattr(x, "id", None))
        if isinstance(display, gast.Tuple):
            items = [self.atom_rank(e) for e in display.elts]
            return items[0] if items and all(r == items[0] for r in items) else None
        if self.kind.get(getattr(x, "id", None)) in ("container", "list", "dict"):
            return None
        return ranks[0] - 1 if isinstance(ranks[0], int) and ranks[0] > 0 else None

    def _call_rank(self, v):
        func = v.func
        if isinstance(func, gast.Attribute) and func.attr in ("copy", "astype") \
                and isinstance(func.value, gast.Name) and self.ctx.is_local(func.value.id):
            return self.atom_rank(func.value)  # a local's copy (of an array: its shape)
        obj = self._resolve(func)
        if obj is MISSING:
            return None
        rule = registry.lookup(obj)
        path = registry.numpy_path(obj)
        args = v.args
        kw = {k.arg: k.value for k in v.keywords}
        ranks = [self.atom_rank(a) for a in args]
        if obj is runtime.identity_matmul and len(ranks) == 2:
            return ranks[1]  # a copy of its second argument
        if obj is runtime.identity_scale and len(ranks) == 2:
            return ranks[0]  # rows of the basis, scaled
        if obj is runtime.pad_extremum_tangent and len(ranks) >= 2:
            return _max_rank(*ranks[:2])  # the tangent, padded and broadcast with the array
        if obj is runtime.outer_product and len(ranks) == 2:
            return None if ranks[1] is None else ranks[1] + 1  # a[:, None] * c
        if obj in (runtime.dense_tree, runtime.zeros_like_tree, runtime.fresh_copy) \
                and len(ranks) == 1 or obj is runtime.tangent_copy and ranks:
            return ranks[0]  # (of an array: its shape; of a container: no rank anyway)
        if path in ("array", "asarray", "stack") and args and isinstance(args[0], gast.Name) \
                and args[0].id in self.displays and not v.keywords:
            items = [self.atom_rank(e) for e in self.displays[args[0].id].elts]
            if items and all(r == items[0] for r in items) and isinstance(items[0], int):
                return items[0] + 1
        if returns_tuple(obj):
            return None  # (a tuple, whose items have ranks)
        if rule is not None and rule.batching == "elementwise":
            return _max_rank(*[r for a, r in zip(args, ranks) if _arrayish(a)]) if args else None
        if obj in (max, min, sum) and args and not v.keywords:
            return self._builtin_reduction_rank(obj, args, ranks)
        if obj is runtime.items_extremum_tangent and len(ranks) >= 3 \
                and None not in ranks[:3]:
            return ranks[1] + ranks[2] - ranks[0]  # the result's, after the tangent's own axes
        if path in ("zeros", "ones", "empty", "full"):
            return _shape_rank(args[0] if args else kw.get("shape"), self)
        if path in ("zeros_like", "ones_like", "empty_like", "full_like", "copy", "array",
                    "asarray", "ascontiguousarray", "negative", "positive", "sort", "flip",
                    "roll", "triu", "tril", "transpose", "swapaxes", "moveaxis", "cumsum",
                    "cumprod", "clip", "where", "real", "imag", "conj", "sign", "abs", "pad",
                    "linalg.cholesky", "linalg.inv"):
            if path in ("cumsum", "cumprod") and _axis_arg(v, 1) is None:
                return 1
            return ranks[0] if ranks else None
        if path in ("arange", "linspace"):
            return 1
        if path in ("eye", "identity", "outer"):
            return 2
        if path in ("ravel",):
            return 1
        if path == "reshape" and len(args) >= 2:
            return _shape_rank(args[1], self)
        if path == "expand_dims" and len(args) >= 2:
            ax = args[1]
            if isinstance(ax, gast.Tuple):
                return None if ranks[0] is None else ranks[0] + len(ax.elts)
            return None if ranks[0] is None else ranks[0] + 1
        if path in AXES and AXES[path][3] == "all" and ranks and ranks[0] is not None:
            axis = _axis_arg(v, AXES[path][1])
            keep = kw.get("keepdims")
            if path == "average" and ("returned" in kw or len(args) > 3):
                return None  # (average, sum of weights)
            if keep is not None and not isinstance(keep, gast.Constant):
                return None  # keepdims known only at run time
            if keep is not None and keep.value:
                return ranks[0]
            if axis is None:
                return 0
            if isinstance(axis, gast.Tuple):
                return ranks[0] - len(axis.elts)
            if isinstance(axis, gast.UnaryOp):
                axis = axis.operand  # -1
            if isinstance(axis, gast.Constant) and isinstance(axis.value, int):
                return ranks[0] - 1
            value = self.ctx.resolve(axis) if self._is_reference(axis) else MISSING
            if isinstance(value, int):
                return ranks[0] - 1
            if isinstance(value, tuple):
                return ranks[0] - len(value)
            return None  # an axis known only at run time
        if path in ("argmax", "argmin") and ranks:
            axis = _axis_arg(v, 1)
            if axis is None:
                return 0
            return None if ranks[0] is None else ranks[0] - 1
        if path in ("dot", "inner") and len(ranks) >= 2 and 0 in ranks[:2]:
            return _max_rank(*ranks[:2])  # a product with a 0-d operand: the other's shape
        if path in ("dot", "matmul"):
            return _matmul_rank(*ranks[:2]) if len(ranks) >= 2 else None
        if path == "stack" and args:
            return None
        if path == "einsum":
            found = self.einsum_subscripts(args)
            spec = found[0] if found is not None else ""
            if "->" in spec and "..." not in spec:
                return len(spec.split("->")[1].strip())
            return None
        if path in ("linalg.inv",):
            return ranks[0]
        if path in ("linalg.det",):
            return None if ranks[0] is None else ranks[0] - 2
        if path == "linalg.solve" and len(ranks) >= 2:
            return ranks[1]
        if obj in (float, int, len):
            return 0
        return None


def returns_tuple(obj):
    """Whether calling ``obj`` returns a tuple of arrays: a ufunc of two
    outputs or more, divmod, ``_s2s.tuple_like``, or one of ``TUPLE_RESULTS``."""
    if isinstance(obj, numpy.ufunc):
        return obj.nout > 1
    return obj is builtins.divmod or obj is runtime.tuple_like \
        or registry.numpy_path(obj) in TUPLE_RESULTS


def _max_rank(*ranks):
    if any(r is None for r in ranks):
        return None
    return max(ranks) if ranks else None


def _matmul_rank(ra, rb):
    if ra is None or rb is None:
        return None
    if ra == 1 and rb == 1:
        return 0
    if ra == 1:
        return rb - 1
    if rb == 1:
        return ra - 1
    return max(ra, rb)


def _shape_rank(shape, batcher):
    if shape is None:
        return None
    if isinstance(shape, gast.Tuple):
        return len(shape.elts)
    if _int_const(shape) is not None:
        return 1
    if isinstance(shape, gast.Attribute) and shape.attr == "shape" \
            and isinstance(shape.value, gast.Name):
        return batcher.rank.get(shape.value.id)
    r = batcher.atom_rank(shape) if isinstance(shape, gast.Name) else None
    return 1 if r == 0 else None


def _axis_arg(v, pos):
    axis, _ = _find_arg(v, "axis", pos)
    if isinstance(axis, gast.Constant) and axis.value is None:
        return None
    return axis


def _index_rank(base_rank, index, batcher):
    if base_rank is None:
        return None
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    rank, advanced = base_rank, []
    for p in parts:
        if isinstance(p, gast.Slice):
            continue
        if isinstance(p, gast.Constant) and p.value is None:
            rank += 1
        elif isinstance(p, gast.Constant) and p.value is Ellipsis:
            continue
        elif _int_const(p) is not None:
            rank -= 1
        elif isinstance(p, (gast.Name, gast.BinOp, gast.UnaryOp)):
            names = [n for n in walk(p) if isinstance(n, gast.Name)]
            if all(batcher.atom_rank(n) == 0 for n in names):
                rank -= 1
                continue
            array = _global_index_array(p, batcher)
            if array is None:
                return None
            # an index array: its dims replace the one it indexes (a mask, its own)
            consumed = array.ndim if array.dtype.kind == "b" else 1
            rank -= consumed
            advanced.append(1 if array.dtype.kind == "b" else array.ndim)
        else:
            return None
    # the index arrays (and numbers among them) broadcast together
    return rank + max(advanced, default=0)


def _global_index_array(node, batcher):
    """The NumPy integer or boolean array a global (or closure variable)
    ``node`` names, used as an index (the code then depends on it: its
    dtype decides how many axes it takes); else None."""
    if not isinstance(node, gast.Name) or batcher.ctx.is_local(node.id):
        return None
    obj = batcher.ctx.resolve(node)
    if not isinstance(obj, numpy.ndarray) or obj.dtype.kind not in "biu":
        return None
    batcher.ctx.resolver.depend_on_object(node.id, obj)
    return obj


def _advanced_count(index):
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return sum(1 for p in parts if isinstance(p, gast.Name))


def _find_arg(v, pname, pos):
    if len(v.args) > pos:
        return v.args[pos], ("pos", pos)
    for k, kw in enumerate(v.keywords):
        if kw.arg == pname:
            return kw.value, ("kw", k)
    return None, None


def _int_const(node):
    if isinstance(node, gast.Constant) and isinstance(node.value, int) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _int_const(node.operand)
        return None if inner is None else -inner
    return None


def _arrayish(atom):
    return not (isinstance(atom, gast.Constant) and not isinstance(atom.value, (int, float, complex)))
