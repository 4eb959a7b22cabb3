"""Release generated temporaries after their last use: ``del _t2, _t3_dx``.

Generated code names every intermediate value (one operation per
statement), so without this each temporary array would live until the
function returns: the peak memory would be the sum of all of them, and
NumPy could not reuse a freed buffer for the next result (on arrays of
millions of elements, fresh memory costs about as much as the arithmetic).
The user's own variables, the parameters and ``xp`` are left alone.

Only names assigned once, with a computed value (not a slice, an item or
another name, which hold no memory of their own), by a statement of the function's body (not in a
loop or a branch), are released, right after the last statement of the body
that reads them (a loop or branch reading one counts as one statement);
nothing is released just before a ``return`` of names (that frees them as
soon), and nothing in a function that
defines a function or lambda or calls ``locals``/``vars``/``eval``/``exec``.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    y = np.exp(-x * w)\\n    return y * y\\n", "jvp"))
def f_jvp(x, w, x_dot, w_dot):
    xp = _s2s.namespace_of(x, w, x_dot, w_dot)
    # <doctest>:2  y = np.exp(-x * w)
    _t0 = -x
    _t0_dot = -x_dot
    _t1 = _t0 * w
    _t1_dot = _t0_dot * w + _t0 * w_dot
    del _t0, _t0_dot
    y = xp.exp(_t1)
    del _t1
    y_dot = y * _t1_dot
    del _t1_dot
    # <doctest>:3  return y * y
    _t2 = y * y
    _t2_dot = y_dot * y + y * y_dot
    return (_t2, _t2_dot)
"""

import gast

from .nodes import StatementNodes, name_nodes

_DYNAMIC = {"locals", "vars", "eval", "exec"}
_VIEWS = (gast.Subscript, gast.Attribute, gast.Name, gast.Constant)
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)


def run(body, user_names, nodes=None):
    """``body`` (a function's statements) with ``del`` statements for the
    generated temporaries (names not in ``user_names``) that die early.
    ``nodes``: the :class:`s2s.nodes.StatementNodes` of its statements, if
    there is one (the order of a statement's nodes does not matter here)."""
    if not body or not isinstance(body[-1], gast.Return):
        return body
    if nodes is None:
        nodes = StatementNodes()
    assigned, reads, skip = {}, {}, set()
    for i, stmt in enumerate(body):
        direct = _direct_targets(stmt)
        for node in nodes.of(stmt):
            if not isinstance(node, gast.Name):
                if isinstance(node, _SCOPES):
                    return body
                continue
            if node.id in _DYNAMIC:
                return body
            if isinstance(node.ctx, gast.Load):
                reads[node.id] = i
            elif isinstance(node.ctx, gast.Store) and node.id not in assigned \
                    and id(node) in direct:
                assigned[node.id] = i
                if isinstance(stmt.value, _VIEWS):
                    skip.add(node.id)  # a view, an item or another name: frees nothing
            else:
                skip.add(node.id)  # assigned twice, in a loop or branch, or deleted
    last = len(body) - 1
    if _only_names(body[-1].value):
        last -= 1  # a return of names allocates nothing: releasing just before it gains nothing
    dying = {}  # statement index -> names whose last reader it is
    for n, at in assigned.items():
        if n in skip or n in user_names or n == "xp" or n.startswith("_B"):
            continue
        end = reads.get(n)
        if end is None or end < at or end >= last or _keeps(body[end]):
            continue
        dying.setdefault(end, []).append(n)
    out = []
    for i, stmt in enumerate(body):
        out.append(stmt)
        if i in dying:
            names = sorted(dying[i], key=assigned.get)  # in the order they were made
            out.append(gast.Delete(targets=[gast.Name(id=n, ctx=gast.Del(), annotation=None,
                                                      type_comment=None) for n in names]))
    return _merge_deletes(out)


def _merge_deletes(body):
    """One ``del`` for adjacent ones (code transformed again has a ``del`` of
    each tangent next to the ``del`` of its primal)."""
    out = []
    for stmt in body:
        if isinstance(stmt, gast.Delete) and out and isinstance(out[-1], gast.Delete):
            out[-1] = gast.Delete(targets=out[-1].targets + stmt.targets)
        else:
            out.append(stmt)
    return out


def _keeps(stmt):
    """Whether ``stmt`` keeps what it reads alive (puts it in a tuple, a list,
    a dict or another name): releasing the names after it frees nothing."""
    return isinstance(stmt, gast.Assign) and not isinstance(
        stmt.targets[0], (gast.Subscript, gast.Attribute)) and isinstance(
        stmt.value, (gast.Tuple, gast.List, gast.Dict, gast.Set, gast.Name))


def _only_names(v):
    return v is None or isinstance(v, (gast.Name, gast.Constant)) or (
        isinstance(v, gast.Tuple) and all(_only_names(e) for e in v.elts))


def _direct_targets(stmt):
    """The Name nodes a simple assignment ``stmt`` binds (by identity)."""
    if not isinstance(stmt, gast.Assign):
        return set()
    return {id(n) for t in stmt.targets for n in name_nodes(t)}
