"""The ``s2s`` command (also ``python -m s2s``).

::

    s2s dump model.py:f                        the generated jvp of f
    s2s dump model.py:f --transform jacfwd --argnums 1 --ranks 1,2
    s2s dump mypkg.model:f --stage anf         f after a normalisation stage
    s2s check model.py:f                       every problem, without running f
    s2s check model.py --all                   ... of every function in the file

A target is ``PATH.py:FUNC`` (the file is imported as a module, its
directory first on ``sys.path``, so ``if __name__ == "__main__":`` blocks do
not run) or ``package.module:FUNC`` (imported from the current directory
and ``sys.path``); ``FUNC`` may be dotted (``Outer.f``).

Each subcommand is one entry of ``SUBCOMMANDS``: a function adding its
arguments to its parser and a function running it, which returns the exit
status. Every error is one line on stderr, ``s2s <command>: <where>:
<message> (<what to do>)``, never a traceback. Exit statuses: 0 done (no
problems), 1 problems in the user's code (``check`` found some, ``dump``
could not transform), 2 bad command line or a target that cannot be loaded,
3 an internal error of s2s.
"""

import argparse
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
import types

from . import __version__
from .errors import InputError, S2SError

TRANSFORMS = ("jvp", "jacfwd", "vmap", "hessian")
_UNSET = object()
_PROBLEMS, _UNUSABLE, _INTERNAL = 1, 2, 3


class CommandError(Exception):
    """A one-line error about the command line or its target (exit status 2)."""


# -- loading targets -----------------------------------------------------------------


def display_path(filename):
    """A file name as messages show it: relative to the current directory
    when the file is under it, else as it is."""
    if not filename or filename.startswith("<"):
        return filename
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def split_target(target):
    """``"model.py:f"`` -> ``("model.py", "f")``; ``"model.py"`` -> ``("model.py", None)``."""
    if target.endswith(".py") or os.path.isfile(target):
        return target, None
    where, sep, name = target.rpartition(":")
    if not sep or not where:
        return target, None
    return where, name


def is_path(where):
    return where.endswith(".py") or "/" in where or os.sep in where or os.path.isfile(where)


def load_module(where):
    """The module a target names: a file imported by path, or a module by name."""
    from .decorator import deferred

    with deferred():
        if is_path(where):
            return _import_file(where)
        if not all(part.isidentifier() for part in where.split(".")):
            raise CommandError(f"{where}: not a .py file nor a module name")
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            return importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and (where == exc.name or where.startswith(exc.name + ".")):
                raise CommandError(f"{where}: no module named {exc.name!r}") from None
            raise CommandError(_import_failure(where, None, exc)) from None
        except (Exception, SystemExit) as exc:
            raise CommandError(_import_failure(where, None, exc)) from None


def _import_file(path):
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file")
    abspath = os.path.abspath(path)
    if os.path.dirname(abspath) not in sys.path:
        sys.path.insert(0, os.path.dirname(abspath))
    stem = os.path.splitext(os.path.basename(abspath))[0]
    name = stem
    if not stem.isidentifier() or stem in sys.modules:
        name = "_s2s_target_" + re.sub(r"\W", "_", stem)
    spec = importlib.util.spec_from_file_location(name, abspath)
    if spec is None:
        raise CommandError(f"{path}: cannot be imported as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        raise CommandError(_import_failure(path, abspath, exc)) from None
    return module


def _import_failure(what, abspath, exc):
    """``model.py:3: cannot import model.py: NameError: ...``, at the deepest
    line of the user's file (or of any file) the exception passed through."""
    if isinstance(exc, S2SError):
        return f"cannot import {what}: {one_line(exc)}"
    where = None
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        where = f"{display_path(exc.filename)}:{exc.lineno}"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if abspath is None or f.filename == abspath]
        frames = mine or frames
        frames = [f for f in frames if "importlib" not in f.filename]
        if frames:
            where = f"{display_path(frames[-1].filename)}:{frames[-1].lineno}"
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    prefix = f"{where}: " if where else ""
    return f"{prefix}cannot import {what}: {text}"


def load_function(target):
    """``(module, object)`` named by ``PATH.py:FUNC`` or ``module:FUNC``."""
    where, name = split_target(target)
    if name is None:
        raise CommandError(f"{target}: name the function, as {target}:FUNC")
    module = load_module(where)
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            names = ", ".join(n for n, _ in module_functions(module)) or "none"
            raise CommandError(f"{where}: no function {name!r} in it (its functions: {names})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CommandError(f"{where}: {name} is not a function but {_a(type(obj).__name__)}")
    return module, obj


def _instance_method(module, name):
    """Whether ``name`` (``Class.method``) names a plain method of a class
    (not a staticmethod or classmethod): its first parameter is the receiver."""
    owner_path, _, attr = name.rpartition(".")
    owner = module
    for part in owner_path.split(".") if owner_path else ():
        owner = getattr(owner, part, None)
    return isinstance(owner, type) and isinstance(
        inspect.getattr_static(owner, attr, None), types.FunctionType)


def _a(noun):
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def module_functions(module, methods=False):
    """``(name, function)`` for the functions defined in ``module``'s own
    file (decorated ones and module-level lambdas included), and with
    ``methods`` those of the classes defined there (``Class.method``), in
    the order of their lines."""
    filename = getattr(module, "__file__", None)
    if filename is None:
        return []
    found = {}

    def add(name, value):
        fn = _plain(value)
        if isinstance(fn, types.FunctionType) \
                and os.path.abspath(fn.__code__.co_filename) == os.path.abspath(filename):
            found.setdefault(fn, (name, value))

    for name, value in vars(module).items():
        add(name, value)
        if methods and isinstance(value, type) and value.__module__ == module.__name__:
            for attr, member in vars(value).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                add(f"{name}.{attr}", member)
    return sorted(found.values(), key=lambda item: _plain(item[1]).__code__.co_firstlineno)


def _plain(value):
    from .frontend import see_through

    return see_through(value)


# -- output --------------------------------------------------------------------------


def one_line(error, default=None):
    """``model.py:8: message (what to do)``: an S2SError on one line;
    ``default`` is where to say it is when the error names no file."""
    where = default
    if error.filename is not None:
        where = display_path(error.filename)
        if error.lineno:
            where += f":{error.lineno}"
    text = f"{where}: {error.message}" if where else error.message
    if error.hint:
        text += f" ({error.hint})"
    return text


_BOLD, _COMMENT, _RESET = "\x1b[1m", "\x1b[36m", "\x1b[0m"


def colour(text):
    """The header in bold, the comments naming the user's lines in cyan."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("# s2s "):
            line = f"{_BOLD}{line}{_RESET}"
        elif stripped.startswith("#"):
            indent = line[: len(line) - len(stripped)]
            line = f"{indent}{_COMMENT}{stripped}{_RESET}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def wants_colour(stream):
    """Colour only on a terminal, and not when NO_COLOR is set (no-color.org)
    or the terminal is dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty() and not os.environ.get("NO_COLOR")
                and os.environ.get("TERM") != "dumb")


# -- s2s dump ------------------------------------------------------------------------


def _ints(text, what):
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(None if p == "None" else int(p) for p in parts if p)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} takes ints separated by commas, "
                                         f"not {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"{what} is empty")
    return values[0] if len(values) == 1 and "," not in text else values


def _argnums(text):
    value = _ints(text, "--argnums")
    if value is None or (isinstance(value, tuple) and None in value):
        raise argparse.ArgumentTypeError("--argnums takes ints, like 0 or 0,1")
    return value


def _in_dims(text):
    return _ints(text, "--in-dims")


def _ranks(text):
    if "=" in text:
        ranks = {}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip().isidentifier():
                raise argparse.ArgumentTypeError(f"--ranks takes 1,2 or x=1,w=2, not {text!r}")
            ranks[name.strip()] = _ints(value, "--ranks")
        return ranks
    value = _ints(text, "--ranks")
    return value if isinstance(value, tuple) else (value,)


def _stage_names():
    from .normalize import STAGES

    return STAGES + TRANSFORMS


DUMP_EPILOG = """\
examples:
  s2s dump model.py:f                          jvp of f with respect to its parameters
                                               without a default value
  s2s dump model.py:f --argnums 0              ... with respect to the first one only
  s2s dump model.py:f --transform jacfwd --ranks 1,1
                                               the batched Jacobian code for two vectors
  s2s dump model.py:f --transform vmap --in-dims 0,None
  s2s dump mypkg.model:f --stage anf           f in one-operation-per-line form
  s2s dump model.py:f -o f_jvp.py

The batched code of jacfwd, vmap and hessian is specialised on the ranks of
the arguments (the number of dimensions of each, as f receives it); without
--ranks it decides at run time, and is longer.
"""


def _dump_arguments(parser):
    parser.add_argument("target", metavar="PATH.py:FUNC",
                        help="the function: PATH.py:FUNC or package.module:FUNC")
    parser.add_argument("--transform", "-t", choices=TRANSFORMS, default=None,
                        help="the transform to show (default: jvp)")
    # the transforms' options: default _UNSET, to tell given from not given
    parser.add_argument("--argnums", type=_argnums, default=_UNSET, metavar="0,1",
                        help="the differentiated parameters, by position (jvp, jacfwd, "
                        "hessian)")
    parser.add_argument("--in-dims", type=_in_dims, default=_UNSET, metavar="0,None",
                        help="vmap: the batched axis of each argument, or None (default 0)")
    parser.add_argument("--ranks", type=_ranks, default=_UNSET, metavar="1,2",
                        help="jacfwd, vmap, hessian: the rank of each argument (or x=1,w=2)")
    parser.add_argument("--randomness", choices=("error", "same", "different"),
                        default=_UNSET, help="jacfwd, vmap: as in s2s.vmap (default: error)")
    parser.add_argument("--stage", metavar="STAGE", choices=_stage_names(),
                        help="show the code after this stage: "
                        f"{', '.join(_stage_names())}")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the code to FILE instead of printing it")


def _dump(args, parser):
    from .normalize import STAGES

    transform = args.transform
    if args.stage in TRANSFORMS:
        if transform not in (None, args.stage):
            parser.error(f"--stage {args.stage} and --transform {transform} disagree")
        transform = args.stage
    transform = transform or "jvp"
    normalising = args.stage in STAGES
    if normalising and args.transform is not None:
        parser.error(f"--stage {args.stage} is a normalisation stage: the code before any "
                     "transform; leave out --transform")
    applies = {"argnums": transform != "vmap", "in_dims": transform == "vmap",
               "ranks": transform != "jvp", "randomness": transform in ("jacfwd", "vmap")}
    options = {"argnums": None, "in_dims": 0, "ranks": None, "randomness": "error"}
    for option in list(options):  # the defaults, replaced by what was given
        value = getattr(args, option)
        if value is _UNSET:
            continue
        if normalising or not applies[option]:
            flag = "--" + option.replace("_", "-")
            what = f"--stage {args.stage}" if normalising else f"--transform {transform}"
            parser.error(f"{flag} does not apply to {what}")
        options[option] = value
    module, obj = load_function(args.target)
    if not normalising and options["argnums"] is None and transform != "vmap" \
            and _instance_method(module, split_target(args.target)[1]):
        # Class.method: with respect to its parameters after the receiver (self)
        code = obj.__code__
        count = code.co_argcount - len(obj.__defaults__ or ())
        options["argnums"] = tuple(range(1, count)) if transform == "jvp" else 1
    if normalising:
        from .normalize import stage_source

        text = stage_source(obj, args.stage)
    else:
        from .api import source

        try:
            text = source(obj, transform, **options)
        except InputError as exc:  # options that do not fit the function
            raise CommandError(f"{args.target}: {one_line(exc)}") from None
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise CommandError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(colour(text) if wants_colour(sys.stdout) else text)
    return 0


# -- s2s check -----------------------------------------------------------------------


CHECK_EPILOG = """\
examples:
  s2s check model.py:f            f and the functions it calls
  s2s check model.py --all        every function defined in model.py (methods too)
  s2s check model.py:f --argnums 0
                                  only the first parameter is differentiated
  s2s check mypkg.model:f other.py:g

Nothing is run: s2s reads the source, as the transform would, and lists each
construct it cannot differentiate and each call on a value that carries a
derivative to a function with no rule, one per line as FILE:LINE: message
(what to do). Every positional parameter counts as differentiated unless
--argnums says otherwise. The exit status is 1 when there are problems.
"""


def _check_arguments(parser):
    parser.add_argument("targets", nargs="+", metavar="PATH.py:FUNC",
                        help="the functions: PATH.py:FUNC or package.module:FUNC; with "
                        "--all, PATH.py or package.module")
    parser.add_argument("--all", action="store_true",
                        help="check every function defined in the file")
    parser.add_argument("--argnums", type=_argnums, default=None, metavar="0,1",
                        help="the differentiated parameters, by position (default: all)")


def _check(args, parser):
    from .check import problems

    if args.all and args.argnums is not None:
        parser.error("--argnums applies to one function, not to --all")
    functions = []
    for target in args.targets:
        if args.all:
            where, name = split_target(target)
            if name is not None:
                parser.error(f"with --all, name the file or module alone ({where}), not "
                             "a function in it")
            found = module_functions(load_module(where), methods=True)
            if not found:
                raise CommandError(f"{where}: no functions defined in it")
            functions += [fn for _, fn in found]
        else:
            functions.append(load_function(target)[1])
    lines, seen = [], set()
    for obj in functions:
        fn = _plain(obj)
        default = None  # where a problem that names no file is shown: the def
        active = None  # every positional parameter
        if isinstance(fn, types.FunctionType):
            code = fn.__code__
            default = f"{display_path(code.co_filename)}:{code.co_firstlineno}"
            if args.argnums is not None:
                from .batch_api import _argnums as argnums_in

                names = code.co_varnames[: code.co_argcount]
                try:
                    active = tuple(names[k] for k in argnums_in(args.argnums, len(names)))
                except InputError as exc:
                    raise CommandError(one_line(exc, default)) from None
        try:
            found = problems(obj, active)
        except S2SError as error:  # no source to read
            found = [error]
        for error in found:
            key = (error.filename, error.lineno, error.message)
            if key not in seen:
                seen.add(key)
                lines.append((error, default))
    for error, default in _in_file_order(lines):
        print(one_line(error, default))
    n = len(functions)
    checked = f"{n} function{'s' if n != 1 else ''} checked"
    if lines:
        print(f"{len(lines)} problem{'s' if len(lines) != 1 else ''} ({checked})")
        return _PROBLEMS
    print(f"no problems ({checked})")
    return 0


def _in_file_order(lines):
    """Problems grouped by file (in the order the files first come up), by
    line within a file."""
    files = {}
    for error, _ in lines:
        files.setdefault(error.filename, len(files))
    return sorted(lines, key=lambda item: (files[item[0].filename], item[0].lineno or 0))


# -- the command ---------------------------------------------------------------------


CACHE_EPILOG = """\
examples:
  s2s cache info                  where the cache is, how many entries, their size
  s2s cache clear                 remove every entry (they are rebuilt when needed)

The cache keeps the generated code as readable .py files in $S2S_CACHE_DIR,
else the platform's user cache directory; S2S_CACHE=0 turns it off.
"""


def _cache_arguments(parser):
    parser.add_argument("action", choices=("info", "clear"),
                        help="info: location, entries and size; clear: remove every entry")


def _cache(args, parser):
    from . import cache

    if args.action == "clear":
        removed = cache.clear()
        print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from "
              f"{display_path(cache.location())}")
        return 0
    found = cache.info()
    state = "on" if found["enabled"] else "off (S2S_CACHE=0, or the directory is unusable)"
    print(f"location: {found['location']}")
    print(f"entries:  {found['entries']}")
    print(f"size:     {_size(found['size_bytes'])}")
    print(f"cache:    {state}")
    return 0


def _size(n):
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


SUBCOMMANDS = (
    # name, one-line help, epilog, add its arguments, run it
    ("dump", "print the code s2s generates for a function", DUMP_EPILOG,
     _dump_arguments, _dump),
    ("check", "list what keeps functions from being differentiated, without running them",
     CHECK_EPILOG, _check_arguments, _check),
    ("cache", "show or clear the disk cache of generated code", CACHE_EPILOG,
     _cache_arguments, _cache),
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="s2s",
        description="s2s: forward-mode automatic differentiation by source transformation.",
        epilog="run 's2s COMMAND --help' for a command's options and examples",
    )
    parser.add_argument("--version", action="version", version=f"s2s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary, epilog, add_arguments, run in SUBCOMMANDS:
        sub = commands.add_parser(name, help=summary, description=summary, epilog=epilog,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(sub)
        sub.set_defaults(run=run, parser=sub)
    return parser


def main(argv=None):
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    prog = f"s2s {args.command}"
    try:
        return args.run(args, args.parser)
    except CommandError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return _UNUSABLE
    except S2SError as exc:
        print(f"{prog}: {one_line(exc)}", file=sys.stderr)
        return _PROBLEMS
    except BrokenPipeError:  # s2s check ... | head: the reader stopped reading
        # no second error when Python flushes stdout on exit; the status a
        # command killed by SIGPIPE has (not 0: the output was cut short)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except Exception as exc:  # a bug in s2s: still one line, traceback on request
        if os.environ.get("S2S_TRACEBACK"):
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (a bug in s2s; "
              "S2S_TRACEBACK=1 shows the traceback, please report it)", file=sys.stderr)
        return _INTERNAL
