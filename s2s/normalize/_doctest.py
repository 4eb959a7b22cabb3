"""Helper for the passes' doctests: source text in, code after a stage out."""

import linecache

import numpy


def show(src, stage):
    from ..codegen import unparse
    from ..context import Context
    from ..frontend import parse
    from . import normalize

    filename = "<doctest>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace = {"np": numpy}
    exec(compile(src, filename, "exec"), namespace)
    fn = next(v for k, v in namespace.items() if k != "np" and callable(v))
    if stage == "vmap":
        from ..transform import batch_function

        code = fn.__code__
        params = code.co_varnames[: code.co_argcount]
        generated = batch_function(fn, params[:1], {p: 1 for p in params})
        return generated.source.split("\n", 1)[1].rstrip()
    if stage == "jvp":
        from ..transform import jvp_function

        code = fn.__code__
        source = jvp_function(fn, code.co_varnames[: code.co_argcount]).source
        return source.split("\n", 1)[1].rstrip()
    parsed = parse(fn)
    ctx = Context(parsed)
    return unparse(normalize(parsed.node, ctx, stop=stage)).rstrip()
