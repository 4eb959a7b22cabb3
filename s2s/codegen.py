"""gast -> source text -> a live Python function.

Source is written by the standard library's ``ast.unparse`` (after
:func:`s2s.convert.to_ast`, a faster ``gast.gast_to_ast``). Comments are
carried through the tree as marker string statements (see :func:`comment`)
and turned into ``#`` lines here.

A generated function reads the user's globals live (it is created with the
user function's ``__globals__``) and the user's closure cells themselves; the
names s2s adds (``xp``, ``_s2s``, callee derivatives) are closure cells of
their own. The source is registered with :mod:`linecache` under a unique file
name, so tracebacks, ``inspect.getsource`` and pdb show it.
"""

import ast
import hashlib
import linecache
import re
import sys
import types

import gast

from .convert import to_ast
from .nodes import name_nodes

_MARK = "\x00s2s-comment:"
_STRING_LINE = re.compile(r"^(\s*)('.*'|\".*\")$")


def comment(text, lineno=None, filename=None):
    """A statement that becomes the line ``# text`` in the emitted source;
    ``filename``/``lineno`` say which user line the statements after it
    come from (kept for tracebacks and for transforming the code again)."""
    origin = f"{filename}\x01{lineno}\x01" if filename is not None and lineno else "\x01\x01"
    node = gast.Expr(value=gast.Constant(value=_MARK + origin + text, kind=None))
    node.lineno = lineno
    return node


def is_comment(stmt):
    return (
        isinstance(stmt, gast.Expr)
        and isinstance(stmt.value, gast.Constant)
        and isinstance(stmt.value.value, str)
        and stmt.value.value.startswith(_MARK)
    )


_PAREN_TARGET = re.compile(r"^(\s*)(for )?\((.*)\)( = | in )(.*)$")


def _unparenthesise(line):
    """Python 3.10's unparse writes ``(a, b) = t`` and ``for (i, v) in ...``;
    later versions write ``a, b = t``. Emit the later form everywhere."""
    m = _PAREN_TARGET.match(line)
    if not m:
        return line
    inner = m.group(3)
    depth = 0
    top_comma = False
    for ch in inner:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return line  # the parentheses do not enclose the whole target
        elif ch == "," and depth == 0:
            top_comma = True
    if depth != 0 or not top_comma or not re.fullmatch(r"[\w\s,()]+", inner):
        return line
    return f"{m.group(1)}{m.group(2) or ''}{inner}{m.group(4)}{m.group(5)}"


def unparse(node):
    """Source text of a gast node, comments restored."""
    return unparse_with_origins(node)[0]


def unparse_with_origins(node):
    """``(text, origins)``: ``origins[i]`` is the user's ``(filename, lineno)``
    behind line ``i + 1`` of ``text`` (from the comment above it), or None."""
    text = ast.unparse(to_ast(node))
    lines, origins = [], []
    origin = None
    old_unparse = sys.version_info < (3, 11)
    for line in text.splitlines():
        if old_unparse:
            line = _unparenthesise(line)
        # the cheap test first: most lines are code
        m = _STRING_LINE.match(line) if "s2s-comment:" in line else None
        if m:
            value = _string_value(m.group(2))
            if value.startswith(_MARK):
                filename, lineno, body = value[len(_MARK):].split("\x01", 2)
                origin = (filename, int(lineno)) if filename else origin
                lines.append(f"{m.group(1)}# {body}")
                origins.append(origin)
                continue
        lines.append(line)
        origins.append(origin)
    return "\n".join(lines) + "\n", origins


def _string_value(literal):
    """The value of the one-line string ``literal``: ``ast.literal_eval``,
    without its ``compile`` when the only escapes are the comment markers'
    ``\\x00`` and ``\\x01`` (as ``repr`` writes a comment's text)."""
    inner = literal[1:-1]
    plain = inner.replace("\\x00", "\x00").replace("\\x01", "\x01")
    if "\\" in plain or literal[0] in inner:  # other escapes, or not one literal
        return ast.literal_eval(literal)
    return plain


_counter = 0
# generated file name -> {line: (user's filename, lineno), "def": the user's def
# line}, for tracebacks (see annotate) and backend errors (s2s/backend.py)
ORIGINS = {}


def origins_of(filename):
    """For the file name of generated code: its line -> the user's
    ``(filename, lineno)``, and under ``"def"`` the user's function (empty
    for any other file name)."""
    return ORIGINS.get(filename, {})


def free_names(fn_node, cells, bindings, used=None):
    """The names of ``cells`` and ``bindings`` the function uses: the
    parameters of the factory it is compiled in. ``used``: every name in
    ``fn_node``, if known already."""
    if used is None:
        used = _free_names(fn_node)
    return [n for n in sorted(used) if n in cells or n in bindings]


def compile_function(fn_node, *, header, label, globals_, cells, bindings, defaults=None,
                     kwdefaults=None, filename=None, def_origin=None, free=None):
    """Compile the gast ``FunctionDef`` into a function.

    ``cells``: free-variable name -> the user's cell objects (shared, live);
    ``bindings``: name -> object for names s2s adds (fresh cells);
    ``filename``: the file the code claims to come from (a disk-cache entry),
    else a unique pseudo file name; ``def_origin``: the user's
    ``(filename, lineno)`` of the function's ``def``, for error messages;
    ``free``: :func:`free_names` of the function, if known already.
    Returns ``(function, source)`` where ``source`` is exactly what is
    displayed, cached and registered for tracebacks.
    """
    body, origins = unparse_with_origins(fn_node)
    source = header + "\n" + body
    line_origins = {i + 2: o for i, o in enumerate(origins) if o is not None}
    if free is None:
        free = free_names(fn_node, cells, bindings)
    fn = compile_source(source, fn_node.name, free, line_origins, label=label,
                        filename=filename, globals_=globals_, cells=cells, bindings=bindings,
                        defaults=defaults, kwdefaults=kwdefaults, def_origin=def_origin)
    return fn, source


def compile_source(source, name, free, origins, *, label, globals_, cells, bindings,
                   defaults=None, kwdefaults=None, filename=None, code=None, def_origin=None):
    """Compile ``source`` (a header line, then ``def name(...)``) into a
    function whose free names ``free`` are the user's ``cells`` or fresh
    cells holding ``bindings``; ``origins``: line of ``source`` -> the
    user's ``(filename, lineno)``. ``code``: the function's code object,
    compiled earlier from this source under ``filename`` (then no compile)."""
    global _counter
    lines = source.splitlines(True)
    registered = linecache.cache.get(filename) if filename is not None else None
    if filename is None or (registered is not None and len(registered) == 4
                            and registered[2] != lines):
        # no disk-cache entry, or one whose name this process already shows other text under
        _counter += 1
        digest = hashlib.sha256(source.encode()).hexdigest()[:8]
        filename = f"<s2s {label} {digest}#{_counter}>"
    if code is None or code.co_filename != filename:
        code = _compile_inner(source, name, free, filename)
    closure = tuple(
        cells[n] if n in cells else types.CellType(bindings[n]) for n in code.co_freevars
    )
    fn = types.FunctionType(code, globals_, name, defaults, closure)
    if kwdefaults:
        fn.__kwdefaults__ = dict(kwdefaults)
    linecache.cache[filename] = (len(source), None, lines, filename)
    ORIGINS[filename] = dict(origins, **({"def": def_origin} if def_origin else {}))
    fn.__s2s_source__ = source
    # line of ``source`` (1-based; line 1 is the header) -> the user's line
    fn.__s2s_origins__ = origins
    fn.__s2s_def__ = def_origin
    return fn


def _compile_inner(source, name, free, filename):
    """The code object of the function ``name`` defined in ``source``, with
    the names ``free`` as closure variables: compiled inside an outer
    factory taking them as parameters. Line 1 holds the factory (replacing
    the header comment), so the function sits on the same lines as in
    ``source``."""
    body = source.split("\n", 1)[1]
    outer = f"def __s2s_factory__({', '.join(free)}):\n"
    outer += "".join("    " + line + "\n" if line.strip() else "\n" for line in body.splitlines())
    outer += f"    return {name}\n"
    module = compile(outer, filename, "exec")
    factory = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return next(c for c in factory.co_consts
                if isinstance(c, types.CodeType) and c.co_name == name)


def annotate(exc):
    """Add a note to ``exc`` for each frame of generated code in its
    traceback, naming the user's file and line that generated line comes
    from (Python 3.11+ prints notes under the traceback; 3.10 keeps them in
    ``exc.__notes__``)."""
    notes = list(getattr(exc, "__notes__", None) or ())
    tb = exc.__traceback__
    while tb is not None:
        code, generated_line = tb.tb_frame.f_code, tb.tb_lineno
        tb = tb.tb_next
        origin = ORIGINS.get(code.co_filename, {}).get(generated_line)
        if origin is None:
            continue
        filename, lineno = origin
        text = linecache.getline(filename, lineno).strip()
        note = (f"s2s: line {generated_line} of the generated {code.co_name} comes from "
                f'File "{filename}", line {lineno}: {text}')
        if note in notes:
            continue  # already added by an outer s2s call
        notes.append(note)
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        else:
            exc.__notes__ = list(notes)


def _free_names(fn_node):
    return {n.id for n in name_nodes(fn_node)}
