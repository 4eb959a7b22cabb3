"""Constant factors and signs of tangents, folded into the one use.

Chain rules leave numbers and signs in separate statements: the power rule
writes ``2 * a * a_dot`` and the ``100.0 *`` around it scales that again;
``1.0 - a`` writes ``-a_dot`` for the next rule to multiply. A tangent
temporary computed once and read once, by a product with a number, a
negation or a sum, takes its number or sign into that use instead, so the
array is not scaled twice:

    _t4_dot = 2 * _t3 * _t3_dot         ->   (gone)
    _t5_dot = 100.0 * _t4_dot           ->   _t5_dot = 200.0 * _t3 * _t3_dot
    _t7_dot = -_t6_dot                  ->   (gone)
    _t8_dot = 2 * _t7 * _t7_dot         ->   _t8_dot = -2 * _t7 * _t6_dot
    _t9_dot = _t5_dot + _t8_dot  (_t8_dot = -u)   ->   _t9_dot = _t5_dot - u

A fold is made only where it saves an operation on an array, only for a
temporary assigned once and read once in the whole function, later in the
same block, and only if nothing between the two statements assigns a name
the folded expression reads or may change an array in place. The result is
the same up to rounding (numbers are multiplied together first).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return np.sum(3.0 * (1.0 - x) ** 2)\\n", "jvp"))
def f_jvp(x, x_dot):
    xp = _s2s.namespace_of(x, x_dot)
    # <doctest>:2  return np.sum(3.0 * (1.0 - x) ** 2)
    _t0 = 1.0 - x
    _t1 = _t0 ** 2
    _t2 = 3.0 * _t1
    del _t1
    _t2_dot = -6.0 * _t0 * x_dot
    del _t0
    _t3 = xp.sum(_t2)
    del _t2
    _t3_dot = xp.sum(_t2_dot)
    return (_t3, _t3_dot)
"""

import copy
import functools

import gast

from .codegen import is_comment
from .coefficients import may_mutate
from .context import const
from .nodes import StatementNodes, read_once, single_target


def run(body, tangents, nodes=None):
    """``body`` (a function's statements) with the numbers and signs of
    tangent temporaries (names in ``tangents``) folded into their one use.
    ``nodes``: the :class:`s2s.nodes.StatementNodes` of ``body``, if there is
    one (the statements this pass changes are new ones)."""
    nodes = nodes or StatementNodes()
    once = read_once(body, tangents, nodes)
    return _block(body, once, nodes) if once else body


def _block(stmts, once, nodes):
    out = []
    pending = {}  # temporary -> (its statement's index in out, its Scaled value)
    for stmt in stmts:
        if is_comment(stmt):
            out.append(stmt)
            continue
        if isinstance(stmt, COMPOUND):
            stmt = copy.copy(stmt)
            for field in BLOCKS:
                if getattr(stmt, field, None):
                    setattr(stmt, field, _block(getattr(stmt, field), once, nodes))
        value = stmt.value if isinstance(stmt, gast.Assign) else None
        if value is not None and pending:
            folded = _fold(value, pending)
            if folded is not None:
                temp, value = folded
                out[pending.pop(temp)[0]] = None
                stmt = gast.copy_location(
                    gast.Assign(targets=stmt.targets, value=value, type_comment=None), stmt)
        _forget(stmt, pending, nodes)
        target = single_target(stmt)
        if target in once and value is not None:
            scaled = _Scaled.of(value)
            if scaled is not None and scaled.number != 1:
                pending[target] = (len(out), scaled)
        out.append(stmt)
    return [s for s in out if s is not None]


COMPOUND = (gast.For, gast.While, gast.If, gast.With, gast.Try)
BLOCKS = ("body", "orelse", "finalbody")  # a Try's handlers are left as they are


def _forget(stmt, pending, nodes):
    """Drop the pending temporaries whose expression ``stmt`` may change."""
    if not pending:
        return
    if isinstance(stmt, COMPOUND):
        pending.clear()
        return
    written = set()
    for n in nodes.of(stmt):
        if may_mutate(n):
            pending.clear()
            return
        if n.__class__ is gast.Name and not isinstance(n.ctx, gast.Load):
            written.add(n.id)
    for temp in [t for t, (_, s) in pending.items() if s.names & written]:
        del pending[temp]


def _fold(value, pending):
    """``(temporary, new value)`` when ``value`` reads a pending temporary in
    a way that absorbs its number, else None."""
    if isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub)):
        return _fold_sum(value, pending)
    use = _Scaled.of(value)
    if use is None:
        return None
    # with no number to merge the temporary's into, nothing is saved, except
    # by carrying the number on through a division (``t / w``) to a later use
    if use.number == 1 and not (use.divisors and len(use.factors) == 1):
        return None
    for i, factor in enumerate(use.factors):
        if isinstance(factor, gast.Name) and factor.id in pending:
            inner = pending[factor.id][1]
            factors = use.factors[:i] + inner.factors + use.factors[i + 1:]
            divisors = inner.divisors + use.divisors
            return factor.id, _Scaled(use.number * inner.number, factors, divisors).node()
    return None


def _fold_sum(value, pending):
    """``a + t`` with ``t = -u`` is ``a - u`` (and ``t + a`` is ``a - u``,
    ``a - t`` is ``a + u``)."""
    left, right = value.left, value.right
    sub = isinstance(value.op, gast.Sub)
    for temp, other, on_right in ((right, left, True), (left, right, False)):
        if not (isinstance(temp, gast.Name) and temp.id in pending):
            continue
        inner = pending[temp.id][1]
        if inner.number != -1 or (sub and not on_right):
            continue
        u = _Scaled(1, inner.factors, inner.divisors).node()
        op = gast.Add() if sub else gast.Sub()
        return temp.id, gast.BinOp(left=other, op=op, right=u)
    return None


class _Scaled:
    """``number * f1 * f2 ... / d1 / d2 ...``: a product of names with one
    number in front (1 when it has none)."""

    def __init__(self, number, factors, divisors=()):
        self.number, self.factors, self.divisors = number, list(factors), list(divisors)

    @functools.cached_property
    def names(self):
        """The names it reads (its factors and divisors are names)."""
        return {n.id for n in self.factors + self.divisors}

    @classmethod
    def of(cls, v):
        """The product ``v`` is, or None when it is something else."""
        if isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.USub):
            inner = cls.of(v.operand)
            return None if inner is None else cls(-inner.number, inner.factors, inner.divisors)
        if _is_number(v):
            return cls(v.value, [])
        if isinstance(v, gast.Name):
            return cls(1, [v])
        if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Div) and isinstance(v.right, gast.Name):
            left = cls.of(v.left)
            return None if left is None else cls(left.number, left.factors, left.divisors + [v.right])
        if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Mult):
            left, right = cls.of(v.left), cls.of(v.right)
            if left is None or right is None or right.divisors:
                return None
            return cls(left.number * right.number, left.factors + right.factors, left.divisors)
        return None

    def node(self):
        """The expression: ``number * f1 * f2 / d1``, ``-f1 * f2`` for -1."""
        factors = list(self.factors)
        if self.number == -1 and factors:
            factors[0] = gast.UnaryOp(op=gast.USub(), operand=factors[0])
        elif self.number != 1 or not factors:
            factors.insert(0, const(self.number))
        expr = factors[0]
        for f in factors[1:]:
            expr = gast.BinOp(left=expr, op=gast.Mult(), right=f)
        for d in self.divisors:
            expr = gast.BinOp(left=expr, op=gast.Div(), right=d)
        return expr


def _is_number(v):
    return isinstance(v, gast.Constant) and type(v.value) in (int, float)

