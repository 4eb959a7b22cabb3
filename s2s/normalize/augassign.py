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
import numpy

from ..analysis import INACTIVE_ATTRIBUTES, VIEW_FUNCTIONS
from ..containers import Containers
from ..context import assign, name
from ..frontend import MISSING
from ..nodes import clone, walk

_SPLITTERS = {numpy.split, numpy.array_split, numpy.hsplit, numpy.vsplit, numpy.dsplit}


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
    def __init__(self, ctx, containers, params, shared):
        self.ctx = ctx
        self.containers = containers
        self.params = params
        self.shared = shared

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
        if self._holds_items(target.value, index) or self._item_shared(target.value, index):
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
        argument, or of an array one: Python's way is right for both), a
        shallow copy's too (``dict(p)``: its arrays are ``p``'s, changed in
        place, as in Python: the entry copy keeps the caller's intact)."""
        keys, root = [index], container
        while isinstance(root, gast.Subscript):
            keys.append(root.slice)
            root = root.value
        if not isinstance(root, gast.Name):
            return False
        if isinstance(container, gast.Name):
            return container.id in self.containers.names or _string(index)
        return root.id in self.params or self.containers.holds_items(container) \
            or all(_string(k) for k in keys)

    def _item_shared(self, container, index):
        """Whether ``container`` (``q`` or ``q[0]`` of ``q[0][k] op= v``),
        perhaps a list or dict, may hold an object another name holds too:
        then the old item must change in place (:func:`shared_items`); for
        an array, ``c[k] = c[k] op v`` does the same. Not for a slice
        (``c[1:]`` of a list is a new one, of an array a view: written
        either way)."""
        if any(isinstance(n, gast.Slice) for n in walk(index)):
            return False
        root = container
        while isinstance(root, gast.Subscript):
            root = root.value
        return isinstance(root, gast.Name) and root.id in self.shared

    def _update_item(self, node, container, index):
        """``c[k] op= v`` as Python runs it, ``_t = c[k]; _t op= v; c[k] = _t``
        (the array ``c[k]`` changes in place); a nested ``c`` (``rows[0]``)
        is read once, into a temporary."""
        root = container
        while isinstance(root, gast.Subscript):
            root = root.value
        if isinstance(root, gast.Name):  # (for the jvp pass: a callee's result, copied)
            self.ctx.__dict__.setdefault("items_updated", set()).add(root.id)
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


# -- which items another name may hold ------------------------------------------------

# calls whose result shares no object with their arguments (a new array, a number)
_FRESH_BUILTINS = {len, abs, float, int, complex, bool, range, isinstance, type, print, str,
                   round, hash, id, sum}


def shared_items(nodes, ctx):
    """The names whose items (at any depth: ``q[0]``, ``q[0][1]``) another
    name or container may hold too, so that a change of one in place shows
    there (``a = q[0]; q[0] += 1`` changes ``a`` where ``q`` is a list):
    flow-insensitively, a name whose item, a view of one (``q[0][1:]``,
    ``q[0].T``, ``xp.reshape(q[0], s)``) or itself is bound to a name
    (``a = q[0]``, ``a, b = q``), looped over (``for r in q``), put into a
    display or container, or passed to a function of the user's or one not
    known (which may keep it); not a name bound to another (``r = q``: the
    same slots), and not what a NumPy function makes anew of it (``xp.sum(
    q[0])``), arithmetic, ``len(q)`` or ``q.shape`` share. A name every
    value of which is a NumPy call's new array holds no items."""
    same, exposed, arrays = {}, set(), {}

    def find(x):
        while same.setdefault(x, x) != x:
            x = same[x]
        return x

    def expose(expr, but=None):
        exposed.update(_exposed_names(expr, ctx) - {but})

    for node in nodes:
        if isinstance(node, gast.Assign):
            target, value = node.targets[0], node.value
            if isinstance(target, gast.Name):
                arrays.setdefault(target.id, []).append(_new_array(value, ctx))
                if isinstance(value, gast.Name):
                    same[find(target.id)] = find(value.id)
                    continue
                # (x = x.copy(): the old x is no longer reachable through x)
                expose(value, but=target.id)
                continue
            expose(value)
        elif isinstance(node, gast.For):
            expose(node.iter)
        elif isinstance(node, (gast.Call, gast.List, gast.Tuple, gast.Set, gast.Dict)):
            for part in _held_parts(node, ctx):
                expose(part)
    roots = {find(n) for n in exposed}
    return {n for n in set(same) | exposed | set(arrays)
            if find(n) in roots and not all(arrays.get(n) or [False])}


def _held_parts(node, ctx):
    """The parts of a call or display that the result, or the called
    function, may keep: a display's items, the arguments of a function of
    the user's or one not known, a method's receiver and arguments."""
    if not isinstance(node, gast.Call):
        return node.values if isinstance(node, gast.Dict) else node.elts
    args = node.args + [k.value for k in node.keywords]
    if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name) \
            and ctx.is_local(node.func.value.id):
        return args  # (lst.append(q[0]); the receiver's own use is the binding's)
    obj = ctx.resolve(node.func)
    if _numpy_function(obj) or _is_fresh_builtin(obj):
        return []
    return args


def _exposed_names(expr, ctx):
    """The names whose items (or themselves) ``expr``'s value may be or
    hold: ``q`` of ``q``, ``q[0]``, ``q[0][1:]``, ``q[0].T``, ``f(q[0])``
    (a function of the user's), ``[q[0], 1]``, ``xp.reshape(q[0], s)``."""
    if isinstance(expr, gast.Name):
        return {expr.id}
    if isinstance(expr, gast.Subscript):
        return _exposed_names(expr.value, ctx)
    if isinstance(expr, gast.Attribute):
        return set() if expr.attr in INACTIVE_ATTRIBUTES else _exposed_names(expr.value, ctx)
    if isinstance(expr, gast.Starred):
        return _exposed_names(expr.value, ctx)
    if isinstance(expr, (gast.List, gast.Tuple, gast.Set)):
        return set().union(*(_exposed_names(e, ctx) for e in expr.elts))
    if isinstance(expr, gast.Dict):
        return set().union(*(_exposed_names(v, ctx) for v in expr.values))
    if isinstance(expr, gast.BoolOp):  # (a or b is one of them)
        return set().union(*(_exposed_names(v, ctx) for v in expr.values))
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add) and any(
            isinstance(side, (gast.List, gast.Tuple)) for side in (expr.left, expr.right)):
        return _exposed_names(expr.left, ctx) | _exposed_names(expr.right, ctx)  # rows + [y]
    if isinstance(expr, gast.Call):
        func, args = expr.func, expr.args + [k.value for k in expr.keywords]
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and ctx.is_local(func.value.id):  # (q.copy(), q.get(k), q[0].astype...)
            return _exposed_names(func.value, ctx) | set().union(
                *(_exposed_names(a, ctx) for a in args))
        obj = ctx.resolve(func)
        if _is_fresh_builtin(obj):
            return set()
        if _numpy_function(obj):
            views = getattr(obj, "__name__", None) in VIEW_FUNCTIONS
            return set().union(*(_exposed_names(a, ctx) for a in args)) if views else set()
        return set().union(*(_exposed_names(a, ctx) for a in args))
    return set()  # arithmetic, comparisons, constants: new values


def _numpy_function(obj):
    """A function of NumPy's (or of an array library's namespace), not one
    of those that make lists (``np.split``)."""
    if obj is MISSING or obj in _SPLITTERS:
        return False
    return isinstance(obj, numpy.ufunc) or (getattr(obj, "__module__", None) or "").split(
        ".")[0] in ("numpy", "cupy", "dask")


def _is_fresh_builtin(obj):
    try:
        return obj in _FRESH_BUILTINS
    except TypeError:  # (an unhashable object)
        return False


def _new_array(value, ctx):
    """Whether ``value`` is a NumPy call that makes an array (``xp.zeros(n)``)."""
    if not isinstance(value, gast.Call):
        return False
    obj = ctx.resolve(value.func)
    return _numpy_function(obj) and getattr(obj, "__name__", None) not in VIEW_FUNCTIONS


def run(fn_node, ctx):
    params = {a.id for a in fn_node.args.posonlyargs + fn_node.args.args + fn_node.args.kwonlyargs}
    nodes = list(walk(fn_node))
    _AugAssign(ctx, Containers(nodes, ctx), params, shared_items(nodes, ctx)).statements(fn_node)
    return fn_node
