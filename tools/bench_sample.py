"""A ~50-line function whose transformation tools/bench.py times: it copies
this file to a fresh module for every sample, so nothing is cached."""

import numpy as np


def sample(theta, data):
    """Fit loss of a damped oscillator driven by a small network."""
    w1 = theta[:16].reshape(4, 4)
    b1 = theta[16:20]
    w2 = theta[20:24]
    damping = np.exp(theta[24])
    stiffness = np.exp(theta[25])
    position, velocity = data[0, 0], data[0, 1]
    dt = 0.05
    loss = 0.0
    penalty = 0.0
    for step in range(1, data.shape[0]):
        features = np.array([position, velocity, np.sin(position), np.cos(velocity)])
        hidden = np.tanh(w1 @ features + b1)
        force = w2 @ hidden
        if abs(force) > 10.0:
            penalty = penalty + (abs(force) - 10.0) ** 2
            force = 10.0 * np.sign(force)
        acceleration = force - damping * velocity - stiffness * position
        velocity = velocity + dt * acceleration
        position = position + dt * velocity
        error = position - data[step, 0]
        loss = loss + error * error
        if step % 10 == 0:
            loss = loss + 0.1 * (velocity - data[step, 1]) ** 2
    weights = np.concatenate([w1.ravel(), w2])
    l2 = np.sum(weights**2)
    l1 = np.sum(np.abs(weights))
    smooth = np.log1p(np.exp(-np.abs(b1))) + np.maximum(b1, 0.0)
    regular = 1e-3 * l2 + 1e-4 * l1 + 1e-2 * np.sum(smooth)
    spread = np.std(hidden) / (np.mean(np.abs(hidden)) + 1e-8)
    energy = 0.5 * velocity**2 + 0.5 * stiffness * position**2
    scale = np.sqrt(np.mean(data[:, 0] ** 2)) + 1e-8
    total = loss / data.shape[0] / scale**2
    if energy > 100.0:
        total = total + 0.01 * (energy - 100.0)
    total = total + regular + 1e-3 * spread + penalty
    terms = [total, l2, l1]
    result = 0.0
    for i, term in enumerate(terms):
        weight = 1.0 if i == 0 else 0.0
        result = result + weight * term
    return result
