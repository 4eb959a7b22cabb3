"""Batching rules that move axes: matmul and dot of any ranks, einsum
(subscripts rewritten), reshape and transpose, and every primitive that takes
an axis (``AXES``, ``AXIS_PAIRS`` in :mod:`s2s.rules.batching_axes`): the
batch axis goes first, so a per-example axis ``k >= 0`` becomes ``k + 1``.

``AxisRules`` is a mixin of :class:`s2s.batching.Batcher`.
"""

import string

import gast
import numpy

from .batch_ranks import _find_arg, _int_const
from .context import call, const, name
from .nodes import walk
from .rules.batching_axes import AXES, AXIS_DEFAULTS, AXIS_PAIRS, REQUIRED


class AxisRules:
    def _matmul(self, a, b, build):
        """``a @ b`` per example, by per-example ranks: vectors become
        matrices, the batched operand gets axes up to the other's rank (so
        stack axes broadcast after the batch axis), vectors are dropped again.
        None when a rank is unknown (the caller falls back to a loop)."""
        ba, bb = self.is_batched(a), self.is_batched(b)
        ra, rb = self.atom_rank(a), self.atom_rank(b)
        if ra is None or rb is None or ra < 1 or rb < 1:
            return None
        if ra == 1 and rb == 1 and ba and bb:
            return call(self._xp("einsum"), [const("Zi,Zi->Z"), a, b])
        if ra <= 2 and rb <= 2 and not (ba and bb):
            # jacfwd's identity basis times a matrix is (a copy of) the matrix
            if ba and ra == 1 and self._identity(a):
                return call(self.rt("identity_matmul"), [a, b])
            if bb and rb == 1 and self._identity(b):
                return call(self.rt("identity_matmul"),
                            [b, gast.Attribute(value=a, attr="T", ctx=gast.Load()) if ra == 2 else a])
            # rows of a batched left operand are the examples; a batched
            # right vector multiplies from the left
            if ba or rb == 2:
                return build(a, b)
            if rb == 1 and ra == 2:
                return build(b, gast.Attribute(value=a, attr="T", ctx=gast.Load()))
            return build(b, a)
        a2 = _index(a, [const(Ellipsis), const(None), _full()]) if ra == 1 else a
        b2 = _index(b, [const(Ellipsis), const(None)]) if rb == 1 else b
        r = max(ra, rb, 2)
        if ba:
            a2 = self._lift_node(a2, max(ra, 2), r)
        if bb:
            b2 = self._lift_node(b2, max(rb, 2), r)
        out = build(a2, b2)
        if ra == 1 and rb == 1:
            return _index(out, [const(Ellipsis), const(0), const(0)])
        if ra == 1:
            return _index(out, [const(Ellipsis), const(0), _full()])
        if rb == 1:
            return _index(out, [const(Ellipsis), const(0)])
        return out

    def _matmul_any_rank(self, a, b):
        """``a @ b`` per example where a rank is not known statically (an
        item of a dict argument, a callee's result): ``_s2s.matmul_batched``
        finds the ranks at run time, one vectorised call instead of a loop
        over the batch. None where a rank is known to be 0 (NumPy refuses)."""
        ra, rb = self.atom_rank(a), self.atom_rank(b)
        if 0 in (ra, rb) or not (ra is None or rb is None):
            return None
        return call(self.rt("matmul_batched"),
                    [a, b, const(self.is_batched(a)), const(self.is_batched(b))])

    def _identity(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.identity

    def _lift_node(self, node, rank, target):
        """A batched expression of per-example rank ``rank`` with axes
        inserted after the batch axis up to ``target``."""
        if rank >= target:
            return node
        return _index(node, [_full()] + [const(None)] * (target - rank))

    def _einsum(self, v):
        found = self.einsum_subscripts(v.args)
        if found is None:
            return self._map(v, v.args, None)
        spec, operands = found
        flags = [self.is_batched(o) for o in operands]
        v.args = [const(batched_einsum_spec(spec, flags))] + operands
        return v

    def einsum_subscripts(self, args):
        """``(subscripts, operands)`` of an einsum call whose subscripts are
        known at transform time: a string (a literal or a global's), or the
        sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` written as the
        string it stands for; else None."""
        spec = args[0] if args else None
        if isinstance(spec, gast.Name) and not self.ctx.is_local(spec.id):
            value = self.ctx.resolve(spec)
            if isinstance(value, str):
                self.ctx.resolver.depend_on_value(spec.id, value)
                spec = const(value)
        if isinstance(spec, gast.Constant) and isinstance(spec.value, str):
            return spec.value, list(args[1:])
        end = len(args) - len(args) % 2  # an odd count ends with the output's sublist
        sublists = [self._sublist(a) for a in args[1:end:2]]
        output = self._sublist(args[end]) if end < len(args) else []
        if not sublists or None in sublists or output is None:
            return None
        return sublist_subscripts(sublists, output or None), list(args[0:end:2])

    def _sublist(self, node):
        """The ints (and Ellipsis) of an einsum sublist known at transform
        time, or None: a list or tuple written in the call (held by a
        variable read nowhere else, so nothing changes it in place), or a
        global tuple (the generated code then depends on its value)."""
        if isinstance(node, gast.Name) and node.id in self.sublist_names:
            node = self.displays[node.id]
        if isinstance(node, (gast.List, gast.Tuple)):
            items = [e.value if isinstance(e, gast.Constant) else Ellipsis
                     if isinstance(e, gast.Name) and self.ctx.resolve(e) is Ellipsis else None
                     for e in node.elts]
        elif isinstance(node, gast.Name) and not self.ctx.is_local(node.id):
            items = self.ctx.resolve(node)
            if not isinstance(items, tuple):
                return None
            self.ctx.resolver.depend_on_value(node.id, items)
        else:
            return None
        ok = all(i is Ellipsis or type(i) is int and 0 <= i < 52 for i in items)
        return list(items) if ok else None

    def _reshape(self, v, path):
        a = v.args[0]
        if not self.is_batched(a):
            return self._map(v, v.args, None)
        if path == "ravel":
            return call(self._xp("reshape"), [a, gast.Tuple(
                elts=[name(self.B), const(-1)], ctx=gast.Load())])
        shape = v.args[1] if len(v.args) > 1 else next(
            (k.value for k in v.keywords if k.arg in ("shape", "newshape")), None)
        if isinstance(shape, gast.Tuple):
            new_shape = gast.Tuple(elts=[name(self.B)] + list(shape.elts), ctx=gast.Load())
        elif isinstance(shape, gast.Constant) or (
                isinstance(shape, gast.UnaryOp) and isinstance(shape.operand, gast.Constant)):
            new_shape = gast.Tuple(elts=[name(self.B), shape], ctx=gast.Load())
        else:
            new_shape = call(self.rt("batch_shape"), [name(self.B), shape])
        return call(v.func, [a, new_shape])

    def _transpose(self, v):
        a = v.args[0]
        axes = v.args[1] if len(v.args) > 1 else next(
            (k.value for k in v.keywords if k.arg == "axes"), None)
        r = self.atom_rank(a)
        if axes is None or (isinstance(axes, gast.Constant) and axes.value is None):
            if r is None:
                return call(self.rt("transpose_batched"), [a])
            perm = [0] + list(range(r, 0, -1))
        elif isinstance(axes, gast.Tuple) and all(_int_const(e) is not None for e in axes.elts):
            perm = [0] + [_int_const(e) % r + 1 if r else _int_const(e) + 1 for e in axes.elts]
        else:
            return call(self.rt("transpose_batched"), [a, axes])
        return call(v.func, [a, gast.Tuple(elts=[const(p) for p in perm], ctx=gast.Load())])

    def _axes(self, v, path):
        """Shift axis arguments past the batch axis."""
        if path in AXIS_PAIRS:
            if not self.is_batched(v.args[0]):
                return None
            for pname, pos in AXIS_PAIRS[path]:
                default = AXIS_DEFAULTS.get(path)
                self._shift_arg(v, pname, pos, default[AXIS_PAIRS[path].index((pname, pos))]
                                if default else None, required=path in ("swapaxes", "moveaxis"))
            return v
        pname, pos, default, none_means = AXES[path]
        first = v.args[0] if v.args else None
        if not self.is_batched(first) or any(self.is_batched(a) for a in v.args[1:]):
            return None
        if path == "diff" and len(v.args) + len(v.keywords) > 3 or \
                path == "average" and (len(v.args) > 2 or any(k.arg == "weights" for k in v.keywords)):
            return None  # prepend/append, weights: arrays to align with the batch
        axis, where = _find_arg(v, pname, pos)
        if axis is None:
            if default is REQUIRED:
                return None
            axis, where = const(default), None
        known = self.static_axis(axis)
        if known is None:
            if none_means != "all" or self.names_batched(axis):
                return None  # an axis known only at run time: the loop fallback is exact
            # (a reduction over axes computed by the code, e.g. generated code batched again)
            _set_arg(v, pname, pos, where, call(self.rt("shift_axis_of"), [first, axis]))
            return v
        axis = known
        if isinstance(axis, gast.Constant) and axis.value is None:
            if none_means == "all":
                r = self.atom_rank(first)
                new = (gast.Tuple(elts=[const(i) for i in range(1, r + 1)], ctx=gast.Load())
                       if r is not None else call(self.rt("tail_axes"), [first]))
            elif none_means == "flat":
                v.args[0] = call(self.rt("flatten_batched"), [first])
                new = const(1)
            elif none_means == "concat_flat":
                return call(self.rt("concatenate_flat_batched"), [first])
            elif none_means == "squeeze":
                return call(self.rt("squeeze_batched"), [first])
            elif none_means == "norm":
                r = self.atom_rank(first)
                ord_, _ = _find_arg(v, "ord", 1)
                keepdims, _ = _find_arg(v, "keepdims", 3)
                if r == 1:
                    new = const(1)
                elif r == 2:
                    new = gast.Tuple(elts=[const(1), const(2)], ctx=gast.Load())
                elif r is not None and r > 2 and (ord_ is None or _is_none(
                        self.static_axis(ord_))) and (keepdims is None or _is_false(keepdims)):
                    # the 2-norm of every element of the example
                    v.args[0] = call(self.rt("flatten_batched"), [first])
                    new = const(1)
                else:
                    return None
            else:
                return None
        else:
            new = _shift(axis, self)
        _set_arg(v, pname, pos, where, new)
        return v

    def static_axis(self, axis):
        """``axis`` as a literal when it is known at transform time (a
        literal, or a global holding an int, None or a tuple of ints: its
        value becomes a dependency of the generated code), else None."""
        if _static_axis(axis):
            return axis
        if isinstance(axis, gast.Name) and not self.ctx.is_local(axis.id):
            value = self.ctx.resolve(axis)
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, tuple) and all(isinstance(a, int) for a in value))
            if ok:
                self.ctx.resolver.depend_on_value(axis.id, value)
                from .rules.templates import _constant

                return _constant(value)
        return None

    def _shift_arg(self, v, pname, pos, default, required):
        axis, where = _find_arg(v, pname, pos)
        if axis is None:
            if default is None:
                return
            axis = const(default)
        _set_arg(v, pname, pos, where, _shift(axis, self))


def einsum_sublist_names(fn_node, displays, resolve):
    """The names of ``displays`` (name -> the list or tuple display assigned
    to it, once) read only as arguments of einsum calls: sublists nothing
    changes in place (the normaliser names the lists written in a call)."""
    in_einsum = set()
    for node in walk(fn_node):
        func = node.func if isinstance(node, gast.Call) else None
        if getattr(func, "attr", getattr(func, "id", None)) == "einsum" \
                and resolve(func) is numpy.einsum:
            in_einsum.update(id(a) for a in node.args)
    read_elsewhere = {n.id for n in walk(fn_node) if isinstance(n, gast.Name)
                      and isinstance(n.ctx, gast.Load) and id(n) not in in_einsum}
    return set(displays) - read_elsewhere


def sublist_subscripts(sublists, output):
    """einsum's sublists as its subscripts: ``[0, 1], [1, 2]`` and the output
    ``[0, 2]`` -> ``"ab,bc->ac"`` (NumPy reads 0-51 as a-z, A-Z). Without an
    output sublist NumPy's is written out: the ellipsis if any, then the
    labels used once in the order of their numbers (not of the letters)."""
    def term(items):
        return "".join("..." if i is Ellipsis else string.ascii_letters[i] for i in items)

    if output is None:
        used = [i for s in sublists for i in s if i is not Ellipsis]
        once = sorted(i for i in set(used) if used.count(i) == 1)
        output = [Ellipsis] * any(Ellipsis in s for s in sublists) + once
    return ",".join(term(s) for s in sublists) + "->" + term(output)


def batched_einsum_spec(spec, flags):
    """``"ij,jk->ik"`` with the first operand batched -> ``"Zij,jk->Zik"``."""
    letters = set(spec)
    batch = next(c for c in "ZYXWVUTSRQPONMLKzyxwvutsrqponmlk" if c not in letters)
    if "->" in spec:
        inputs, output = spec.split("->")
    else:
        inputs = spec
        counts = {}
        for c in inputs.replace(",", "").replace(".", ""):
            counts[c] = counts.get(c, 0) + 1
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c, n in counts.items() if n == 1))
    terms = inputs.split(",")
    terms = [batch + t.strip() if f else t.strip() for t, f in zip(terms, flags)]
    return ",".join(terms) + "->" + batch + output.strip()


def _shift(axis, batcher):
    value = _int_const(axis)
    if value is not None:
        return const(value + 1) if value >= 0 else axis
    if isinstance(axis, gast.Tuple) and all(_int_const(e) is not None for e in axis.elts):
        return gast.Tuple(elts=[_shift(e, batcher) for e in axis.elts], ctx=gast.Load())
    return call(batcher.rt("shift_axis"), [axis])


def _set_arg(v, pname, pos, where, value):
    if where is None:
        v.keywords.append(gast.keyword(arg=pname, value=value))
    elif where[0] == "pos":
        v.args[where[1]] = value
    else:
        v.keywords[where[1]].value = value


def _static_axis(axis):
    """An axis given as a literal (int, None or a tuple of ints)."""
    if isinstance(axis, gast.Constant) and axis.value is None:
        return True
    if isinstance(axis, gast.Tuple):
        return all(_int_const(e) is not None for e in axis.elts)
    return _int_const(axis) is not None


def _full():
    return gast.Slice(lower=None, upper=None, step=None)


def _index(node, parts):
    return gast.Subscript(value=node, slice=gast.Tuple(elts=parts, ctx=gast.Load()),
                          ctx=gast.Load())


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None


def _is_false(node):
    return isinstance(node, gast.Constant) and node.value is False
