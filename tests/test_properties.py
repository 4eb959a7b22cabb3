"""Property tests: random programs built from smooth primitives, control flow
and in-place updates, differentiated by s2s and by central differences."""

import numpy as np
from helpers import check_jvp, make_function
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

UNARY = ["np.sin({0})", "np.cos({0})", "np.tanh({0})", "np.exp(-({0}) * ({0}))", "({0}) ** 2",
         "np.sqrt(1.0 + ({0}) * ({0}))", "np.log1p(({0}) * ({0}))", "np.arctan({0})", "-({0})",
         "np.abs({0}) + 1.0", "np.sum({0}) * 0.5"]
BINARY = ["({0}) + ({1})", "({0}) - ({1})", "({0}) * ({1})", "({0}) / (1.0 + ({1}) ** 2)",
          "np.maximum({0}, {1})", "np.hypot({0}, {1})", "np.arctan2({0}, 2.0 + np.abs({1}))"]


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()) and depth < 3:
        return draw(st.sampled_from(["x", "y", "x[::-1]", "y * 2.0", "0.5"]))
    if draw(st.booleans()):
        return draw(st.sampled_from(UNARY)).format(draw(expressions(depth=depth - 1)))
    a = draw(expressions(depth=depth - 1))
    b = draw(expressions(depth=depth - 1))
    return draw(st.sampled_from(BINARY)).format(a, b)


@st.composite
def programs(draw):
    lines = ["def f(x, y):", "    acc = np.zeros(x.shape)"]
    for k in range(draw(st.integers(1, 4))):
        expr = draw(expressions())
        kind = draw(st.sampled_from(["assign", "branch", "loop", "inplace"]))
        if kind == "assign":
            lines.append(f"    t{k} = {expr}")
        elif kind == "branch":
            lines += [f"    if np.sum(x) > {draw(st.floats(-1, 1)):.3f}:",
                      f"        t{k} = {expr}", "    else:", f"        t{k} = x * {k + 1}.0"]
        elif kind == "loop":
            lines += [f"    t{k} = x", f"    for i in range({draw(st.integers(0, 3))}):",
                      f"        t{k} = 0.5 * t{k} + 0.1 * ({expr})"]
        else:
            lines += [f"    t{k} = x * 1.0", f"    t{k} *= 1.0 + 0.1 * ({expr})",
                      f"    t{k}[0] = t{k}[1] * 2.0", f"    t{k}[1:] += x[:-1]"]
        lines.append(f"    acc = acc + t{k}")
        lines.append(f"    y = y + 0.1 * t{k}")
    lines.append("    return acc, np.sum(acc * y)")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16))
def test_random_programs_match_finite_differences(src, seed):
    f = make_function(src)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=4)
    y = rng.uniform(-1.5, 1.5, size=4)
    with np.errstate(all="ignore"):
        values = f(x, y)
    if not all(np.all(np.isfinite(v)) for v in values):
        return
    check_jvp(f, (x, y), rtol=1e-5, atol=1e-5, seed=seed)
