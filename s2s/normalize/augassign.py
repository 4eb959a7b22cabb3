"""Augmented assignment to a subscript becomes read, operate, write.

Expects comprehensions and conditional expressions removed. Guarantees that
every remaining ``AugAssign`` targets a plain name (kept in place: ``x += v``
updates the array ``x`` refers to, and the jvp pass updates ``x_dot`` the same
way). ``y[i] += v`` becomes ``y[i] = y[i] + v``, which is what NumPy does;
an index that is not trivial is evaluated once, into a temporary. An item
of a list or dict (:func:`s2s.containers.container_names`: a name bound to a
display, ``list(...)``, ``dict(...)`` or ``np.split(...)``, or to an item of
one that is a list or dict itself) is updated in place, as Python does:
``rows[1] += v`` becomes ``_t = rows[1]``, ``_t += v``, ``rows[1] = _t`` (the
array the list holds, perhaps a view of another, changes; it is not
replaced); so does an item with string keys (``p["w"] *= 2``, ``p["m"]["w"]
*= 2`` of a dict parameter), an item of a nested list or dict, and an item of
an item of a parameter (``q[0][1] += v``: a list, a dict or an array, Python's
way is right for each); a nested container is read once (``rows[0][1] += v``:
``_c = rows[0]``, then as above).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(y, v, k):\\n    y[1:] += v\\n    y[idx(k)] *= 2\\n    y += v\\n", "augassign"))
def f(y, v, k):
    y[1:] = y[1:] + v
    _t0 = idx(k)
    y[_t0] = y[_t0] * 2
    y += v
>>> print(show("def f(x, v):\\n    rows = [[x, x], [x]]\\n    rows[0][1] += v\\n", "augassign"))
def f(x, v):
    rows = [[x, x], [x]]
    _t0 = rows[0]
    _t1 = _t0[1]
    _t1 += v
    _t0[1] = _t1
"""


import gast

from ..containers import Containers
from ..context import assign, name
from ..nodes import clone, walk


def trivial(node):
    """An index that can be evaluated twice at no cost and with no effect."""
    if node is None or isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.Slice):
        return all(trivial(p) for p in (node.lower, node.upper, node.step))
    if isinstance(node, gast.Tuple):
        return all(trivial(e) for e in node.elts)
    if isinstance(node, gast.UnaryOp):
        return trivial(node.operand)
    if isinstance(node, gast.BinOp):
        return trivial(node.left) and trivial(node.right)
    if isinstance(node, gast.Attribute):
        return trivial(node.value)
    return False


class _AugAssign:
    def __init__(self, ctx, containers, params):
        self.ctx = ctx
        self.containers = containers
        self.params = params

    def statements(self, node):
        """Rewrite the augmented assignments in the statement lists under
        ``node``, in order (they occur nowhere else: no walk of expressions)."""
        for field in _STATEMENT_LISTS:
            stmts = getattr(node, field, None)
            if not isinstance(stmts, list):
                continue
            out = []
            for stmt in stmts:
                if isinstance(stmt, gast.AugAssign):
                    new = self.visit_AugAssign(stmt)
                    out.extend([] if new is None else new if isinstance(new, list) else [new])
                else:
                    self.statements(stmt)
                    out.append(stmt)
            stmts[:] = out

    def visit_AugAssign(self, node):
        target = node.target
        if isinstance(target, gast.Name):
            return node
        if isinstance(target, gast.Attribute):
            self.ctx.report(self.ctx.unsupported(
                node,
                "s2s cannot differentiate an augmented assignment to an attribute",
                "keep the value in a local variable and return it",
            ))
            return None  # collecting problems: go on without the statement
        pre = []
        index = target.slice
        if not trivial(index):
            tmp = self.ctx.temp()
            pre.append(assign(tmp, index, node.lineno))
            index = name(tmp)
        if self._holds_items(target.value, index):
            return pre + self._update_item(node, target.value, index)
        load = gast.Subscript(value=clone(target.value), slice=clone(index), ctx=gast.Load())
        store = gast.Subscript(value=target.value, slice=index, ctx=gast.Store())
        value = gast.BinOp(left=load, op=node.op, right=node.value)
        new = gast.Assign(targets=[store], value=value, type_comment=None)
        new.lineno = node.lineno
        return pre + [new]

    def _holds_items(self, container, index):
        """Whether the update changes the item ``container[index]`` in place
        (``_t = c[k]; _t op= v; c[k] = _t``, as Python runs it) rather than
        storing ``c[k] op v`` into an array: ``container`` is a list or dict
        the function builds (:func:`s2s.containers.container_names`), or an
        item of one that is one (``rows[0]`` of ``rows = [[a, b]]``), or is
        reached by string keys alone (``p["w"]``, ``p["m"]["a"]`` of a dict
        parameter), or is an item of a parameter (``rows[0]`` of a list
        argument, or of an array one: Python's way is right for both); not a
        shallow copy of another name (``dict(p)``: its arrays are ``p``'s)."""
        keys, root = [index], container
        while isinstance(root, gast.Subscript):
            keys.append(root.slice)
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.containers.copies:
            return False
        if isinstance(container, gast.Name):
            return container.id in self.containers.names or _string(index)
        return root.id in self.params or self.containers.holds_items(container) \
            or all(_string(k) for k in keys)

    def _update_item(self, node, container, index):
        """``c[k] op= v`` as Python runs it, ``_t = c[k]; _t op= v; c[k] = _t``
        (the array ``c[k]`` changes in place); a nested ``c`` (``rows[0]``)
        is read once, into a temporary."""
        pre = []
        if not isinstance(container, gast.Name):
            held = self.ctx.temp()
            pre.append(assign(held, container, node.lineno))
            container = name(held)
        item = self.ctx.temp()
        load = gast.Subscript(value=clone(container), slice=clone(index), ctx=gast.Load())
        store = gast.Subscript(value=container, slice=index, ctx=gast.Store())
        update = gast.AugAssign(target=gast.Name(id=item, ctx=gast.Store(), annotation=None,
                                                 type_comment=None),
                                op=node.op, value=node.value)
        update.lineno = node.lineno
        back = gast.Assign(targets=[store], value=name(item), type_comment=None)
        back.lineno = node.lineno
        return pre + [assign(item, load, node.lineno), update, back]


def _string(index):
    return isinstance(index, gast.Constant) and isinstance(index.value, str)


# fields holding statements, or (handlers, cases) the nodes whose bodies hold them
_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def run(fn_node, ctx):
    params = {a.id for a in fn_node.args.posonlyargs + fn_node.args.args + fn_node.args.kwonlyargs}
    _AugAssign(ctx, Containers(walk(fn_node), ctx), params).statements(fn_node)
    return fn_node
