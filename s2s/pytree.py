"""Flatten and unflatten nested tuples, lists and dicts of leaves."""


def flatten(tree):
    """``(leaves, treedef)``; dicts are flattened in key-insertion order."""
    leaves = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def _flatten(tree, leaves):
    if isinstance(tree, (tuple, list)):
        return (type(tree), tuple(_flatten(t, leaves) for t in tree))
    if isinstance(tree, dict):
        return (dict, tuple((k, _flatten(v, leaves)) for k, v in tree.items()))
    leaves.append(tree)
    return None


def unflatten(treedef, leaves):
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(treedef, it):
    if treedef is None:
        return next(it)
    kind, children = treedef
    if kind is dict:
        return {k: _unflatten(c, it) for k, c in children}
    values = [_unflatten(c, it) for c in children]
    if kind is tuple or kind is list:
        return kind(values)
    return kind(*values)  # namedtuple


def describe(treedef):
    """A short text of a structure, for error messages."""
    if treedef is None:
        return "leaf"
    kind, children = treedef
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {describe(c)}" for k, c in children) + "}"
    inner = ", ".join(describe(c) for c in children)
    return f"({inner},)" if kind is tuple and len(children) == 1 else (
        f"({inner})" if kind is tuple else f"[{inner}]")
