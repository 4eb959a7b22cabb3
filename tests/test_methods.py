"""Methods of the user's classes: ``s2s.jvp(model.forward, ...)``,
``s2s.jacfwd(model)``, a function calling ``model.forward(x)`` and a method
calling ``self.other(x)``; against central differences (float64) and, for
vmap, a loop. The receiver is never differentiated: its arrays are
constants. Also the caches (a bound method is a new object at each lookup;
another receiver, a replaced method) and what is refused."""

import functools
import linecache
import textwrap

import numpy as np
import pytest
from helpers import assert_tree_close, central_difference, check_jvp, line_of

import s2s
from s2s import cache
from s2s.errors import NoRuleError, UnsupportedSyntaxError


class MLP:
    def __init__(self, seed=0):
        r = np.random.default_rng(seed)
        self.W = r.standard_normal((4, 3))
        self.b = r.standard_normal(4)

    def forward(self, x):
        return np.tanh(self.W @ x + self.b)

    def __call__(self, x):
        return self.forward(x)

    def energy(self, x):
        return np.sum(self.forward(x) ** 2)

    def scaled(self, x, scale=2.0):
        return self.forward(x) * scale

    @staticmethod
    def squash(x):
        return np.sin(x) * x

    @classmethod
    def shifted(cls, x):
        return np.cos(x) + cls.SHIFT

    SHIFT = 0.5


model = MLP()


def calls_model(x):
    return model.forward(x) * 2.0


def calls_energy(x):
    return model.energy(x) + np.sum(x)


def calls_static_and_class(x):
    return model.squash(x) + MLP.shifted(x) + model.shifted(x)


X = np.array([0.3, -0.7, 0.5])
XS = np.array([[0.3, -0.7, 0.5], [0.1, 0.2, -0.4], [1.0, 0.5, 0.25], [-0.2, 0.9, 0.3],
               [0.6, -0.1, 0.8]])  # (5 examples: no other dimension is 5)


def _jacobian_fd(f, x, h=1e-6):
    cols = [central_difference(f, (x,), (e,), h) for e in np.eye(x.size)]
    return np.stack(cols, axis=-1)


def _cases():
    m = MLP(1)
    return {
        "bound method": m.forward,
        "callable instance": m,
        "function calling model.forward": calls_model,
        "method calling self.forward": m.energy,
        "function calling model.energy": calls_energy,
        "method with a default": m.scaled,
        "staticmethod and classmethod": calls_static_and_class,
        "classmethod": MLP.shifted,
    }


CASES = _cases()


@pytest.mark.parametrize("name", CASES)
def test_jvp(name):
    check_jvp(CASES[name], (X,))


@pytest.mark.parametrize("name", CASES)
def test_jacfwd(name):
    f = CASES[name]
    x = X.copy()
    jac = s2s.jacfwd(f)(x)
    np.testing.assert_array_equal(x, X)
    assert_tree_close(jac, _jacobian_fd(f, X), what=name)


@pytest.mark.parametrize("name", CASES)
def test_vmap(name):
    f = CASES[name]
    vmapped = s2s.vmap(f)
    out = vmapped(XS)
    assert_tree_close(out, np.stack([f(x) for x in XS]), rtol=1e-12, atol=1e-12, what=name)
    assert "map_batched" not in vmapped.source()  # (vectorised: no loop over the examples)


# (the others call self.forward: refused below)
_HESSIAN = ["bound method", "function calling model.forward", "staticmethod and classmethod",
            "classmethod"]


@pytest.mark.parametrize("name", _HESSIAN)
def test_hessian(name):
    f = CASES[name]
    hess = s2s.hessian(f)(X)
    expected = _jacobian_fd(lambda y: s2s.jacfwd(f)(y), X)
    assert_tree_close(hess, expected, rtol=1e-5, atol=1e-5, what=name)


def test_hessian_of_a_scalar_method():
    m = MLP(2)

    def energy(x):
        return np.sum(m.forward(x) ** 2)

    hess = s2s.hessian(energy)(X)
    assert_tree_close(hess, _jacobian_fd(lambda y: s2s.jacfwd(energy)(y), X), rtol=1e-5,
                      atol=1e-5)


@pytest.mark.parametrize("name", ["callable instance", "method calling self.forward",
                                  "function calling model.energy"])
def test_hessian_through_self_is_refused_naming_the_line(name):
    with pytest.raises(NoRuleError) as info:
        s2s.hessian(CASES[name])(X)
    method = MLP.__call__ if name == "callable instance" else MLP.energy
    assert f"test_methods.py:{line_of(method, 'self.forward(x)')}" in str(info.value)
    assert "known only when it runs" in str(info.value)


def test_receiver_is_not_differentiated_and_not_changed():
    m = MLP(3)
    W, b = m.W.copy(), m.b.copy()
    out, tangent = s2s.jvp(m.forward, (X,), (np.ones(3),))
    np.testing.assert_allclose(tangent, (1 - np.tanh(W @ X + b) ** 2) * (W @ np.ones(3)))
    np.testing.assert_array_equal(m.W, W)
    np.testing.assert_array_equal(m.b, b)


# -- generated code ----------------------------------------------------------------------


def test_source_of_a_bound_method_is_the_methods_code():
    text = s2s.source(MLP(0).forward)
    assert text.splitlines()[0].split(" | ")[1] == "test_methods.py:MLP.forward"
    assert "def forward_jvp(self, x, x_dot):" in text
    assert "self_dot" not in text
    assert "np.tanh(self.W @ x + self.b)" in text  # (the comment with the user's line)


def test_source_of_a_callable_instance_and_a_caller():
    assert "def __call___jvp(self, x, x_dot):" in s2s.source(MLP(0))
    text = s2s.source(calls_model)
    assert "forward_jvp(model, x, x_dot=x_dot)" in text


def test_dump_cli_takes_a_method(capsys):
    from s2s import cli

    path = __file__
    assert cli.main(["dump", f"{path}:MLP.forward"]) == 0
    out = capsys.readouterr().out
    assert "def forward_jvp(self, x, x_dot):" in out


# -- caches --------------------------------------------------------------------------------


def _transforms(run):
    before = cache.stats["transforms"]
    run()
    return cache.stats["transforms"] - before


@pytest.mark.parametrize("name", ["bound method", "callable instance",
                                  "function calling model.forward"])
def test_second_call_is_served_from_the_cache(name):
    f = CASES[name]
    s2s.jvp(f, (X,), (X,))
    s2s.jacfwd(f)(X)
    m = CASES["bound method"].__self__
    assert _transforms(lambda: s2s.jvp(m.forward if name == "bound method" else f,
                                       (X,), (X,))) == 0
    assert _transforms(lambda: s2s.jacfwd(m.forward if name == "bound method" else f)(X)) == 0


def _expected_forward(m, x, v):
    return (1 - np.tanh(m.W @ x + m.b) ** 2) * (m.W @ v)


def test_rebinding_the_object_gives_the_new_objects_derivative():
    global model
    saved = model
    v = np.array([1.0, 2.0, -1.0])
    try:
        np.testing.assert_allclose(s2s.jvp(calls_model, (X,), (v,))[1],
                                   2 * _expected_forward(model, X, v))
        np.testing.assert_allclose(s2s.jacfwd(calls_model)(X) @ v,
                                   2 * _expected_forward(model, X, v))
        model = MLP(7)
        np.testing.assert_allclose(s2s.jvp(calls_model, (X,), (v,))[1],
                                   2 * _expected_forward(model, X, v))
        np.testing.assert_allclose(s2s.jacfwd(calls_model)(X) @ v,
                                   2 * _expected_forward(model, X, v))
        m1, m2 = MLP(8), MLP(9)
        for m in (m1, m2, m1):
            np.testing.assert_allclose(s2s.jvp(m.forward, (X,), (v,))[1],
                                       _expected_forward(m, X, v))
            np.testing.assert_allclose(s2s.jvp(m, (X,), (v,))[1], _expected_forward(m, X, v))
    finally:
        model = saved


_CLASS = """
class Model:
    def __init__(self):
        self.W = np.arange(6.0).reshape(2, 3) / 6

    def forward(self, x):
        return {body}

    def __call__(self, x):
        return self.forward(x)


m = Model()


def caller(x):
    return m.forward(x)
"""


def _define_class(body, filename):
    src = textwrap.dedent(_CLASS.format(body=body))
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"np": np, "__name__": "methodstest"}
    exec(compile(src, filename, "exec"), ns)
    return ns


def test_a_replaced_method_gives_the_new_functions_derivative():
    ns = _define_class("np.sin(self.W @ x)", "<s2s-methods-patch>")
    m, caller, Model = ns["m"], ns["caller"], ns["Model"]
    v = np.array([1.0, 0.5, -1.0])
    for f in (m.forward, m, caller):
        np.testing.assert_allclose(s2s.jvp(f, (X,), (v,))[1], np.cos(m.W @ X) * (m.W @ v))
    jac = s2s.jacfwd(caller)
    jac(X)

    def other(self, x):
        return np.exp(self.W @ x)

    Model.forward = other
    for f in (m.forward, m, caller):
        np.testing.assert_allclose(s2s.jvp(f, (X,), (v,))[1], np.exp(m.W @ X) * (m.W @ v))
    np.testing.assert_allclose(jac(X), np.exp(m.W @ X)[:, None] * m.W)
    np.testing.assert_allclose(s2s.jacfwd(m)(X), np.exp(m.W @ X)[:, None] * m.W)


def test_a_redefined_class_gives_the_new_methods_derivative():
    filename = "<s2s-methods-redefined>"
    v = np.array([1.0, 0.5, -1.0])
    ns = _define_class("np.sin(self.W @ x)", filename)
    for f in (ns["m"].forward, ns["caller"]):
        np.testing.assert_allclose(s2s.jvp(f, (X,), (v,))[1],
                                   np.cos(ns["m"].W @ X) * (ns["m"].W @ v))
    ns = _define_class("np.sin(self.W @ x) ** 2", filename)  # (the same file, edited)
    W = ns["m"].W
    for f in (ns["m"].forward, ns["caller"], ns["m"]):
        np.testing.assert_allclose(s2s.jvp(f, (X,), (v,))[1],
                                   2 * np.sin(W @ X) * np.cos(W @ X) * (W @ v))


def test_a_new_process_loads_method_code_from_the_disk_cache(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "model_script.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, s2s
        from s2s import cache

        class Model:
            def __init__(self):
                self.W = np.arange(6.0).reshape(2, 3) / 6

            def forward(self, x):
                return np.sin(self.W @ x)

        m = Model()

        def caller(x):
            return m.forward(x)

        x = np.array([0.3, -0.7, 0.5])
        for f in (m.forward, caller):
            out, t = s2s.jvp(f, (x,), (x,))
            assert np.allclose(t, np.cos(m.W @ x) * (m.W @ x))
        loaded = cache.stats["hits"]
        for _ in range(3):  # served from memory: the loaded code's dependencies are current
            s2s.jvp(caller, (x,), (x,))
        assert cache.stats["hits"] == loaded, (loaded, cache.stats["hits"])
        print(cache.stats["transforms"], cache.stats["hits"])
    """))
    env = {**__import__("os").environ, "S2S_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           env=env, cwd=tmp_path) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    transforms, hits = map(int, runs[1].stdout.split())
    assert transforms == 0 and hits > 0


# -- what changes the object, and what is refused -------------------------------------------


class Stateful:
    def __init__(self):
        self.h = None
        self.buf = np.zeros(3)
        self.W = np.eye(3)

    def keep(self, x):
        self.h = np.tanh(x)
        return self.h * 2.0

    def store(self, x):
        self.buf[:] = x
        return self.buf * 2.0

    def inplace(self, x):
        x *= 2.0
        return np.sin(self.W @ x)

    def remember(self, x):
        self.last = self.W.sum()  # (a value that carries no derivative: as Python)
        return np.sin(x)


def _refused(f, error, text, run):
    with pytest.raises(error) as info:
        run(f)
    assert f"test_methods.py:{line_of(f, text)}" in str(info.value)


@pytest.mark.parametrize("run", [lambda f: s2s.jvp(f, (X.copy(),), (X.copy(),)),
                                 lambda f: s2s.jacfwd(f)(X.copy()),
                                 lambda f: s2s.vmap(f)(XS.copy())],
                         ids=["jvp", "jacfwd", "vmap"])
def test_a_derivative_stored_on_the_object_is_refused(run):
    s = Stateful()
    _refused(s.keep, UnsupportedSyntaxError, "self.h = np.tanh(x)", run)
    _refused(s.store, UnsupportedSyntaxError, "self.buf[:] = x", run)
    np.testing.assert_array_equal(s.buf, np.zeros(3))
    assert s.h is None


def test_a_method_that_updates_its_argument_leaves_the_callers_array_intact():
    s = Stateful()

    def reference(y):  # (the method itself changes the array it is given)
        return s.inplace(y.copy())

    x, v = X.copy(), np.array([1.0, -0.5, 2.0])
    out, tangent = s2s.jvp(s.inplace, (x,), (v,))
    np.testing.assert_array_equal(x, X)
    assert_tree_close(out, reference(X))
    assert_tree_close(tangent, central_difference(reference, (X,), (v,)))
    assert_tree_close(s2s.jacfwd(s.inplace)(x), _jacobian_fd(reference, X))
    np.testing.assert_array_equal(x, X)
    xs = XS.copy()
    assert_tree_close(s2s.vmap(s.inplace)(xs), np.stack([reference(e) for e in XS]))
    np.testing.assert_array_equal(xs, XS)


def test_an_attribute_set_to_a_constant_is_set_as_python_does():
    s = Stateful()
    check_jvp(s.remember, (X,))
    assert s.last == 3.0


def test_a_method_of_a_differentiated_argument_is_refused():
    class Params:
        def __init__(self, W):
            self.W = W

        def apply(self, x):
            return self.W @ x

    def loss(p, x):
        return p.apply(x)

    p = Params(np.eye(3))
    with pytest.raises(s2s.S2SError) as info:
        s2s.jvp(loss, (p, X), (p, X))
    assert "test_methods.py" in str(info.value)


# -- decorated methods, and a bound method held in a variable -------------------------------


def _logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


class Decorated:
    def __init__(self):
        self.W = np.arange(6.0).reshape(2, 3) / 6

    @_logged
    def forward(self, x, scale=1.0):
        return np.sin(self.W @ x) * scale


DECORATED = Decorated()
HELD = DECORATED.forward


def _calls_the_decorated_method(x):
    return DECORATED.forward(x, scale=2.0)


def _calls_a_held_method(x):
    return HELD(x) * 2.0


@pytest.mark.parametrize("f", [DECORATED.forward, _calls_the_decorated_method,
                               _calls_a_held_method],
                         ids=["decorated method", "a call of it", "a held bound method"])
def test_decorated_and_held_methods(f):
    # a decorator's wrapper takes the receiver in *args (it was refused as a method
    # without a receiver); a held bound method passes its __self__
    x = np.array([0.3, -0.7, 0.5])
    check_jvp(f, (x,))
    np.testing.assert_allclose(s2s.jacfwd(f)(x), _jacobian_fd(f, x), rtol=1e-6, atol=1e-8)
    xs = np.stack([x, 2 * x, -x])
    np.testing.assert_allclose(s2s.vmap(f)(xs), [f(r) for r in xs], rtol=1e-14)
    total = _summed(f)
    gradient = s2s.jacfwd(total)
    fd = np.stack([(gradient(x + 1e-6 * e) - gradient(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(s2s.hessian(total)(x), fd, rtol=1e-5, atol=1e-7)


def _summed(f):
    def total(v):
        return np.sum(np.sin(f(v)))

    return total


class _Layer:
    def __init__(self, scale):
        self.W = np.arange(6.0).reshape(2, 3) / 6 * scale

    def __call__(self, x):
        return np.tanh(self.W @ x)


NET = _Layer(1.0)


def _calls_a_global_instance(x):
    return np.sum(NET(x) ** 2)


def test_a_callable_instance_called_inside_a_function():
    # net(x) of a global object: type(net).__call__(net, x) (it was "no forward-mode
    # rule for <__main__._Layer object at 0x...>")
    f = _calls_a_global_instance
    x = np.array([0.3, -0.7, 0.5])
    check_jvp(f, (x,))
    assert "Layer_call_jvp(NET, x" in s2s.source(f)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), _jacobian_fd(f, x), rtol=1e-6, atol=1e-8)
    xs = np.stack([x, 2 * x, -x])
    np.testing.assert_allclose(s2s.vmap(f)(xs), [f(r) for r in xs], rtol=1e-14)
    gradient = s2s.jacfwd(f)
    fd = np.stack([(gradient(x + 1e-6 * e) - gradient(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(s2s.hessian(f)(x), fd, rtol=1e-5, atol=1e-7)
    global NET
    kept, NET = NET, _Layer(2.0)  # another object: its own results
    try:
        np.testing.assert_allclose(s2s.jvp(f, (x,), (x,))[0], f(x), rtol=1e-14)
    finally:
        NET = kept
