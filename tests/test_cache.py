"""The disk cache of generated code (s2s/cache.py).

In-process tests get a fresh function object for the same source (same file
name, same lines) to find their own entry again; the subprocess tests run a
script twice, as a user would. Every test has a cache directory of its own.
"""

import inspect
import io
import json
import linecache
import logging
import os
import pdb
import subprocess
import sys
import textwrap
import traceback
import types
import warnings

import numpy as np
import pytest

import s2s
from s2s import cache
from s2s.transform import jvp_function


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("S2S_CACHE_DIR", str(path))
    monkeypatch.delenv("S2S_CACHE", raising=False)
    return path


def define(src, name, filename, **namespace):
    """A new function object for the same source each call: like the same
    module imported by another process."""
    src = textwrap.dedent(src)
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"np": np, "__name__": "cachetest"}
    ns.update(namespace)
    exec(compile(src, filename, "exec"), ns)
    return ns[name]


def delta(before):
    return {k: cache.stats[k] - before[k] for k in before}


def entries(path):
    return sorted(p for p in path.iterdir() if p.suffix == ".py" and not p.name.startswith("."))


MODEL = """
def f(x, w):
    y = np.sin(x) * w
    for _ in range(3):
        if y.sum() > 0:
            y = y * x
        else:
            y = y + SHIFT
    return np.sum(helper(y) ** 2)


def helper(y):
    return np.tanh(y) * SCALE
"""

X = np.array([0.5, 1.0, 1.5])
W = np.array([1.0, -2.0, 0.5])
DX = np.array([1.0, -0.5, 0.25])


def jvp_of(fn):
    return s2s.jvp(fn, (X, W), (DX, np.zeros(3)))


def test_second_load_skips_transformation_and_reads_live_globals(cache_dir):
    f1 = define(MODEL, "f", "<model>", SHIFT=1.0, SCALE=2.0)
    before = dict(cache.stats)
    out1, dot1 = jvp_of(f1)
    assert delta(before)["transforms"] == 2  # f and helper
    assert delta(before)["writes"] == 2
    assert len(entries(cache_dir)) == 2

    f2 = define(MODEL, "f", "<model>", SHIFT=1.0, SCALE=2.0)
    before = dict(cache.stats)
    out2, dot2 = jvp_of(f2)
    assert delta(before)["transforms"] == 0
    assert delta(before)["hits"] == 2
    assert (out2, dot2) == (out1, dot1)
    assert s2s.source(f2) == s2s.source(f1)

    # the loaded code reads the function's globals live
    f2.__globals__["SCALE"] = 3.0
    before = dict(cache.stats)
    out3, dot3 = jvp_of(f2)
    assert delta(before)["transforms"] == 0
    assert out3 == pytest.approx(out1 * 9 / 4) and dot3 == pytest.approx(dot1 * 9 / 4)


def test_loaded_code_reads_closure_cells():
    src = """
    def make(c):
        def f(x):
            return np.sin(x) * c
        return f
    """
    f1 = define(src, "make", "<closure>")(2.0)
    dot1 = s2s.jvp(f1, (X,), (DX,))[1]
    f2 = define(src, "make", "<closure>")(5.0)
    before = dict(cache.stats)
    dot2 = s2s.jvp(f2, (X,), (DX,))[1]
    assert delta(before)["hits"] == 1
    np.testing.assert_allclose(dot2, dot1 * 2.5)


def test_batched_transforms_are_cached():
    f1 = define(MODEL, "f", "<model-jac>", SHIFT=1.0, SCALE=2.0)
    jac1 = s2s.jacfwd(f1)(X, W)
    f2 = define(MODEL, "f", "<model-jac>", SHIFT=1.0, SCALE=2.0)
    before = dict(cache.stats)
    jac = s2s.jacfwd(f2)
    jac2 = jac(X, W)
    assert delta(before)["transforms"] == 0
    assert delta(before)["hits"] == 4  # jvp of f and helper, then both batched
    np.testing.assert_array_equal(jac2, jac1)
    assert s2s.source(jac).startswith("# s2s ")

    h1 = s2s.hessian(define(MODEL, "f", "<model-jac>", SHIFT=1.0, SCALE=2.0))(X, W)
    before = dict(cache.stats)
    h2 = s2s.hessian(define(MODEL, "f", "<model-jac>", SHIFT=1.0, SCALE=2.0))(X, W)
    assert delta(before)["transforms"] == 0
    np.testing.assert_array_equal(h2, h1)


def test_mutual_recursion_hit_and_miss():
    src = """
    def even(x, n):
        if n == 0:
            return x
        return odd(np.sin(x), n - 1)


    def odd(x, n):
        if n == 0:
            return x * 2.0
        return even(x * x, n - 1)
    """
    # the first process starts from even, the next ones from odd or even
    results = [_jvp_first(define(src, start, "<mutual>"))
               for start in ("even", "odd", "even", "odd")]
    np.testing.assert_allclose(results[2], results[0])
    np.testing.assert_allclose(results[3], results[1])
    before = dict(cache.stats)
    _jvp_first(define(src, "even", "<mutual>"))
    assert delta(before)["transforms"] == 0
    # against finite differences
    fn = define(src, "even", "<mutual>")
    h = 1e-6
    fd = (fn(X + h * DX, 5) - fn(X - h * DX, 5)) / (2 * h)
    np.testing.assert_allclose(_jvp_first(fn), fd, rtol=1e-6)


def _jvp_first(fn):
    generated = jvp_function(fn, ("x",))
    return generated.fn(X, 5, DX)[1]


# -- what invalidates an entry -----------------------------------------------------------


def test_callee_change_rebuilds_caller(monkeypatch):
    f1 = define(MODEL, "f", "<callee>", SHIFT=1.0, SCALE=2.0)
    dot1 = jvp_of(f1)[1]
    key1 = jvp_function(f1, ("x", "w")).fn.__s2s_key__
    changed = MODEL.replace("np.tanh(y) * SCALE", "np.sin(y) * SCALE")
    f2 = define(changed, "f", "<callee>", SHIFT=1.0, SCALE=2.0)
    before = dict(cache.stats)
    dot2 = jvp_of(f2)[1]
    assert delta(before)["transforms"] == 2  # helper (new source) and f (stale callee)
    key2 = jvp_function(f2, ("x", "w")).fn.__s2s_key__
    assert key1 is not None and key2 is not None and key1 != key2
    monkeypatch.setenv("S2S_CACHE", "0")
    expected = jvp_of(define(changed, "f", "<callee-ref>", SHIFT=1.0, SCALE=2.0))[1]
    assert dot2 == pytest.approx(expected) and dot2 != pytest.approx(dot1)


def test_rebinding_a_module_name_rebuilds(caplog):
    import math

    src = """
    def f(x):
        return np.sin(x) * 2.0
    """
    f1 = define(src, "f", "<swap>")
    assert "xp.sin" in s2s.source(f1)
    f2 = define(src, "f", "<swap>", np=math)
    before = dict(cache.stats)
    with caplog.at_level(logging.DEBUG, logger="s2s.cache"):
        out, dot = s2s.jvp(f2, (0.5,), (1.0,))
    d = delta(before)
    assert (d["transforms"], d["hits"], d["discarded"]) == (1, 0, 1)
    assert "np was module numpy, is now module math" in caplog.text
    assert "math.cos(x)" in s2s.source(f2) and "xp." not in s2s.source(f2)
    assert dot == pytest.approx(2.0 * math.cos(0.5))


def test_rank_of_a_global_array_is_part_of_the_entry():
    src = """
    def f(x):
        return np.sum(x * A, axis=0)
    """
    x = np.ones(3)
    out1 = s2s.vmap(define(src, "f", "<rank>", A=np.arange(3.0)))(np.ones((4, 3)))
    before = dict(cache.stats)
    g = define(src, "f", "<rank>", A=np.ones((2, 3)))
    out2 = s2s.vmap(g)(np.ones((4, 3)))
    assert delta(before)["discarded"] == 1
    assert out1.shape == (4,) and out2.shape == (4, 3)
    np.testing.assert_allclose(out2[0], g(x))


def test_a_loaded_entry_follows_a_value_it_was_built_for(cache_dir):
    # np.pad's mode is read when transforming (the code depends on the value):
    # an entry loaded from disk took it for a dependency on a rank (none for a
    # string), so a rebinding kept code for the old mode
    src = """
    def f(x):
        return np.sum(np.pad(x, 1, mode=MODE) ** 2)
    """
    x = np.array([1.0, 2.0, 3.0])
    define(src, "f", "<mode>", MODE="constant")  # (fills the entry)
    s2s.jvp(define(src, "f", "<mode>", MODE="constant"), (x,), (np.ones(3),))
    g = define(src, "f", "<mode>", MODE="constant")
    before = dict(cache.stats)
    assert s2s.jvp(g, (x,), (np.ones(3),))[1] == pytest.approx(12.0)
    assert delta(before)["hits"] == 1
    g.__globals__["MODE"] = "edge"  # [1, 1, 2, 3, 3]: the end points count twice
    assert s2s.jvp(g, (x,), (np.ones(3),))[1] == pytest.approx(2 * (1 + 1 + 2 + 3 + 3))


def test_unlocatable_callee_stays_in_memory(cache_dir):
    src = """
    def f(x):
        return cfg.act(x) * 2.0
    """
    cfg = types.SimpleNamespace(act=lambda z: np.tanh(z))
    f1 = define(src, "f", "<lambda-callee>", cfg=cfg)
    before = dict(cache.stats)
    dot1 = s2s.jvp(f1, (X,), (DX,))[1]
    assert delta(before)["uncacheable"] == 1
    np.testing.assert_allclose(dot1, 2.0 * (1 - np.tanh(X) ** 2) * DX)
    assert not [p for p in entries(cache_dir) if ".f.jvp-" in p.name]
    before = dict(cache.stats)
    dot2 = s2s.jvp(define(src, "f", "<lambda-callee>", cfg=cfg), (X,), (DX,))[1]
    # f again; the lambda's derivative is still in memory (same object)
    assert delta(before)["transforms"] == 1 and delta(before)["uncacheable"] == 1
    np.testing.assert_array_equal(dot2, dot1)


def test_user_rule_is_part_of_the_key():
    src = """
    def f(x):
        return softplus(x) * 2.0
    """

    def softplus(x):
        return np.log1p(np.exp(x))

    s2s.defjvp(softplus)(_softplus_jvp)
    f1 = define(src, "f", "<rule>", softplus=softplus)
    dot1 = s2s.jvp(f1, (X,), (DX,))[1]
    before = dict(cache.stats)
    s2s.jvp(define(src, "f", "<rule>", softplus=softplus), (X,), (DX,))
    assert delta(before)["hits"] == 1
    s2s.defjvp(softplus)(_softplus_jvp_scaled)
    before = dict(cache.stats)
    dot2 = s2s.jvp(define(src, "f", "<rule>", softplus=softplus), (X,), (DX,))[1]
    assert delta(before)["transforms"] == 1 and delta(before)["hits"] == 0
    np.testing.assert_allclose(dot2, 3.0 * dot1)


def _softplus_jvp(z, x, x_dot):
    z_dot = x_dot / (1 + np.exp(-x))  # noqa: F841


def _softplus_jvp_scaled(z, x, x_dot):
    z_dot = 3.0 * x_dot / (1 + np.exp(-x))  # noqa: F841


# -- robustness --------------------------------------------------------------------------

SIMPLE = """
def f(x):
    return np.sin(x) * x
"""


def _fill(filename):
    fn = define(SIMPLE, "f", filename)
    dot = s2s.jvp(fn, (X,), (DX,))[1]
    return dot


def _reload(filename, caplog):
    before = dict(cache.stats)
    with caplog.at_level(logging.DEBUG, logger="s2s.cache"):
        dot = s2s.jvp(define(SIMPLE, "f", filename), (X,), (DX,))[1]
    return dot, delta(before)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "foreign", "empty",
                                    "manifest"])
def test_damaged_entry_is_rebuilt(cache_dir, caplog, damage):
    expected = _fill("<damaged>")
    (entry,) = entries(cache_dir)
    data = entry.read_bytes()
    if damage == "flip":
        i = data.index(b"sin")
        data = data[:i] + b"cos" + data[i + 3:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = b"\xff\xfe\x00garbage" * 10
    elif damage == "empty":
        data = b""
    elif damage == "manifest":  # right key and checksum, a manifest s2s cannot use
        text = data.decode()
        meta = json.loads(text.split("\n# s2s-cache ", 1)[1].split("\n", 1)[0])
        source = text.split("# s2s-cache ", 1)[0]
        data, _ = cache.pack(meta["key"], source, {**meta["manifest"], "bindings": []})
    else:  # a valid entry of another function, under this one's name
        other = define(SIMPLE.replace("* x", "* 2.0"), "f", "<other>")
        s2s.jvp(other, (X,), (DX,))
        (foreign,) = [p for p in entries(cache_dir) if p != entry]
        data = foreign.read_bytes()
    entry.write_bytes(data)
    dot, d = _reload("<damaged>", caplog)
    np.testing.assert_array_equal(dot, expected)
    assert d["discarded"] == 1 and d["transforms"] == 1 and d["writes"] == 1
    assert "ignoring cache entry" in caplog.text and entry.name in caplog.text
    # rebuilt and valid again
    dot, d = _reload("<damaged>", caplog)
    assert d["hits"] == 1 and d["transforms"] == 0


def test_symlinked_entry_is_refused(cache_dir, caplog, tmp_path):
    _fill("<link>")
    (entry,) = entries(cache_dir)
    target = tmp_path / "elsewhere.py"
    target.write_bytes(entry.read_bytes())
    entry.unlink()
    try:
        entry.symlink_to(target)
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    dot, d = _reload("<link>", caplog)
    assert d["discarded"] == 1 and d["transforms"] == 1
    assert "symbolic link" in caplog.text
    assert not entry.is_symlink() and entry.is_file()  # replaced by a real entry
    assert target.read_bytes() == entry.read_bytes()  # the link's target left alone


def test_entry_of_another_user_is_refused(cache_dir, caplog, monkeypatch):
    _fill("<owner>")
    (entry,) = entries(cache_dir)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(entry, 4242, -1)
    elif hasattr(os, "geteuid"):
        monkeypatch.setattr(cache, "_uid", lambda: os.geteuid() + 1)  # the file is not "ours"
    else:
        pytest.skip("no file owners here")
    dot, d = _reload("<owner>", caplog)
    assert d["discarded"] == 1 and d["transforms"] == 1
    assert "owned by user id" in caplog.text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_directories_and_entries_are_private(tmp_path, monkeypatch):
    deep = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("S2S_CACHE_DIR", str(deep))
    _fill("<private>")
    for d in (tmp_path / "a", tmp_path / "a" / "b", deep):
        assert d.stat().st_mode & 0o777 == 0o700, d
    (entry,) = entries(deep)
    assert entry.stat().st_mode & 0o777 == 0o600


def test_unusable_directory_warns_once_and_keeps_working(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("S2S_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="cannot use the cache directory") as record:
        before = dict(cache.stats)
        dot = _fill("<unusable>")
        _fill("<unusable-2>")
    assert len([w for w in record if "s2s" in str(w.message)]) == 1
    assert "S2S_CACHE_DIR" in str(record[0].message)
    assert delta(before)["writes"] == 0 and delta(before)["transforms"] == 2
    np.testing.assert_allclose(dot, (np.cos(X) * X + np.sin(X)) * DX)
    assert cache.info()["enabled"] is False


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_read_only_directory_warns_once(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    monkeypatch.setenv("S2S_CACHE_DIR", str(ro))
    with pytest.warns(RuntimeWarning, match="not writable"):
        _fill("<read-only>")
    assert list(ro.iterdir()) == []


def test_failing_write_degrades_to_memory(cache_dir, monkeypatch):
    import errno
    import tempfile

    _fill("<first>")  # the directory is fine at first

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _fill("<second>")
        _fill("<third>")
    messages = [str(w.message) for w in record if "s2s" in str(w.message)]
    assert len(messages) == 1 and "No space left on device" in messages[0]
    assert len(entries(cache_dir)) == 1


def test_cache_off(cache_dir, monkeypatch):
    monkeypatch.setenv("S2S_CACHE", "0")
    before = dict(cache.stats)
    fn = define(SIMPLE, "f", "<off>")
    dot = s2s.jvp(fn, (X,), (DX,))[1]
    s2s.jvp(define(SIMPLE, "f", "<off>"), (X,), (DX,))
    assert delta(before)["transforms"] == 2 and delta(before)["writes"] == 0
    assert not cache_dir.exists()
    assert cache.info()["enabled"] is False
    np.testing.assert_allclose(dot, (np.cos(X) * X + np.sin(X)) * DX)
    # repeated calls on the same function reuse it in memory
    before = dict(cache.stats)
    s2s.jvp(fn, (X,), (DX,))
    assert delta(before)["transforms"] == 0


def test_info_and_clear(cache_dir):
    _fill("<info>")
    s2s.jacfwd(define(SIMPLE, "f", "<info>"))(X)
    info = cache.info()
    assert info["location"] == str(cache_dir) and info["enabled"] is True
    assert info["entries"] == len(entries(cache_dir)) == 2
    # the entries and their compiled code
    assert info["size_bytes"] == sum(p.stat().st_size for p in cache_dir.iterdir())
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".code", ".code", ".py", ".py"]
    assert cache.clear() == 2
    assert cache.info()["entries"] == 0 and entries(cache_dir) == []


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.delenv("S2S_CACHE_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache.location() == str(tmp_path / "xdg" / "s2s")
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert cache.location() == os.path.expanduser("~/.cache/s2s")
    else:
        assert cache.location().endswith(("s2s", os.path.join("s2s", "Cache")))


# -- debugging generated code --------------------------------------------------------------

FAILING = """
def f(x, w):
    y = np.sin(x)
    z = y @ w
    return z
"""


@pytest.mark.parametrize("loaded", [False, True], ids=["built", "loaded"])
def test_traceback_names_generated_and_user_line(loaded):
    if loaded:
        s2s.source(define(FAILING, "f", "<fails.py>"))  # fill the cache first
    fn = define(FAILING, "f", "<fails.py>")
    before = dict(cache.stats)
    with pytest.raises(ValueError) as info:
        s2s.jvp(fn, (np.ones(3), np.ones(4)), (np.ones(3), np.ones(4)))
    assert delta(before)["hits"] == (1 if loaded else 0)
    exc = info.value
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert "    z = y @ w\n" in text  # the generated line (the same as the user's here)
    note = 'comes from File "<fails.py>", line 4: z = y @ w'
    assert any(note in n for n in exc.__notes__)
    if sys.version_info >= (3, 11):
        assert note in text
    if loaded:
        assert str(cache.location()) in text  # the entry is a real file


def test_getsource_and_pdb_on_loaded_code():
    s2s.jvp(define(SIMPLE, "f", "<debug>"), (X,), (DX,))
    before = dict(cache.stats)
    generated = jvp_function(define(SIMPLE, "f", "<debug>"), ("x",))
    assert delta(before)["hits"] == 1
    assert os.path.isfile(generated.fn.__code__.co_filename)
    assert generated.fn.__s2s_def__[0] == "<debug>"  # the user's def, for backend errors
    assert inspect.getsource(generated.fn) == generated.source.split("\n", 1)[1]
    out = io.StringIO()
    # the first line picks the array namespace; then the user's lines
    debugger = pdb.Pdb(stdin=io.StringIO("next\nnext\nlist\np x\ncontinue\n"), stdout=out)
    debugger.use_rawinput = False
    debugger.runcall(generated.fn, X, DX)
    shown = out.getvalue()
    assert "-> _t0 = xp.sin(x)" in shown and "-> _t0_dx = xp.cos(x)" in shown
    assert "# <debug>:3  return np.sin(x) * x" in shown  # from `list`
    assert "array([0.5, 1. , 1.5])" in shown


# -- other processes ---------------------------------------------------------------------

SCRIPT = """
import json, sys
import numpy as np
import s2s
from s2s import cache, frontend
from s2s.rules import registry

SCALE = float(sys.argv[1])


def helper(y):
    return np.tanh(y) * SCALE


def f(x, w):
    y = np.sin(x) * w
    for _ in range(3):
        if y.sum() > 0:
            y = y * x
        else:
            y = y + 1.0
    return np.sum(helper(y) ** 2)


x = np.array([0.5, 1.0, 1.5])
w = np.array([1.0, -2.0, 0.5])
out, dot = s2s.jvp(f, (x, w), (np.ones(3), np.zeros(3)))
jac = s2s.jacfwd(f)(x, w)
print(json.dumps({"dot": float(dot), "jac": jac.tolist(), "stats": cache.stats,
                  "parsed": len(frontend._CACHE),
                  "rules loaded": registry._load.cache_info().currsize}))
"""


def _run(script, *args, env=None):
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_second_process_hits_the_cache(tmp_path, cache_dir):
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, S2S_CACHE_DIR=str(cache_dir))
    first = _run(script, "2.0", env=env)
    # jvp of f (w.r.t. x, w), of helper; jacfwd: jvp of f w.r.t. x, then f_jvp
    # and helper_jvp batched
    assert first["stats"]["transforms"] == 5 and first["stats"]["hits"] == 0
    # another process, another value of the global SCALE: all hits, new value used
    second = _run(script, "3.0", env=env)
    assert second["stats"]["transforms"] == 0 and second["stats"]["hits"] == 5
    assert first["parsed"] > 0 and second["parsed"] == 0  # no function was even parsed
    # nor were s2s's rule tables loaded (~5 ms)
    assert first["rules loaded"] == 1 and second["rules loaded"] == 0
    assert second["dot"] == pytest.approx(first["dot"] * 9 / 4)
    assert np.allclose(second["jac"], np.array(first["jac"]) * 9 / 4)


def _race_child(barrier, results, filename):
    fn = define(SIMPLE, "f", filename)
    before = dict(cache.stats)  # the parent's counts, inherited
    barrier.wait(timeout=60)
    try:
        dot = s2s.jvp(fn, (X,), (DX,))[1]
        results.put((dot.tolist(), delta(before)))
    except BaseException as exc:  # reported to the parent
        results.put((repr(exc), None))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the test process")
def test_eight_processes_race_to_one_valid_entry(cache_dir):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # s2s already imported: fast to start
    barrier, results = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_race_child, args=(barrier, results, "<race>"))
             for _ in range(8)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(stats is not None for _, stats in got), got
    assert len({tuple(dot) for dot, _ in got}) == 1
    assert all(stats["discarded"] == 0 for _, stats in got), got
    assert sum(stats["writes"] for _, stats in got) >= 1  # usually all 8 miss and write
    (entry,) = entries(cache_dir)  # one entry (and its compiled code), no temporary files
    assert sorted(p.name for p in cache_dir.iterdir()) == [entry.stem + ".code", entry.name]
    before = dict(cache.stats)
    dot = s2s.jvp(define(SIMPLE, "f", "<race>"), (X,), (DX,))[1]
    assert delta(before)["hits"] == 1
    assert dot.tolist() == got[0][0]
