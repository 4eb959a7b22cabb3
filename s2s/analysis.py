"""Activity analysis: which variables carry a tangent.

Expects a function in A-normal form. A variable is *active* when some value
assigned to it depends on a differentiated input through a differentiable
operation. The analysis is per variable, not per program point (a variable
active anywhere is active everywhere; where it holds a constant, its tangent
is zero), and iterates to a fixed point over loops.

Also here: which variables the function mutates in place, and which names may
share memory with which (for the copies that keep the caller's arrays intact).
"""

import builtins
import collections
import functools
import inspect
import operator
import types

import gast
import numpy

from .containers import container_names
from .context import walk_statements
from .frontend import MISSING
from .nodes import name_nodes, walk
from .rules import registry
from .rules.registry import BindError

# methods linear in the receiver: the tangent is the same method of the receiver's
# tangent (jvp.py; get and pop take the default's tangent)
LINEAR_METHODS = {"copy", "item", "tolist", "values", "items", "get", "pop", "conj", "conjugate"}
# methods whose result never carries a tangent
INACTIVE_METHODS = {"keys", "index", "count", "nonzero", "argmax", "argmin", "argsort",
                    "tobytes", "startswith", "endswith", "format", "join", "split", "strip",
                    "lower", "upper", "replace", "bit_length", "is_integer"}
# methods that put their arguments into the receiver
MUTATORS = {"append", "extend", "insert", "update", "setdefault", "__setitem__"}
CONTAINER_MUTATORS = MUTATORS | {"pop", "remove", "clear", "reverse", "sort"}
INACTIVE_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides", "flags"}
# operators -> the primitive their rule is registered under
BINOPS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul, gast.BitAnd: operator.and_,
    gast.BitOr: operator.or_, gast.BitXor: operator.xor, gast.LShift: operator.lshift,
    gast.RShift: operator.rshift,
}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Invert: operator.invert}

_INT_DTYPES = (int, bool, numpy.integer, numpy.bool_)


def is_int_dtype(obj):
    """Whether ``obj`` (a dtype, type or string) names an integer or bool dtype."""
    try:
        return numpy.issubdtype(numpy.dtype(obj), numpy.integer) or numpy.dtype(obj) == bool
    except TypeError:
        return False


# array makers whose dtype may come by position: its index
_DTYPE_POSITION = {numpy.zeros: 1, numpy.ones: 1, numpy.empty: 1, numpy.full: 2,
                   numpy.zeros_like: 1, numpy.ones_like: 1, numpy.empty_like: 1,
                   numpy.full_like: 2, numpy.array: 1, numpy.asarray: 1}


def _dtype_argument(call, ctx):
    """The node a call gives as its ``dtype`` (``x.astype(t)``'s ``t``), or None."""
    for k in call.keywords:
        if k.arg == "dtype":
            return k.value
    if isinstance(call.func, gast.Attribute) and call.func.attr == "astype":
        return call.args[0] if call.args else None
    maker = ctx.resolve(call.func)
    position = next((i for f, i in _DTYPE_POSITION.items() if f is maker), None)
    return call.args[position] if position is not None and len(call.args) > position else None


def binding_counts(nodes):
    """name -> how many times a function binds it, from ``nodes`` (its
    ``walk_values``): parameters, targets of assignments, loops,
    comprehensions and ``with``, augmented assignments, ``del`` (a name
    bound once holds one value in every run)."""
    return collections.Counter(n.id for n in nodes if isinstance(n, gast.Name)
                               and not isinstance(n.ctx, gast.Load))


def unpacks(args, keywords):
    """Whether a call passes ``*args`` or ``**kwargs`` (which parameter
    gets which value is then known only at run time)."""
    return any(isinstance(a, gast.Starred) for a in args) or any(k.arg is None for k in keywords)


class Activity:
    """``active``: the set of active variable names."""

    def __init__(self, fn_node, ctx, active_params, aliases, bindings):
        """``bindings``: :func:`binding_counts` of ``fn_node``."""
        self.ctx = ctx
        self.aliases = aliases
        self.active = set(active_params)
        assigns = [n for n in walk_statements(fn_node.body) if isinstance(n, gast.Assign)]
        self.integers = self._integer_arrays(assigns, bindings)
        # local names bound to a lambda: a call of one that reads a value carrying a
        # derivative from around it carries one (the jvp pass refuses it), even
        # with no such argument (g = lambda: x * 2.0; g())
        self.lambdas = {n.targets[0].id: n.value for n in assigns
                        if isinstance(n.targets[0], gast.Name) and isinstance(n.value, gast.Lambda)}
        self._run(fn_node.body)

    def _integer_arrays(self, assigns, bindings):
        """Names bound once, to an integer or bool array made with a dtype
        known in the code (``c = np.zeros(n, dtype=int)``): values stored
        into them are whole numbers, which carry no derivative."""
        stored = {n.targets[0].value.id for n in assigns if isinstance(n.targets[0], gast.Subscript)
                  and isinstance(n.targets[0].value, gast.Name)}  # (the only ones asked)
        found = set()
        for node in assigns:
            if isinstance(node.targets[0], gast.Name) and node.targets[0].id in stored \
                    and bindings[node.targets[0].id] == 1 and isinstance(node.value, gast.Call):
                dtype = _dtype_argument(node.value, self.ctx)
                if dtype is not None and is_int_dtype(self._static(dtype)):
                    found.add(node.targets[0].id)
        return found

    def _mark_mutated(self, var):
        """An active value written into ``var`` in place reaches every name
        that may share its memory."""
        self.active.add(var)
        if self.aliases is not None:
            self.active.update(
                n for n in self.aliases.members(var) if self.ctx.is_local(n)
            )

    # -- queries ------------------------------------------------------------

    def is_active(self, e):
        """Whether the atom ``e`` carries a tangent."""
        if isinstance(e, gast.Name):
            return e.id in self.active
        if isinstance(e, gast.Starred):
            return self.is_active(e.value)
        return False

    def value_active(self, v):
        if isinstance(v, gast.Name):
            return v.id in self.active
        if isinstance(v, gast.BinOp):
            return self._op_active(BINOPS.get(type(v.op)), [v.left, v.right])
        if isinstance(v, gast.UnaryOp):
            if isinstance(v.op, gast.Not):
                return False
            return self._op_active(UNARYOPS.get(type(v.op)), [v.operand])
        if isinstance(v, gast.Call):
            return self.call_active(v)
        if isinstance(v, gast.Subscript):
            return self.is_active(v.value)
        if isinstance(v, gast.Attribute):
            if v.attr in INACTIVE_ATTRIBUTES:
                return False
            return self.is_active(v.value)
        if isinstance(v, (gast.Tuple, gast.List)):
            return any(self.is_active(e) for e in v.elts)
        if isinstance(v, gast.Dict):
            return any(self.is_active(e) for e in v.values)
        return False

    def _op_active(self, prim, operands):
        if not any(self.is_active(o) for o in operands):
            return False
        rule = registry.lookup(prim)
        if rule is None:
            return True  # the jvp pass reports the missing rule
        if isinstance(rule, registry.LinearRule):
            return any(self.is_active(operands[i]) for _, i in rule.positions(operands, []))
        bound = rule.bind(list(operands), [])
        return rule.output_active({k: self._any_active(v) for k, v in bound.items()})

    def call_active(self, call):
        args = list(call.args) + [k.value for k in call.keywords]
        func = call.func
        if isinstance(func, gast.Attribute) and not self._is_reference(func):
            return self._method_active(func.attr, func.value, call)
        if isinstance(func, gast.Name) and func.id in self.lambdas \
                and self._reads_active(self.lambdas[func.id]):
            return True
        if not any(self.is_active(a) for a in args):
            return False
        obj = self.ctx.resolve(func)
        rule = registry.lookup(obj) if obj is not MISSING else None
        if rule is None:
            return True  # a user function, or a missing rule reported later
        if unpacks(call.args, call.keywords):
            # which parameter gets which value is known at run time only: active,
            # for the jvp pass to refuse, never a silent zero
            return not isinstance(rule, registry.ZeroRule)
        if self._integer_result(rule, call):
            return False  # np.asarray(v, dtype=int): whole numbers, piecewise constant
        if isinstance(rule, registry.LinearRule):
            return any(
                self.is_active(call.args[i] if kind == "pos" else call.keywords[i].value)
                for kind, i in rule.positions(call.args, call.keywords)
            ) or bool(rule.dropped(call.args, call.keywords, self.is_active))
            # (a derivative only in a parameter the rule is not linear in: active, for the
            # jvp pass to refuse it, never a silent zero)
        try:
            bound = rule.bind(call.args, call.keywords)
        except BindError:
            return True
        return rule.output_active({k: self._any_active(v) for k, v in bound.items()})

    def _any_active(self, value):
        if isinstance(value, tuple):
            return any(self.is_active(v) for v in value)
        return self.is_active(value)

    def _method_active(self, method, recv, call):
        if method in ("get", "pop") and len(call.args) == 2 and not self.is_active(recv):
            return self.is_active(call.args[1])  # d.get(key, default): the default's
        if method in INACTIVE_METHODS:
            return False
        if not self.is_active(recv):
            # a method of a value without a tangent, given one (``rng.normal(x)``,
            # ``obj.f(x)``): its result may depend on it, so no rule is an error,
            # never a zero tangent. (Mutators are the statements' business.)
            return method not in MUTATORS and any(
                self.is_active(a) for a in list(call.args) + [k.value for k in call.keywords])
        if method == "astype":
            return not is_int_dtype(self._static(_dtype_argument(call, self.ctx)))
        return True

    def _reads_active(self, lam):
        own = {a.id for a in lam.args.args + lam.args.kwonlyargs}
        return any(isinstance(n, gast.Name) and n.id not in own and n.id in self.active
                   for n in walk(lam.body))

    def _integer_result(self, rule, call):
        """Whether ``call`` asks ``rule``'s primitive for an integer or bool
        result, with a ``dtype`` known when s2s reads the code."""
        dtype = _dtype_argument(call, self.ctx)  # (NumPy's C functions may have no signature)
        sig = rule.signature()
        if dtype is None and sig is not None and "dtype" in sig.parameters:
            try:
                dtype = rule.bind(call.args, call.keywords).get("dtype")
            except BindError:
                return False
        return dtype is not None and is_int_dtype(self._static(dtype))

    def _static(self, node):
        if isinstance(node, gast.Constant):
            return node.value
        obj = self.ctx.resolve(node) if node is not None else MISSING
        return None if obj is MISSING else obj

    def _is_reference(self, e):
        while isinstance(e, gast.Attribute):
            e = e.value
        return isinstance(e, gast.Name) and not self.ctx.is_local(e.id)

    # -- the fixed point ------------------------------------------------------

    def _run(self, body):
        stmts = list(walk_statements(body))  # nested statements included
        while True:
            before = len(self.active)
            for s in stmts:
                self._stmt(s)
            if len(self.active) == before:
                return

    def _mark(self, target):
        for node in walk(target):
            if isinstance(node, gast.Name):
                self.active.add(node.id)

    def _changed_by_call(self, s):
        """A call of a function of the user's that writes into the arrays it
        is given (``add_into(y, x)``): with an active argument, they become
        active, as ``y += x`` makes ``y``."""
        value = getattr(s, "value", None)
        if not isinstance(s, (gast.Assign, gast.Expr)) or not isinstance(value, gast.Call):
            return
        args = list(value.args) + [k.value for k in value.keywords]
        if not any(self.is_active(a) for a in args):
            return
        from .effects import changed_arguments  # (it reads this module's helpers)

        for var in changed_arguments([value], self.ctx):
            if self.ctx.is_local(var) and var not in self.active:
                self._mark_mutated(var)

    def _stmt(self, s):
        self._changed_by_call(s)
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Subscript):
                if self.is_active(s.value) and isinstance(target.value, gast.Name) \
                        and target.value.id not in self.integers:
                    self._mark_mutated(target.value.id)
            elif isinstance(target, gast.Name):
                # an active target gains nothing (the jvp pass asks value_active
                # of its value again, so the same names are resolved)
                if target.id not in self.active and self.value_active(s.value):
                    self.active.add(target.id)
            elif isinstance(target, gast.Tuple) and self.value_active(s.value):
                self._mark(target)
        elif isinstance(s, gast.AugAssign):
            if self.is_active(s.value):
                self._mark_mutated(s.target.id)
        elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            func = s.value.func
            if (
                isinstance(func, gast.Attribute)
                and func.attr in MUTATORS
                and isinstance(func.value, gast.Name)
                and self.ctx.is_local(func.value.id)
                and any(self.is_active(a) for a in s.value.args + [k.value for k in s.value.keywords])
            ):  # (d.update(a=y) too)
                self._mark_mutated(func.value.id)
        elif isinstance(s, gast.For):
            self._for_target(s.iter, s.target)

    def _for_target(self, it, target):
        kind, parts = iteration(it, self.ctx)
        if kind == "range":
            return
        if kind in ("atom", "reversed"):
            if self.is_active(parts):
                self._mark(target)
            return
        if not isinstance(target, (gast.Tuple, gast.List)):
            if self.iterable_active(it):
                self._mark(target)
            return
        if kind == "enumerate" and len(target.elts) == 2:
            self._for_target(parts, target.elts[1])
        elif kind == "zip" and len(target.elts) == len(parts):
            for sub, elt in zip(parts, target.elts):
                self._for_target(sub, elt)
        elif kind == "items" and len(target.elts) == 2:
            if self.is_active(parts):
                self._mark(target.elts[1])
        elif self.iterable_active(it):
            self._mark(target)

    def iterable_active(self, it):
        return any(self.is_active(a) for a in iterated_atoms(it, self.ctx))


def iterated_atoms(it, ctx):
    """The atoms a ``for`` iterable takes its items from (through
    ``enumerate``, ``zip``, ``reversed``, ``.items()``; none for ``range``)."""
    kind, parts = iteration(it, ctx)
    if kind == "range":
        return []
    if kind in ("atom", "items", "reversed"):
        return [parts]
    if kind == "enumerate":
        return iterated_atoms(parts, ctx)
    return [a for p in parts for a in iterated_atoms(p, ctx)]


def iteration(it, ctx):
    """Classify a ``for`` iterable in A-normal form:
    ``("range", None)``, ``("enumerate", sub)``, ``("zip", [subs])``,
    ``("items", dict_atom)`` or ``("atom", atom)``."""
    if isinstance(it, gast.Call):
        func = it.func
        if isinstance(func, gast.Name) and not ctx.is_local(func.id):
            obj = ctx.resolve(func)
            if obj is builtins.range:
                return "range", None
            if obj is builtins.enumerate:
                return "enumerate", it.args[0]
            if obj is builtins.zip:
                return "zip", list(it.args)
            if obj is builtins.reversed and len(it.args) == 1:
                return "reversed", it.args[0]
        if isinstance(func, gast.Attribute) and func.attr == "items":
            return "items", func.value
    return "atom", it


def user_function(obj):
    """Whether ``obj`` is a function of the user's whose code the transforms
    transform where it is called: a Python function without a rule, and not
    one of s2s's own (its run-time helpers, its API: ``s2s.jvp`` inside a
    function is a call of the transform, never code to transform), or a
    ``functools.partial`` of one, or a method of an object bound to one
    (``m.forward``, called as ``forward(m, ...)``: see :func:`method_call`)."""
    if isinstance(obj, functools.partial):  # (its function may have a rule: the call uses it)
        inner = obj.func
        return isinstance(inner, types.FunctionType) and not _library_function(inner)
    if type(obj) is types.MethodType:  # obj.forward: the function, the receiver passed first
        obj = obj.__func__
    else:
        obj = instance_call(obj) or obj  # net(x) of an object: its class's __call__
    return isinstance(obj, types.FunctionType) and registry.lookup(obj) is None \
        and not _library_function(obj)


def instance_call(obj):
    """The ``__call__`` function of the user's class of the instance ``obj``
    (``net`` in ``net(x)``), or None."""
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, functools.partial)):
        return None
    call = inspect.getattr_static(type(obj), "__call__", None)
    return call if isinstance(call, types.FunctionType) and not _library_function(call) else None


def method_call(obj, call):
    """``(function, arguments)`` of the call ``call`` of ``obj``: for a
    method bound to an object (``m.forward(x)``, where ``m`` is read from
    outside the function), its class's function and the receiver expression
    before the arguments (``forward(m, x)``), else ``obj`` and the call's
    arguments. The receiver is read when the code runs, as Python does."""
    if type(obj) is types.MethodType:
        receiver = call.func.value if isinstance(call.func, gast.Attribute) else gast.Attribute(
            value=call.func, attr="__self__", ctx=gast.Load())  # (g = m.forward; g(x))
        return obj.__func__, [receiver] + list(call.args)
    function = instance_call(obj)
    if function is not None:  # net(x): type(net).__call__(net, x)
        return function, [call.func] + list(call.args)
    return obj, list(call.args)


# methods of arrays, lists and dicts that the passes know (not a method of the user's)
KNOWN_METHODS = (LINEAR_METHODS | INACTIVE_METHODS | CONTAINER_MUTATORS
                 | {"astype", "view", "item", "tolist", "remove"})


def library_objects(nodes, ctx):
    """Local names ``nodes`` (a function's) bind to what a library function
    returns (``rng = np.random.default_rng(0)``): their methods are the
    library's, with rules or none, not the user's code."""
    found = set()
    for n in nodes:
        if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name) \
                and isinstance(n.value, gast.Call):
            obj = ctx.resolve(n.value.func)
            module = "" if obj is MISSING else getattr(obj, "__module__", None) or ""
            if module.split(".")[0] in ("numpy", "builtins", "s2s"):
                found.add(n.targets[0].id)
    return found


def object_method(func, ctx, active, library=()):
    """Whether the attribute ``func`` of a call is a method of an object a
    local variable holds (``self.other``, ``self.layer.forward``, ``layer.forward``
    in a loop over layers), not carrying a derivative itself and not one of
    the methods of arrays, lists and dicts s2s knows: which code runs is
    known only when it runs (the jvp calls it through ``s2s.jvp``, the
    batching transform through ``s2s.vmap``). ``library``: the names of
    :func:`library_objects`."""
    if func.attr in KNOWN_METHODS:
        return False
    root = func.value
    while isinstance(root, gast.Attribute):
        root = root.value
    return isinstance(root, gast.Name) and ctx.is_local(root.id) and root.id not in active \
        and root.id not in library


def attribute_names(nodes):
    """Names that ``nodes`` (a function's) bind to an attribute of an object
    (``_t0 = self.buf``): a write into one of them writes into the array the
    object holds, which s2s does not follow (the object has no tangent)."""
    return {n.targets[0].id for n in nodes
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
            and isinstance(n.value, gast.Attribute)
            and n.value.attr not in INACTIVE_ATTRIBUTES | _ARRAY_VIEWS}


_ARRAY_VIEWS = {"flat", "T", "mT", "real", "imag", "base"}  # (an array's own, not an object's)


def _library_function(fn):
    """s2s's own functions, and NumPy's written in Python (``np.ones`` in
    NumPy 2): never code to transform (one without a rule is a missing rule,
    not NumPy's source to differentiate)."""
    module = getattr(fn, "__module__", None) or ""
    return module.startswith(("s2s.", "numpy.")) or module == "numpy"


# -- mutation and aliasing ------------------------------------------------------

VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
                  "expand_dims", "broadcast_to", "diagonal", "real", "imag", "asarray",
                  "atleast_1d", "atleast_2d", "atleast_3d", "flip", "fliplr", "flipud",
                  "rot90", "asanyarray", "split", "array_split", "hsplit", "vsplit", "dsplit"}


_VIEWS_OF_EVERY_ARGUMENT = {"atleast_1d", "atleast_2d", "atleast_3d"}  # (the rest: of the first)



def number_names(nodes):
    """Names that ``nodes`` (assignments among them) bind to a number literal
    (``s = 0.0``): Python numbers, which ``s += t`` rebinds rather than updates."""
    return {n.targets[0].id for n in nodes
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
            and number_literal(n.value)}


def number_literal(value):
    """``0.0``, ``-1.0``, ``+2``: a number written in the code."""
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
        value = value.operand
    return isinstance(value, gast.Constant) and type(value.value) in (int, float, complex)


def mutated_names(fn_node, nodes=None):
    """Names whose contents the function changes in place: ``y[i] = v``,
    ``y += v`` (every name that may share memory with them changes too).
    ``nodes``: the nodes of ``fn_node``, or those of them that are
    assignments, loops and calls, when the caller has them already."""
    found = set()
    for node in nodes if nodes is not None else walk(fn_node):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript):
            base = node.targets[0].value
            if isinstance(base, gast.Name):
                found.add(base.id)
        elif isinstance(node, gast.AugAssign):
            found.add(node.target.id)
    return found


def container_mutated_names(fn_node, nodes=None):
    """Lists and dicts the function changes: ``lst.append(v)``, ``d.update(e)``.
    ``nodes``: as for :func:`mutated_names`."""
    found = set()
    for node in nodes if nodes is not None else walk(fn_node):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
            if node.func.attr in CONTAINER_MUTATORS and isinstance(node.func.value, gast.Name):
                found.add(node.func.value.id)
    return found


class Aliases:
    """May-alias classes of names (flow-insensitive union-find): ``a = b``,
    ``a = b[i]``, ``a = b.reshape(...)``, ``for a in b``, ``lst.append(a)``,
    ``a, c = t`` all put both sides in one class. ``nodes``: as for
    :func:`mutated_names`."""

    def __init__(self, fn_node, ctx, nodes=None):
        self.parent = {}
        self.ctx = ctx
        nodes = list(nodes if nodes is not None else walk(fn_node))
        self.containers, self.copies = container_names(nodes, ctx)
        for node in nodes:
            if isinstance(node, gast.Assign):
                self._assign(node.targets[0], node.value)
            elif isinstance(node, gast.For):
                for src in _names(self._with_original(node.iter)):
                    for dst in _names(node.target):
                        if ctx.is_local(src) and ctx.is_local(dst):
                            self.union(src, dst)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
                if node.func.attr in MUTATORS and isinstance(node.func.value, gast.Name):
                    for a in node.args + [k.value for k in node.keywords]:  # (d.update(a=y))
                        for n in _names(a):
                            if ctx.is_local(n):
                                self.union(node.func.value.id, n)

    def _assign(self, target, value):
        if isinstance(target, gast.Subscript):
            # y[i] = v copies v's values into the array y; d["a"] = v of a list or
            # dict puts v itself there
            base = target.value
            if isinstance(base, gast.Name) and base.id in self.containers \
                    and isinstance(value, (gast.Name, gast.Subscript)):
                for n in _names(value.value if isinstance(value, gast.Subscript) else value):
                    if self.ctx.is_local(n) and self.ctx.is_local(base.id):
                        self.union(base.id, n)
            return
        targets = _names(target)
        if isinstance(target, gast.Tuple):
            value = self._with_original(value)
        if isinstance(value, gast.Subscript):
            value = value.value  # an item or view of it, or an item of its shape
            value = self._with_original(value)
        if isinstance(value, gast.Attribute) and value.attr in INACTIVE_ATTRIBUTES:
            sources = set()  # x.shape, x.shape[0]: no memory shared with x
        elif isinstance(value, gast.Subscript):
            sources = _names(value.value)
        elif isinstance(value, (gast.Name, gast.Tuple, gast.List, gast.Dict)):
            sources = _names(value)
        elif isinstance(value, gast.Attribute):
            sources = _names(value.value)
        elif isinstance(value, gast.Call):
            func = value.func
            fname = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "")
            if isinstance(func, gast.Attribute) and not _is_ref(func, self.ctx):
                sources = _names(func.value) if fname in ("get", "pop", "values", "items") else set()
            elif self.ctx.resolve(func) in (list, tuple):
                # a new list of the same arrays: list(rows) (not dict(p): an item of
                # the copy replaced would count as a write into p)
                sources = set().union(*(_names(a) for a in value.args))
            elif fname in VIEW_FUNCTIONS and fname not in _VIEWS_OF_EVERY_ARGUMENT:
                sources = _names(value.args[0]) if value.args else set()  # (not split's indices)
            elif fname in VIEW_FUNCTIONS or self._user_function(func):
                sources = set().union(*(_names(a) for a in value.args)) if value.args else set()
            else:
                sources = set()
        else:
            sources = set()
        local = self.ctx.is_local
        for t in targets:
            for s in sources:
                if local(t) and local(s):
                    self.union(t, s)

    def _with_original(self, value):
        """``value``, a name bound to a shallow copy (``q = dict(p)``), and the
        name it copies, whose items it holds: ``a = q["w"]``, ``for a in q``
        and ``a, b = q`` bind ``p``'s."""
        if not (isinstance(value, gast.Name) and value.id in self.copies):
            return value
        original = gast.Name(id=self.copies[value.id], ctx=gast.Load(), annotation=None,
                             type_comment=None)
        return gast.Tuple(elts=[value, original], ctx=gast.Load())

    def _user_function(self, func):
        return user_function(self.ctx.resolve(func))

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)

    def same(self, a, b):
        return self.find(a) == self.find(b)

    def members(self, x):
        root = self.find(x)
        return [n for n in list(self.parent) if self.find(n) == root]


def _names(node):
    return {n.id for n in name_nodes(node)}


def _is_ref(e, ctx):
    while isinstance(e, gast.Attribute):
        e = e.value
    return isinstance(e, gast.Name) and not ctx.is_local(e.id)
