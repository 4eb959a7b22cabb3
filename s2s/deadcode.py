"""Remove tangent statements whose result nothing needs.

Expects the output of the jvp pass and the set of names that pass created
for tangents (``x_dot`` and rule temporaries). Guarantees that every remaining
statement that only assigns such names assigns one that is read somewhere
else (by another live statement or the ``return``); in-place updates stay. Primal statements are
never touched. Flow-insensitive, so loops need no special care: a tangent
read anywhere stays.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    k = np.argmax(x * 2.0)\\n    return x[k]\\n", "jvp"))
def f_jvp(x, x_dot):
    xp = _s2s.namespace_of(x, x_dot)
    # <doctest>:2  k = np.argmax(x * 2.0)
    _t0 = x * 2.0
    k = xp.argmax(_t0)
    del _t0
    # <doctest>:3  return x[k]
    _t1 = x[k]
    _t1_dot = x_dot[k]
    return (_t1, _t1_dot)
"""

import gast

from .context import walk_statements
from .nodes import StatementNodes, name_nodes

_COMPOUND = (gast.If, gast.While, gast.For, gast.With, gast.Try)  # only their headers are read


def _written(stmt):
    """Names a removable statement writes, or None if it is not removable.
    Only plain assignments are: an in-place update (``v_dot *= k``,
    ``y_dot[i] = t``, ``lst_dot.append(t)``) may write through a view into
    another tangent, so it always stays."""
    if isinstance(stmt, gast.Assign):
        target = stmt.targets[0]
        if isinstance(target, (gast.Subscript, gast.Attribute)):
            return None
        if isinstance(target, gast.Name):
            return {target.id}
        return {n.id for n in name_nodes(target)}
    return None


def _reads(stmt, nodes):
    """Names ``stmt`` reads (``nodes``: a :class:`StatementNodes`)."""
    found = set()
    for node in nodes.names(stmt):
        if isinstance(node.ctx, (gast.Load, gast.Del)):
            found.add(node.id)
    if isinstance(stmt, gast.AugAssign):
        found.add(stmt.target.id)
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
        base = stmt.targets[0].value
        if isinstance(base, gast.Name):
            found.add(base.id)
    return found


def run(fn_node, tangent_vars, nodes=None):
    """``fn_node`` without the dead tangent statements. ``nodes``: the
    :class:`s2s.nodes.StatementNodes` of its statements, if there is one."""
    if nodes is None:
        nodes = StatementNodes()
    # id(stmt) -> (stmt, effects): a statement's effects do not change as
    # statements are dropped, except those of a compound statement read whole
    seen = {}
    while True:
        removable = {}
        reads = set()
        for stmt in walk_statements(fn_node.body):
            if id(stmt) in seen:
                written, read = seen[id(stmt)][1]
            else:
                written, read = _effects(stmt, tangent_vars, nodes)
                if isinstance(stmt, _COMPOUND) or not hasattr(stmt, "body"):
                    seen[id(stmt)] = (stmt, (written, read))
            if written:
                removable[id(stmt)] = written
            reads |= read
        dead = {k for k, written in removable.items() if not (written & reads)}
        if not dead:
            return fn_node
        _drop(fn_node, dead)


def _effects(stmt, tangent_vars, nodes):
    """``(written, read)``: the tangents ``stmt`` writes if it may be removed
    (else None), and the names it reads."""
    written = _written(stmt)
    if written and written <= tangent_vars:
        return written, _reads(stmt, nodes)
    if not isinstance(stmt, _COMPOUND):
        return None, _reads(stmt, nodes)
    return None, _header_reads(stmt)


def _header_reads(stmt):
    found = set()
    for field in ("test", "iter", "items", "target"):
        value = getattr(stmt, field, None)
        nodes = value if isinstance(value, list) else [value]
        for node in nodes:
            if node is None:
                continue
            for sub in name_nodes(node):
                if isinstance(sub.ctx, gast.Load):
                    found.add(sub.id)
    return found


def _drop(node, dead):
    for field in ("body", "orelse", "finalbody"):
        inner = getattr(node, field, None)
        if isinstance(inner, list):
            kept = [s for s in inner if id(s) not in dead]
            for s in kept:
                _drop(s, dead)
            if not kept and inner and field == "body":
                kept = [gast.Pass()]
            setattr(node, field, kept)
    if isinstance(node, gast.Try):
        for handler in node.handlers:
            _drop(handler, dead)
