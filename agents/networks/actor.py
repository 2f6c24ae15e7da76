"""The actor: unified encoder + style modulator + Gaussian action head."""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.networks.blocks import Conv, PooledHead
from agents.networks.encoder import Encoder, StyleCode, StyleFeatures

LOGVAR_MIN = -10.0
LOGVAR_MAX = 2.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class ActionHead(nn.Module):
    """Depthwise 3x3 (no activation), then 1x1 convolutions to the mean and the log-variance.

    ``logvar = -10 + 6 * (tanh(.) + 1)``, in ``[-10, 2]``.
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.depthwise = Conv(channels, channels, 3, groups=channels)
        self.mean = Conv(channels, channels, 1)
        self.logvar = Conv(channels, channels, 1)

    def forward(self, x: torch.Tensor, with_logvar: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:param x: ``N x 64 x h x w``
        :param with_logvar: compute the log-variance too (not needed for the mean action)
        :return: ``(mean, logvar)``, each ``N x 64 x h x w`` (``logvar`` None if not asked)
        """
        h = self.depthwise(x)
        mean = self.mean(h)
        if not with_logvar:
            return mean, None
        t = torch.tanh(self.logvar(h))
        logvar = LOGVAR_MIN + 0.5 * (LOGVAR_MAX - LOGVAR_MIN) * (t + 1.0)
        return mean, logvar


class Actor(nn.Module):
    """Policy network (217,312 parameters): a latent action from the moving and style images.

    The moving image goes through the encoder in content mode; the style image once through
    style mode plus the modulator (:meth:`encode_style`), giving a :class:`StyleCode` that
    every step of a sequence reuses. The action is ``64 x H/4 x W/4``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.mod_weight1 = PooledHead(64, 64, groups=64)
        self.mod_bias1 = PooledHead(64, 64, groups=64)
        self.mod_weight2 = PooledHead(64, 64, groups=64)
        self.mod_bias2 = PooledHead(64, 64, groups=64)
        self.head = ActionHead(64)

    def encode_style(self, style: torch.Tensor) -> StyleCode:
        """Style-mode encoding plus modulation vectors, one code per image of the batch.

        Also the encoding of arbitrary images for the contrastive loss (outputs in style mode).

        :param style: ``N x 3 x H x W`` in ``[0, 1]``, ``H``, ``W`` multiples of 4
        """
        return self.modulate(self.encoder.style_features(style))

    def modulate(self, feats: StyleFeatures) -> StyleCode:
        """The style code from the encoder's style features: adds the modulation vectors.

        :param feats: :meth:`Encoder.style_features` of ``N`` images
        """
        return StyleCode(
            **vars(feats),
            w1=self.mod_weight1(feats.x1),  # N x 64 x 1 x 1
            b1=self.mod_bias1(feats.x1),
            w2=self.mod_weight2(feats.x2),
            b2=self.mod_bias2(feats.x2),
        )

    def forward(self, moving: torch.Tensor, style_code: StyleCode) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters of the Gaussian latent action ``Normal(mean, scale=exp(logvar))``.

        :param moving: ``N x 3 x H x W``
        :param style_code: from :meth:`encode_style` (the head reads the moving image only;
            the code is part of the state and is what the builder consumes)
        :return: ``(mean, logvar)``, each ``N x 64 x H/4 x W/4``
        """
        mean, logvar = self.head(self.encoder.content(moving))
        return mean, logvar

    def mean_action(self, moving: torch.Tensor) -> torch.Tensor:
        """The deterministic action (skips the log-variance branch).

        :param moving: ``N x 3 x H x W``
        :return: ``N x 64 x H/4 x W/4``
        """
        return self.head(self.encoder.content(moving), with_logvar=False)[0]

    def act(
        self,
        moving: torch.Tensor,
        style_code: StyleCode,
        deterministic: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """An action: the mean, or a sample when ``deterministic`` is False.

        :param moving: ``N x 3 x H x W``
        :param style_code: from :meth:`encode_style`
        :param deterministic: take the mean action
        :param generator: random source for sampling (seeded for reproducibility)
        :return: ``N x 64 x H/4 x W/4``
        """
        return self.act_on_features(self.encoder.content(moving), deterministic, generator)

    def act_on_features(
        self, x2: torch.Tensor, deterministic: bool = True, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """:meth:`act` from the encoder's content features, e.g. computed in tiles.

        :param x2: :meth:`Encoder.content` of the moving image, ``N x 64 x H/4 x W/4``
        :param deterministic: take the mean action
        :param generator: random source for sampling
        :return: ``N x 64 x H/4 x W/4``
        """
        mean, logvar = self.head(x2, with_logvar=not deterministic)
        return mean if logvar is None else sample_action(mean, logvar, generator)


def sample_action(mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``a = mean + exp(logvar) * eps`` (the release's scale is ``exp(logvar)``); differentiable.

    :param mean: ``N x 64 x h x w``
    :param logvar: same shape
    :param generator: optional seeded generator on the tensors' device
    """
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + logvar.exp() * eps


def log_density(action: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Log-density of each element of ``action`` under ``Normal(mean, scale=exp(logvar))``.

    :param action: ``N x 64 x h x w``
    :param mean: same shape
    :param logvar: same shape
    :return: same shape
    """
    z = (action - mean) * torch.exp(-logvar)
    return -0.5 * z.square() - logvar - _HALF_LOG_2PI


def action_log_prob(action: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Log-density of ``action`` under ``Normal(mean, exp(logvar))``, summed per sample.

    :param action: ``N x 64 x h x w``
    :param mean: same shape
    :param logvar: same shape
    :return: ``N``
    """
    return log_density(action, mean, logvar).flatten(1).sum(dim=1)
