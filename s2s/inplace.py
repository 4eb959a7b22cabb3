"""Reuse the buffer of a temporary that dies: ``t = a * b`` becomes
``t = a`` and ``t *= b`` where ``a`` is a fresh array that nothing reads
afterwards and ``b`` cannot change its shape or dtype; ``t = p + q * r``
becomes ``t = p`` and ``t += q * r`` (the sum accumulates into the first
term's fresh result).

On arrays of 1e5 elements and more a new result costs about as much as the
arithmetic (fresh memory, page faults, cache misses): ``c *= b`` takes 0.6x
of ``a * b`` at 1e6 float64 elements. Below ~1e4 elements it saves nothing
and costs nothing, since the statements are the same in number.

Which values may be updated in place is decided from the code alone, with no
run-time test:

- **shape and dtype**: a value is of the *class* of a differentiated
  parameter ``x`` when it is made from ``x`` and values of that class by
  arithmetic (``+ - * / **``, unary ``-``) with Python numbers, and by
  NumPy's elementwise functions of one or two such values (``xp.exp``,
  ``xp.maximum``...) that keep a float or complex dtype. The API checks that
  ``x`` is a float or complex array or number, so every value of its class
  has ``x``'s shape and dtype; where ``x`` has no axes the values are
  NumPy or Python scalars, which ``*=`` simply rebinds. The class is found
  for the whole function at once (flow-insensitive, optimistic: ``h =
  tanh(h)`` in a loop keeps ``h``'s class). Tangent parameters carry no
  class (a tangent's dtype may differ from its primal's), nor do globals,
  products with matrices, slices or anything else.
- **freshness**: ``a`` is bound once, by arithmetic or such a function (a
  new array, never a view of another), and every read of it is an operand
  of arithmetic, a comparison or such a function (never a call that could
  keep it, an index, a container, a ``return``), all in statements of the
  block that binds it, the last of them the one updated in place.

The primal's operations keep their order, so its values are exactly the
function's, to the bit. A tangent's sum or product may take its operands in
the other order (``t = c * a`` with ``a`` dying becomes ``t = a; t *= c``):
the same numbers, except that a complex product can then differ in its last
bit (NumPy's complex multiply rounds differently with the operands swapped)
and a sum of two NaNs keeps the other one's sign bit.

Nothing is rewritten inside a ``try`` or ``with`` block: there an exception
in the middle of ``t = a; t *= b`` could be caught and ``t`` read, holding
``a``'s array.

Runs last, on the jvp code ``s2s.jvp`` calls when every primal is an
array or a number (for a list, tuple or dict primal, ``p + p`` is a longer
list: the code without this pass); the code ``jacfwd`` and ``hessian``
batch or differentiate again is left as it was.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return np.exp(-x * x) + x * x\\n", "jvp-inplace"))
def f_jvp(x, x_dot):
    xp = _s2s.namespace_of(x, x_dot)
    # <doctest>:2  return np.exp(-x * x) + x * x
    _t0 = -x
    _t1 = _t0 * x
    _t1_dx = _t0
    _t1_dx += _t0
    del _t0
    _t2 = xp.exp(_t1)
    del _t1
    _t2_dx = _t1_dx
    _t2_dx *= _t2
    del _t1_dx
    _t3 = x * x
    _t3_dx = x + x
    _t4 = _t2
    _t4 += _t3
    del _t2, _t3
    _t4_dx = _t2_dx
    _t4_dx += _t3_dx
    del _t2_dx, _t3_dx
    _t4_dot = _t4_dx * x_dot
    return (_t4, _t4_dot)
"""

import gast

from .codegen import is_comment
from .nodes import single_target, walk

# NumPy's elementwise functions whose result has the dtype of their float
# or complex operands (not abs, angle, real, the comparisons...)
UNARY_UFUNCS = frozenset({
    "negative", "positive", "conjugate", "conj", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "exp", "exp2", "expm1",
    "log", "log2", "log10", "log1p", "sqrt", "square", "reciprocal",
})
BINARY_UFUNCS = frozenset({"add", "subtract", "multiply", "divide", "true_divide", "power", "maximum",
                     "minimum", "fmax", "fmin", "hypot", "arctan2", "copysign"})
# functions that keep no reference to their arguments -> how many they may
# take by position (more would be an output array: np.add(a, b, out))
_READERS = dict.fromkeys(UNARY_UFUNCS, 1) | dict.fromkeys(BINARY_UFUNCS, 2) | dict.fromkeys(
    ("sum", "mean", "prod", "max", "min", "dot", "matmul", "vdot", "inner", "outer"), 2) | {
    "tensordot": 3}
_INPLACE = {gast.Add: True, gast.Mult: True, gast.Sub: False, gast.Div: False}  # -> commutes
_CLASSED_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)
_DYNAMIC = {"locals", "vars", "eval", "exec", "globals"}
_COMPOUND = (gast.If, gast.While, gast.For, gast.AsyncFor, gast.With, gast.AsyncWith, gast.Try)
_FLOAT16_MAX = 65504.0  # a larger literal may widen a small float under NumPy 1.x's rules



class _Mark:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


TOP, BOTTOM, NUMBER = _Mark("TOP"), _Mark("BOTTOM"), _Mark("NUMBER")  # unknown yet / none / a number
_NONE = (TOP, BOTTOM, NUMBER)


def run(body, params, active, tangents, namespace):
    """``body`` (a jvp function's statements) with temporaries updated in
    place. ``params``: the function's parameters, ``active``: those
    differentiated; ``tangents``: the names of tangent values and their
    coefficients (whose products may swap operands); ``namespace``: the
    name of the array namespace (``xp``)."""
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, _SCOPES) or (isinstance(node, gast.Name) and node.id in _DYNAMIC):
            return body
    return _Pass(body, params, active, tangents, namespace).block(body)


class _Pass:
    def __init__(self, body, params, active, tangents, namespace):
        self.tangents = tangents
        self.bindings = {p: [None] for p in params if p not in active}  # name -> [value node,
        self.reads = {}  # or None for a binding of no class]; name -> [(block id, index, holder)]
        self._scan(body)
        self.namespaces = set() if namespace in self.bindings else {namespace}
        self.classes = _classes(self.bindings, active, self)

    # -- what the function binds and reads --------------------------------------------

    def _scan(self, block):
        for i, stmt in enumerate(block):
            if is_comment(stmt):
                continue
            if single_target(stmt) is not None:
                self._bind(stmt.targets[0].id, stmt.value)
                self._read(stmt.value, block, i, stmt)
            elif isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
                name = stmt.target.id
                self._bind(name, gast.BinOp(left=gast.Name(id=name, ctx=gast.Load(),
                                                           annotation=None, type_comment=None),
                                            op=stmt.op, right=stmt.value))
                self.reads.setdefault(name, []).append((id(block), i, None))
                self._read(stmt.value, block, i, stmt)
            elif isinstance(stmt, gast.Delete) and all(isinstance(t, gast.Name)
                                                       for t in stmt.targets):
                continue
            else:
                compound = isinstance(stmt, _COMPOUND)
                if isinstance(stmt, gast.Try):
                    for handler in stmt.handlers:
                        if handler.name is not None:
                            self._bind(handler.name.id if isinstance(handler.name, gast.Name)
                                       else handler.name, None)
                for node in _headers(stmt) if compound else [stmt]:
                    for n in walk(node):
                        if isinstance(n, gast.Name):
                            if isinstance(n.ctx, gast.Load):
                                self.reads.setdefault(n.id, []).append((id(block), i, None))
                            else:
                                self._bind(n.id, None)
                if compound:
                    for sub in _blocks(stmt):
                        self._scan(sub)

    def _bind(self, name, value):
        self.bindings.setdefault(name, []).append(value)

    def _read(self, expr, block, i, parent):
        """Record the reads of names in ``expr``, each with the node that holds it."""
        todo = [(expr, parent)]
        for node, holder in todo:
            if isinstance(node, gast.Name):
                if isinstance(node.ctx, gast.Load):
                    self.reads.setdefault(node.id, []).append((id(block), i, holder))
                else:  # (a walrus, a comprehension's variable)
                    self._bind(node.id, None)
                continue
            for child in gast.iter_child_nodes(node):
                todo.append((child, node))

    # -- the classes of values --------------------------------------------------------

    def ufunc(self, call, names, keywords=False):
        """The name of the NumPy function ``call`` calls through the array
        namespace, if it is one of ``names`` and takes plain arguments (and
        keywords, if ``keywords``)."""
        f = call.func
        if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                and f.value.id in self.namespaces and f.attr in names \
                and (keywords or not call.keywords) \
                and not any(isinstance(a, gast.Starred) for a in call.args):
            return f.attr
        return None

    def of(self, node, classes):
        """The class of the value of ``node``."""
        if isinstance(node, gast.Name):
            return classes.get(node.id, BOTTOM)
        if _number(node):
            return NUMBER
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
            return self.of(node.operand, classes)
        if isinstance(node, gast.BinOp) and isinstance(node.op, _CLASSED_OPS):
            return _join(self.of(node.left, classes), self.of(node.right, classes))
        if isinstance(node, gast.Call):
            name = self.ufunc(node, UNARY_UFUNCS | BINARY_UFUNCS)
            if name is not None and len(node.args) == (1 if name in UNARY_UFUNCS else 2):
                cls = NUMBER
                for a in node.args:
                    cls = _join(cls, self.of(a, classes))
                return BOTTOM if cls is NUMBER else cls
        return BOTTOM

    def fresh(self, node):
        """Whether ``node`` makes a new array (or number) of a class."""
        return isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Call)) \
            and self.of(node, self.classes) not in _NONE

    # -- the rewrite ------------------------------------------------------------------

    def block(self, block, guarded=False):
        """The statements of ``block``, rewritten; ``guarded``: inside a
        ``try`` or ``with`` (left as they are: an exception an update in
        place raises there could be caught, and the name it assigns read,
        holding what it held in the middle of the update)."""
        out = []
        for i, stmt in enumerate(block):
            if isinstance(stmt, _COMPOUND):
                inner = guarded or isinstance(stmt, (gast.Try, gast.With, gast.AsyncWith))
                for field in ("body", "orelse", "finalbody"):
                    if getattr(stmt, field, None):
                        setattr(stmt, field, self.block(getattr(stmt, field), inner))
                if isinstance(stmt, gast.Try):
                    for handler in stmt.handlers:
                        handler.body = self.block(handler.body, inner)
                out.append(stmt)
                continue
            if single_target(stmt) is not None and not guarded:
                out.extend(self.assign(stmt.targets[0].id, stmt.value, block, i, set(), stmt))
                continue
            out.append(stmt)
        return out

    def assign(self, target, value, block, i, later, original):
        """The statements for ``target = value`` (statement ``i`` of
        ``block``), where ``later`` are the names read after ``value``."""
        if isinstance(value, gast.BinOp) and type(value.op) in _INPLACE \
                and target not in _names(value):
            commutes = _INPLACE[type(value.op)] and target in self.tangents
            sides = [(value.left, value.right)]
            if commutes and _pure(value.left, self):
                sides.append((value.right, value.left))
            for first, other in sides:
                cls = self.of(first, self.classes)
                if cls in _NONE or _join(cls, self.of(other, self.classes)) != cls:
                    continue
                taken = self.dying(first, block, i, later)
                if taken or self.fresh(first):
                    head = [_assign(target, first, original)] if taken else \
                        self.assign(target, first, block, i, later | _names(other), original)
                    return head + [gast.AugAssign(target=_store(target), op=value.op,
                                                  value=other)]
        return [_assign(target, value, original)]

    def dying(self, node, block, i, later):
        """Whether ``node`` names a fresh value whose last read is statement
        ``i`` of ``block`` (and not among the names read ``later``)."""
        if not isinstance(node, gast.Name) or node.id in later:
            return False
        values = self.bindings.get(node.id)
        if values is None or len(values) != 1 or values[0] is None or not self.fresh(values[0]):
            return False
        reads = self.reads.get(node.id, [])
        if not reads or any(b != id(block) or holder is None or not self.keeps_nothing(holder)
                            for b, _, holder in reads):
            return False
        defined = self._index(block, node.id)
        return defined is not None and all(defined < at <= i for _, at, _ in reads) \
            and max(at for _, at, _ in reads) == i

    def keeps_nothing(self, holder):
        """Whether reading a name as a child of ``holder`` leaves no reference to it."""
        if isinstance(holder, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            return True
        reader = isinstance(holder, gast.Call) and self.ufunc(holder, _READERS, True)
        return bool(reader) and len(holder.args) <= _READERS[reader] \
            and not any(k.arg == "out" for k in holder.keywords)

    def _index(self, block, name):
        for j, stmt in enumerate(block):
            if single_target(stmt) == name:
                return j
        return None


def _classes(bindings, params, pass_):
    """name -> class: a parameter's name for the values of its class (see
    the module's docstring), BOTTOM for the rest. Optimistic: every name
    starts unknown (TOP) and falls until its bindings agree."""
    classes = {n: TOP for n in bindings}
    classes.update((p, ("param", p)) for p in params)
    changed = True
    while changed:
        changed = False
        for name, values in bindings.items():
            cls = ("param", name) if name in params else TOP  # a parameter's own binding
            for value in values:
                cls = _meet(cls, BOTTOM if value is None else pass_.of(value, classes))
            if cls is NUMBER:
                cls = BOTTOM  # a Python number is not an array of any class
            if cls != classes[name]:
                classes[name] = cls
                changed = True
    return classes


def _join(a, b):
    """The class of an operation on values of classes ``a`` and ``b``."""
    if a is BOTTOM or b is BOTTOM:
        return BOTTOM
    if a is NUMBER or a is TOP:
        return a if b is NUMBER else b
    if b is NUMBER or b is TOP or a == b:
        return a
    return BOTTOM


def _meet(a, b):
    """The class of a name bound to values of classes ``a`` and ``b``."""
    if a is TOP:
        return b
    if b is TOP or a == b:
        return a
    return BOTTOM


def _number(node):
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        node = node.operand
    return isinstance(node, gast.Constant) and type(node.value) in (int, float, bool) \
        and abs(node.value) <= _FLOAT16_MAX


def _pure(node, pass_):
    """Whether evaluating ``node`` later than written changes nothing:
    arithmetic of names, numbers and elementwise functions."""
    for n in walk(node):
        if isinstance(n, gast.Call):
            if pass_.ufunc(n, UNARY_UFUNCS | BINARY_UFUNCS) is None:
                return False
        elif not isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.Attribute,
                                gast.Load, gast.operator, gast.unaryop)):
            return False
    return True


def _names(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def _headers(stmt):
    """The expressions a compound statement evaluates itself."""
    if isinstance(stmt, (gast.If, gast.While)):
        return [stmt.test]
    if isinstance(stmt, (gast.For, gast.AsyncFor)):
        return [stmt.target, stmt.iter]
    if isinstance(stmt, (gast.With, gast.AsyncWith)):
        return stmt.items
    return [h.type for h in stmt.handlers if h.type is not None]


def _blocks(stmt):
    blocks = [getattr(stmt, f) for f in ("body", "orelse", "finalbody") if getattr(stmt, f, None)]
    if isinstance(stmt, gast.Try):
        blocks += [h.body for h in stmt.handlers]
    return blocks


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def _assign(target, value, original):
    new = gast.Assign(targets=[_store(target)], value=value, type_comment=None)
    return gast.copy_location(new, original)
