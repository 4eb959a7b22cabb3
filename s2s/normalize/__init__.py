"""Normalisation: the user's function, step by step, to one operation per
statement. The pipeline is this one tuple; ``s2s dump --stage NAME`` shows the
code after any stage."""

from . import anf, augassign, expressions, methods, namespace, syntax

PIPELINE = (
    ("syntax", syntax.run),
    ("methods", methods.run),
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
