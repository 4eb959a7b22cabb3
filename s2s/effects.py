"""What a call of one of the user's functions changes in the caller's arrays.

A helper that updates its argument in place (``def add_into(y, v): y += v``)
changes the caller's array: the caller must treat ``add_into(y, v)`` as a
write into ``y``, as it treats ``y += v`` written in its own body. Its inputs
are then copied at entry (the caller's arrays stay intact), and a tangent
shared with another value (``y = x * 1.0`` has ``y_dot = x_dot``) is copied
before the helper writes into it.

The helper's source is read as written (not normalised): a parameter
counts as changed where the function stores into it (``y[i] = ...``,
``y += ...``, ``out=y``, ``np.copyto(y, ...)``, ``y.sort()``...), through a
view of it, or passes it on to a function that changes it.
"""

import inspect
import types

import gast
import numpy

from .analysis import Aliases, user_function
from .context import Context
from .errors import S2SError
from .frontend import MISSING, parse
from .nodes import walk
from .normalize.methods import IN_PLACE
from .normalize.writes import _HINTS


def changed_arguments(nodes, ctx, seen=frozenset()):
    """Names that calls among ``nodes`` pass, whole, to parameters that the
    called function of the user's changes in place."""
    return {name for node in nodes for _, name, _ in changed_bindings(node, ctx, seen)}


def changed_bindings(node, ctx, seen=frozenset()):
    """``(parameter, name, function)`` for each name that the call ``node``
    passes to a parameter the called function of the user's changes in place
    (``x`` of ``f(x)`` or of ``f(x[1:])``); empty for any other node. Worked
    out once per call node and transformation (kept on ``ctx``): the passes
    of one function ask again, activity at every step of its fixed point."""
    if not isinstance(node, gast.Call):
        return []
    memo = ctx.__dict__.setdefault("_changed_bindings", {})
    hit = memo.get(id(node))
    if hit is None or hit[0] is not node:
        hit = memo[id(node)] = (node, _bindings(node, ctx, seen))
    return hit[1]


def _bindings(node, ctx, seen):
    if any(isinstance(a, gast.Starred) for a in node.args):
        return []
    try:
        obj = ctx.resolve(node.func)
    except S2SError:
        return []
    if obj is MISSING or not user_function(obj):
        return []
    changed = changed_parameters(obj, seen)
    if not changed:
        return []
    try:
        bound = inspect.signature(obj, follow_wrapped=False).bind(
            *node.args, **{k.arg: k.value for k in node.keywords if k.arg})
    except (TypeError, ValueError):
        return []
    return [(p, name, obj) for p, arg in bound.arguments.items()
            if p in changed and isinstance(arg, gast.AST)
            for name in _stored_bases(arg, whole=True)]


def changed_parameters(fn, seen=frozenset()):
    """The parameters of the user's function ``fn`` that it changes in place
    (``seen``: the code objects being analysed, for recursion)."""
    from .frontend import _unwrap

    try:
        # (of a bound method, its function's: the receiver's name is bound to nothing)
        fn = fn.__func__ if type(fn) is types.MethodType else _unwrap(fn)
        code = fn.__code__
        if code in seen:
            return set()
        parsed = parse(fn)
        ctx = Context(parsed)
    except S2SError:
        return set()
    node = parsed.node
    nodes = list(walk(node))
    written = _written_names(nodes, ctx) | changed_arguments(nodes, ctx, seen | {code})
    if not written:
        return set()
    aliases = Aliases(node, ctx, nodes)
    params = [a.id for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    return {p for p in params if any(aliases.same(p, w) for w in written)}


def _written_names(nodes, ctx):
    """Names the function stores into, in source as written."""
    found = set()
    for node in nodes:
        if isinstance(node, gast.Assign):
            for target in node.targets:
                found.update(_stored_bases(target))
        elif isinstance(node, gast.AugAssign):
            target = node.target
            found.update([target.id] if isinstance(target, gast.Name) else _stored_bases(target))
        elif isinstance(node, gast.Call):
            found.update(k.value.id for k in node.keywords
                         if k.arg == "out" and isinstance(k.value, gast.Name))
            func = node.func
            if isinstance(func, gast.Attribute) and func.attr in IN_PLACE \
                    and isinstance(func.value, gast.Name) and ctx.is_local(func.value.id):
                found.add(func.value.id)
                continue
            if node.args and isinstance(node.args[0], gast.Name):
                try:
                    obj = ctx.resolve(func)
                except S2SError:
                    continue
                if _writes_first_argument(obj):
                    found.add(node.args[0].id)
    return found


def _stored_bases(target, whole=False):
    """The names whose contents an assignment target writes: ``y`` of
    ``y[i]``, ``y[i][j]`` and ``y.flat[i]``, of each item of a tuple target
    (``whole``: ``y`` itself too, as an argument a function writes into)."""
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in _stored_bases(e, whole)]
    if whole and isinstance(target, gast.Name):
        return [target.id]
    if not isinstance(target, (gast.Subscript, gast.Attribute)):
        return []
    base = target.value
    while isinstance(base, (gast.Subscript, gast.Attribute)):
        base = base.value
    return [base.id] if isinstance(base, gast.Name) else []


def _writes_first_argument(obj):
    """``np.copyto``, ``np.fill_diagonal``, ``np.put``...: NumPy functions
    that write into their first argument."""
    try:
        return obj is numpy.copyto or obj in _HINTS
    except TypeError:  # (an unhashable object)
        return False
