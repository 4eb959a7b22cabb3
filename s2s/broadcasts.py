"""A ``broadcast_with`` that the tangent's one use makes anyway, dropped.

The tangent of ``z = a + b`` where only ``a`` carries one is ``a_dot``
grown to ``z``'s shape: ``z_dot = broadcast_with(a_dot, b)``, a call that
costs about half an arithmetic operation on a small array. When the one
use of ``z_dot`` multiplies it by a value of ``z``'s shape, such as the
derivative of ``np.tanh(z)``, that product broadcasts ``a_dot`` itself:

    _t3 = _t0 + _t2                                  (unchanged)
    _t3_dot = _s2s.broadcast_with(_t0_dot, _t2)  ->  (gone)
    h = xp.tanh(_t3)                                 (unchanged)
    h_dot = (1 - h * h) * _t3_dot                ->  h_dot = (1 - h * h) * _t0_dot

A value has ``z``'s shape when it is made from ``z`` by elementwise
operations with Python numbers or other values of that shape, in the
statements of the block between the two (followed in order: a name means
what its last assignment there made). The fold is made only for a tangent
temporary assigned once and read once in the whole function, in the same
block, as a factor of a product, and only if nothing between the two
statements assigns a name the dropped call read or may change an array in
place. The values are the same: broadcasting copies nothing.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(h):\\n    return np.tanh(W @ h + B)\\n", "jvp"))
def f_jvp(h, h_dot):
    xp = _s2s.namespace_of(h, h_dot)
    # <doctest>:2  return np.tanh(W @ h + B)
    _t0 = W @ h
    _t0_dot = W @ h_dot
    _t1 = _t0 + B
    del _t0
    _t2 = xp.tanh(_t1)
    del _t1
    _t2_dot = (1 - _t2 * _t2) * _t0_dot
    return (_t2, _t2_dot)
"""

import itertools

import gast
import numpy

from .codegen import is_comment
from .coefficients import may_mutate
from .nodes import StatementNodes, clone, name_nodes, read_once, single_target, walk
from .scaling import BLOCKS, COMPOUND

_ELEMENTWISE = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)


def run(body, primals, broadcast_with, namespace, nodes=None):
    """``body`` (a function's statements) without the ``broadcast_with``
    calls its tangents' uses make anyway. ``primals``: tangent name ->
    its primal's name; ``broadcast_with``: the node that refers to
    ``s2s.runtime.broadcast_with``; ``namespace``: the name of the array
    namespace (``xp``); ``nodes``: the :class:`s2s.nodes.StatementNodes`
    of ``body``, if there is one (the statements this pass changes are new
    ones)."""
    nodes = nodes or StatementNodes()
    once = read_once(body, primals, nodes)
    if not once:
        return body
    return _Pass(once, primals, gast.dump(broadcast_with), namespace, nodes).block(body)


_NUMBER = -1  # the shape class of a Python number: it takes any other's


class _Pass:
    def __init__(self, once, primals, call, namespace, nodes):
        self.once, self.primals, self.call, self.nodes = once, primals, call, nodes
        self.namespace = namespace
        self.roots = itertools.count()

    def block(self, stmts):
        out = []
        shapes = {}  # name -> the shape class of its value, as this block assigned it
        made = {}  # name -> (a, b) where its value is a op b, elementwise
        pending = {}  # tangent -> (its statement's index in out, the grown value, its shape class)
        for stmt in stmts:
            if is_comment(stmt):
                out.append(stmt)
                continue
            if isinstance(stmt, COMPOUND):
                for field in BLOCKS:
                    if getattr(stmt, field, None):
                        setattr(stmt, field, self.block(getattr(stmt, field)))
                shapes.clear()
                made.clear()
                pending.clear()
                out.append(stmt)
                continue
            if pending and isinstance(stmt, gast.Assign):
                value = clone(stmt.value)
                folded = self._fold(value, pending, shapes)
                if folded is not None:
                    out[pending.pop(folded)[0]] = None
                    stmt = gast.copy_location(
                        gast.Assign(targets=stmt.targets, value=value, type_comment=None), stmt)
            target = single_target(stmt)
            self._forget(stmt, target, pending, shapes, made)
            if target is not None:
                value = stmt.value
                grown = self._grown(target, value, shapes, made)
                if grown is not None:
                    pending[target] = (len(out),) + grown
                shape = self._shape(value, shapes)
                shapes[target] = next(self.roots) if shape in (None, _NUMBER) else shape
                if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE):
                    made[target] = (value.left, value.right)
            out.append(stmt)
        return [s for s in out if s is not None]

    def _grown(self, target, value, shapes, made):
        """``(the grown tangent, z's shape class)`` when ``target``, the
        tangent of ``z = a op b``, is ``broadcast_with(t, b)`` with ``t``
        the tangent of ``a`` (or its negation): ``t`` grown to ``z``'s shape."""
        if target not in self.once or not (isinstance(value, gast.Call) and len(value.args) == 2
                                           and not value.keywords
                                           and gast.dump(value.func) == self.call):
            return None
        grown, other = value.args
        z = self.primals[target]
        if z not in made:
            return None
        kept = grown.operand if isinstance(grown, gast.UnaryOp) and isinstance(
            grown.op, gast.USub) else grown
        if not isinstance(kept, gast.Name):
            return None
        a, b = made[z]
        for x, y in ((a, b), (b, a)):
            if isinstance(x, gast.Name) and self.primals.get(kept.id) == x.id \
                    and gast.dump(y) == gast.dump(other):
                return grown, shapes[z]
        return None

    def _fold(self, value, pending, shapes):
        """The pending tangent that ``value`` reads where its growth is made
        anyway (replaced there by the tangent it grew), or None."""
        for node in walk(value):
            for side, other in _operands(node):
                t = getattr(node, side)
                if isinstance(t, gast.Name) and t.id in pending \
                        and self._grows(node, other, value, pending[t.id][2], shapes):
                    setattr(node, side, clone(pending[t.id][1]))
                    return t.id
        return None

    def _grows(self, node, other, value, shape, shapes):
        """Whether ``node``, an elementwise operation of a tangent and
        ``other``, or an elementwise operation it is an operand of, in
        ``value``, has an operand besides it whose shape is ``shape`` grown:
        the result then has a shape ``shape`` broadcasts to, whether the
        tangent is grown or not, and the same values."""
        parents = {id(getattr(n, side)): n for n in walk(value) for side, _ in _operands(n)}
        while True:
            if self._covers(other, shape, shapes):
                return True
            parent = parents.get(id(node))
            if parent is None:
                return False
            other = next(o for side, o in _operands(parent) if getattr(parent, side) is node)
            node = parent

    def _covers(self, value, shape, shapes):
        """Whether ``value`` is made elementwise from a value of shape class
        ``shape`` (its shape is that one, broadcast)."""
        if isinstance(value, gast.Name):
            return shapes.get(value.id) == shape
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
            return self._covers(value.operand, shape, shapes)
        if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE):
            return self._covers(value.left, shape, shapes) or self._covers(value.right, shape,
                                                                          shapes)
        if self._ufunc_call(value):
            return any(self._covers(a, shape, shapes) for a in value.args)
        return False

    def _forget(self, stmt, target, pending, shapes, made):
        """Drop what ``stmt`` may change: the pending tangents whose grown
        value reads a name it assigns (all, if it may change an array in
        place), and what is known of the names it assigns otherwise than
        ``target = ...``."""
        for n in self.nodes.of(stmt):
            if may_mutate(n):
                pending.clear()
            if n.__class__ is gast.Name and not isinstance(n.ctx, gast.Load):
                for t in [t for t, (_, grown, _) in pending.items()
                          if any(m.id == n.id for m in name_nodes(grown))]:
                    del pending[t]
                for m in [m for m, operands in made.items() if m == n.id or any(
                        r.id == n.id for o in operands for r in name_nodes(o))]:
                    del made[m]
                if n.id != target:
                    shapes.pop(n.id, None)

    def _shape(self, value, shapes):
        """The shape class of ``value``: that of the values it is made of
        elementwise (_NUMBER for a number), or None (a shape of its own)."""
        if isinstance(value, gast.Name):
            return shapes.get(value.id)
        if isinstance(value, gast.Constant) and type(value.value) in (int, float):
            return _NUMBER
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
            return self._shape(value.operand, shapes)
        if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE):
            return _same(self._shape(value.left, shapes), self._shape(value.right, shapes))
        if self._ufunc_call(value):
            shape = _NUMBER
            for a in value.args:
                shape = _same(shape, self._shape(a, shapes))
            return shape
        return None

    def _ufunc_call(self, value):
        """Whether ``value`` calls ``xp.<an elementwise ufunc>`` on positional arguments."""
        return isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
            and isinstance(value.func.value, gast.Name) \
            and value.func.value.id == self.namespace and not value.keywords \
            and _ufunc_of(value.func.attr, len(value.args))


def _operands(node):
    """``(field, the other operand)`` for each operand of an elementwise
    binary operation, ``(field, None)`` for a negation's; else none."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, _ELEMENTWISE):
        return (("left", node.right), ("right", node.left))
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return (("operand", None),)
    return ()


def _ufunc_of(attr, n):
    """Whether ``xp.<attr>`` of ``n`` arguments is a NumPy ufunc of them (an
    elementwise function: its result has their broadcast shape)."""
    ufunc = getattr(numpy, attr, None)
    return isinstance(ufunc, numpy.ufunc) and ufunc.nin == n and ufunc.nout == 1 \
        and ufunc.signature is None  # (not matmul, a generalised ufunc)


def _same(a, b):
    if a is None or b is None:
        return None
    if a == _NUMBER:
        return b
    return a if b in (a, _NUMBER) else None

