"""Image augmentation as pure functions of ``(images, rng)``, batched and vectorised across the batch.

Each transform is a small frozen record called as ``transform(images, rng) -> images``: ``images`` is
an ``(n, H, W)`` float32 or float64 array, returned as a new array of the same shape and dtype (the
input is never written); ``rng`` is a ``numpy.random.Generator`` (or an int seed for a fresh one), the
only source of randomness. Parameters are drawn per image. ``fill`` is the value given to pixels that
come from outside the image: with standardised data pass the standardised value of a blank pixel.

- ``transforms``: ``Shift(max_pixels)``, integer translations; ``Affine(rotation, scale, shear,
  translation)``, bilinear affine maps about the image centre; ``Elastic(alpha, sigma)``, Simard,
  Steinkraus and Platt's (2003) elastic distortions; and ``move``, which runs consecutive ones as one
  map per image, sampled once.
- ``compose``: ``Compose(steps)``, several in turn, each with a probability per image.
- ``rows``: ``RowAugment(transform, image_shape)`` and ``augment_rows``, the same on flattened
  ``(n, H*W)`` rows, the form ``fit`` takes.
- ``_sampling``: bilinear sampling and whole-pixel shifts of many images at once; ``_arguments``: the
  argument checks.
- ``fnmlp.training.augment_spec``: ``Compose`` records from command-line tokens, and back.

Coordinates: ``y`` is the row (down), ``x`` the column; a pixel's value sits at its integer
coordinates and the centre is ``((H - 1) / 2, (W - 1) / 2)``. Bilinear sampling treats the image as
surrounded by ``fill``: a source point within one pixel of the border blends border pixels and ``fill``.

``transform.batched(images, batch_size, rng, rows=None)`` (``Compose``, the three transforms and
``RowAugment``) gives what the transform gives on each batch of ``batch_size`` of ``images[rows]`` in
turn, bit for bit, in one call: ``fit`` augments 1,024 images a call that way.
"""

from .compose import Compose
from .rows import RowAugment, augment_rows
from .transforms import ENERGY_LEFT, Affine, Elastic, Shift

__all__ = ["Affine", "Compose", "ENERGY_LEFT", "Elastic", "RowAugment", "Shift", "augment_rows"]
