"""The disk cache of generated code: one readable ``.py`` file per entry.

An entry is found by its *key*, a hash of everything the generated text is
made from that is known before transforming: the s2s version and the files
of the installed s2s package (its rules), the user's own rules
(``s2s.defjvp``), the Python and NumPy versions, the transform and its
options, and the function itself (file, qualified name, source lines and
code object; a function s2s generated is keyed by its own content key).

What only the transformation reveals is recorded in the entry's *manifest*
and re-checked on load (see ``transform.py``): every name and attribute
chain of the user's scope it resolved, with the identity of what it
resolved to (``numpy.sin``, a module, a value's type, the rank of an
array); how to get back each object the code is bound to (a module, the
runtime helpers, a callee's generated function by transforming the callee,
which may hit the cache in turn). So a loaded function still reads the
user's live globals and closure cells, and an entry built against other
objects (``np`` bound to another module, an edited callee) is rebuilt.

File layout: the generated source exactly as ``s2s.source`` shows it (so
tracebacks, ``inspect.getsource`` and pdb can read the file), then two
comment lines::

    # s2s-cache {"format": 1, "key": "...", "manifest": {...}}
    # s2s-cache-checksum <sha256 of everything above>

The checksum is also the generated function's *content key*. Next to
``X.py``, ``X.code`` holds its compiled code (see :func:`read_code`).

Location: ``$S2S_CACHE_DIR``, else the platform's user cache directory;
``S2S_CACHE=0`` turns the disk cache off. Writes are atomic (a private
temporary file renamed over the entry), directories are created ``0700``
and entries ``0600``; an entry that is a symlink, is owned by another user,
or fails its checksum or key is ignored (and rebuilt). A directory that
cannot be created or written leaves s2s memory-only, with one warning.
"""

import hashlib
import json
import linecache
import logging
import marshal
import os
import re
import stat
import sys
import tempfile
import types
import warnings

import numpy

from . import __version__
from .frontend import MISSING

log = logging.getLogger("s2s.cache")

FORMAT = 1
_META = "# s2s-cache "
_CHECKSUM = "# s2s-cache-checksum "
_TMP_PREFIX = ".tmp-"

# counters for tests and `s2s cache info`: transformations run, entries loaded
# (hits), keys with no usable entry (misses), entries written, entries
# ignored as corrupt, foreign or stale, results that could not be cached
stats = {"transforms": 0, "hits": 0, "misses": 0, "writes": 0, "discarded": 0,
         "uncacheable": 0}

_broken = set()  # directories found unusable in this process (warned once)
_ready = set()  # directories checked (or created) in this process


# -- location ------------------------------------------------------------------------


def enabled():
    """False when ``S2S_CACHE=0`` (or ``false``/``no``/``off``)."""
    return os.environ.get("S2S_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def location():
    """The cache directory: ``$S2S_CACHE_DIR``, else the platform's user
    cache directory (XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches
    on macOS, %LOCALAPPDATA% on Windows)."""
    path = os.environ.get("S2S_CACHE_DIR")
    if path:
        return os.path.abspath(os.path.expanduser(path))
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "s2s", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/s2s")
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.expanduser("~/.cache")
    return os.path.join(base, "s2s")


def _uid():
    return os.geteuid() if hasattr(os, "geteuid") else None


def _directory():
    """The usable cache directory (created if missing), or None: cache off,
    or the directory cannot be used (then a warning, once per directory)."""
    if not enabled():
        return None
    path = location()
    if path in _ready:
        return path
    if path in _broken:
        return None
    try:
        _make_private_dirs(path)
        st = os.stat(path)
        uid = _uid()
        if uid is not None and st.st_uid != uid:
            raise PermissionError(f"it belongs to user id {st.st_uid}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("it is not writable")
    except OSError as exc:
        _give_up(path, exc)
        return None
    _ready.add(path)
    return path


def _make_private_dirs(path):
    """``os.makedirs`` creating every missing directory with mode 0700."""
    missing = []
    head = path
    while not os.path.isdir(head):
        missing.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            if not os.path.isdir(d):
                raise NotADirectoryError(f"{d} exists and is not a directory") from None


def _give_up(path, exc):
    _ready.discard(path)
    _broken.add(path)
    reason = getattr(exc, "strerror", None) or str(exc)
    warnings.warn(
        f"s2s: cannot use the cache directory {path} ({reason}); generated code is kept in "
        "memory only. Set S2S_CACHE_DIR to a writable directory, or S2S_CACHE=0 to turn the "
        "disk cache off.", RuntimeWarning, stacklevel=2)


# -- keys ------------------------------------------------------------------------------


def key(fn, spec):
    """The key of ``fn``'s entry for the transform ``spec``, or None when
    the disk cache is off or ``fn`` cannot be keyed (no source; generated
    code that is not cacheable itself; a user rule without source)."""
    if _directory() is None:
        return None
    source = _source_key(fn)
    rules = _user_rules()
    if source is None or rules is None:
        return None
    parts = (str(FORMAT), __version__, _package_stamp(), rules, sys.implementation.name,
             ".".join(map(str, sys.version_info[:3])), numpy.__version__, repr(spec), source)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


_STAMP = []


def _package_stamp():
    """Name, size and modification time of every file of the s2s package
    (once per process): editing s2s, its rules included, changes every key.
    Like Python's own bytecode cache, this trusts size and mtime rather
    than hashing the files' contents (which costs more than a cache hit)."""
    if not _STAMP:
        root = os.path.dirname(os.path.abspath(__file__))
        h = hashlib.sha256()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    st = os.stat(path)
                    h.update(f"{path[len(root):]}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        _STAMP.append(h.hexdigest())
    return _STAMP[0]


_USER_RULES = {}  # registry generation -> fingerprint of the user's rules


def _user_rules():
    """A fingerprint of the rules registered outside s2s (``s2s.defjvp``),
    or None if one cannot be described (its source is unavailable)."""
    from .rules import registry

    gen = registry.generation
    if gen not in _USER_RULES:
        parts = []
        for rule in list(registry.RULES.values()):
            if getattr(rule, "builtin", True):
                continue
            described = _describe_rule(rule)
            if described is None:
                parts = None
                break
            parts.append(described)
        _USER_RULES.clear()
        _USER_RULES[gen] = None if parts is None else hashlib.sha256(
            "\x00".join(sorted(parts)).encode()).hexdigest()
    return _USER_RULES[gen]


def _describe_rule(rule):
    import inspect

    text = [rule.name, rule.kind, repr(getattr(rule, "argnums", None)),
            repr(sorted(getattr(rule, "passive", ())))]
    for part in (getattr(rule, "template", None), getattr(rule, "emit", None),
                 getattr(rule, "_active", None), rule.batching):
        if part is None or isinstance(part, str):
            text.append(repr(part))
            continue
        try:
            text.append(inspect.getsource(part))
        except (OSError, TypeError):
            return None
    return "\x01".join(text)


def _source_key(fn):
    """What ``fn`` itself contributes to a key, or None."""
    if "__s2s_source__" in fn.__dict__:  # generated code, transformed again
        content = fn.__dict__.get("__s2s_key__")
        return None if content is None else f"generated {content}"
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    first = code.co_firstlineno
    if not lines or first > len(lines):
        return None
    block = _block(lines, first, _last_line(code))
    h = hashlib.sha256()
    _hash_code(code, h)
    defaults = [_kind(v) for v in fn.__defaults__ or ()]
    defaults += [f"{k}={_kind(v)}" for k, v in sorted((fn.__kwdefaults__ or {}).items())]
    return "\x01".join((code.co_filename, fn.__qualname__, str(first), "".join(block),
                        h.hexdigest(), repr(defaults),
                        str(fn.__dict__.get("__s2s_origin__"))))


def _last_line(code):
    last = max((line for _, _, line in code.co_lines() if line), default=code.co_firstlineno)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            last = max(last, _last_line(const))
    return last


def _block(lines, first, last):
    """The lines of a definition: from ``first`` to at least ``last``, and
    on while lines are blank or indented deeper than the first."""

    def indent(s):
        return len(s) - len(s.lstrip())

    base = indent(lines[first - 1])
    end = min(last, len(lines))
    while end < len(lines) and (not lines[end].strip() or indent(lines[end]) > base):
        end += 1
    while end > last and not lines[end - 1].strip():
        end -= 1
    return lines[first - 1:end]


def _hash_code(code, h):
    """Hash what a code object computes (bytecode, names, constants, nested
    code), without anything that varies between processes (addresses, the
    order of a frozenset)."""
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
                   code.co_argcount, code.co_kwonlyargcount, code.co_flags)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _hash_code(const, h)
        else:
            h.update(_const_text(const).encode())
    h.update(b"\x00")


def _const_text(value):
    if isinstance(value, frozenset):  # printed in hash order: sort
        return "frozenset(" + ",".join(sorted(_const_text(v) for v in value)) + ")"
    if isinstance(value, tuple):
        return "(" + ",".join(_const_text(v) for v in value) + ")"
    return repr(value)


def _kind(value):
    ndim = getattr(value, "ndim", None) if not isinstance(value, type) else None
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}" + (f"[{ndim}]" if isinstance(ndim, int) else "")


# -- identities ------------------------------------------------------------------------


def identity(value):
    """A text that stands for ``value`` across processes, as far as
    generated code depends on it: a module by name, a function or class by
    module and qualified name, generated code by its content key, data by
    its type (and an array's rank). None: no stable identity."""
    if value is MISSING:
        return "missing"
    t = type(value)
    if t is types.ModuleType:
        return f"module {value.__name__}"
    if t is types.FunctionType:
        if "__s2s_source__" in value.__dict__:
            content = value.__dict__.get("__s2s_key__")
            return None if content is None else f"generated {content}"
        defaults = [_kind(v) for v in value.__defaults__ or ()]
        return f"function {value.__module__}.{value.__qualname__} {defaults}"
    if t in (int, float, complex, bool, str, bytes, type(None), tuple, list, dict):
        return f"value {t.__name__}"
    try:
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        module = getattr(value, "__module__", None)
    except Exception:
        return None
    if callable(value) and isinstance(name, str):
        return f"{t.__module__}.{t.__qualname__} {module}.{name}"
    return f"value {_kind(value)}"


def locate(obj, fn, cells):
    """How to find ``obj`` again from ``fn`` in another process: a JSON list
    (see :func:`relocate`), or None."""
    if obj is fn:
        return ["fn"]
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        return ["module", name] if sys.modules.get(name) is obj else None
    try:
        module = getattr(obj, "__module__", None)
        qual = getattr(obj, "__qualname__", None)
    except Exception:
        module = qual = None
    if isinstance(module, str) and isinstance(qual, str) and "<" not in qual:
        if _import(module, qual) is obj:
            return ["import", module, qual]
    for name, cell in cells.items():
        try:
            if cell.cell_contents is obj:
                return ["cell", name]
        except ValueError:
            continue
    for name, value in fn.__globals__.items():
        if value is obj:
            return ["global", name]
    return None


def relocate(where, fn, cells):
    """The object :func:`locate` described, or MISSING."""
    kind = where[0]
    if kind == "fn":
        return fn
    if kind == "module":
        return _import(where[1], None)
    if kind == "import":
        return _import(where[1], where[2])
    if kind == "cell":
        try:
            return cells[where[1]].cell_contents
        except (KeyError, ValueError):
            return MISSING
    if kind == "global":
        return fn.__globals__.get(where[1], MISSING)
    return MISSING


def _import(module, qual):
    import importlib

    try:
        value = sys.modules.get(module) or importlib.import_module(module)
        for part in (qual.split(".") if qual else ()):
            value = getattr(value, part)
    except Exception:
        return MISSING
    return value


# -- entries ---------------------------------------------------------------------------


_UNSAFE = re.compile(r"[^\w.-]+")


def _path(directory, key, label):
    label = _UNSAFE.sub("_", label).strip("._")[:60] or "fn"
    return os.path.join(directory, f"{label}-{key[:32]}.py")


def entry_path(key, label):
    """Where the entry for ``key`` lives (None: no usable directory)."""
    directory = _directory()
    return None if directory is None else _path(directory, key, label)


def pack(key, source, manifest):
    """``(data, checksum)``: the bytes of the entry for ``key`` and their
    checksum, which is also the identity (content key) of the generated
    function."""
    meta = _dumps({"format": FORMAT, "key": key, "s2s": __version__, "manifest": manifest})
    body = source + _META + meta + "\n"
    checksum = hashlib.sha256(body.encode()).hexdigest()
    return (body + _CHECKSUM + checksum + "\n").encode(), checksum


def read(key, label):
    """``(source, manifest, path, checksum)`` of the valid entry for
    ``key``, or None."""
    path = entry_path(key, label)
    if path is None:
        return None
    try:
        data = _read_own_file(path)
    except FileNotFoundError:
        stats["misses"] += 1
        log.debug("no cache entry %s", path)
        return None
    except OSError as exc:
        discard(path, exc.strerror or str(exc))
        return None
    try:
        text = data.decode("utf-8")
        head, meta_line, check_line, end = text.rsplit("\n", 3)
        checksum = check_line[len(_CHECKSUM):]
        if end or not check_line.startswith(_CHECKSUM):
            raise ValueError("no checksum line (truncated?)")
        body = text[:len(text) - len(check_line) - 1]
        if checksum != hashlib.sha256(body.encode()).hexdigest():
            raise ValueError("checksum mismatch")
        if not meta_line.startswith(_META):
            raise ValueError("no manifest line")
        meta = json.loads(meta_line[len(_META):])
        if meta.get("format") != FORMAT or meta.get("key") != key:
            raise ValueError("an entry for another key or format")
        return head + "\n", meta["manifest"], path, checksum
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        discard(path, str(exc))
        return None


def _read_own_file(path):
    """The bytes of ``path``: a regular file, not a symlink, owned by this user."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    if not hasattr(os, "O_NOFOLLOW") and os.path.islink(path):
        raise OSError(f"{path} is a symbolic link")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise OSError("a symbolic link") from None
        raise exc
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        uid = _uid()
        if uid is not None and st.st_uid != uid:
            raise OSError(f"owned by user id {st.st_uid}, not by this user")
        return f.read()


def discard(path, reason):
    """Ignore the entry at ``path`` (it will be rebuilt and overwritten)."""
    stats["discarded"] += 1
    stats["misses"] += 1
    log.debug("ignoring cache entry %s: %s", path, reason)


def write(key, label, data):
    """Store an entry (bytes from :func:`pack`) atomically; its path, or
    None if the directory turned out unusable."""
    for attempt in (1, 2):
        directory = _directory()
        if directory is None:
            return None
        path = _path(directory, key, label)
        try:
            _write_atomic(path, data, directory)
        except FileNotFoundError:
            if attempt == 1 and not os.path.isdir(directory):
                _ready.discard(directory)  # removed meanwhile: create it again
                continue
            _give_up(directory, OSError("it was removed"))
            return None
        except OSError as exc:
            _give_up(directory, exc)
            return None
        stats["writes"] += 1
        log.debug("wrote cache entry %s", path)
        return path
    return None


def _write_atomic(path, data, directory):
    """Write a private temporary file (mode 0600) and rename it over ``path``:
    readers see the old entry or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".py", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# Next to an entry ``X.py``, ``X.code`` keeps the generated function's
# compiled code (marshal), tagged with the checksum of the ``X.py`` it was
# compiled from: loading it skips the compile, the costliest step of a hit.
# Python's version is part of every key, so marshal's format always matches.
_CODE_MAGIC = b"s2s-code 1\n"


def read_code(path, checksum):
    """The code object stored next to the entry ``path`` for the entry with
    ``checksum``, or None (missing, stale, damaged: then compile the text)."""
    try:
        data = _read_own_file(path[:-3] + ".code")
        head = _CODE_MAGIC + checksum.encode() + b"\n"
        if not data.startswith(head):
            return None
        code = marshal.loads(data[len(head):])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(code, types.CodeType) or code.co_filename != path:
        return None
    return code


def write_code(path, checksum, code):
    """Store ``code`` (compiled from the entry ``path``) next to it."""
    try:
        data = _CODE_MAGIC + checksum.encode() + b"\n" + marshal.dumps(code)
        _write_atomic(path[:-3] + ".code", data, os.path.dirname(path))
    except (OSError, ValueError) as exc:
        log.debug("cannot store the compiled code of %s: %s", path, exc)


def encode(value):
    """A Python literal (tuples, lists, dicts with str keys, str, int, bool,
    None) as JSON data that :func:`decode` turns back into an equal value;
    raises TypeError for anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__}")


def decode(data):
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if "tuple" in data:
            return tuple(decode(v) for v in data["tuple"])
        return {k: decode(v) for k, v in data["dict"].items()}
    return data


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# -- management ------------------------------------------------------------------------


def _files(directory):
    """``(entries, compiled code files)`` in ``directory``."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return [], []
    names = [n for n in names if not n.startswith(".")]
    return ([os.path.join(directory, n) for n in names if n.endswith(".py")],
            [os.path.join(directory, n) for n in names if n.endswith(".code")])


def info():
    """``dict(location, entries, size_bytes, enabled)`` of the disk cache
    (the size counts the entries and their compiled code)."""
    path = location()
    entries, codes = _files(path)
    size = 0
    for name in entries + codes:
        try:
            size += os.lstat(name).st_size
        except OSError:
            pass
    return {"location": path, "entries": len(entries), "size_bytes": size,
            "enabled": enabled() and path not in _broken}


def clear():
    """Remove every entry, with its compiled code and any temporary file
    left by a crashed writer; returns the number of entries removed."""
    path = location()
    try:
        names = os.listdir(path)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not name.endswith((".py", ".code")):
            continue
        try:
            os.unlink(os.path.join(path, name))
        except OSError:
            continue
        removed += name.endswith(".py") and not name.startswith(".")
    return removed
