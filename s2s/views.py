"""Identity-basis products that may be the matrix itself, not a copy.

In jacfwd of a vector input, ``W @ x`` has the tangent
``_s2s.identity_matmul(x_dot, W.T)``: the directions are the identity, so
the product is ``W.T``. It is a copy, because the generated code could
change the array in place or hand it to the caller (who must not get an
array sharing memory with ``W``). Where neither can happen, the copy is
work for nothing; this pass marks those products ``copy=False``:

    _t0_dot = _s2s.identity_matmul(x_dot, W1.T)
    ->  _t0_dot = _s2s.identity_matmul(x_dot, W1.T, copy=False)

when the function changes no array in place and every read of the product
makes a new array from it: an operand of arithmetic (``_t5 * _t0_dot``),
possibly through ``broadcast_with`` / ``align_batched`` (which may return
their first argument itself) or a name that holds only such a value. Any
other read (a return, a display, an index, a call) keeps the copy. The pass
runs on every batched function, so code batched again (``hessian``) is
checked again at its own level.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return np.tanh(np.ones((3, 2)) @ x)\\n", "jacfwd"))
def f_jvp_vmap(x, x_dot):
    xp = _s2s.namespace_of(x, x_dot)
    _B = _s2s.batch_size(x_dot)
    # <doctest>:2  return np.tanh(np.ones((3, 2)) @ x)
    _t0 = xp.ones((3, 2))
    _t1 = _t0 @ x
    _t1_dot = _s2s.identity_matmul(x_dot, _t0.T, copy=False)
    del _t0
    _t2 = xp.tanh(_t1)
    del _t1
    _t3 = _t2 * _t2
    _t4 = 1 - _t3
    _t2_dot = _t4 * _t1_dot
    _t5 = (_s2s.batched(_t2, _B, xp=xp), _t2_dot)
    return _t5
"""

import gast

from .context import const
from .nodes import children, walk_values

_NEW_ARRAY_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.MatMult)
PASS_THROUGH = ("broadcast_with", "align_batched")  # may return their first argument


def run(fn_node, runtime_name, mutated):
    """Mark the identity products of ``fn_node`` that nothing can change or
    hand out ``copy=False`` (in place; ``runtime_name``: the name the code
    calls s2s's runtime by, ``mutated``: the names the function changes in
    place)."""
    nodes = walk_values(fn_node)
    products = {node.targets[0].id: node.value for node in nodes  # target -> the call
                if isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name)
                and helper_name(node.value, runtime_name) == "identity_matmul"}
    if not products:
        return  # (most functions: no parent table built)
    parents, reads = {}, {}
    for node in nodes:
        for child in children(node):
            parents[child] = node
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            reads.setdefault(node.id, []).append(node)
    for target, product in products.items():
        keywords = [k for k in product.keywords if k.arg != "copy"]
        if not mutated and _consumed(target, reads, parents, runtime_name, set()):
            keywords.append(gast.keyword(arg="copy", value=const(False)))
        product.keywords = keywords


def _consumed(var, reads, parents, runtime_name, seen):
    """Whether every read of ``var`` makes a new array from it."""
    if var in seen:
        return True  # (a name assigned from itself, in a loop)
    seen.add(var)
    return all(_consumed_at(n, reads, parents, runtime_name, seen) for n in reads.get(var, ()))


def _consumed_at(node, reads, parents, runtime_name, seen):
    parent = parents.get(node)
    if isinstance(parent, gast.BinOp) and isinstance(parent.op, _NEW_ARRAY_OPS):
        return True
    if isinstance(parent, gast.Call) and helper_name(parent, runtime_name) in PASS_THROUGH:
        if parent.args and parent.args[0] is node:
            return _consumed_at(parent, reads, parents, runtime_name, seen)
        return True  # an operand read for its shape only
    if isinstance(parent, gast.Tuple) and isinstance(parents.get(parent), gast.Call) \
            and helper_name(parents[parent], runtime_name) == "align_batched" \
            and parents[parent].args[0] is not parent:
        return True  # align_batched's operands, read for their ranks
    if isinstance(parent, gast.Assign) and parent.value is node and len(parent.targets) == 1 \
            and isinstance(parent.targets[0], gast.Name):
        return _consumed(parent.targets[0].id, reads, parents, runtime_name, seen)
    return False


def helper_name(v, runtime_name):
    """The name of the s2s runtime helper ``v`` calls, or None."""
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
            and isinstance(v.func.value, gast.Name) and v.func.value.id == runtime_name:
        return v.func.attr
    return None
