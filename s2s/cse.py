"""Common subexpressions: a value computed again from the same operands is
the earlier one (``_t6 = _t1``), not a second computation.

Generated code repeats work where the user wrote an expression twice
(``x[:-1]`` in two places) and, above all, in second derivatives: the jvp of
a jvp recomputes what the first one's tangent rules already computed
(``xp.cos(_t0)`` for the tangent of ``sin``, again for the tangent of that
tangent). Only pure expressions count: arithmetic and comparisons of names
and constants, slices of a name, and NumPy ufuncs (``xp.cos``) of names and
constants, in the function's own statements (not inside a loop or branch),
while none of their names has been assigned again; anything that may change
an array in place (an item assignment, ``+=``, a call for its effect, a loop
or a branch) forgets everything seen before it. A value that may change in
place later (``b = x * x`` then ``b *= 2``; or another name for its array,
an item of a list holding it...) is never the earlier one, nor the earlier
one a value that may change: the two would be one array.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    return np.sum(x[:-1] * w) + np.sum(x[:-1])\\n", "jvp"))
def f_jvp(x, w, x_dot, w_dot):
    xp = _s2s.namespace_of(x, w, x_dot, w_dot)
    # <doctest>:2  return np.sum(x[:-1] * w) + np.sum(x[:-1])
    _t0 = x[:-1]
    _t0_dot = x_dot[:-1]
    _t1 = _t0 * w
    _t1_dot = _t0_dot * w + _t0 * w_dot
    _t2 = xp.sum(_t1)
    del _t1
    _t2_dot = xp.sum(_t1_dot)
    del _t1_dot
    _t3 = _t0
    _t3_dot = _t0_dot
    _t4 = xp.sum(_t3)
    _t4_dot = xp.sum(_t3_dot)
    _t5 = _t2 + _t4
    del _t2, _t4
    _t5_dot = _t2_dot + _t4_dot
    return (_t5, _t5_dot)
"""

import gast
import numpy

from .codegen import is_comment
from .nodes import VALUE_FIELDS, StatementNodes, name_nodes, single_target


def run(body, nodes=None):
    """``body`` (a function's statements) with repeated pure computations
    replaced by the name that already holds them. ``nodes``: the
    :class:`s2s.nodes.StatementNodes` of its statements, if there is one."""
    if nodes is None:
        nodes = StatementNodes()
    seen = _Seen()
    changing = _changing(body, nodes)
    out = []
    for stmt in body:
        if is_comment(stmt):
            out.append(stmt)
            continue
        target = single_target(stmt)
        key = _key(stmt.value) if target is not None and _pure(stmt.value) \
            and target not in changing else None
        held = seen.get(key)
        if held is not None and held != target:
            stmt = gast.Assign(targets=stmt.targets, value=gast.Name(
                id=held, ctx=gast.Load(), annotation=None, type_comment=None), type_comment=None)
        elif target is not None and seen and _composite(stmt.value):
            _reuse_inside(stmt.value, seen)  # -x + _t1 with _t1 = -x: _t1 + _t1
            nodes.forget(stmt)
        changes, stored = _effects(stmt, nodes)
        if changes:
            seen.clear()
        else:
            seen.forget(stored)
            if key is not None and held is None:
                # the names its value reads (a pure value binds none)
                names = {n.id for n in nodes.names(stmt) if isinstance(n.ctx, gast.Load)}
                if target not in names:
                    seen.add(key, target, names)
        out.append(stmt)
    return out


class _Seen:
    """Pure expressions (by :func:`_key`) -> the name holding each, with the
    names each reads, to forget them when one is assigned again."""

    def __init__(self):
        self.held = {}  # key -> name holding the value
        self.readers = {}  # name -> keys of expressions that read it or that it holds

    def __bool__(self):
        return bool(self.held)

    def get(self, key):
        return self.held.get(key) if key is not None else None

    def add(self, key, target, names):
        self.held[key] = target
        for n in names | {target}:
            self.readers.setdefault(n, set()).add(key)

    def forget(self, names):
        for n in names:
            for key in self.readers.pop(n, ()):
                self.held.pop(key, None)

    def clear(self):
        self.held.clear()
        self.readers.clear()


def _key(v):
    """A hashable key of a pure expression (equal keys, equal expressions)."""
    if isinstance(v, gast.Name):
        return v.id
    if isinstance(v, gast.Constant):
        return ("const", type(v.value).__name__, repr(v.value))
    if isinstance(v, gast.BinOp):
        return (type(v.op).__name__, _key(v.left), _key(v.right))
    if isinstance(v, gast.UnaryOp):
        return (type(v.op).__name__, _key(v.operand))
    if isinstance(v, gast.Compare):
        return ("cmp", _key(v.left), tuple(type(o).__name__ for o in v.ops),
                tuple(_key(c) for c in v.comparators))
    if isinstance(v, gast.Subscript):
        return ("[]", _key(v.value), _key(v.slice))
    if isinstance(v, gast.Slice):
        return ("slice", _key(v.lower), _key(v.upper), _key(v.step))
    if isinstance(v, gast.Tuple):
        return ("tuple",) + tuple(_key(e) for e in v.elts)
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute):
        return ("call", _key(v.func.value), v.func.attr, tuple(_key(a) for a in v.args))
    if v is None:
        return None
    return ("?", id(v))  # never equal to another expression's key


def _changing(body, nodes):
    """The names whose arrays may change in place (``b += v``, ``b[i] = v``,
    a call that may write into ``b``), and every name that may share memory
    with one of them (``c = b``, ``c = b[1:]``, ``d = {"w": b}``, ``for c in
    b``...: any value but the new array of an operation)."""
    parent, changed = {}, set()

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def share(targets, value):
        sources = {n.id for n in name_nodes(value)} if not _new_array(value) else set()
        for t in targets:
            for n in sources:
                parent[find(t)] = find(n)

    for stmt in body:
        for node in nodes.of(stmt):
            if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                changed.add(node.target.id)
            elif isinstance(node, (gast.Subscript, gast.Attribute)) \
                    and isinstance(node.ctx, gast.Store):
                changed.update(n.id for n in name_nodes(node.value))
            elif isinstance(node, gast.Call) and not _calls_library(node):
                changed.update(n.id for n in name_nodes(node))
            elif isinstance(node, gast.Assign):
                share([n.id for n in name_nodes(node.targets[0])
                       if isinstance(n.ctx, gast.Store)], node.value)
            elif isinstance(node, gast.For):
                share([n.id for n in name_nodes(node.target)], node.iter)
    roots = {find(n) for n in changed}
    return changed | {n for n in parent if find(n) in roots}


def _new_array(v):
    """Whether ``v`` makes a new value, sharing memory with none of its names."""
    if isinstance(v, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant)):
        return True
    return isinstance(v, gast.Call) and _ufunc_call(v)


def _composite(v):
    """An expression of pure operations only (any depth): values inside it
    can be replaced by names holding them (nothing else sees the objects)."""
    if isinstance(v, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        return all(_atom(n) or _composite(n) for n in _operands(v))
    if isinstance(v, gast.Call) and _ufunc_call(v):
        return all(_atom(a) or _composite(a) for a in v.args)
    return False


def _reuse_inside(v, seen):
    for field in VALUE_FIELDS[v.__class__]:
        child = getattr(v, field, None)
        items = child if isinstance(child, list) else [child]
        for k, item in enumerate(items):
            if not isinstance(item, gast.expr) or _atom(item):
                continue
            held = seen.get(_key(item))
            if held is not None:
                new = gast.Name(id=held, ctx=gast.Load(), annotation=None, type_comment=None)
                if isinstance(child, list):
                    child[k] = new
                else:
                    setattr(v, field, new)
            else:
                _reuse_inside(item, seen)



def _pure(v):
    if isinstance(v, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        return all(_atom(n) for n in _operands(v))
    if isinstance(v, gast.Subscript):
        return isinstance(v.value, gast.Name) and _static_index(v.slice)
    if isinstance(v, gast.Call):
        return _ufunc_call(v) and all(_atom(a) for a in v.args)
    return False


def _operands(v):
    """The operands of a BinOp, UnaryOp or Compare, in order."""
    if isinstance(v, gast.BinOp):
        return v.left, v.right
    if isinstance(v, gast.UnaryOp):
        return (v.operand,)
    return (v.left, *v.comparators)


def _ufunc_call(v):
    f = v.func
    return (isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) and f.value.id == "xp"
            and isinstance(getattr(numpy, f.attr, None), numpy.ufunc) and not v.keywords)


def _atom(n):
    if isinstance(n, gast.UnaryOp) and isinstance(n.op, gast.USub):
        n = n.operand  # -1
        return isinstance(n, gast.Constant) and isinstance(n.value, (int, float, complex))
    return isinstance(n, gast.Name) or (isinstance(n, gast.Constant)
                                        and isinstance(n.value, (int, float, complex)))


def _static_index(s):
    if isinstance(s, gast.Slice):
        return all(p is None or _atom(p) for p in (s.lower, s.upper, s.step))
    if isinstance(s, gast.Tuple):
        return all(_static_index(e) for e in s.elts)
    return _atom(s) or (isinstance(s, gast.Constant) and s.value in (None, Ellipsis))


def _effects(stmt, nodes):
    """(whether ``stmt`` may change an array in place, or is a loop, a
    branch...; the names it assigns), in one walk."""
    if not isinstance(stmt, (gast.Assign, gast.Delete, gast.Return)):
        return True, set()
    stored = set()
    for node in nodes.of(stmt):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, (gast.Store, gast.Del)):
                stored.add(node.id)
        elif isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            return True, stored
        elif isinstance(node, gast.Call) and not _calls_library(node):
            return True, stored  # a user function: it may change what it is given
    return False, stored


_MUTATORS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}


def _calls_library(call):
    """A NumPy function (through ``xp``) or an s2s helper, not one that writes into an argument."""
    root = call.func
    while isinstance(root, gast.Attribute):
        root = root.value
    return isinstance(root, gast.Name) and root.id in ("xp", "_s2s") \
        and getattr(call.func, "attr", None) not in _MUTATORS \
        and not any(k.arg == "out" for k in call.keywords)
