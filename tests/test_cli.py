"""The ``s2s`` command, through subprocesses: every subcommand, every error
path, the exit statuses. Most cases run in one subprocess (a driver calling
``s2s.cli.main`` once per command line and reporting status, stdout and
stderr); the installed ``s2s`` script and ``python -m s2s`` run on their own
once each."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s
from s2s import cli

MODEL = '''\
import math

import numpy as np


def helper(v):
    v.sort()
    return np.sum(v ** 2)


def f(x, w):
    y = np.sin(x) * w
    g = math.gamma(y[0])
    return helper(y) + g


def ok(x):
    return np.tanh(x) * 2.0


def two(x, k):
    return np.sin(x) * math.gamma(k)


class Box:
    pass


class Layer:
    def forward(self, x):
        self.h = np.tanh(x)
        return self.h


def store(x, box):
    box.value = np.exp(x)
    return x


if __name__ == "__main__":
    raise SystemExit("the main block must not run")
'''

DECORATED = '''\
import math

import s2s


@s2s.differentiable
def f(x):
    return math.gamma(x)

C = 3
'''

FILES = {
    "model.py": MODEL,
    "deco.py": DECORATED,
    "bad.py": "import numpy as np\nx = 1\nraise ValueError('boom')\n",
    "syn.py": "def f(x)\n    return x\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": MODEL,
}

# (name, argv): every command line the driver runs
CASES = [
    ("dump", ["dump", "model.py:ok"]),
    ("dump_stage_jvp", ["dump", "model.py:ok", "--stage", "jvp"]),
    ("dump_argnums", ["dump", "model.py:two", "--argnums", "0"]),
    ("dump_jacfwd", ["dump", "model.py:ok", "--transform", "jacfwd", "--ranks", "1"]),
    ("dump_vmap", ["dump", "model.py:ok", "-t", "vmap", "--in-dims", "0", "--ranks", "1"]),
    ("dump_hessian", ["dump", "model.py:ok", "-t", "hessian", "--ranks", "1"]),
    ("dump_stage_anf", ["dump", "model.py:ok", "--stage", "anf"]),
    ("dump_output", ["dump", "model.py:ok", "-o", "out.py"]),
    ("dump_module", ["dump", "pkg.mod:ok"]),
    ("dump_no_rule", ["dump", "model.py:f"]),
    ("dump_decorated_no_rule", ["dump", "deco.py:f"]),
    ("dump_missing_file", ["dump", "nothere.py:f"]),
    ("dump_missing_function", ["dump", "model.py:nope"]),
    ("dump_not_a_function", ["dump", "deco.py:C"]),
    ("dump_no_function_named", ["dump", "model.py"]),
    ("dump_import_error", ["dump", "bad.py:f"]),
    ("dump_syntax_error", ["dump", "syn.py:f"]),
    ("dump_missing_module", ["dump", "pkg.nomod:f"]),
    ("dump_bad_option", ["dump", "model.py:ok", "-t", "vmap", "--argnums", "0"]),
    ("dump_argnums_out_of_range", ["dump", "model.py:ok", "--argnums", "3"]),
    ("dump_bad_argnums", ["dump", "model.py:ok", "--argnums", "x"]),
    ("dump_stage_disagrees", ["dump", "model.py:ok", "--stage", "jvp", "-t", "vmap"]),
    ("dump_nothing_batched", ["dump", "model.py:ok", "-t", "vmap", "--in-dims", "None"]),
    ("dump_unwritable", ["dump", "model.py:ok", "-o", "no/such/dir/out.py"]),
    ("dump_help", ["dump", "--help"]),
    ("check", ["check", "model.py:f"]),
    ("check_all", ["check", "model.py", "--all"]),
    ("check_clean", ["check", "model.py:ok"]),
    ("check_argnums", ["check", "model.py:two", "--argnums", "0"]),
    ("check_two_targets", ["check", "model.py:two", "pkg.mod:store"]),
    ("check_decorated", ["check", "deco.py:f"]),
    ("check_all_with_function", ["check", "model.py:f", "--all"]),
    ("check_missing_file", ["check", "nothere.py:f"]),
    ("check_import_error", ["check", "bad.py", "--all"]),
    ("check_argnums_out_of_range", ["check", "model.py:ok", "--argnums", "3"]),
    ("check_help", ["check", "--help"]),
    ("no_command", []),
]

DRIVER = '''
import contextlib, io, json, sys
from s2s.cli import main
results = {}
for name, argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            status = exc.code
    results[name] = [status, out.getvalue(), err.getvalue()]
print(json.dumps(results))
'''


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    _write(root, FILES)
    return root


def _env():
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.pop("S2S_TRACEBACK", None)
    return env


@pytest.fixture(scope="module")
def runs(project):
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(CASES)], cwd=project,
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {name: tuple(result) for name, result in json.loads(proc.stdout).items()}


@pytest.fixture(scope="module")
def model(project):
    """model.py imported in this process (under another name), to compare with."""
    spec = importlib.util.spec_from_file_location("s2s_cli_test_model", project / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _line(text, fragment):
    """The 1-based line of ``text`` holding ``fragment``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _one_error_line(err):
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.rstrip("\n")


# -- dump ----------------------------------------------------------------------------


def test_dump_prints_what_source_returns(runs, model):
    status, out, err = runs["dump"]
    assert (status, err) == (0, "")
    assert out == s2s.source(model.ok)
    assert "\x1b" not in out  # not a terminal: no colour
    assert runs["dump_stage_jvp"] == runs["dump"]
    assert runs["dump_argnums"][1] == s2s.source(model.two, argnums=0)
    assert "k_dot" not in runs["dump_argnums"][1]


def test_dump_batched_transforms_match_what_a_call_generates(runs, model):
    x = np.linspace(0.1, 0.9, 4)
    for case, transformed, args in (("dump_jacfwd", s2s.jacfwd(model.ok), (x,)),
                                    ("dump_vmap", s2s.vmap(model.ok), (np.ones((3, 4)),)),
                                    ("dump_hessian", s2s.hessian(model.ok), (x,))):
        status, out, err = runs[case]
        assert (status, err) == (0, "")
        transformed(*args)
        assert out == s2s.source(transformed), case


def test_dump_stage(runs, model, project):
    status, out, err = runs["dump_stage_anf"]
    assert (status, err) == (0, "")
    assert out.splitlines()[0].endswith("model.py:ok | after stage anf")
    assert "_t0 = xp.tanh(x)" in out  # one operation per line
    compile(out, "anf", "exec")


def test_dump_to_a_file(runs, project):
    assert runs["dump_output"] == (0, "", "")
    assert (project / "out.py").read_text() == runs["dump"][1]


def test_dump_module_target(runs):
    status, out, err = runs["dump_module"]
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == runs["dump"][1].splitlines()[0].replace("model.py", "mod.py")


@pytest.mark.parametrize("case, file, fragment", [
    ("dump_no_rule", "model.py", "math.gamma(y[0])"),
    ("dump_decorated_no_rule", "deco.py", "math.gamma(x)"),
])
def test_dump_error_in_the_users_code(runs, case, file, fragment):
    status, out, err = runs[case]
    assert (status, out) == (1, "")
    line = _one_error_line(err)
    lineno = _line(FILES[file], fragment)
    assert line.startswith(f"s2s dump: {file}:{lineno}: no forward-mode rule for math.gamma")
    assert "(register one with @s2s.defjvp(math.gamma)" in line


@pytest.mark.parametrize("case, expected", [
    ("dump_missing_file", "s2s dump: nothere.py: no such file"),
    ("dump_missing_function", "s2s dump: model.py: no function 'nope' in it (its functions: "
                              "helper, f, ok, two, store)"),
    ("dump_not_a_function", "s2s dump: deco.py: C is not a function but an int"),
    ("dump_no_function_named", "s2s dump: model.py: name the function, as model.py:FUNC"),
    ("dump_import_error", "s2s dump: bad.py:3: cannot import bad.py: ValueError: boom"),
    ("dump_syntax_error", "s2s dump: syn.py:1: cannot import syn.py: SyntaxError: "),
    ("dump_missing_module", "s2s dump: pkg.nomod: no module named 'pkg.nomod'"),
    ("dump_argnums_out_of_range", "s2s dump: model.py:ok: argnums 3 is out of range"),
    ("dump_nothing_batched", "s2s dump: model.py:ok: vmap needs at least one batched input"),
    ("dump_unwritable", "s2s dump: no/such/dir/out.py: cannot write: "),
])
def test_dump_cannot_start(runs, case, expected):
    status, out, err = runs[case]
    assert (status, out) == (2, "")
    assert _one_error_line(err).startswith(expected)


@pytest.mark.parametrize("case, expected", [
    ("dump_bad_option", "--argnums does not apply to --transform vmap"),
    ("dump_bad_argnums", "--argnums takes ints"),
    ("dump_stage_disagrees", "--stage jvp and --transform vmap disagree"),
    ("check_all_with_function", "with --all, name the file or module alone"),
    ("no_command", "the following arguments are required: COMMAND"),
])
def test_usage_errors(runs, case, expected):
    status, out, err = runs[case]
    assert (status, out) == (2, "")
    assert err.startswith("usage: s2s")
    assert expected in err.splitlines()[-1]


def test_help_has_examples(runs):
    for case, command in (("dump_help", "dump"), ("check_help", "check")):
        status, out, _ = runs[case]
        assert status == 0
        assert out.startswith(f"usage: s2s {command}")
        examples = out[out.index("examples:"):]
        assert f"s2s {command} model.py" in examples


# -- check ---------------------------------------------------------------------------


def _problems(out):
    lines = out.splitlines()
    return lines[:-1], lines[-1]


def test_check_lists_every_problem_with_file_and_line(runs):
    status, out, err = runs["check"]
    assert (status, err) == (1, "")
    problems, summary = _problems(out)
    sort = _line(MODEL, "v.sort()")
    gamma = _line(MODEL, "math.gamma(y[0])")
    assert [p.split(": ", 1)[0] for p in problems] == [f"model.py:{sort}", f"model.py:{gamma}"]
    assert "in-place array method .sort() (use x = np.sort(x)" in problems[0]
    assert "no forward-mode rule for math.gamma" in problems[1]
    assert summary == "2 problems (1 function checked)"


def test_check_all_functions_of_a_file(runs):
    status, out, err = runs["check_all"]
    assert (status, err) == (1, "")
    problems, summary = _problems(out)
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines)
    # (a method of a class of the file is checked too)
    assert lines == [_line(MODEL, "v.sort()"), _line(MODEL, "math.gamma(y[0])"),
                     _line(MODEL, "math.gamma(k)"), _line(MODEL, "self.h ="),
                     _line(MODEL, "box.value =")]
    assert "attribute assignment" in problems[-1] and "attribute assignment" in problems[-2]
    assert summary == "5 problems (6 functions checked)"


def test_check_clean_function(runs):
    assert runs["check_clean"] == (0, "no problems (1 function checked)\n", "")


def test_check_argnums_and_several_targets(runs):
    assert runs["check_argnums"] == (0, "no problems (1 function checked)\n", "")
    status, out, err = runs["check_two_targets"]
    assert (status, err) == (1, "")
    problems, summary = _problems(out)
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"model.py:{_line(MODEL, 'math.gamma(k)')}",
        f"{os.path.join('pkg', 'mod.py')}:{_line(MODEL, 'box.value =')}"]
    assert summary == "2 problems (2 functions checked)"


def test_check_decorated_function_with_a_problem(runs):
    status, out, err = runs["check_decorated"]
    assert (status, err) == (1, "")
    problems, _ = _problems(out)
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"deco.py:{_line(DECORATED, 'math.gamma(x)')}"]


def test_check_cannot_start(runs):
    for case, expected in (("check_missing_file", "s2s check: nothere.py: no such file"),
                           ("check_import_error", "s2s check: bad.py:3: cannot import bad.py: "
                                                  "ValueError: boom"),
                           ("check_argnums_out_of_range",
                            f"s2s check: model.py:{_line(MODEL, 'def ok')}: argnums 3 is out "
                            "of range for a function of 1 positional parameter")):
        status, out, err = runs[case]
        assert (status, out) == (2, "")
        assert _one_error_line(err) == expected


# -- the installed command and python -m s2s -----------------------------------------


def test_installed_script_and_python_m(runs, project):
    script = os.path.join(os.path.dirname(sys.executable), "s2s")
    if not os.path.exists(script):
        pytest.skip("the s2s script is not installed next to this Python")
    proc = subprocess.run([script, "check", "model.py:f"], cwd=project, capture_output=True,
                          text=True, env=_env(), timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == runs["check"]
    proc = subprocess.run([sys.executable, "-m", "s2s", "dump", "nothere.py:f"], cwd=project,
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == runs["dump_missing_file"]


# -- in this process: colour and internal errors -------------------------------------


class _Terminal:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli.wants_colour(_Terminal(True))
    assert not cli.wants_colour(_Terminal(False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli.wants_colour(_Terminal(True))


def test_colour_marks_header_and_comments_only():
    text = textwrap.dedent("""\
        # s2s 0.1.0 | m.py:f | jvp | source sha256 0
        def f_jvp(x, x_dot):
            # m.py:2  return x * x
            return (x * x, 2 * x * x_dot)
        """)
    coloured = cli.colour(text)
    assert coloured.replace("\x1b[1m", "").replace("\x1b[36m", "").replace("\x1b[0m", "") == text
    lines = coloured.splitlines()
    assert lines[0].startswith("\x1b[1m") and lines[2].startswith("    \x1b[36m#")
    assert "\x1b" not in lines[1] + lines[3]


def test_internal_error_is_one_line(monkeypatch, capsys):
    def broken(target):
        raise KeyError("oops")

    monkeypatch.setattr(cli, "load_function", broken)
    monkeypatch.delenv("S2S_TRACEBACK", raising=False)
    status = cli.main(["check", "model.py:ok"])
    out, err = capsys.readouterr()
    assert (status, out) == (3, "")
    assert _one_error_line(err).startswith("s2s check: internal error: KeyError: 'oops'")


def test_cache_info_and_clear(tmp_path):
    env = dict(os.environ, S2S_CACHE_DIR=str(tmp_path / "cache"), S2S_CACHE="1")

    def s2s_command(*argv):
        proc = subprocess.run([sys.executable, "-m", "s2s", *argv], env=env,
                              capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    fill = ("import numpy as np, s2s\n"
            "from model import ok\n"
            "s2s.jvp(ok, (np.ones(3),), (np.ones(3),))\n")
    (tmp_path / "model.py").write_text("import numpy as np\n\ndef ok(x):\n"
                                       "    return np.sin(x) * x\n")
    subprocess.run([sys.executable, "-c", fill], cwd=tmp_path, env=env, check=True,
                   timeout=120)
    status, out, err = s2s_command("cache", "info")
    assert (status, err) == (0, "")
    assert f"location: {tmp_path / 'cache'}" in out and "cache:    on" in out
    entries = int(next(line for line in out.splitlines() if line.startswith("entries:")).split()[1])
    assert entries >= 1
    status, out, err = s2s_command("cache", "clear")
    assert (status, err) == (0, "")
    assert out.startswith(f"removed {entries} entr")
    status, out, _ = s2s_command("cache", "info")
    assert "entries:  0" in out and "size:     0 bytes" in out
    status, out, err = s2s_command("cache", "bogus")
    assert status == 2 and "invalid choice" in err
