"""Elementwise tangents of one input as derivative coefficients.

When a function has one differentiated input ``x`` and every tangent it
computes is an elementwise linear function of ``x_dot`` (sums, products with
and quotients by primal values, negation, broadcasting), each tangent is
``c * x_dot`` for a coefficient ``c`` that does not depend on ``x_dot``: the
derivative d(value)/dx elementwise. This pass computes those coefficients
instead (``_t0_dx = xp.cos(x)``), folding the seed's ones and minus ones away,
and multiplies by ``x_dot`` once per output, as a hand-written JVP does:

    _t6_dot = x_dot * x + x * x_dot    ->    _t6_dx = x + x
    _t1_dot = -x_dot                   ->    (folded: d(_t1)/dx is -1)
    _t2_dot = _t1_dot * x + _t1 * x_dot  ->  _t2_dx = -x + _t1
    return (_t9, _t9_dot)              ->    _t9_dot = _t9_dx * x_dot

An output keeps its ``broadcast_with`` only where the tangent code had one
for a value of a larger shape added to the input (``x + W``): elsewhere
``coefficient * x_dot`` has the output's shape already.

The answer is the same up to rounding (products are associated
differently). Anything else in the tangent code (a reduction, an index, a
call of another generated function, control flow, an in-place update)
leaves the code as the jvp pass wrote it, and so does anything that might
change an array in place (a coefficient may refer to a primal array that a
normal tangent would have multiplied at once).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return np.sin(x) * x\\n", "jvp"))
def f_jvp(x, x_dot):
    xp = _s2s.namespace_of(x, x_dot)
    # <doctest>:2  return np.sin(x) * x
    _t0 = xp.sin(x)
    _t0_dx = xp.cos(x)
    _t1 = _t0 * x
    _t1_dx = _t0_dx * x + _t0
    del _t0, _t0_dx
    _t1_dot = _t1_dx * x_dot
    return (_t1, _t1_dot)
"""

import gast

from .codegen import is_comment
from .context import assign, call, const, name
from .nodes import StatementNodes, walk_values

_LINEAR = (gast.Add, gast.Sub)


class _NotElementwise(Exception):
    pass


def run(body, seed, tangents, namer, broadcast_with, nodes=None):
    """``body`` (statements of a jvp function whose only differentiated input
    has the tangent ``seed``; ``tangents``: every tangent name in it) in
    coefficient form, or None when some tangent is not elementwise in the seed.
    ``broadcast_with``: the node that refers to ``s2s.runtime.broadcast_with``;
    ``nodes``: the :class:`s2s.nodes.StatementNodes` of ``body``, if there is one."""
    if nodes is None:
        nodes = StatementNodes()
    if any(may_mutate(node) for s in body for node in nodes.of(s)):
        return None
    try:
        return _Coefficients(seed, tangents, namer, broadcast_with).body(body)
    except _NotElementwise:
        return None


# calls that cannot change an array a coefficient refers to (until the
# output's multiplication by the seed, which a normal tangent does at once)
_PURE_ROOTS = {"xp", "_s2s", "math"}


# the node classes that may change an array in place (see may_mutate)
_MAY_MUTATE = {gast.Subscript, gast.Attribute, gast.AugAssign, gast.Expr, gast.Call}


def may_mutate(node):
    """Whether ``node`` may change an array in place: an update of an item
    or attribute, an augmented assignment, a call for its effect, ``out=``,
    a call of anything but the array namespace and s2s's helpers."""
    if node.__class__ not in _MAY_MUTATE:  # most nodes: names, constants, operations
        return False
    if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
        return True
    if isinstance(node, gast.AugAssign):
        return True
    if isinstance(node, gast.Expr) and not is_comment(node):
        return True
    if isinstance(node, gast.Call):
        root = node.func
        while isinstance(root, gast.Attribute):
            root = root.value
        return not (isinstance(root, gast.Name) and root.id in _PURE_ROOTS) \
            or any(k.arg == "out" for k in node.keywords)
    return False


class _Coefficients:
    def __init__(self, seed, tangents, namer, broadcast_with):
        self.seed = seed
        self.tangents = set(tangents) | {seed}
        self.namer = namer
        self.broadcast_with = broadcast_with
        self.value = {}  # tangent name -> its coefficient: a number, or the name holding it
        self.renamed = {}  # tangent name -> coefficient variable
        # tangents whose coefficient times the seed may lack the shape the
        # tangent has (a broadcast_with unwrapped, a factor folded into zero)
        self.narrowed = set()
        self._narrowing = False  # while one coefficient is built: did it narrow?

    def body(self, stmts):
        out = []
        for s in stmts:
            if is_comment(s) or not self._reads_tangents(s):
                if self._writes_tangents(s):
                    raise _NotElementwise
                out.append(s)
            elif _is_namespace_line(s):
                out.append(s)
            elif isinstance(s, gast.Assign) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], gast.Name) and s.targets[0].id in self.tangents:
                out.extend(self._assign(s.targets[0].id, s.value, s))
            elif isinstance(s, gast.Return) and s is stmts[-1]:
                out.extend(self._return(s))
            else:
                raise _NotElementwise
        return out

    def _assign(self, target, value, stmt):
        if target == self.seed:
            raise _NotElementwise  # the seed itself reassigned
        coefficient = self._coefficient(target, value)
        if isinstance(coefficient, gast.Constant):
            self.value[target] = coefficient.value
            return []
        var = self.namer.fresh(_coefficient_name(target, self.seed))
        self.value[target] = var
        new = assign(var, coefficient)
        gast.copy_location(new, stmt)
        return [new]

    def _return(self, s):
        value = s.value
        if not (isinstance(value, gast.Tuple) and len(value.elts) == 2):
            raise _NotElementwise
        primal, tangent = value.elts
        pairs = _pairs(primal, tangent)
        stmts = []
        for p, t in pairs:
            if t.id not in self.tangents or t.id == self.seed:
                continue  # an inactive output's zero tangent, or the input's own tangent
            coefficient = self._coefficient(t.id, t)
            scaled = name(self.seed) if _is_number(coefficient, 1) else \
                gast.BinOp(left=coefficient, op=gast.Mult(), right=name(self.seed))
            if t.id in self.narrowed:  # give the tangent its output's shape back
                scaled = call(self.broadcast_with, [scaled, name(p.id)])
            stmts.append(assign(t.id, scaled))
        return stmts + [s]

    def _coefficient(self, target, value):
        """The coefficient of ``value``, the tangent ``target``. The jvp pass
        keeps every tangent the shape of its value, and so does
        ``coefficient * seed`` (the products and sums that shape the tangent
        shape it), except where a broadcast_with was unwrapped or a factor
        folded into zero: then ``target`` is marked narrowed."""
        self._narrowing = False
        coefficient = self._linear(value)
        if self._narrowing:
            self.narrowed.add(target)
        return coefficient

    # -- expressions -------------------------------------------------------------------

    def _linear(self, v):
        """The coefficient of an expression linear in the tangents (a number
        Constant or an expression of primal values)."""
        if isinstance(v, gast.Name) and v.id in self.tangents:
            if v.id == self.seed:
                # (an int: a list's tangent may reach x_dot + x_dot, a concatenation, which
                # 2 * x_dot repeats as it does an array's values)
                return const(1)
            known = self.value.get(v.id)
            if known is None:
                raise _NotElementwise  # read before it is computed (a loop, a branch)
            self._narrowing |= v.id in self.narrowed
            return const(known) if not isinstance(known, str) else name(known)
        if isinstance(v, gast.UnaryOp) and isinstance(v.op, (gast.USub, gast.UAdd)):
            inner = self._linear(v.operand)
            return _negate(inner) if isinstance(v.op, gast.USub) else inner
        if isinstance(v, gast.BinOp):
            left_t, right_t = self._has_tangent(v.left), self._has_tangent(v.right)
            if isinstance(v.op, _LINEAR) and left_t and right_t:
                return _add(self._linear(v.left), self._linear(v.right), v.op)
            if isinstance(v.op, gast.Mult) and left_t != right_t:
                c = self._linear(v.left if left_t else v.right)
                self._narrowing |= _is_number(c, 0)  # the factor's shape is dropped
                return _scale(c, v.right if left_t else v.left, left_t)
            if isinstance(v.op, gast.Div) and left_t and not right_t:
                c = self._linear(v.left)
                if _is_number(c, 0):
                    self._narrowing = True
                    return c
                return gast.BinOp(left=c, op=gast.Div(), right=v.right)
            raise _NotElementwise
        if isinstance(v, gast.Call) and _is_call_of(v, self.broadcast_with) and len(v.args) == 2 \
                and not v.keywords and not self._has_tangent(v.args[1]):
            self._narrowing = True  # broadcasting waits for the output
            return self._linear(v.args[0])
        raise _NotElementwise

    def _has_tangent(self, v):
        return any(isinstance(n, gast.Name) and n.id in self.tangents for n in walk_values(v))

    def _reads_tangents(self, s):
        return any(isinstance(n, gast.Name) and n.id in self.tangents
                   and isinstance(n.ctx, gast.Load) for n in walk_values(s))

    def _writes_tangents(self, s):
        return any(isinstance(n, gast.Name) and n.id in self.tangents
                   and not isinstance(n.ctx, gast.Load) for n in walk_values(s))


def _coefficient_name(tangent, seed):
    """``_t3_dot`` -> ``_t3_dx`` (d _t3 / dx) for the seed ``x_dot``."""
    base = tangent[:-4] if tangent.endswith("_dot") else tangent
    wrt = seed[:-4] if seed.endswith("_dot") else seed
    return f"{base}_d{wrt}"


def _pairs(primal, tangent):
    """(primal name, tangent name) of each returned output."""
    if isinstance(primal, gast.Name) and isinstance(tangent, gast.Name):
        return [(primal, tangent)]
    if isinstance(primal, gast.Tuple) and isinstance(tangent, gast.Tuple) \
            and len(primal.elts) == len(tangent.elts):
        return [pair for p, t in zip(primal.elts, tangent.elts) for pair in _pairs(p, t)]
    raise _NotElementwise


def _is_namespace_line(s):
    return isinstance(s, gast.Assign) and isinstance(s.value, gast.Call) \
        and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "namespace_of"


def _is_call_of(v, ref):
    return gast.dump(v.func) == gast.dump(ref)


def _is_number(v, value=None):
    return isinstance(v, gast.Constant) and type(v.value) in (int, float) \
        and (value is None or v.value == value)


def _negate(c):
    if _is_number(c):
        return const(-c.value)
    if isinstance(c, gast.UnaryOp) and isinstance(c.op, gast.USub):
        return c.operand
    return gast.UnaryOp(op=gast.USub(), operand=c)


def _add(a, b, op):
    """``a + b`` or ``a - b`` of coefficients, with numbers folded."""
    sub = isinstance(op, gast.Sub)
    if _is_number(a) and _is_number(b):
        return const(a.value - b.value if sub else a.value + b.value)
    if _is_number(b, 0):
        return a
    if _is_number(a, 0):
        return _negate(b) if sub else b
    if isinstance(b, gast.UnaryOp) and isinstance(b.op, gast.USub):  # a - -b, a + -b
        return gast.BinOp(left=a, op=gast.Add() if sub else gast.Sub(), right=b.operand)
    return gast.BinOp(left=a, op=gast.Sub() if sub else gast.Add(), right=b)


def _scale(c, factor, tangent_left):
    """``c * factor`` (the tangent's coefficient times a primal factor), with
    the tangent on the side it was on."""
    if _is_number(c, 1):
        return factor
    if _is_number(c, -1):
        return _negate(factor)
    if _is_number(c, 0):
        return c
    left, right = (c, factor) if tangent_left else (factor, c)
    return gast.BinOp(left=left, op=gast.Mult(), right=right)
