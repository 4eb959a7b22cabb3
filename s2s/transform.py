"""One transformation, end to end: parse, normalise, analyse, emit, compile.

``jvp_function(fn, active)`` returns the generated jvp of ``fn`` with respect
to the parameters named in ``active`` (a :class:`Generated`). Results are kept
in memory per function object, and on disk (``cache.py``): a disk hit skips
parsing and transforming, and only compiles the stored text against the
function's live globals and cells. User functions called with active
arguments are transformed the same way (recursion, direct or mutual, is
allowed: the callee's closure cell is filled once it is compiled).
"""

import contextlib
import dataclasses
import gc
import hashlib
import types
import weakref

import gast

from . import __version__, cache
from .codegen import compile_function, compile_source, free_names
from .context import Context
from .errors import InputError
from .frontend import (
    MISSING,
    MethodOf,
    RankOf,
    dependency_current,
    display_name,
    lookup,
    lookup_path,
    parse,
    short_filename,
)
from .jvp import Emitter
from .names import callee_base
from .normalize import normalize
from .varargs import defaults as specialised_defaults
from .varargs import describe, from_spec, spec_part, specialise


@dataclasses.dataclass
class Generated:
    fn: object  # the compiled function
    source: str
    name: str
    tangent_names: dict  # parameter -> tangent parameter name
    positional: bool  # tangents follow the primals positionally
    inactive_returns: list  # [line, index path] of returned values (or parts) without tangent
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


def forget_memo():
    """Forget every generated function (a rule changed: build again)."""
    _MEMO.clear()


def jvp_function(fn, active, *, entry=True, shape=None):
    """The jvp of ``fn`` w.r.t. the parameters ``active`` (tuple of names);
    ``shape``: the call's shape when ``fn`` takes ``*args`` or ``**kwargs``
    (see :mod:`s2s.varargs`), whose parameters ``active`` may name."""
    from .frontend import _unwrap

    fn = _unwrap(fn)
    spec = ("jvp", tuple(active), entry) + spec_part(shape)
    per_fn = _MEMO.get(fn)
    if per_fn is not None and spec in per_fn and per_fn[spec].is_current():
        return per_fn[spec]
    key = cache.key(fn, spec)
    with _collector_paused():
        generated = _load(fn, spec, key) or _build(fn, tuple(active), entry, spec, key, shape)
    _MEMO.setdefault(fn, {})[spec] = generated
    return generated


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a function is transformed:
    a transform allocates tens of thousands of small tree nodes, which
    reference counting frees (trees hold no cycles), and the collector
    would otherwise scan them, and every older object of the process, a
    dozen times per function (a tenth of the time). Back on afterwards,
    unless it was off before; nested transforms (callees) leave it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _begin(fn, shape=None):
    """``(parsed, origin, digest)`` of a function about to be transformed
    (specialised for the call ``shape``, where it takes ``*args``):
    ``origin`` names it in headers and comments ("model.py:f"), ``digest``
    is the hash of its source lines shown in the header."""
    cache.stats["transforms"] += 1
    parsed = parse(fn)
    if shape is not None:
        specialise(parsed.node, fn, shape)
        parsed.shape = shape
    origin = getattr(fn, "__s2s_origin__", None)
    if origin is None:
        method = getattr(fn, "__s2s_method__", None)  # (a function calling a bound method)
        filename = parsed.filename if method is None else method.__code__.co_filename
        origin = f"{short_filename(filename)}:{display_name(fn, parsed.node.name)}"
        if method is not None:
            origin += " (bound)"
    digest = hashlib.sha256(parsed.source.encode()).hexdigest()[:12]
    return parsed, origin, digest


def _build(fn, active, entry, spec, key, shape=None):
    parsed, origin, digest = _begin(fn, shape)
    args = parsed.node.args
    named = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    unknown = [p for p in active if p not in named]
    if unknown:  # (a derivative would be asked for a name the code never reads: zero)
        raise InputError(f"{origin} has no parameter named {unknown[0]}",
                         hint="differentiate with respect to the function's own parameters")
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
        header = f"# s2s {__version__} | {origin} | jvp{_for(shape)} | source sha256 {digest}"
        compiled, source, store = _compile(fn, spec, key, new, header, f"{origin} jvp", ctx,
                                           _def_origin(fn, parsed))
    finally:
        del _IN_PROGRESS[(fn, spec)]
    deps = _finish(compiled, origin, late, ctx)
    result = Generated(compiled, source, new.name, tangent_names, positional,
                       emitter.inactive_returns, origin, deps + callee_deps)
    compiled.__s2s_tangents__ = _tangent_parameters(fn) + tuple(tangent_names.values())
    store(result)
    return result


def _for(shape):
    """`` for *args of 1, **kwargs a``: the specialisation, in a header."""
    return "" if shape is None else f" for {describe(shape)}"


def _def_origin(fn, parsed):
    """The user's ``(filename, lineno)`` of the ``def`` behind ``fn``."""
    return getattr(fn, "__s2s_def__", None) or parsed.origin(parsed.node.lineno)


def _finish(compiled, origin, late, ctx=None):
    """Fill the closure cells that waited for ``compiled`` (recursion);
    return what the code was built from (its dependencies)."""
    compiled.__s2s_origin__ = origin
    _register_late_cells(compiled)
    for cell in late.cells:
        cell.cell_contents = compiled
    if ctx is None:
        return []
    return [(n, where, value) for n, (where, value) in ctx.resolver.deps.items()]


def _register_late_cells(compiled):
    for cell in compiled.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, _Late):
            value.cells.append(cell)


def _bind_callee(ctx, base, obj, target, spec, generated_fn):
    """Bind the derivative ``obj`` of the callee ``target`` (None for
    ``generated_fn`` while it is being built), recording how to get it back."""
    binding = ctx.bind(base, obj)
    ctx.callees[binding] = (target, spec, generated_fn)
    return binding


def _callee(ctx, deps):
    def transform(obj, active, stmt, shape=None):
        from .frontend import _unwrap

        target = _unwrap(obj)
        spec = ("jvp", tuple(active), False) + spec_part(shape)
        pending = _IN_PROGRESS.get((target, spec))
        base = callee_base(target)
        base = f"{base}_jvp"
        if pending is not None:
            late, tangent_names = pending
            return _bind_callee(ctx, base, late, target, spec, None), tangent_names, set()
        generated = jvp_function(target, active, entry=False, shape=shape)
        deps.extend(generated.deps)
        binding = _bind_callee(ctx, base, generated.fn, target, spec, generated.fn)
        return binding, generated.tangent_names, set()

    return transform


# -- batching ------------------------------------------------------------------------


def batch_function(fn, batched, ranks, *, randomness="error", suffix="vmap", entry=True,
                   identity=(), masks=(), shape=None):
    """``fn`` over a leading batch axis on the parameters named in ``batched``.

    ``ranks``: parameter -> per-example rank of an array argument (None for
    anything else); the generated code is specialised on them. ``identity``:
    batched parameters that hold jacfwd's identity basis of a vector input
    (``eye(n)``), whose products with matrices need no multiplication.
    ``masks``: batched parameters that hold boolean arrays, a selection per
    example (the code loops over the batch where one indexes).
    """
    from .frontend import _unwrap

    fn = _unwrap(fn)
    ranks = with_default_ranks(fn, ranks)
    spec = ("batch", tuple(sorted(batched)), tuple(sorted(ranks.items())), randomness, suffix,
            entry)
    spec += _extra_spec(identity, masks) + spec_part(shape)
    per_fn = _MEMO.get(fn)
    if per_fn is not None and spec in per_fn and per_fn[spec].is_current():
        return per_fn[spec]
    key = cache.key(fn, spec)
    with _collector_paused():
        generated = _load(fn, spec, key) or _build_batch(fn, tuple(batched), dict(ranks),
                                                         randomness, suffix, spec, key, entry,
                                                         tuple(identity), tuple(masks), shape)
    _MEMO.setdefault(fn, {})[spec] = generated
    return generated


def _extra_spec(identity, masks):
    """The part of a batch spec for the parameters holding an identity basis
    or boolean masks (nothing where there are none: the common spec)."""
    extra = ()
    if identity:
        extra += (("identity",) + tuple(sorted(identity)),)
    if masks:
        extra += (("masks",) + tuple(sorted(masks)),)
    return extra


def with_default_ranks(fn, ranks):
    """``ranks`` and, for each parameter left out of it that has a default
    number or array, the rank of that default: what a call that does not pass
    the parameter gives it (the code then needs no run-time alignment)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return dict(ranks)
    positional = code.co_varnames[:code.co_argcount]
    defaults = dict(zip(positional[len(positional) - len(fn.__defaults__ or ()):],
                        fn.__defaults__ or ()))
    defaults.update(fn.__kwdefaults__ or {})
    out = dict(ranks)
    for pname, value in defaults.items():
        rank = value_rank(value)
        if pname not in out and rank is not None:
            out[pname] = rank
    return out


def value_rank(value, lead=0):
    """The per-example rank of an argument's value: 0 for a number, the
    number of axes after the ``lead`` batch axes for an array; None for
    anything else."""
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return 0  # (a number among batched items is broadcast: no axes but the batch's)
    if hasattr(value, "ndim") and hasattr(value, "shape"):
        return value.ndim - lead
    return None


def _build_batch(fn, batched, ranks, randomness, suffix, spec, key, entry=True, identity=(),
                 masks=(), shape=None):
    from .batching import Batcher

    parsed, origin, digest = _begin(fn, shape)
    ctx = Context(parsed)
    callee_deps = []
    late = _Late()
    _IN_PROGRESS[(fn, spec)] = (late, {})
    try:
        node = normalize(parsed.node, ctx)
        callee = _batch_callee(ctx, callee_deps, randomness, suffix)
        batcher = Batcher(ctx, node, batched, ranks, name_suffix=suffix, callee=callee,
                          randomness=randomness, callee_ranks=callee.ranks,
                          callee_items=callee.items, entry=entry, identity=identity,
                          masks=masks)
        return_ranks = batcher.return_ranks()
        new = batcher.run()
        over = f"over {', '.join(batched)}" if batched else "for one batch element"
        header = (f"# s2s {__version__} | {origin} | {suffix} {over}{_for(shape)} | "
                  f"source sha256 {digest}")
        compiled, source, store = _compile(fn, spec, key, new, header, f"{origin} {suffix}", ctx,
                                           _def_origin(fn, parsed))
    finally:
        del _IN_PROGRESS[(fn, spec)]
    deps = _finish(compiled, origin, late, ctx)
    result = Generated(compiled, source, new.name, {}, True, [], origin, deps + callee_deps)
    result.fallback = batcher.fallback
    result.return_ranks = return_ranks
    result.return_batched = batcher.return_batched
    compiled.__s2s_tangents__ = _tangent_parameters(fn)
    store(result)
    return result


def _tangent_parameters(fn):
    """The parameters of generated code ``fn`` that hold tangents: those the
    jvp code it is made from added, kept by its batched code and its jvp code
    (the batching transform knows then where only directions are batched)."""
    return getattr(fn, "__dict__", {}).get("__s2s_tangents__", ())


def _batch_callee(ctx, deps, randomness, suffix):
    def generated_for(obj, call_node, batcher):
        import inspect

        from .analysis import method_call
        from .frontend import _unwrap

        target, call_args = method_call(obj, call_node)  # (m.forward(x): forward(m, x))
        target = _unwrap(target)
        sig = inspect.signature(target, follow_wrapped=False)
        args = {}
        try:
            bound = sig.bind(*call_args, **{k.arg: k.value for k in call_node.keywords})
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
                if isinstance(atom, gast.Name) and atom.id in batcher.container_items:
                    ranks[pname] = batcher.ranks[atom.id]  # a dict or list, its items' ranks
                elif isinstance(atom, gast.Name) and batcher.kind.get(atom.id) in (
                        "dict", "list", "container"):
                    ranks[pname] = batcher.kind[atom.id]  # a container, not an array
        ranks = with_default_ranks(target, ranks)
        # a boolean mask passed on as it came in stays one for the callee
        masks = [p for p, atom in args.items() if p in batched
                 and isinstance(atom, gast.Name) and atom.id in batcher.masks]
        spec = ("batch", tuple(sorted(batched)), tuple(sorted(ranks.items())), randomness, suffix,
                False) + _extra_spec((), masks)
        base = callee_base(target)
        pending = _IN_PROGRESS.get((target, spec))
        if pending is not None:
            return f"{base}_{suffix}", pending[0], None, None, (target, spec, None)
        generated = batch_function(target, batched, ranks, randomness=randomness, suffix=suffix,
                                   entry=False, masks=masks)
        deps.extend(generated.deps)
        return (f"{base}_{suffix}", generated.fn, getattr(generated, "return_ranks", None),
                getattr(generated, "return_batched", None), (target, spec, generated.fn))

    def transform(obj, call_node, batcher):
        base, fn, _, _, (target, spec, generated_fn) = generated_for(obj, call_node, batcher)
        return _bind_callee(ctx, base, fn, target, spec, generated_fn)

    def ranks(obj, call_node, batcher):
        return generated_for(obj, call_node, batcher)[2]

    def items(obj, call_node, batcher):
        return generated_for(obj, call_node, batcher)[3]

    transform.ranks = ranks
    transform.items = items
    return transform


# -- the disk cache ------------------------------------------------------------------


def _label(fn, spec):
    """A readable name for the entry of ``fn``: ``model.f.jvp``."""
    method = fn.__dict__.get("__s2s_method__")  # (a function calling a bound method)
    origin = fn.__dict__.get("__s2s_origin__") or short_filename(
        (method or fn).__code__.co_filename)
    stem = origin.split(":", 1)[0].rsplit(".py", 1)[0]
    shown = fn.__name__ if method is None else f"{method.__name__}.bound"
    return f"{stem}.{shown}.{spec[0] if spec[0] == 'jvp' else spec[4]}"


def _compile(fn, spec, key, new, header, label, ctx, def_origin=None):
    """Compile the generated ``new``; returns ``(function, source, store)``
    where ``store(generated)`` writes the disk-cache entry when the code can
    be found again in another process (else it stays in memory only)."""
    cells = ctx.parsed.cells
    node, used = ctx.used_names
    free = free_names(new, cells, ctx.bindings, used if node is new else None)
    bindings = None if key is None else _binding_records(fn, cells, ctx, free)
    names = None if bindings is None else _name_identities(fn, cells, ctx)
    path = None if names is None else cache.entry_path(key, _label(fn, spec))
    compiled, source = compile_function(
        new, header=header, label=label, globals_=fn.__globals__, cells=cells,
        bindings=ctx.bindings, defaults=specialised_defaults(fn, ctx.parsed.shape),
        kwdefaults=fn.__kwdefaults__, filename=path, def_origin=def_origin, free=free)
    compiled.__s2s_key__ = None

    def store(generated):
        if key is None:
            return
        manifest = None if path is None else _manifest(fn, cells, ctx, compiled, bindings,
                                                       names, generated)
        if manifest is None:
            cache.stats["uncacheable"] += 1
            cache.log.debug("%s: kept in memory only (it refers to objects that cannot be "
                            "found again in another process)", label)
            return
        data, compiled.__s2s_key__ = cache.pack(key, source, manifest)
        written = cache.write(key, _label(fn, spec), data)
        if written is not None and written == compiled.__code__.co_filename:
            cache.write_code(written, compiled.__s2s_key__, compiled.__code__)

    return compiled, source, store


def _binding_records(fn, cells, ctx, free):
    """How to get back each object the generated code is bound to, or None."""
    records = {}
    for name in free:
        if name in cells:
            continue  # the user's own closure cell
        if name in ctx.callees:
            target, spec, generated_fn = ctx.callees[name]
            where = cache.locate(target, fn, cells)
            primary = cache.key(target, spec)
            content = None
            if generated_fn is not None:
                content = generated_fn.__dict__.get("__s2s_key__")
                if content is None:
                    return None
            if where is None or primary is None:
                return None
            records[name] = ["callee", cache.encode(spec), where, primary, content]
            continue
        where = cache.locate(ctx.bindings[name], fn, cells)
        if where is None:
            return None
        records[name] = where
    return records


def _name_identities(fn, cells, ctx):
    """Identity of what each name and attribute chain the transformation
    resolved denotes (``xp`` and ``_s2s`` always: they decide the names s2s
    uses), or None if one has no stable identity."""
    names = {}
    for path in sorted(set(ctx.resolver.seen) | {"xp", "_s2s"}):
        ident = cache.identity(lookup_path(fn, path, cells))
        if ident is None:
            return None
        names[path] = ident
    return names


def _manifest(fn, cells, ctx, compiled, bindings, names, generated):
    """What a later process needs to check and rebuild the entry (JSON), or None."""
    result = {"tangent_names": generated.tangent_names, "positional": generated.positional,
              "inactive_returns": generated.inactive_returns}
    for attr in ("fallback", "return_ranks", "return_batched"):
        if hasattr(generated, attr):
            result[attr] = getattr(generated, attr)
    try:
        result = cache.encode(result)
    except TypeError:
        return None
    return {
        "name": generated.name,
        "origin": generated.origin,
        "free": list(compiled.__code__.co_freevars),
        "origins": _compact_origins(compiled.__s2s_origins__, generated.source.count("\n")),
        "def": list(compiled.__s2s_def__) if compiled.__s2s_def__ else None,
        "bindings": bindings,
        "names": names,
        "consts": {n: repr(lookup(fn, n, cells)) for n in sorted(ctx.resolver.consts)},
        "deps": sorted(ctx.resolver.deps),
        # the dependencies on a value's rank only (the others: on the value itself)
        "ranks": {n: v.rank for n, (_, v) in sorted(ctx.resolver.deps.items())
                  if type(v) is RankOf},
        "result": result,
    }


def _compact_origins(origins, nlines):
    """``{line: (file, lineno)}`` for lines 1..``nlines`` as runs
    ``[[first line, file, lineno], ...]`` (``[line, None, None]`` where
    lines have no origin); each run lasts until the next."""
    runs, last = [], None
    for line in range(1, nlines + 1):
        origin = origins.get(line)
        if line == 1 or origin != last:
            runs.append([line, *(origin or (None, None))])
            last = origin
    return runs


def _expand_origins(runs, nlines):
    origins = {}
    for (line, f, n), nxt in zip(runs, [r[0] for r in runs[1:]] + [nlines + 1]):
        if f is not None:
            for i in range(line, nxt):
                origins[i] = (f, n)
    return origins


def _load(fn, spec, key):
    """The generated function of ``fn`` for ``spec`` from its disk-cache
    entry, without parsing or transforming, or None (no valid entry)."""
    if key is None:
        return None
    entry = cache.read(key, _label(fn, spec))
    if entry is None:
        return None
    source, manifest, path, checksum = entry
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    try:
        fields = _check_manifest(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        cache.discard(path, f"unreadable manifest ({exc!r})")
        return None
    stale = _stale(fn, cells, manifest)
    if stale is None:
        late = _Late()
        _IN_PROGRESS[(fn, spec)] = (late, dict(fields["tangent_names"]))
        try:
            compiled, callee_deps, stale = _compile_entry(fn, cells, source, manifest, path,
                                                          checksum, _spec_shape(spec))
        finally:
            del _IN_PROGRESS[(fn, spec)]
    if stale is not None:
        cache.discard(path, stale)
        return None
    compiled.__s2s_key__ = checksum
    compiled.__s2s_tangents__ = _tangent_parameters(fn) + tuple(fields["tangent_names"].values())
    origin = manifest["origin"]
    _finish(compiled, origin, late)
    deps = []
    ranks = manifest.get("ranks", {})
    for name in manifest["deps"]:
        first = name.partition(".")[0]
        where = cells[first] if first in cells else fn.__globals__
        if name in ranks:  # (as Resolver.depend_on_rank recorded it)
            deps.append((name, where, RankOf(ranks[name])))
        else:
            value = lookup_path(fn, name, cells)
            if type(value) is types.MethodType:  # (obj.forward: as Resolver recorded it)
                value = MethodOf(value.__func__)
            deps.append((name, where, value))
    result = Generated(compiled, source, manifest["name"], fields["tangent_names"],
                       fields["positional"], fields["inactive_returns"], origin,
                       deps + callee_deps)
    for attr in ("fallback", "return_ranks", "return_batched"):
        if attr in fields:
            setattr(result, attr, fields[attr])
    cache.stats["hits"] += 1
    return result


_MANIFEST = {"name": str, "origin": str, "free": list, "origins": list, "bindings": dict,
             "names": dict, "consts": dict, "deps": list, "result": dict}


def _check_manifest(manifest):
    """The decoded result fields of a manifest whose every part has the
    expected type; raises KeyError, TypeError or ValueError otherwise."""
    for field, kind in _MANIFEST.items():
        if not isinstance(manifest[field], kind):
            raise TypeError(f"{field} is a {type(manifest[field]).__name__}")
    fields = cache.decode(manifest["result"])
    missing = {"tangent_names", "positional", "inactive_returns"} - set(fields)
    if missing:
        raise KeyError(", ".join(sorted(missing)))
    return fields


def _stale(fn, cells, manifest):
    """Why the entry no longer fits ``fn``'s scope, or None."""
    for path, ident in manifest["names"].items():
        now = cache.identity(lookup_path(fn, path, cells))
        if now != ident:
            return f"{path} was {ident}, is now {now}"
    for name, text in manifest["consts"].items():
        now = repr(lookup(fn, name, cells))
        if now != text:
            return f"{name} was {text}, is now {now}"
    return None


def _spec_shape(spec):
    """The call shape a jvp or batch spec is specialised for, or None."""
    return from_spec(spec[3:] if spec[0] == "jvp" else spec[6:])


def _compile_entry(fn, cells, source, manifest, path, checksum, shape=None):
    """``(function, callee dependencies, None)`` from an entry's text, or
    ``(None, None, why not)``."""
    bindings, callee_deps = {}, []
    for name, where in manifest["bindings"].items():
        if where[0] == "callee":
            obj = _load_callee(fn, cells, where, callee_deps)
        else:
            obj = cache.relocate(where, fn, cells)
        if obj is MISSING:
            return None, None, f"{name} ({where}) is gone or has changed"
        bindings[name] = obj
    origins = _expand_origins(manifest["origins"], source.count("\n"))
    code = cache.read_code(path, checksum)
    def_origin = manifest.get("def")
    if not (isinstance(def_origin, list) and len(def_origin) == 2):
        def_origin = None  # the user's def line, for backend errors (not in older entries)
    compiled = compile_source(source, manifest["name"], manifest["free"], origins,
                              label=manifest["origin"], globals_=fn.__globals__, cells=cells,
                              bindings=bindings, defaults=specialised_defaults(fn, shape),
                              kwdefaults=fn.__kwdefaults__, filename=path, code=code,
                              def_origin=tuple(def_origin) if def_origin else None)
    if code is None and compiled.__code__.co_filename == path:
        cache.write_code(path, checksum, compiled.__code__)
    return compiled, callee_deps, None


def _load_callee(fn, cells, record, deps):
    """A callee's generated function, as the entry recorded it, or MISSING."""
    _, spec, where, primary, content = record
    target = cache.relocate(where, fn, cells)
    if target is MISSING:
        return MISSING
    spec = cache.decode(spec)
    if cache.key(target, spec) != primary:
        return MISSING  # the callee's source (or anything else in its key) changed
    pending = _IN_PROGRESS.get((target, spec))
    if pending is not None:
        # being built: fine only if the entry was built that way too (the
        # code for a callee still in progress assumes less about it)
        return pending[0] if content is None else MISSING
    if spec[0] == "jvp":
        generated = jvp_function(target, spec[1], entry=False, shape=_spec_shape(spec))
    else:
        extra = {part[0]: part[1:] for part in spec[6:]}  # (see _extra_spec)
        generated = batch_function(target, spec[1], dict(spec[2]), randomness=spec[3],
                                   suffix=spec[4], entry=False, identity=extra.get("identity", ()),
                                   masks=extra.get("masks", ()), shape=_spec_shape(spec))
    if content is not None and generated.fn.__dict__.get("__s2s_key__") != content:
        return MISSING
    deps.extend(generated.deps)
    return generated.fn
