"""``vmap`` and ``jacfwd``: the batching transform behind torch.func's API.

``jacfwd(f)`` is ``vmap`` of ``f``'s jvp over the tangents, on an identity
basis: one call of the generated batched derivative computes every column
(``chunk_size`` splits the directions into passes of at most that many).
"""


import numpy

from . import pytree
from .codegen import ANNOTATING
from .errors import InputError
from .frontend import _unwrap
from .runtime import namespace_of, tree_map
from .transform import batch_function, jvp_function


def _ranks(params, args):
    """What the batched code is specialised on: the rank of each array
    argument, or the kind of container ("dict", "list", "tuple")."""
    ranks = {}
    for pname, value in zip(params, args):
        if isinstance(value, (float, int, complex)) and not isinstance(value, bool):
            ranks[pname] = 0
        elif hasattr(value, "ndim") and hasattr(value, "shape"):
            ranks[pname] = value.ndim
        elif isinstance(value, dict):
            ranks[pname] = "dict"
        elif isinstance(value, (list, tuple)):
            ranks[pname] = "list"
        else:
            ranks[pname] = None
    return ranks


class _SameDraws:
    """``randomness="same"`` over several chunks: every chunk must see the
    same draws, so the random generators the function can reach (NumPy's
    global one, and Generator/RandomState objects among its globals and
    closure) are put back to their state before each chunk."""

    def __init__(self, fn, randomness):
        self.saved = []
        if randomness != "same":
            return
        fn = _unwrap(fn)
        names = set(fn.__code__.co_names)
        values = [fn.__globals__[n] for n in names if n in fn.__globals__]
        values += [c.cell_contents for c in (fn.__closure__ or ()) if _cell_full(c)]
        gens = [v for v in values
                if isinstance(v, (numpy.random.Generator, numpy.random.RandomState))]
        self.saved = [(numpy.random.mtrand._rand, numpy.random.get_state())]
        self.saved += [(g, g.bit_generator.state if isinstance(g, numpy.random.Generator)
                        else g.get_state()) for g in gens]

    def restore(self):
        for gen, state in self.saved:
            if isinstance(gen, numpy.random.Generator):
                gen.bit_generator.state = state
            else:
                gen.set_state(state)


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
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    if nargs > len(names):
        raise InputError(f"{fn.__qualname__} takes {len(names)} positional arguments but "
                         f"{nargs} were given")
    return names[:nargs]


class _Transformed:
    """What vmap/jacfwd return: a callable that also shows its generated code."""

    def source(self):
        raise NotImplementedError


class VMapped(_Transformed):
    def __init__(self, func, in_dims, out_dims, randomness, chunk_size):
        _check_randomness(randomness)
        _check_chunk_size(chunk_size)
        _check_dims(in_dims, "in_dims")
        _check_dims(out_dims, "out_dims")
        self.func = func
        self.in_dims = in_dims
        self.out_dims = out_dims
        self.randomness = randomness
        self.chunk_size = chunk_size
        self.__wrapped__ = func
        self.calls = 0  # calls of the generated batched function (for tests)
        self._last = None

    def __call__(self, *args, **kwargs):
        with ANNOTATING:
            return self._call(args, kwargs)

    def _call(self, args, kwargs):
        in_dims = self.in_dims
        if not isinstance(in_dims, (tuple, list)):
            in_dims = (in_dims,) * len(args)
        if len(in_dims) != len(args):
            raise InputError(f"in_dims has {len(in_dims)} entries but vmap got {len(args)} "
                             "arguments", hint="give one in_dims entry per positional argument")
        moved, flags, size = [], [], None
        for i, (arg, dim) in enumerate(zip(args, in_dims)):
            leaves, treedef = pytree.flatten(arg)
            dims = _dims_for(dim, arg, i)
            new_leaves, batched_any = [], False
            for leaf, d in zip(leaves, dims):
                if d is None:
                    new_leaves.append(leaf)
                    continue
                ndim = numpy.ndim(leaf)
                if not -ndim <= d < ndim:
                    raise InputError(f"in_dims={d} is out of range for argument {i} with "
                                     f"{ndim} dimensions", hint="pick an existing axis, or None")
                n = numpy.shape(leaf)[d]
                if size is None:
                    size = n
                elif n != size:
                    raise InputError(f"inconsistent batch sizes: argument {i} has {n} along "
                                     f"dimension {d}, an earlier one has {size}",
                                     hint="every batched input needs the same batch size")
                new_leaves.append(namespace_of(leaf).moveaxis(leaf, d, 0) if d != 0 else leaf)
                batched_any = True
            if batched_any:
                new_leaves = [leaf if d is not None else _broadcast(leaf, size)
                              for leaf, d in zip(new_leaves, dims)]
            moved.append(pytree.unflatten(treedef, new_leaves))
            flags.append(batched_any)
        if size is None:
            raise InputError("vmap needs at least one batched input",
                             hint="set in_dims to an axis for at least one argument")
        if isinstance(self.func, JacFwd) and not kwargs:
            self.calls += 1
            out = self.func._vmapped(moved, flags, size, self.randomness)
            self._last = self.func._last
        elif isinstance(self.func, _Transformed):
            out = _loop(self.func, moved, flags, size, kwargs)
        else:
            fn = _unwrap(self.func)
            params = _params(fn, len(args))
            ranks = _ranks(params, [_example_rank(a, f) for a, f in zip(moved, flags)])
            ranks.update(_ranks(list(kwargs), list(kwargs.values())))
            batched = [p for p, f in zip(params, flags) if f]
            generated = batch_function(fn, batched, ranks, randomness=self.randomness)
            self._last = generated
            out = self._run(generated.fn, moved, flags, size, kwargs)
        return _move_out(out, self.out_dims)

    def _run(self, fn, args, flags, size, kwargs):
        chunk = self.chunk_size or size
        if chunk >= size:
            self.calls += 1
            return fn(*args, **kwargs)
        parts = []
        same = _SameDraws(self.func, self.randomness)
        for start in range(0, size, chunk):
            if start:
                same.restore()
            piece = [_slice_tree(a, start, start + chunk) if f else a for a, f in zip(args, flags)]
            self.calls += 1
            parts.append(fn(*piece, **kwargs))
        return _concat_trees(parts)

    def source(self):
        if self._last is None:
            raise InputError("call the vmapped function once first: its code is specialised "
                             "on the ranks of its inputs")
        return self._last.source


def _check_dims(dims, what):
    leaves = pytree.flatten(dims)[0] if isinstance(dims, (tuple, list, dict)) else [dims]
    for d in leaves:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
            raise InputError(f"{what} entries must be ints or None, not {d!r}",
                             hint=f"{what}=0 batches over the first axis; None leaves an "
                             "argument unbatched")


def _example_rank(arg, batched):
    if batched and hasattr(arg, "ndim"):
        return _Rank(arg.ndim - 1)
    return arg


class _Rank:
    def __init__(self, ndim):
        self.ndim = ndim
        self.shape = (0,) * ndim


def _dims_for(dim, arg, i):
    leaves, treedef = pytree.flatten(arg)
    if dim is None or isinstance(dim, int):
        return [dim] * len(leaves)
    dim_leaves, dim_def = pytree.flatten(dim)
    if dim_def != treedef:
        raise InputError(f"in_dims for argument {i} has structure {pytree.describe(dim_def)} "
                         f"but the argument has {pytree.describe(treedef)}")
    return dim_leaves


def _broadcast(leaf, size):
    xp = namespace_of(leaf)
    leaf = xp.asarray(leaf)
    return xp.broadcast_to(leaf, (size,) + leaf.shape)


def _loop(fn, args, flags, size, kwargs):
    """vmap of an already transformed function: one call per batch element."""
    from .runtime import loop_batched

    def each(*a):
        return fn(*a, **kwargs)

    return loop_batched(each, args, flags)


def _slice_tree(tree, start, stop):
    return tree_map(lambda leaf: leaf[start:stop], tree)


def _concat_trees(parts, axis=0):
    flat = [pytree.flatten(p) for p in parts]
    treedef = flat[0][1]
    columns = zip(*[leaves for leaves, _ in flat])
    return pytree.unflatten(treedef, [namespace_of(c[0]).concatenate(c, axis=axis)
                                      for c in columns])


def _move_out(out, out_dims):
    leaves, treedef = pytree.flatten(out)
    if isinstance(out_dims, int):
        dims = [out_dims] * len(leaves)
    else:
        dims = []
        if not isinstance(out, tuple) or len(out_dims) != len(out):
            raise InputError("out_dims must be an int or a tuple with one entry per output")
        for o, d in zip(out, out_dims):
            dims += [d] * len(pytree.flatten(o)[0])
    moved = [namespace_of(leaf).moveaxis(leaf, 0, d) if d else leaf
             for leaf, d in zip(leaves, dims)]
    return pytree.unflatten(treedef, moved)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise ``func`` over the ``in_dims`` axes of its inputs, like
    ``torch.func.vmap``: ``vmap(f)(x)[i] == f(x[i])``."""
    return VMapped(func, in_dims, out_dims, randomness, chunk_size)


class JacFwd(_Transformed):
    def __init__(self, func, argnums, has_aux, randomness, chunk_size):
        _check_randomness(randomness)
        _check_chunk_size(chunk_size)
        nums = (argnums,) if not isinstance(argnums, (tuple, list)) else argnums
        if not nums or any(isinstance(k, bool) or not isinstance(k, int) for k in nums):
            raise InputError(f"argnums must be an int or a tuple of ints, not {argnums!r}")
        self.func = func
        self.argnums = argnums
        self.has_aux = has_aux
        self.randomness = randomness
        self.chunk_size = chunk_size
        self.__wrapped__ = func
        self.calls = 0
        self._last = None

    def __call__(self, *args):
        with ANNOTATING:
            return self._compute(args, None, None)

    def _vmapped(self, args, flags, size, randomness):
        """``vmap(jacfwd(f))``: the generated batched jvp batched once more,
        over the vmapped inputs (one call, no loop over examples)."""
        return self._compute(args, flags, size)

    def _compute(self, args, outer_flags, outer_size):
        lead = 0 if outer_flags is None else 1
        examples = args if outer_flags is None else [
            _first_example(a) if f else a for a, f in zip(args, outer_flags)]
        nums = (self.argnums,) if isinstance(self.argnums, int) else tuple(self.argnums)
        for k in nums:
            if not -len(args) <= k < len(args):
                raise InputError(f"argnums {k!r} is out of range for {len(args)} arguments")
        nums = tuple(k % len(args) for k in nums)
        if isinstance(self.func, _Transformed):
            raise InputError("jacfwd of a vmap/jacfwd result is not supported yet",
                             hint="use jacfwd(f) on the plain function, or s2s.hessian")
        fn = _unwrap(self.func)
        params = _params(fn, len(args))
        active = tuple(params[k] for k in nums)
        for k in nums:
            for leaf in pytree.flatten(args[k])[0]:
                kind = numpy.asarray(leaf).dtype.kind
                if kind not in "fc":
                    raise InputError(f"argument {k} ({params[k]}) has dtype kind {kind!r}: "
                                     "integer and bool inputs are not differentiable",
                                     hint="pass float arrays for the differentiated arguments")
        jvp = jvp_function(fn, active)
        tangent_names = [jvp.tangent_names[p] for p in active]
        ranks = _ranks(params, examples)
        for p, t in zip(active, tangent_names):
            ranks[t] = ranks[p]
        batched = batch_function(jvp.fn, tangent_names, ranks, randomness=self.randomness,
                                 suffix="vmap")
        if outer_flags is not None:
            outer_ranks = dict(ranks)
            for t, p in zip(tangent_names, active):
                if isinstance(ranks[p], int):
                    outer_ranks[t] = ranks[p] + 1
            outer = [p for p, f in zip(params, outer_flags) if f]
            batched = batch_function(batched.fn, outer, outer_ranks,
                                     randomness=self.randomness, suffix="vmap")
        self._last = batched
        # the identity basis, split over the differentiated inputs' leaves
        in_leaves = [pytree.flatten(examples[k]) for k in nums]
        sizes = [[int(numpy.size(leaf)) for leaf in leaves] for leaves, _ in in_leaves]
        total = sum(sum(s) for s in sizes)
        chunk = self.chunk_size or total
        pieces = []
        same = _SameDraws(fn, self.randomness)
        for start in range(0, total, chunk):
            if start:
                same.restore()
            stop = min(total, start + chunk)
            tangents = []
            offset = 0
            for (leaves, treedef), leaf_sizes in zip(in_leaves, sizes):
                tleaves = []
                for leaf, n in zip(leaves, leaf_sizes):
                    tleaves.append(_basis(leaf, offset, n, start, stop))
                    offset += n
                tangents.append(pytree.unflatten(treedef, tleaves))
            self.calls += 1
            if jvp.positional:
                out, out_dot = batched.fn(*args, *tangents)
            else:
                out, out_dot = batched.fn(*args, **dict(zip(tangent_names, tangents)))
            pieces.append(out_dot)
        out = _first_example(out, axis=lead)
        out_dot = pieces[0] if len(pieces) == 1 else _concat_trees(pieces, axis=lead)
        aux = None
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise InputError("has_aux=True but the function did not return a pair "
                                 "(output, aux)", hint="return (output, aux)")
            out, aux = out
            out_dot = out_dot[0]
        jac = _assemble(out, out_dot, in_leaves, sizes, isinstance(self.argnums, int), lead)
        return (jac, aux) if self.has_aux else jac

    def source(self):
        if self._last is None:
            raise InputError("call the jacfwd function once first: its code is specialised on "
                             "the ranks of its inputs")
        return self._last.source


def _basis(leaf, offset, n, start, stop):
    """Rows ``start:stop`` of the identity basis, restricted to this leaf
    (which holds directions ``offset:offset + n``)."""
    xp = namespace_of(leaf)
    leaf = xp.asarray(leaf)
    rows = stop - start
    basis = xp.zeros((rows, n), dtype=leaf.dtype if leaf.dtype.kind in "fc" else float)
    lo, hi = max(start, offset), min(stop, offset + n)
    if lo < hi:
        idx = xp.arange(lo, hi)
        basis[idx - start, idx - offset] = 1
    return xp.reshape(basis, (rows,) + leaf.shape)


def _first_example(tree, axis=0):
    """Each leaf at index 0 along ``axis`` (the batch axis)."""
    index = (slice(None),) * axis + (0,)
    return tree_map(lambda leaf: leaf[index], tree)


def _assemble(out, out_dot, in_leaves, sizes, single, lead=0):
    """Jacobians ``output.shape + input.shape`` from tangents with the
    direction axis at ``lead`` (after ``lead`` leading batch axes)."""
    out_flat, out_def = pytree.flatten(out)
    dot_flat, _ = pytree.flatten(out_dot)
    jacobians = []
    for o, d in zip(out_flat, dot_flat):
        xp = namespace_of(d)
        oshape = numpy.shape(o)[lead:]
        batch = numpy.shape(d)[:lead]
        per_arg = []
        offset = 0
        for (leaves, treedef), leaf_sizes in zip(in_leaves, sizes):
            blocks = []
            for leaf, n in zip(leaves, leaf_sizes):
                index = (slice(None),) * lead + (slice(offset, offset + n),)
                block = xp.reshape(d[index], batch + (n,) + oshape)
                offset += n
                block = xp.moveaxis(block, lead, -1)
                blocks.append(xp.reshape(block, batch + oshape + numpy.shape(leaf)))
            per_arg.append(pytree.unflatten(treedef, blocks))
        jacobians.append(per_arg[0] if single else tuple(per_arg))
    return pytree.unflatten(out_def, jacobians)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error", chunk_size=None):
    """The Jacobian of ``func`` by forward mode, like ``torch.func.jacfwd``:
    shape ``output.shape + input.shape``, every column from one vectorised pass."""
    return JacFwd(func, argnums, has_aux, randomness, chunk_size)


class Hessian(_Transformed):
    """``jacfwd(jacfwd(f))``: the generated batched jvp of ``f`` is itself
    differentiated and batched again (so loops and branches work)."""

    def __init__(self, func, argnums):
        if not isinstance(argnums, int):
            raise InputError("hessian takes one argnums (an int)",
                             hint="for several inputs, call hessian once per input")
        self.func = func
        self.argnums = argnums
        self.__wrapped__ = func
        self.calls = 0
        self._last = None

    def __call__(self, *args):
        with ANNOTATING:
            return self._call(args)

    def _call(self, args):
        k = self.argnums
        if not -len(args) <= k < len(args):
            raise InputError(f"argnums {k!r} is out of range for {len(args)} arguments")
        k %= len(args)
        fn = _unwrap(self.func)
        params = _params(fn, len(args))
        x = args[k]
        if numpy.asarray(x).dtype.kind not in "fc":
            raise InputError(f"argument {k} ({params[k]}) is not floating point: integer and "
                             "bool inputs are not differentiable")
        inner_jvp = jvp_function(fn, (params[k],))
        t1 = inner_jvp.tangent_names[params[k]]
        ranks = _ranks(params, args)
        ranks[t1] = ranks[params[k]]
        inner = batch_function(inner_jvp.fn, [t1], ranks)
        # differentiate the batched code with respect to x, then batch that
        outer_jvp = jvp_function(inner.fn, (params[k],))
        t2 = outer_jvp.tangent_names[params[k]]
        n = int(numpy.size(x))
        basis = _basis(x, 0, n, 0, n)
        outer_ranks = dict(ranks)
        outer_ranks[t1] = ranks[params[k]] + 1
        outer_ranks[t2] = ranks[params[k]]
        outer = batch_function(outer_jvp.fn, [t2], outer_ranks)
        self._last = outer
        call_args = list(args) + [basis]
        self.calls += 1
        if outer_jvp.positional:
            (out_b, _), (_, h) = outer.fn(*call_args, basis)
        else:
            (out_b, _), (_, h) = outer.fn(*call_args, **{t2: basis})
        if isinstance(out_b, (tuple, list, dict)):
            raise InputError("hessian needs a function with one array output",
                             hint="use jacfwd(jacfwd(f)) on each output")
        oshape = numpy.shape(out_b)[2:]  # outer and inner batch axes first
        xp = namespace_of(h)
        xshape = numpy.shape(x)
        h = xp.reshape(h, (n, n) + oshape)  # (outer direction, inner direction, *out)
        h = xp.moveaxis(xp.moveaxis(h, 0, -1), 0, -2)
        return xp.reshape(h, oshape + xshape + xshape)

    def source(self):
        if self._last is None:
            raise InputError("call the hessian function once first")
        return self._last.source


def hessian(func, argnums=0):
    """The Hessian of ``func`` (``jacfwd(jacfwd(func))``), shape
    ``output.shape + input.shape + input.shape``."""
    return Hessian(func, argnums)
