"""Procedural images, so that the environment and the demos run anywhere without image files.

:func:`procedural_content` draws small landscapes (sky, sun or moon, mountain ridges, hills,
houses, trees, a lake with a reflection); :func:`procedural_style` paints strongly textured,
colourful "paintings" (brush strokes, swirls, mosaics, stripes, dots). Both are deterministic
functions of the seed, and geometry is expressed in fractions of the image side, so the same seed
gives the same picture at every size.

:mod:`~styleenv.procedural.landscapes` draws the contents, :mod:`~styleenv.procedural.paintings`
the styles, with the helpers of :mod:`~styleenv.procedural.noise`. Imports only
:mod:`styleenv.pixels` of the project.
"""

from styleenv.procedural.landscapes import procedural_content
from styleenv.procedural.paintings import procedural_style

__all__ = ["procedural_content", "procedural_style"]
