"""One transformation, end to end: parse, normalise, analyse, emit, compile.

``jvp_function(fn, active)`` returns the generated jvp of ``fn`` with respect
to the parameters named in ``active`` (a :class:`Generated`). Results are kept
in memory per function object; user functions called with active arguments
are transformed the same way (recursion, direct or mutual, is allowed: the
callee's closure cell is filled once it is compiled).
"""

import dataclasses
import hashlib
import re
import weakref

from . import __version__
from .codegen import compile_function, unparse
from .context import Context
from .frontend import dependency_current, parse, short_filename
from .jvp import Emitter
from .normalize import normalize


@dataclasses.dataclass
class Generated:
    fn: object  # the compiled function
    source: str
    name: str
    tangent_names: dict  # parameter -> tangent parameter name
    positional: bool  # tangents follow the primals positionally
    inactive_returns: list  # lines of return statements whose value carries no tangent
    origin: str  # "model.py:f"
    deps: list = dataclasses.field(default_factory=list)  # [(name, where, object)]

    def is_current(self):
        """False once a global or cell the code was built from (a helper
        function, a module, a primitive) has been rebound: then rebuild."""
        for name, where, value in self.deps:
            if not dependency_current(name, where, value):
                return False
        return True


class _Late:
    """A closure-cell placeholder for a function still being transformed."""

    def __init__(self):
        self.cells = []

    def __call__(self, *args, **kwargs):  # pragma: no cover - never called before filled
        raise RuntimeError("s2s internal error: recursive derivative used before it was built")


_MEMO = weakref.WeakKeyDictionary()  # fn -> {spec: Generated}
_IN_PROGRESS = {}  # (fn, spec) -> (late, tangent names)


def jvp_function(fn, active, *, entry=True):
    """The jvp of ``fn`` w.r.t. the parameters ``active`` (tuple of names)."""
    from .frontend import _unwrap

    fn = _unwrap(fn)
    spec = ("jvp", tuple(active), entry)
    per_fn = _MEMO.get(fn)
    if per_fn is not None and spec in per_fn and per_fn[spec].is_current():
        return per_fn[spec]
    generated = _build(fn, tuple(active), entry, spec)
    _MEMO.setdefault(fn, {})[spec] = generated
    return generated


def _build(fn, active, entry, spec):
    parsed = parse(fn)
    origin = getattr(fn, "__s2s_origin__", None) or f"{short_filename(parsed.filename)}:{parsed.node.name}"
    digest = hashlib.sha256(unparse(parsed.node).encode()).hexdigest()[:12]
    ctx = Context(parsed)
    callee_deps = []
    for p in active:
        ctx.namer.tangent(p)
    late = _Late()
    _IN_PROGRESS[(fn, spec)] = (late, {p: ctx.namer.tangent(p) for p in active})
    try:
        node = normalize(parsed.node, ctx)
        emitter = Emitter(ctx, node, active, _callee(ctx, callee_deps), entry)
        new, tangent_names, positional = emitter.run()
        header = f"# s2s {__version__} | {origin} | jvp | source sha256 {digest}"
        compiled, source = compile_function(
            new,
            header=header,
            label=f"{origin} jvp",
            globals_=fn.__globals__,
            cells=parsed.cells,
            bindings=ctx.bindings,
            defaults=fn.__defaults__,
            kwdefaults=fn.__kwdefaults__,
            def_origin=_def_origin(fn, parsed),
        )
    finally:
        del _IN_PROGRESS[(fn, spec)]
    deps = _finish(compiled, origin, late, ctx)
    return Generated(compiled, source, new.name, tangent_names, positional,
                     emitter.inactive_returns, origin, deps + callee_deps)


def _def_origin(fn, parsed):
    """The user's ``(filename, lineno)`` of the ``def`` behind ``fn``."""
    return getattr(fn, "__s2s_def__", None) or parsed.origin(parsed.node.lineno)


def _finish(compiled, origin, late, ctx):
    """Fill the closure cells that waited for ``compiled`` (recursion);
    return what the code was built from (its dependencies)."""
    compiled.__s2s_origin__ = origin
    _register_late_cells(compiled)
    for cell in late.cells:
        cell.cell_contents = compiled
    return [(n, where, value) for n, (where, value) in ctx.resolver.deps.items()]


def _register_late_cells(compiled):
    for cell in compiled.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, _Late):
            value.cells.append(cell)


def _callee(ctx, deps):
    def transform(obj, active, stmt):
        from .frontend import _unwrap

        target = _unwrap(obj)
        spec = ("jvp", tuple(active), False)
        pending = _IN_PROGRESS.get((target, spec))
        base = re.sub(r"\W", "", getattr(target, "__name__", "")) or "fn"
        base = f"{base}_jvp"
        if pending is not None:
            late, tangent_names = pending
            return ctx.bind(base, late), tangent_names, set()
        generated = jvp_function(target, active, entry=False)
        deps.extend(generated.deps)
        return ctx.bind(base, generated.fn), generated.tangent_names, set()

    return transform


# -- batching ------------------------------------------------------------------------


def batch_function(fn, batched, ranks, *, randomness="error", suffix="vmap", entry=True):
    """``fn`` over a leading batch axis on the parameters named in ``batched``.

    ``ranks``: parameter -> per-example rank of an array argument (None for
    anything else); the generated code is specialised on them.
    """
    from .frontend import _unwrap

    fn = _unwrap(fn)
    spec = ("batch", tuple(sorted(batched)), tuple(sorted(ranks.items())), randomness, suffix,
            entry)
    per_fn = _MEMO.get(fn)
    if per_fn is not None and spec in per_fn and per_fn[spec].is_current():
        return per_fn[spec]
    generated = _build_batch(fn, tuple(batched), dict(ranks), randomness, suffix, spec, entry)
    _MEMO.setdefault(fn, {})[spec] = generated
    return generated


def _build_batch(fn, batched, ranks, randomness, suffix, spec, entry=True):
    from .batching import Batcher

    parsed = parse(fn)
    origin = getattr(fn, "__s2s_origin__", None) or f"{short_filename(parsed.filename)}:{parsed.node.name}"
    digest = hashlib.sha256(unparse(parsed.node).encode()).hexdigest()[:12]
    ctx = Context(parsed)
    callee_deps = []
    late = _Late()
    _IN_PROGRESS[(fn, spec)] = (late, {})
    try:
        node = normalize(parsed.node, ctx)
        callee = _batch_callee(ctx, callee_deps, randomness, suffix)
        batcher = Batcher(ctx, node, batched, ranks, name_suffix=suffix, callee=callee,
                          randomness=randomness, callee_ranks=callee.ranks,
                          callee_items=callee.items, entry=entry)
        return_ranks = batcher.return_ranks()
        new = batcher.run()
        over = f"over {', '.join(batched)}" if batched else "for one batch element"
        header = f"# s2s {__version__} | {origin} | {suffix} {over} | source sha256 {digest}"
        compiled, source = compile_function(
            new, header=header, label=f"{origin} {suffix}", globals_=fn.__globals__,
            cells=parsed.cells, bindings=ctx.bindings, defaults=fn.__defaults__,
            kwdefaults=fn.__kwdefaults__, def_origin=_def_origin(fn, parsed))
    finally:
        del _IN_PROGRESS[(fn, spec)]
    deps = _finish(compiled, origin, late, ctx)
    result = Generated(compiled, source, new.name, {}, True, [], origin, deps + callee_deps)
    result.fallback = batcher.fallback
    result.return_ranks = return_ranks
    result.return_batched = batcher.return_batched
    return result


def _batch_callee(ctx, deps, randomness, suffix):
    def generated_for(obj, call_node, batcher):
        import inspect

        from .frontend import _unwrap

        target = _unwrap(obj)
        sig = inspect.signature(target)
        args = {}
        try:
            bound = sig.bind(*call_node.args, **{k.arg: k.value for k in call_node.keywords})
        except TypeError:
            bound = None
        batched, ranks = [], {}
        if bound is not None:
            for pname, atom in bound.arguments.items():
                args[pname] = atom
                if isinstance(atom, tuple):  # *args: a tuple, batched as a whole
                    if any(batcher.is_batched(a) for a in atom):
                        batched.append(pname)
                    ranks[pname] = "list"
                    continue
                if isinstance(atom, dict):  # **kwargs
                    if any(batcher.is_batched(a) for a in atom.values()):
                        batched.append(pname)
                    ranks[pname] = "dict"
                    continue
                if batcher.is_batched(atom):
                    batched.append(pname)
                ranks[pname] = batcher.atom_rank(atom)
        for pname, param in sig.parameters.items():
            if pname not in ranks and param.default is not param.empty:
                value = param.default  # a default: its rank is known now
                if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
                    ranks[pname] = 0
                elif hasattr(value, "ndim"):
                    ranks[pname] = value.ndim
        spec = ("batch", tuple(sorted(batched)), tuple(sorted(ranks.items())), randomness, suffix,
                False)
        base = re.sub(r"\W", "", getattr(target, "__name__", "")) or "fn"
        pending = _IN_PROGRESS.get((target, spec))
        if pending is not None:
            return f"{base}_{suffix}", pending[0], None, None
        generated = batch_function(target, batched, ranks, randomness=randomness, suffix=suffix,
                                   entry=False)
        deps.extend(generated.deps)
        return (f"{base}_{suffix}", generated.fn, getattr(generated, "return_ranks", None),
                getattr(generated, "return_batched", None))

    def transform(obj, call_node, batcher):
        base, fn, _, _ = generated_for(obj, call_node, batcher)
        return ctx.bind(base, fn)

    def ranks(obj, call_node, batcher):
        return generated_for(obj, call_node, batcher)[2]

    def items(obj, call_node, batcher):
        return generated_for(obj, call_node, batcher)[3]

    transform.ranks = ranks
    transform.items = items
    return transform
