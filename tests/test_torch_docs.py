"""The examples of torch.func.jvp's documentation (shared/reference), written
for NumPy arrays."""

import numpy as np

import s2s


def test_jvp_of_r1_to_rn():
    # x = torch.randn([]); f = lambda x: x * torch.tensor([1., 2., 3])
    x = np.asarray(np.random.default_rng(0).normal())
    f = lambda x: x * np.array([1.0, 2.0, 3.0])  # noqa: E731
    value, grad = s2s.jvp(f, (x,), (np.asarray(1.0),))
    np.testing.assert_allclose(value, f(x))
    np.testing.assert_allclose(grad, np.array([1.0, 2.0, 3.0]))


def test_jvp_of_r1_to_rn_with_python_float():
    x = 0.7
    f = lambda x: x * np.array([1.0, 2.0, 3.0])  # noqa: E731
    value, grad = s2s.jvp(f, (x,), (1.0,))
    np.testing.assert_allclose(value, [0.7, 1.4, 2.1])
    np.testing.assert_allclose(grad, [1.0, 2.0, 3.0])


def test_jvp_with_multiple_inputs():
    # f = lambda x, y: (x * y); tangents of ones give x + y
    rng = np.random.default_rng(1)
    x = rng.normal(size=5)
    y = rng.normal(size=5)
    f = lambda x, y: (x * y)  # noqa: E731
    value, output = s2s.jvp(f, (x, y), (np.ones(5), np.ones(5)))
    np.testing.assert_allclose(value, x * y)
    np.testing.assert_allclose(output, x + y)


def test_jvp_returns_a_pair_and_a_triple_with_aux():
    x = np.array([1.0, 2.0])
    f = lambda x: (x * 3.0, "aux")  # noqa: E731
    result = s2s.jvp(f, (x,), (np.ones(2),), has_aux=True)
    assert len(result) == 3
    np.testing.assert_allclose(result[0], 3.0 * x)
    np.testing.assert_allclose(result[1], [3.0, 3.0])
    assert result[2] == "aux"
    assert len(s2s.jvp(lambda x: x * 3.0, (x,), (np.ones(2),))) == 2
