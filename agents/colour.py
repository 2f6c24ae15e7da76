"""Colour preservation: stylised images that keep the content's colours.

Two ways, both from the style-transfer literature:

- ``"luminance"``: each output takes its brightness (Y of full-range BT.601 YCbCr, as in JPEG)
  from the stylised image and its colour (Cb, Cr) from the content. The stylisation itself is
  unchanged (the image fed back to the next step is the plain one); only what is shown changes.
- ``"match"``: the style image's colours are matched to the content's before it is encoded
  (mean and covariance of RGB, the linear colour transfer); the network then stylises with a
  style that already has the photo's palette.

:func:`chroma_distance` measures how far an output's colours are from the content's.
"""

from __future__ import annotations

import torch

MODES = ("luminance", "match")

# Full-range BT.601 (JPEG): rows give Y, Cb, Cr from R, G, B in [0, 1]
_RGB_TO_YCBCR = torch.tensor([
    [0.299, 0.587, 0.114],
    [-0.168736, -0.331264, 0.5],
    [0.5, -0.418688, -0.081312],
])
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def check_mode(mode: str) -> str:
    """:raises ValueError: a mode other than ``"luminance"`` or ``"match"``"""
    if mode not in MODES:
        raise ValueError(f"colour preservation mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """``N x 3 x H x W`` RGB in [0, 1] -> Y in [0, 1], Cb and Cr in [-0.5, 0.5], same shape."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YCBCR.to(rgb), rgb)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_ycbcr` (not clamped)."""
    return torch.einsum("ij,njhw->nihw", _YCBCR_TO_RGB.to(ycbcr), ycbcr)


def luminance_transfer(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised brightness with the content's colour.

    :param stylised: ``N x 3 x H x W`` float (values outside [0, 1] are clamped first)
    :param content: ``N x 3 x H x W`` or ``1 x 3 x H x W``, in [0, 1]
    :return: ``N x 3 x H x W`` in [0, 1]
    """
    y = rgb_to_ycbcr(stylised.clamp(0.0, 1.0))[:, :1]  # N x 1 x H x W
    chroma = rgb_to_ycbcr(content)[:, 1:].expand(y.shape[0], -1, -1, -1)  # N x 2 x H x W
    return ycbcr_to_rgb(torch.cat([y, chroma], dim=1)).clamp(0.0, 1.0)


def _sqrt_and_inverse(cov: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    values, vectors = torch.linalg.eigh(cov + eps * torch.eye(3, dtype=cov.dtype, device=cov.device))
    root = values.clamp_min(eps).sqrt()
    return (vectors * root) @ vectors.T, (vectors / root) @ vectors.T


def match_colours(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style image with the content's RGB mean and covariance (linear colour transfer).

    ``x' = C_c^(1/2) C_s^(-1/2) (x - m_s) + m_c`` with symmetric matrix square roots.

    :param style: ``1 x 3 x H x W`` in [0, 1]
    :param content: ``1 x 3 x H' x W'`` in [0, 1]
    :return: ``1 x 3 x H x W`` in [0, 1]
    """
    s = style[0].reshape(3, -1).double()  # 3 x HW
    c = content[0].reshape(3, -1).double()
    s_mean, c_mean = s.mean(dim=1, keepdim=True), c.mean(dim=1, keepdim=True)
    _, s_inv_root = _sqrt_and_inverse(torch.cov(s, correction=0))  # defined for one pixel too
    c_root, _ = _sqrt_and_inverse(torch.cov(c, correction=0))
    out = c_root @ s_inv_root @ (s - s_mean) + c_mean
    return out.reshape(style.shape).to(style.dtype).clamp(0.0, 1.0)


def chroma_distance(image: torch.Tensor, content: torch.Tensor) -> float:
    """Mean distance in the CbCr plane between an image and the content, in 8-bit units (0 to ~180).

    :param image: ``N x 3 x H x W`` in [0, 1]
    :param content: the same shape (or batch 1)
    """
    a = rgb_to_ycbcr(image.clamp(0.0, 1.0))[:, 1:]
    b = rgb_to_ycbcr(content.clamp(0.0, 1.0))[:, 1:]
    return float((a - b).square().sum(dim=1).sqrt().mean() * 255.0)
