"""One transformation, end to end: parse, normalise, analyse, emit, compile.

``jvp_function(fn, active)`` returns the generated jvp of ``fn`` with respect
to the parameters named in ``active`` (a :class:`Generated`). Results are kept
in memory per function object; user functions called with active arguments
are transformed the same way (recursion, direct or mutual, is allowed: the
callee's closure cell is filled once it is compiled).
"""

import dataclasses
import hashlib
import weakref

from . import __version__
from .codegen import compile_function, unparse
from .context import Context
from .frontend import parse, short_filename
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
    if per_fn is not None and spec in per_fn:
        return per_fn[spec]
    generated = _build(fn, tuple(active), entry, spec)
    _MEMO.setdefault(fn, {})[spec] = generated
    return generated


def _build(fn, active, entry, spec):
    parsed = parse(fn)
    origin = f"{short_filename(parsed.filename)}:{parsed.node.name}"
    digest = hashlib.sha256(unparse(parsed.node).encode()).hexdigest()[:12]
    ctx = Context(parsed)
    for p in active:
        ctx.namer.tangent(p)
    late = _Late()
    _IN_PROGRESS[(fn, spec)] = (late, {p: ctx.namer.tangent(p) for p in active})
    try:
        node = normalize(parsed.node, ctx)
        emitter = Emitter(ctx, node, active, _callee(ctx), entry)
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
        )
    finally:
        del _IN_PROGRESS[(fn, spec)]
    _register_late_cells(compiled)
    for cell in late.cells:
        cell.cell_contents = compiled
    return Generated(compiled, source, new.name, tangent_names, positional,
                     emitter.inactive_returns, origin)


def _register_late_cells(compiled):
    for cell in compiled.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, _Late):
            value.cells.append(cell)


def _callee(ctx):
    def transform(obj, active, stmt):
        from .frontend import _unwrap

        target = _unwrap(obj)
        spec = ("jvp", tuple(active), False)
        pending = _IN_PROGRESS.get((target, spec))
        base = f"{getattr(target, '__name__', 'f')}_jvp"
        if pending is not None:
            late, tangent_names = pending
            return ctx.bind(base, late), tangent_names, set()
        generated = jvp_function(target, active, entry=False)
        return ctx.bind(base, generated.fn), generated.tangent_names, set()

    return transform
