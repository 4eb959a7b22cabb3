"""Normalisation: the user's function, step by step, to one operation per
statement. The pipeline is this one tuple; ``s2s dump --stage NAME`` shows the
code after any stage."""

from . import anf, augassign, expressions, methods, namespace, syntax, unpack, writes

PIPELINE = (
    ("syntax", syntax.run),
    ("unpack", unpack.run),
    ("methods", methods.run),
    ("writes", writes.run),
    ("namespace", namespace.run),
    ("expressions", expressions.run),
    ("augassign", augassign.run),
    ("anf", anf.run),
)

STAGES = tuple(stage for stage, _ in PIPELINE)


def normalize(fn_node, ctx, stop=None):
    """Run the pipeline on ``fn_node`` (in place), up to and including ``stop``."""
    if stop is not None and stop not in STAGES:
        raise ValueError(f"unknown stage {stop!r}; stages are {', '.join(STAGES)}")
    for stage, run in PIPELINE:
        fn_node = run(fn_node, ctx)
        if stage == stop:
            break
    return fn_node


def stage_source(fn, stage):
    """The source of ``fn`` after the normalisation stage ``stage``, under a
    header naming both (``s2s dump --stage``)."""
    from .. import __version__
    from ..codegen import unparse
    from ..context import Context
    from ..frontend import parse, short_filename

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    parsed = parse(fn)
    header = (f"# s2s {__version__} | {short_filename(parsed.filename)}:{parsed.name} | "
              f"after stage {stage}")
    node = normalize(parsed.node, Context(parsed), stop=stage)
    return header + "\n" + unparse(node)
