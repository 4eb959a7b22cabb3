"""Helper for the passes' doctests: source text in, code after a stage out."""

import linecache

import numpy


def show(src, stage):
    from . import stage_source

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
    if stage == "jacfwd":
        from ..api import source

        return source(fn, "jacfwd", ranks=(1,)).split("\n", 1)[1].rstrip()
    if stage == "jvp":
        from ..transform import jvp_function

        code = fn.__code__
        source = jvp_function(fn, code.co_varnames[: code.co_argcount]).source
        return source.split("\n", 1)[1].rstrip()
    return stage_source(fn, stage).split("\n", 1)[1].rstrip()
