"""A custom agent for `styleenv evaluate --agents examples/my_agent.py:Blend` (the README's example)."""

import numpy as np


class Blend:
    """Each step moves the image a tenth of the way from the photo to the painting's colours."""

    def __init__(self, steps: int = 10):
        self.steps = steps

    def reset(self, observation):
        self.k = 0
        self.content = observation["moving"] / 255.0               # (3, H, W) float in [0, 1]
        style = observation["style"] / 255.0
        mean_c = self.content.mean(axis=(1, 2), keepdims=True)
        self.target = (self.content - mean_c) * style.std(axis=(1, 2), keepdims=True) / (
            self.content.std(axis=(1, 2), keepdims=True) + 1e-5) + style.mean(axis=(1, 2), keepdims=True)

    def act(self, observation):
        self.k = min(self.k + 1, self.steps)
        a = self.k / self.steps
        return np.clip((1 - a) * self.content + a * self.target, 0, 1).astype(np.float32)
