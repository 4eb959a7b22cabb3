"""``vmap``, ``jacfwd`` and ``hessian``: the batching transform behind torch.func's API.

``jacfwd(f)`` is ``vmap`` of ``f``'s jvp over the tangents, on an identity
basis: one call of the generated batched derivative computes every column
(``chunk_size`` splits the directions into passes of at most that many).

Every transformed function is a *program*: a core (the user's function after
zero or more jvp transforms: generated code with source) with data movement
before it (``prepare``: batch axes moved to the front, the identity basis
added) and after it (``finish``: axes moved out, Jacobians assembled).
``vmap`` adds a batch *level*; ``jacfwd`` adds a jvp to the core and a level
over its basis directions. At call time the core is batched once per level,
innermost first, and called once, so compositions (``vmap(jacfwd(f))``,
``jacfwd(jacfwd(f))``, ``jacfwd(vmap(f))``, ``vmap(vmap(f))``) are each one
call of generated code, without a Python loop over batch elements.

A level's flags say which of the program's inputs carry its axis; an input
carries the axes of its levels in front, outermost level first. Every output
of the batched core carries every level's axis.
"""

import dataclasses
import math
import operator
import weakref

import numpy

from . import backend, pytree, varargs
from .codegen import annotate
from .errors import InputError
from .frontend import _unwrap
from .runtime import (
    _BROADCASTS,
    _rebuild,
    batch_size,
    broadcast_of,
    broadcast_string,
    namespace_of,
    remember_broadcast,
    tree_map,
)
from .transform import batch_function, jvp_function, value_rank


def _ranks(params, args, leads=()):
    """What the batched code is specialised on: the rank of each array
    argument; for a dict, list or tuple of arrays and numbers, its kind with
    the ranks of its items (``("dict", (("w", 2), ("b", 1)))``, ``("list",
    (2, 1))``); else the kind of container alone ("dict", "list"). ``leads``:
    per argument, the batch axes in front of each array (of each item)."""
    ranks = {}
    for i, (pname, value) in enumerate(zip(params, args)):
        lead = leads[i] if i < len(leads) else 0
        rank = value_rank(value, lead)
        if rank is None and isinstance(value, (dict, list, tuple)):
            if isinstance(value, dict):
                items = [(k, value_rank(v, lead)) for k, v in value.items()]
                known = all(type(k) is str and r is not None for k, r in items)
                rank = ("dict", tuple(items)) if known else "dict"
            else:
                items = [value_rank(v, lead) for v in value]
                rank = ("list", tuple(items)) if None not in items else "list"
        ranks[pname] = rank
    return ranks


def _with_batch_axis(rank):
    """A parameter's rank (as :func:`_ranks` gives it) once the code is
    batched over it: every array, and every item of a container, has one more
    axis for the next level to see."""
    if isinstance(rank, int):
        return rank + 1
    if isinstance(rank, tuple):
        kind, items = rank
        if kind == "dict":
            return kind, tuple((k, r + 1) for k, r in items)
        return kind, tuple(r + 1 for r in items)
    return rank


class _SameDraws:
    """``randomness="same"`` over several chunks: every chunk must see the
    same draws, so the random generators the function can reach (NumPy's
    global one, and Generator/RandomState objects among its globals, closure
    and ``args``) are put back to their state before each chunk."""

    def __init__(self, fn, randomness, args=()):
        self.saved = []
        if randomness != "same":
            return
        fn = _unwrap(fn)
        names = set(fn.__code__.co_names)
        values = [fn.__globals__[n] for n in names if n in fn.__globals__]
        values += [c.cell_contents for c in (fn.__closure__ or ()) if _cell_full(c)]
        gens = [v for v in values + _generators(args) if isinstance(v, _GENERATORS)]
        self.saved = [(numpy.random.mtrand._rand, numpy.random.get_state())]
        self.saved += [(g, g.bit_generator.state if isinstance(g, numpy.random.Generator)
                        else g.get_state()) for g in gens]

    def restore(self):
        for gen, state in self.saved:
            if isinstance(gen, numpy.random.Generator):
                gen.bit_generator.state = state
            else:
                gen.set_state(state)


_GENERATORS = (numpy.random.Generator, numpy.random.RandomState)


def _generators(args):
    """The random generators among the leaves of ``args``."""
    return [leaf for leaf in pytree.flatten(list(args))[0] if isinstance(leaf, _GENERATORS)]


def _cell_full(cell):
    try:
        return cell.cell_contents is not _EMPTY
    except ValueError:
        return False


_EMPTY = object()


def _check_randomness(randomness):
    if randomness not in ("error", "same", "different"):
        raise InputError(f"randomness must be 'error', 'same' or 'different', not {randomness!r}")


def _check_chunk_size(chunk_size):
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InputError(f"chunk_size must be a positive int or None, not {chunk_size!r}")


def _params(fn, nargs):
    from .api import positional_params

    return positional_params(fn, nargs)


def _check_unfilled(fn, nargs, kwargs):
    from .api import check_unfilled

    check_unfilled(fn, nargs, kwargs)


def _argnums(argnums, nargs):
    """``argnums`` (an int or a tuple of ints) as a tuple of indices in ``range(nargs)``."""
    _check_argnums(argnums)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for k in nums:
        if not -nargs <= k < nargs:
            raise InputError(f"argnums {k!r} is out of range for a function of {nargs} "
                             f"positional parameter{'s' if nargs != 1 else ''}")
    nums = tuple(k % nargs for k in nums)
    if len(set(nums)) != len(nums):
        raise InputError(f"argnums {argnums!r} names an argument more than once",
                         hint="list each argument to differentiate once")
    return nums


def _check_argnums(argnums):
    nums = (argnums,) if not isinstance(argnums, (tuple, list)) else argnums
    if not nums or any(isinstance(k, bool) or not isinstance(k, int) for k in nums):
        raise InputError(f"argnums must be an int or a tuple of ints, not {argnums!r}")


# -- programs ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Level:
    flags: tuple  # per input: carries this level's axis
    randomness: str


@dataclasses.dataclass
class _Core:
    """Generated (or user) code and how to call it: the first ``npos``
    parameters positionally, the rest by name."""

    fn: object
    params: list
    npos: int
    root: object  # the user's function
    jvps: int = 0  # how often the code is a jvp: its result nests (output, tangent) as deep
    shape: tuple = None  # the call shape fn is to be specialised for (it takes *args)
    renamed: dict = dataclasses.field(default_factory=dict)  # keyword -> its **kwargs parameter

    def named(self, kwargs):
        """The keyword arguments as the code takes them: one that reaches
        the root's ``**kwargs`` by the name of its parameter (``kwargs_a``)."""
        if not self.renamed:
            return kwargs
        return {self.renamed.get(k, k): v for k, v in kwargs.items()}

    def call(self, fn, values, kwargs, levels=()):
        """``fn`` (this core, batched over ``levels``) on ``values``."""
        kwargs = self.named(kwargs)
        try:
            if self.npos >= len(values) and not kwargs:  # (the common case, no dict built)
                result = fn(*values)
            elif kwargs:  # every value by name: a keyword may fill a parameter among them
                result = fn(**dict(zip(self.params, values)), **kwargs)
            else:
                named = dict(zip(self.params[self.npos:], values[self.npos:]))
                result = fn(*values[: self.npos], **named)
        except (TypeError, ValueError, NotImplementedError, IndexError, ImportError) as err:
            explained = backend.explain(err)
            if explained is None:
                raise
            raise explained from err
        output = result  # (a jvp's code returns (output, tangent), or None with no return)
        for _ in range(self.jvps):
            if output is None:
                break
            output = output[0]
        if output is None:
            name = getattr(self.root, "__qualname__", None) or repr(self.root)
            raise InputError(f"{name} returned nothing (it reached no return statement)"
                             if result is None and self.jvps else f"{name} returned None",
                             hint="return the value to differentiate or map (a function "
                                  "that reaches no return statement returns None)")
        if levels and type(result) in (bool, int, float, complex):
            # a number literal returned: the batched code leaves it as it is
            return _spread(result, values, levels)
        return result


def _spread(number, values, levels):
    """``number`` along the axes of ``levels`` (an output that does not vary
    over the batch is broadcast, as in JAX), a new array."""
    sizes = []
    for j, level in enumerate(levels):
        i = level.flags.index(True)
        sizes.append(batch_size(values[i], _lead(levels[:j], i)))
    spread = namespace_of(*values).full(tuple(sizes), number)
    remember_broadcast(spread, number)  # (out_dims=None gives the number back)
    return spread


@dataclasses.dataclass
class _Prepared:
    core: _Core
    values: list  # one per core parameter
    origins: list  # per core parameter: the program input it comes from, or None
    levels: list  # of _Level over the core parameters, outermost first


def _lead(levels, i):
    """How many level axes input ``i`` carries in front."""
    return sum(1 for level in levels if level.flags[i])


class _Plain:
    """The user's function: the core itself."""

    def __init__(self, fn):
        self.fn = _unwrap(fn)
        self.keywords = ()  # the names of the call's keyword arguments (see _called_with)

    def prepare(self, inputs, levels):
        params = list(_params(self.fn, len(inputs)))
        shape = varargs.shape_of(self.fn, len(inputs), self.keywords)
        renamed = varargs.parameter_names(self.fn, shape)[1] if shape is not None else {}
        core = _Core(self.fn, params, len(params), self.fn, shape=shape, renamed=renamed)
        return _Prepared(core, list(inputs), list(range(len(inputs))), levels)

    def finish(self, raw, lead):
        return raw


class _Jvp:
    """``(f(primals), J @ tangents)`` of the inner program, with tangents for
    the inputs ``argnums``: inputs are the primals, then those tangents."""

    def __init__(self, inner, argnums, nprimals):
        self.inner, self.argnums, self.n = inner, argnums, nprimals

    def prepare(self, inputs, levels):
        n, nums = self.n, self.argnums
        primal_levels = [_Level(lv.flags[:n], lv.randomness) for lv in levels]
        done = self.inner.prepare(inputs[:n], primal_levels)
        # tangents take the same way through the inner data movement as their primals
        full = list(inputs[:n])
        tangent_levels = []
        for lv in levels:
            flags = list(lv.flags[:n])
            for j, k in enumerate(nums):
                flags[k] = lv.flags[n + j]
            tangent_levels.append(_Level(tuple(flags), lv.randomness))
        for j, k in enumerate(nums):
            full[k] = inputs[n + j]
        moved = self.inner.prepare(full, tangent_levels)
        active = [i for i, o in enumerate(done.origins) if o in nums]
        core = done.core
        names = [core.params[i] for i in active]
        generated = jvp_function(core.fn, tuple(names), shape=core.shape)
        params = core.params + [generated.tangent_names[p] for p in names]
        npos = len(params) if generated.positional and core.npos == len(core.params) else core.npos
        new_core = _Core(generated.fn, params, npos, core.root, core.jvps + 1,
                         renamed=core.renamed)
        values = done.values + [moved.values[i] for i in active]
        origins = done.origins + [n + nums.index(done.origins[i]) for i in active]
        new_levels = [_Level(a.flags + tuple(b.flags[i] for i in active), a.randomness)
                      for a, b in zip(done.levels, moved.levels)]
        self.generated = generated
        return _Prepared(new_core, values, origins, new_levels)

    def finish(self, raw, lead):
        out, out_dot = raw
        return self.inner.finish(out, lead), self.inner.finish(out_dot, lead)


class _VMap:
    """The inner program over one more batch level: ``in_dims`` moved to the front."""

    def __init__(self, inner, in_dims, out_dims, randomness):
        self.inner, self.in_dims, self.out_dims = inner, in_dims, out_dims
        self.randomness = randomness

    def prepare(self, inputs, levels):
        if self.randomness != "same" and _generators(inputs):
            # its draws run once, for the whole batch: s2s does not see them
            raise InputError(
                f"vmap got a random generator ({type(_generators(inputs)[0]).__name__}) as an "
                f"argument, with randomness={self.randomness!r}: s2s cannot tell the draws it "
                "makes apart, so they would be the same for every example",
                hint="pass randomness='same' for one draw for the whole batch (or if the "
                "function draws nothing from it), or draw with np.random or a module-level "
                "generator (randomness='different' then draws once per example)")
        in_dims = _per_argument(self.in_dims, len(inputs))
        if len(in_dims) != len(inputs):
            raise InputError(f"in_dims has {len(in_dims)} entries but vmap got {len(inputs)} "
                             "arguments", hint="give one in_dims entry per positional argument")
        moved, flags, size = [], [], None
        space = namespace_of(*inputs)
        for i, (arg, dim) in enumerate(zip(inputs, in_dims)):
            lead = _lead(levels, i)
            leaves, treedef = pytree.flatten(arg)
            dims = _dims_for(dim, arg, f"in_dims for argument {i}")
            new_leaves, batched_any = [], False
            for leaf, d in zip(leaves, dims):
                if d is None:
                    new_leaves.append(leaf)
                    continue
                ndim = numpy.ndim(leaf) - lead
                if not -ndim <= d < ndim:
                    raise InputError(f"in_dims={d} is out of range for argument {i} with "
                                     f"{ndim} dimensions", hint="pick an existing axis, or None")
                axis = lead + d % ndim
                n = numpy.shape(leaf)[axis]
                if size is None:
                    size = n
                elif n != size:
                    raise InputError(f"inconsistent batch sizes: argument {i} has {n} along "
                                     f"dimension {d}, an earlier one has {size}",
                                     hint="every batched input needs the same batch size")
                new_leaves.append(namespace_of(leaf).moveaxis(leaf, axis, lead)
                                  if axis != lead else leaf)
                batched_any = True
            if batched_any:
                new_leaves = [leaf if d is not None else _broadcast(leaf, size, lead, space)
                              for leaf, d in zip(new_leaves, dims)]
            moved.append(pytree.unflatten(treedef, new_leaves))
            flags.append(batched_any)
        if size is None:
            raise InputError("vmap needs at least one batched input",
                             hint="set in_dims to an axis for at least one argument")
        self.size = size
        return self.inner.prepare(moved, levels + [_Level(tuple(flags), self.randomness)])

    def finish(self, raw, lead):
        return _move_out(self.inner.finish(raw, lead + 1), self.out_dims, lead, _root(self))


class _JacFwd:
    """The Jacobian of the inner program: its jvp over one more level, the
    identity basis of the ``argnums`` inputs (rows ``chunk`` of it), in the
    outputs' types; ``as_gradient``: each block in its input's type instead,
    as reverse mode gives it (the inner derivative of a Hessian, which
    torch.func and JAX take by reverse mode)."""

    def __init__(self, inner, argnums, has_aux, randomness, as_gradient=False):
        self.inner, self.argnums, self.has_aux = inner, argnums, has_aux
        self.randomness = randomness
        self.as_gradient = as_gradient
        self.chunk = None  # (start, stop) of the directions, None for all

    def prepare(self, inputs, levels):
        nums = _argnums(self.argnums, len(inputs))
        self.single = isinstance(self.argnums, int)
        root = self.inner
        while not isinstance(root, _Plain):
            root = root.inner
        params = _params(root.fn, len(inputs))
        shapes = []  # per differentiated input: (leaf example shapes, treedef)
        types = []  # per differentiated input: its leaves' dtypes
        for k in nums:
            leaves, treedef = pytree.flatten(inputs[k])
            lead = _lead(levels, k)
            types.append([_dtype(leaf) for leaf in leaves])
            for dtype in types[-1]:
                if dtype.kind not in "fc":
                    raise InputError(f"argument {k} ({params[k] if k < len(params) else k}) has "
                                     f"dtype kind {dtype.kind!r}: integer and bool inputs are not "
                                     "differentiable",
                                     hint="pass float arrays for the differentiated arguments")
            shapes.append(([numpy.shape(leaf)[lead:] for leaf in leaves], treedef))
        self.shapes = shapes
        self.types = None
        if self.as_gradient:  # (one type for every input leaf: that type)
            found = {dtype for leaf_types in types for dtype in leaf_types}
            self.types = found.pop() if len(found) == 1 else types
        self.total = sum(int(numpy.prod(s)) for leaf_shapes, _ in shapes for s in leaf_shapes)
        start, stop = self.chunk or (0, self.total)
        stop = min(stop, self.total)
        tangents, offset = [], 0
        space = namespace_of(*inputs)
        for k, (leaf_shapes, treedef) in zip(nums, shapes):
            leaves = pytree.flatten(inputs[k])[0]
            tleaves = []
            for leaf, shape in zip(leaves, leaf_shapes):
                n = int(numpy.prod(shape))
                # (the code is built once for all chunks: an identity of one chunk
                # would be taken for one in the next, where it is zeros)
                tleaves.append(_basis(leaf, shape, offset, n, start, stop, space,
                                      identity=n == self.total))
                offset += n
            tangents.append(pytree.unflatten(treedef, tleaves))
        self.jvp = _Jvp(self.inner, nums, len(inputs))
        extra = (False,) * len(nums)
        new_levels = [_Level(lv.flags + extra, lv.randomness) for lv in levels]
        new_levels.append(_Level((False,) * len(inputs) + (True,) * len(nums), self.randomness))
        return self.jvp.prepare(list(inputs) + tangents, new_levels)

    def finish(self, raw, lead):
        out, out_dot = self.jvp.finish(raw, lead + 1)
        out = _first_example(out, axis=lead)
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise InputError("has_aux=True but the function did not return a pair "
                                 "(output, aux)", hint="return (output, aux)")
            out, aux = out
            jac = _assemble(out, out_dot[0], self.shapes, self.single, lead, self.types)
            return jac, aux
        return _assemble(out, out_dot, self.shapes, self.single, lead, self.types)


def _program(func):
    return func._program() if isinstance(func, _Transformed) else _Plain(func)


def _called_with(program, kwargs):
    """``program``, told the names of its call's keyword arguments (a
    function of ``**kwargs`` is specialised for them)."""
    while not isinstance(program, _Plain):
        program = program.inner
    program.keywords = tuple(kwargs)


def _batched_core(prepared, kwargs):
    """The core batched over every level (innermost first); None if there
    are none. Returns the Generated code."""
    core, levels = prepared.core, prepared.levels
    leads = [_lead(levels, i) for i in range(len(prepared.values))]
    ranks = _ranks(core.params, prepared.values, leads)
    named = core.named(kwargs)
    ranks.update(_ranks(list(named), list(named.values())))
    fn, generated, shape = core.fn, None, core.shape
    for level in reversed(levels):
        batched = [p for p, flag in zip(core.params, level.flags) if flag]
        # identity bases batched at this level only (one level sees the eye matrix)
        identity = [p for i, (p, flag) in enumerate(zip(core.params, level.flags))
                    if flag and _is_identity(prepared.values[i])
                    and sum(lv.flags[i] for lv in levels) == 1]
        # boolean arrays batched at this level: a selection per example
        masks = [p for i, (p, flag) in enumerate(zip(core.params, level.flags))
                 if flag and getattr(getattr(prepared.values[i], "dtype", None), "kind", "") == "b"]
        generated = batch_function(fn, batched, ranks, randomness=level.randomness,
                                   identity=identity, masks=masks, shape=shape)
        fn, shape = generated.fn, None
        ranks = {p: _with_batch_axis(r) if p in batched else r for p, r in ranks.items()}
    return generated


def forget_fast_paths():
    """Drop what every vmap/jacfwd/hessian object kept for repeat calls
    (a rule registered since may change their code)."""
    for transformed in list(_ALL):
        getattr(transformed, "_fast", {}).clear()


class _Transformed:
    """What vmap/jacfwd/hessian return: a callable that also shows its generated code."""

    def _start(self, func):
        _ALL.add(self)
        self.func = func
        self.__wrapped__ = func
        self.calls = 0  # calls of the generated batched function (for tests)
        self._last = None

    def source(self):
        if self._last is None:
            raise InputError(f"call the {type(self).__name__.lower()} function once first: its "
                             "code is specialised on the ranks of its inputs")
        return self._last.source


class VMapped(_Transformed):
    def __init__(self, func, in_dims, out_dims, randomness, chunk_size):
        _check_randomness(randomness)
        _check_chunk_size(chunk_size)
        _check_dims(in_dims, "in_dims")
        _check_dims(out_dims, "out_dims")
        self._start(func)
        self._fast = {}  # (shape, dtype) of each argument -> the batched code for them
        self.in_dims = in_dims
        self.out_dims = out_dims
        self.randomness = randomness
        self.chunk_size = chunk_size

    def _program(self):
        return _VMap(_program(self.func), self.in_dims, self.out_dims, self.randomness)

    def __call__(self, *args, **kwargs):
        try:
            return self._call(args, kwargs)
        except Exception as exc:  # the user's file and line under a generated line
            annotate(exc)
            raise

    def _call(self, args, kwargs):
        key = None if kwargs or isinstance(self.func, _Transformed) else _fast_key(args)
        hit = self._fast.get(key) if key is not None else None
        if hit is not None and hit[1] is not None and hit[0].is_current():
            # NumPy arrays of the shapes seen before: the same code, axes and checks
            generated, axes, core, levels = hit
            self._last = generated
            self.calls += 1
            values = [a if perm is None else a.transpose(perm) for a, perm in zip(args, axes)]
            return handed_back(_move_out(core.call(generated.fn, values, {}, levels),
                                          self.out_dims, fn=core.root))
        program = self._program()
        _check_unfilled(_root(program), len(args), kwargs)
        _called_with(program, kwargs)
        prepared = program.prepare(list(args), [])  # checks the inputs, finds the size
        size = program.size
        # the batched code depends on the ranks, not the batch size: one for every chunk
        generated = hit[0] if hit is not None else None
        if generated is None or not generated.is_current():
            generated = _batched_core(prepared, kwargs)
        if key is not None:
            self._fast[key] = (generated, self._moves(args, size), prepared.core,
                               prepared.levels)
        self._last = generated
        chunk = self.chunk_size or size
        if chunk >= size:
            self.calls += 1
            raw = prepared.core.call(generated.fn, prepared.values, kwargs, prepared.levels)
            return handed_back(program.finish(raw, 0))
        # chunks: slices of the batched inputs (after moving their axis to the front)
        parts = []
        same = _SameDraws(_root(program), self.randomness, args)
        flags = prepared.levels[0].flags
        for start in range(0, size, chunk):
            if start:
                same.restore()
            values = [_slice_tree(v, start, start + chunk) if f else v
                      for v, f in zip(prepared.values, flags)]
            self.calls += 1
            parts.append(prepared.core.call(generated.fn, values, kwargs, prepared.levels))
        return handed_back(program.finish(_concat_trees(parts), 0))

    def _moves(self, args, size):
        """Per argument, the transpose that brings its batch axis to the front
        (None: as it is), for a later call with arrays of the same shapes;
        None where that call needs more (containers, chunks)."""
        if (self.chunk_size and self.chunk_size < size) \
                or any(type(a) is not numpy.ndarray for a in args):
            return None
        axes = []
        for a, d in zip(args, _per_argument(self.in_dims, len(args))):
            d = None if d is None else d % a.ndim
            axes.append(None if not d else (d,) + tuple(k for k in range(a.ndim) if k != d))
        return axes


def _per_argument(in_dims, n):
    """``in_dims`` as one entry per argument (an int or None stands for all)."""
    return in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * n


def _root(program):
    while not isinstance(program, _Plain):
        program = program.inner
    return program.fn


def _check_dims(dims, what):
    leaves = pytree.flatten(dims)[0] if isinstance(dims, (tuple, list, dict)) else [dims]
    for d in leaves:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
            raise InputError(f"{what} entries must be ints or None, not {d!r}",
                             hint=f"{what}=0 batches over the first axis; None leaves an "
                             "argument unbatched")


def _dims_for(dim, arg, label):
    """One dim per leaf of ``arg``: ``dim`` is a prefix of ``arg``'s
    structure, as in torch.func and JAX: an int or None stands for the whole
    value or part (``{"w": 0, "layers": None}`` over a dict whose "layers" is
    a list). ``label``: "in_dims for argument 0" (for the error)."""
    dims = _prefix_dims(dim, arg)
    if dims is None:
        raise InputError(f"{label} has structure {pytree.describe(pytree.flatten(dim)[1])} "
                         f"but the value has {pytree.describe(pytree.flatten(arg)[1])}",
                         hint="give an int (or None) for the whole value or any part of it, "
                         "and containers of the value's kind and keys above them")
    return dims


def _prefix_dims(dim, arg):
    """The dims of ``arg``'s leaves under the prefix tree ``dim``, or None
    where ``dim`` is not a prefix of ``arg``'s structure."""
    if dim is None or isinstance(dim, int):
        return [dim] * len(pytree.flatten(arg)[0])
    if isinstance(dim, dict) and isinstance(arg, dict) and dim.keys() == arg.keys():
        parts = [_prefix_dims(dim[k], v) for k, v in arg.items()]
    elif isinstance(dim, (tuple, list)) and isinstance(arg, (tuple, list)) \
            and len(dim) == len(arg):
        parts = [_prefix_dims(d, v) for d, v in zip(dim, arg)]
    else:
        return None
    return None if any(p is None for p in parts) else [d for p in parts for d in p]


def _broadcast(leaf, size, lead=0, space=None):
    """``leaf`` with a batch axis of ``size`` after its ``lead`` level axes
    (an array of ``space``, the call's namespace, if it is a Python number)."""
    xp = backend.namespace_or(leaf, space)
    leaf = xp.asarray(leaf)
    shape = leaf.shape[:lead] + (size,) + leaf.shape[lead:]
    return xp.broadcast_to(xp.expand_dims(leaf, lead), shape)


def _slice_tree(tree, start, stop):
    return tree_map(lambda leaf: leaf[start:stop], tree)


def _concat_trees(parts, axis=0):
    flat = [pytree.flatten(p) for p in parts]
    treedef = flat[0][1]
    columns = zip(*[leaves for leaves, _ in flat])
    return pytree.unflatten(treedef, [_concat(c, axis) for c in columns])


def _concat(column, axis):
    """The chunks of one output joined (still noted as the broadcast of the
    Python number or string each chunk is, if it is one); None for None."""
    if column[0] is None:
        return None
    joined = namespace_of(column[0]).concatenate(column, axis=axis)
    found, value = broadcast_of(column[0])
    if found:
        remember_broadcast(joined, value)
    return joined


def _move_out(out, out_dims, lead=0, fn=None):
    """Each output's batch axis (at ``lead``, after outer levels' axes) to
    its ``out_dims`` position (``fn``: the user's function, for errors)."""
    if out_dims == 0 and isinstance(out_dims, int):  # (nothing to move)
        if _BROADCASTS:
            _check_no_strings(out, out_dims, fn)
        return out
    leaves, treedef = pytree.flatten(out)
    if isinstance(out_dims, int):
        dims = [out_dims] * len(leaves)
    elif isinstance(out, tuple) and isinstance(out_dims, tuple):
        dims = []
        if len(out_dims) != len(out):
            raise InputError("out_dims must be an int, a tuple with one entry per output, "
                             "or a prefix of the output's structure")
        for i, (o, d) in enumerate(zip(out, out_dims)):
            dims += _dims_for(d, o, f"out_dims for output {i}")
    else:  # one output (a dict, say) and out_dims a prefix of its structure
        dims = _dims_for(out_dims, out, "out_dims")
    moved = []
    for leaf, d in zip(leaves, dims):
        if d is not None and _BROADCASTS:
            _check_no_strings(leaf, d, fn)
        if leaf is None or d == 0:  # (None: no value, an aux of None, say)
            moved.append(leaf)
        elif d is None:
            moved.append(_unbatched(leaf, lead))
        else:
            ndim = numpy.ndim(leaf) - lead
            if not -ndim <= d < ndim:
                raise InputError(f"out_dims={d} is out of range for an output with {ndim} "
                                 "dimensions (batch axis included)")
            moved.append(namespace_of(leaf).moveaxis(leaf, lead, lead + d % ndim))
    return pytree.unflatten(treedef, moved)


def _check_no_strings(out, out_dims, fn):
    """Refuse a Python string among the outputs given a batch axis, as
    torch.func and JAX do (a batch of copies of it would be no array the
    function made)."""
    value = broadcast_string(out)
    if value is not None:
        code = getattr(fn, "__code__", None)
        raise InputError(
            f"vmap: {getattr(fn, '__qualname__', 'the function')} returned the "
            f"{type(value).__name__} {value!r} as an output with a batch axis "
            f"(out_dims={out_dims!r}): only arrays and numbers can be batched",
            filename=code and code.co_filename, lineno=code and code.co_firstlineno,
            hint="give that output out_dims=None to have it back as it is")


def _unbatched(leaf, lead):
    """An output of ``out_dims=None`` without its batch axis (at ``lead``):
    its first example, which must be every example's (NaNs match); a Python
    number or string the function returned, as it returned it."""
    if broadcast_of(leaf)[0] or not hasattr(leaf, "shape"):
        return _example(leaf, lead)
    xp = namespace_of(leaf)
    first = leaf[(slice(None),) * lead + (0,)]
    row = xp.expand_dims(first, lead)
    if not bool(xp.all((leaf == row) | ((leaf != leaf) & (row != row)))):
        raise InputError("vmap returned an output that varies over the batch, but out_dims "
                         "is None for it", hint="give it an out_dims entry (0 puts the batch "
                         "axis first), or make it independent of the batched inputs")
    return first


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise ``func`` over the ``in_dims`` axes of its inputs, like
    ``torch.func.vmap``: ``vmap(f)(x)[i] == f(x[i])``."""
    return VMapped(func, in_dims, out_dims, randomness, chunk_size)


class JacFwd(_Transformed):
    def __init__(self, func, argnums, has_aux, randomness, chunk_size):
        _check_randomness(randomness)
        _check_chunk_size(chunk_size)
        _check_argnums(argnums)
        self._start(func)
        self._fast = {}  # (shape, dtype) of each argument -> what the last such call built
        self.argnums = argnums
        self.has_aux = has_aux
        self.randomness = randomness
        self.chunk_size = chunk_size
        self._as_gradient = False  # (the inner derivative of a Hessian: see _JacFwd)
        self._plain = _plain_jacobians(self)

    def _program(self):
        return _JacFwd(_program(self.func), self.argnums, self.has_aux, self.randomness,
                       self._as_gradient)

    def __call__(self, *args, **kwargs):
        """The Jacobian at ``args``; ``kwargs`` go to the function as they are
        (not differentiated)."""
        try:
            return self._call(args, kwargs)
        except Exception as exc:  # the user's file and line under a generated line
            annotate(exc)
            raise

    def _call(self, args, kwargs):
        key = _fast_key(args) if self._plain and not kwargs else None
        hit = self._fast.get(key) if key is not None else None
        if hit is not None and all(g.is_current() for g in hit[1]):
            # arrays of the shapes seen before: the same code and bases
            program, _, core, fn, basis, kept = hit
            self.calls += 1
            return handed_back(program.finish(core.call(fn, [*args, *basis], {}), 0), kept)
        program = self._program()
        _check_unfilled(_root(program), len(args), kwargs)
        _called_with(program, kwargs)
        program.chunk = (0, self.chunk_size) if self.chunk_size else None
        prepared = program.prepare(list(args), [])
        if program.total == 0:  # empty inputs: no direction to batch over
            return self._without_directions(args, kwargs, program)
        generated = _batched_core(prepared, kwargs)
        self._last = generated
        kept = ()  # the arrays kept for later calls: the bases
        if key is not None:
            # (only code built from globals or cells can go stale: the rest is not checked)
            watched = [g for g in [generated] + _jvp_code(program) if g.deps]
            basis = prepared.values[len(args):]
            kept = _read_only(pytree.flatten(basis)[0])
            self._fast[key] = (program, watched, prepared.core, generated.fn, basis, kept)
        same = _SameDraws(_root(program), self.randomness) if self.chunk_size else None
        self.calls += 1
        raw = prepared.core.call(generated.fn, prepared.values, kwargs)
        if not self.chunk_size or self.chunk_size >= program.total:
            return handed_back(program.finish(raw, 0), kept)
        # the other chunks of directions; the primal output comes from the first
        pieces = [raw[1]]
        for start in range(self.chunk_size, program.total, self.chunk_size):
            same.restore()
            program.chunk = (start, start + self.chunk_size)
            prepared = program.prepare(list(args), [])
            self.calls += 1
            pieces.append(prepared.core.call(generated.fn, prepared.values, kwargs)[1])
        return handed_back(program.finish((raw[0], _concat_trees(pieces)), 0))

    def _without_directions(self, args, kwargs, program):
        """The Jacobian when the differentiated inputs hold no number: blocks
        of size 0 around the function's own output (batched code over 0
        directions would have lost the output's values)."""
        out = self.func(*args, **kwargs)  # (the inner transform, under hessian)
        aux = None
        if self.has_aux:
            out, aux = out
        leaves, treedef = pytree.flatten(out)
        empty = pytree.unflatten(treedef, [
            numpy.zeros((0,) + numpy.shape(o), dtype=numpy.result_type(_dtype(o), float))
            for o in leaves])
        jac = _assemble(out, empty, program.shapes, program.single, types=program.types)
        return (jac, aux) if self.has_aux else jac


def _plain_jacobians(transformed):
    """Whether ``transformed`` is jacfwd (of jacfwd...) of a plain function,
    unchunked: then its core takes the arguments as they are, followed by
    bases that depend only on their shapes."""
    while isinstance(transformed, JacFwd):
        if transformed.chunk_size:
            return False
        transformed = transformed.func
    return not isinstance(transformed, _Transformed)


def _jvp_code(program):
    """Every generated jvp in ``program`` (what a cached call must check is current)."""
    found = []
    while not isinstance(program, _Plain):
        if isinstance(program, _JacFwd):
            found.append(program.jvp.generated)
        program = program.inner
    return found


def _fast_key(args):
    """The shapes and dtypes of ``args`` (and the structure of a tuple, list
    or dict argument) when every leaf is a NumPy array, else None."""
    key = []
    for a in args:
        if type(a) is numpy.ndarray:
            key.append((a.shape, a.dtype))  # (the dtype, not its .str: made anew each time)
            continue
        if not isinstance(a, (tuple, list, dict)):
            return None
        leaves, treedef = pytree.flatten(a)
        if not leaves or any(type(leaf) is not numpy.ndarray for leaf in leaves):
            return None
        key.append((treedef, tuple((leaf.shape, leaf.dtype) for leaf in leaves)))
    return tuple(key)


def _dtype(leaf):
    """The dtype of an array or Python number, without touching its data
    (a Dask array is not computed)."""
    dtype = getattr(leaf, "dtype", None)
    return dtype if isinstance(dtype, numpy.dtype) else numpy.asarray(leaf).dtype


def _basis(leaf, shape, offset, n, start, stop, space=None, identity=True):
    """Rows ``start:stop`` of the identity basis, restricted to this leaf
    (example shape ``shape``, directions ``offset:offset + n``), made by the
    leaf's array library (``space``, the call's, for a Python number): row
    ``r`` is direction ``start + r``, which is column ``start + r - offset``
    of this leaf. ``identity``: the basis may be marked as the identity
    (for the batched code's shortcuts) where it is one."""
    xp = backend.namespace_or(leaf, space)
    dtype = _dtype(leaf)
    rows = stop - start
    basis = xp.eye(rows, M=n, k=start - offset, dtype=dtype if dtype.kind in "fc" else float)
    if identity and len(shape) == 1 and rows == n and start == offset:
        try:
            _IDENTITY[id(basis)] = basis
        except TypeError:  # an array type without weak references: no shortcut
            pass
        return basis
    return xp.reshape(basis, (rows,) + tuple(shape))


# every vmap/jacfwd/hessian object alive (forget_fast_paths)
_ALL = weakref.WeakSet()

# the identity bases _basis made (id -> array, while the array lives): the
# batched code may multiply them symbolically (``s2s.runtime.identity_matmul``)
_IDENTITY = weakref.WeakValueDictionary()


def _is_identity(value):
    return _IDENTITY.get(id(value)) is value


def _first_example(tree, axis=0):
    """Each leaf at index 0 along ``axis`` (the batch axis); a leaf without
    axes (None in an aux, say) is the same for every example, as it is,
    and so is a Python number or string broadcast over the batch."""
    index = (slice(None),) * axis + (0,)
    if type(tree) is numpy.ndarray:  # (the common case, without tree_map)
        return tree[index]
    if not _BROADCASTS:  # (no Python value broadcast: no leaf to look up)
        return tree_map(lambda leaf: leaf[index] if getattr(leaf, "ndim", 0) else leaf, tree)
    return tree_map(lambda leaf: _example(leaf, axis) if getattr(leaf, "ndim", 0) else leaf, tree)


def _example(leaf, lead):
    """The first example of ``leaf`` along its batch axis at ``lead``; for a
    Python number or string broadcast over the batch, once no outer batch
    axes are left in front, the value itself (as the function returned it:
    an aux, an output of ``out_dims=None``), else an example still noted as
    its broadcast; ``leaf`` itself if it is no array."""
    found, value = broadcast_of(leaf)
    if found and lead == 0:
        return value
    if not hasattr(leaf, "shape"):
        return leaf
    first = leaf[(slice(None),) * lead + (0,)]
    if found:
        remember_broadcast(first, value)
    return first


def _read_only(bases):
    """The bases a jacfwd object keeps for its next calls, NumPy's made
    read-only: a Jacobian that is one of them or a view of one (``x + 1``,
    ``x[1:]``) is then read-only, and :func:`handed_back` copies it. Those
    of other libraries (no such flag) are returned, for handed_back to
    compare with."""
    others = []
    for basis in bases:
        if isinstance(basis, numpy.ndarray):
            basis.flags.writeable = False
        else:
            others.append(basis)
    return tuple(others)


_WARN_ON_WRITE = 1 << 31  # NumPy's NPY_ARRAY_WARN_ON_WRITE, in ndarray.flags.num


def handed_back(tree, kept=()):
    """``tree`` as the caller gets it: arrays they may write to (``J -= I``)
    without touching anything s2s keeps. A read-only array (a broadcast view:
    an output that does not vary over the batch, a constant Jacobian, a view
    of a kept basis) or one sharing memory with ``kept`` (the bases of other
    libraries a jacfwd object keeps) is copied; the rest is returned as it is."""
    if isinstance(tree, numpy.ndarray):
        # (a zero stride: a broadcast view; np.broadcast_arrays' views, and views of
        # them, carry NumPy's warn-on-write flag, and reading their writeable flag
        # warns: read the raw flags instead. A view broadcast along axes of size 1
        # alone has no zero stride.)
        flags = tree.flags
        return tree.copy() if 0 in tree.strides or flags.num & _WARN_ON_WRITE \
            or not flags.writeable else tree
    if isinstance(tree, (tuple, list, dict)):
        items = list(tree.values()) if isinstance(tree, dict) else tree
        owned = [handed_back(item, kept) for item in items]
        if all(map(operator.is_, owned, items)):
            return tree
        return dict(zip(tree, owned)) if isinstance(tree, dict) else _rebuild(tree, owned)
    if kept and any(_shares_memory(tree, k) for k in kept):
        return tree.copy()
    return tree


def _shares_memory(a, b):
    check = getattr(namespace_of(a), "may_share_memory", None)  # (CuPy's; Dask has none)
    return check is not None and bool(check(a, b))


def _assemble(out, out_dot, shapes, single, lead=0, types=None):
    """Jacobians ``output.shape + input.shape`` from tangents with the
    direction axis at ``lead`` (after ``lead`` leading batch axes); ``types``
    (per input, its leaves' dtypes): each block in its input leaf's type,
    (a dtype): every block in it."""
    if types is not None and isinstance(types, numpy.dtype):
        out_dot = _in_type(out_dot, types) if type(out_dot) is numpy.ndarray \
            else tree_map(lambda d: _in_type(d, types), out_dot)
        types = None
    if single and lead == 0 and type(out_dot) is numpy.ndarray and len(shapes) == 1 \
            and shapes[0][1] is None and isinstance(out, (numpy.ndarray, numpy.generic)):
        # one array in, one array out: directions first -> last
        shape = tuple(shapes[0][0][0])
        jac = out_dot.transpose(tuple(range(1, out_dot.ndim)) + (0,)) if out_dot.ndim > 1 \
            else out_dot
        return jac.reshape(out.shape + shape) if shape != (out_dot.shape[0],) else jac
    out_flat, out_def = pytree.flatten(out)
    dot_flat, _ = pytree.flatten(out_dot)
    jacobians = []
    for o, d in zip(out_flat, dot_flat):
        if type(d) is numpy.ndarray:  # (the methods: NumPy's functions cost ~0.4 us more a call)
            reshape, transpose = numpy.ndarray.reshape, numpy.ndarray.transpose
        else:
            xp = namespace_of(d)
            reshape, transpose = xp.reshape, xp.transpose
        oshape = numpy.shape(o)[lead:]
        batch = numpy.shape(d)[:lead]
        per_arg = []
        offset = 0
        for leaf_shapes, treedef in shapes:
            blocks = []
            for shape in leaf_shapes:
                n = math.prod(shape)
                index = (slice(None),) * lead + (slice(offset, offset + n),)
                block = reshape(d[index], batch + (n,) + oshape)
                offset += n
                # the direction axis last (moveaxis, without its argument checks)
                axes = tuple(range(lead)) + tuple(range(lead + 1, block.ndim)) + (lead,)
                blocks.append(reshape(transpose(block, axes), batch + oshape + tuple(shape)))
            if types is not None:
                blocks = [_in_type(block, dtype)
                          for block, dtype in zip(blocks, types[len(per_arg)])]
            per_arg.append(pytree.unflatten(treedef, blocks))
        jacobians.append(per_arg[0] if single else tuple(per_arg))
    return pytree.unflatten(out_def, jacobians)


def _in_type(block, dtype):
    """``block`` in ``dtype`` (itself if it has that type already, or no type)."""
    have = getattr(block, "dtype", dtype)
    return block if have is dtype or have == dtype else block.astype(dtype)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error", chunk_size=None):
    """The Jacobian of ``func`` by forward mode, like ``torch.func.jacfwd``:
    shape ``output.shape + input.shape``, every column from one vectorised pass."""
    return JacFwd(func, argnums, has_aux, randomness, chunk_size)


class Hessian(JacFwd):
    """``jacfwd(jacfwd(f))``: the generated jvp of ``f`` is differentiated
    again and batched over both bases (so loops and branches work). Its
    blocks d2f/dx_i dx_j have the type of x_i, as torch.func's and JAX's
    (jacfwd of reverse mode's gradient, which is in x_i's type): a float32
    x_i with float64 constants in ``f`` gives a float32 block."""

    def __init__(self, func, argnums):
        _check_argnums(argnums)
        inner = JacFwd(func, argnums, False, "error", None)
        inner._as_gradient = True
        super().__init__(inner, argnums, False, "error", None)
        self.__wrapped__ = func


def hessian(func, argnums=0):
    """The Hessian of ``func`` (``jacfwd(jacfwd(func))``), shape
    ``output.shape + input.shape + input.shape``."""
    return Hessian(func, argnums)


def _run(program, inputs, kwargs=None):
    """``program`` on ``inputs``: its core batched over its levels, called once."""
    kwargs = kwargs or {}
    _called_with(program, kwargs)
    prepared = program.prepare(list(inputs), [])
    generated = _batched_core(prepared, kwargs)
    fn = prepared.core.fn if generated is None else generated.fn
    raw = prepared.core.call(fn, prepared.values, kwargs, prepared.levels)
    return program.finish(raw, 0), generated


def transformed_jvp(func, primals, tangents):
    """``s2s.jvp`` of what vmap/jacfwd/hessian returned: its program's jvp,
    batched over the program's own levels, in one call."""
    program = _Jvp(_program(func), tuple(range(len(primals))), len(primals))
    result, generated = _run(program, list(primals) + list(tangents))
    func._last = generated or program.generated
    return result


def run_jvp(func, args, tangents, flags=None, randomness="error"):
    """``(func(*args), tangent)`` for a callable the generated code meets at
    run time (what vmap/jacfwd returned, a function passed as an argument).
    A tangent of None: that argument is not differentiated. ``flags``
    (for args, for tangents): batched over their leading axis."""
    nums = tuple(i for i, t in enumerate(tangents) if t is not None)
    program = _Jvp(_program(func), nums, len(args))
    if flags is not None:
        arg_flags, tangent_flags = flags
        dims = [0 if f else None for f in arg_flags] + [0 if tangent_flags[i] else None
                                                       for i in nums]
        program = _VMap(program, tuple(dims), 0, randomness)
    return _run(program, list(args) + [tangents[i] for i in nums])[0]


def run_vmap(func, args, flags, randomness="error"):
    """``func`` over the leading axis of the flagged ``args``, for a callable
    the batched code meets at run time."""
    program = _VMap(_program(func), tuple(0 if f else None for f in flags), 0, randomness)
    return _run(program, list(args))[0]


class JvpOf(_Transformed):
    """``lambda *primals_and_tangents: s2s.jvp(func, primals, tangents)`` as
    a transformed function, so it composes with jvp and vmap like the others."""

    def __init__(self, func, nprimals):
        self._start(func)
        self.n = nprimals

    def _program(self):
        return _Jvp(_program(self.func), tuple(range(self.n)), self.n)

    def __call__(self, *inputs):
        if len(inputs) != 2 * self.n:
            raise InputError(f"the jvp of {getattr(self.func, '__name__', self.func)} takes "
                             f"{self.n} primals and {self.n} tangents, got {len(inputs)} values")
        return _run(self._program(), inputs)[0]


# -- source without a call ---------------------------------------------------------------


def transform_source(fn, transform, *, argnums=None, in_dims=0, ranks=None, randomness="error"):
    """The generated source of ``jacfwd``/``hessian``/``vmap`` of the plain
    function ``fn``, without calling it: what a call on arguments of these
    ``ranks`` (the number of dimensions of each positional argument, as
    ``fn`` itself receives it; a tuple or a dict by parameter name) would
    generate. Without ranks, every positional parameter without a default
    value is there, of a rank not known statically (the code then decides
    at run time)."""
    _check_randomness(randomness)
    names = _params(fn, fn.__code__.co_argcount)
    rank_of = _given_ranks(fn, names, ranks)
    if transform == "vmap":
        if in_dims is None or isinstance(in_dims, int):
            batched = list(rank_of) if in_dims is not None else []
        else:
            if not isinstance(in_dims, (tuple, list)) or len(in_dims) > len(names):
                raise InputError(f"in_dims={in_dims!r} does not match the {len(names)} "
                                 f"positional parameters of {fn.__qualname__}",
                                 hint="give one entry (an int or None) per argument")
            _check_dims(in_dims, "in_dims")
            batched = []
            for pname, dim in zip(names, in_dims):
                rank_of.setdefault(pname, None)
                if any(d is not None for d in pytree.flatten(dim)[0]):
                    batched.append(pname)
        if not batched:
            raise InputError("vmap needs at least one batched input",
                             hint="set in_dims to an axis for at least one argument")
        return batch_function(fn, batched, rank_of, randomness=randomness).source
    if transform not in ("jacfwd", "hessian"):
        raise InputError(f"unknown transform {transform!r}",
                         hint="use 'jvp', 'jacfwd', 'vmap' or 'hessian'")
    nums = _argnums(argnums if argnums is not None else 0, len(names))
    # the core: the function after one jvp (jacfwd) or two (hessian), each
    # batched over its basis directions (the first jvp's innermost)
    params = list(rank_of)
    for k in nums:
        rank_of.setdefault(names[k], None)
        if names[k] not in params:
            params.append(names[k])
    core, core_ranks, levels = fn, dict(rank_of), []
    for _ in range(2 if transform == "hessian" else 1):
        generated = jvp_function(core, tuple(names[k] for k in nums))
        tangents = [generated.tangent_names[names[k]] for k in nums]
        core_ranks.update({t: rank_of[names[k]] for t, k in zip(tangents, nums)})
        core = generated.fn
        levels.append(tangents)
    # one vector differentiated: each basis is eye(n), as a call makes it
    single = len(nums) == 1 and rank_of[names[nums[0]]] == 1
    for batched in levels:  # innermost first
        generated = batch_function(core, batched, core_ranks, randomness=randomness,
                                   identity=batched if single else ())
        core = generated.fn
        core_ranks = {p: _with_batch_axis(r) if p in batched else r
                      for p, r in core_ranks.items()}
    return generated.source


def _given_ranks(fn, names, ranks):
    """parameter -> rank (int, or None when not known), from ``ranks`` as
    :func:`transform_source` takes it."""
    if ranks is None:
        required = len(names) - len(fn.__defaults__ or ())
        return dict.fromkeys(names[:required])
    if isinstance(ranks, dict):
        unknown = [p for p in ranks if p not in names]
        if unknown:
            raise InputError(f"ranks names {unknown[0]!r}, which is not a positional parameter "
                             f"of {fn.__qualname__}", hint=f"its parameters: {', '.join(names)}")
        items = list(ranks.items())
    else:
        ranks = tuple(ranks)
        if len(ranks) > len(names):
            raise InputError(f"{len(ranks)} ranks given but {fn.__qualname__} takes "
                             f"{len(names)} positional parameters",
                             hint="give one rank per positional argument")
        items = list(zip(names, ranks))
    for pname, rank in items:
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 0):
            raise InputError(f"the rank of {pname} must be a non-negative int or None, "
                             f"not {rank!r}", hint="a rank is the number of dimensions: "
                             "0 for a scalar, 1 for a vector, 2 for a matrix")
    return dict(items)
