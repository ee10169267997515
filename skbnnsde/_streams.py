"""The random streams of the sampling methods: one seed per call, one stream per part of a draw.

A draw of ``sample_y`` has three parts: a weight path (the engines' ``sample_noise`` on the
draw's seed), with the Laplace step a draw of the linearised parameters, and the likelihood's
noise. Each comes from a stream of its own, so the parts are independent. Drawn from the seed's
one stream, the noise added to draw 0 was its path's first Brownian increments, and the draws'
spread was not the predictive's. The call's seed in turn comes from a stream of ``random_state``
other than ``fit``'s: the first value of ``random_state``'s stream seeds the initial weights.

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

#: the seeds handed to the engines lie in ``[0, MAX_SEED)``: the int32 range every engine accepts
MAX_SEED = np.iinfo(np.int32).max
#: tags of the streams: far from the small integers that ``member_seed`` and the mixture tag theirs with
SAMPLE_STREAM, LAPLACE_STREAM, NOISE_STREAM = 0x53414D50, 0x4C415043, 0x4E4F4953


def sample_seed(random_state) -> int:
    """The seed of a sampling call's draws for its ``random_state`` (an int, a RandomState or None).

    Examples
    --------
    >>> sample_seed(0) == sample_seed(0), sample_seed(0) == sample_seed(1)
    (True, False)
    """
    first = int(check_random_state(random_state).randint(0, MAX_SEED))
    return derived_seed(first, SAMPLE_STREAM)


def derived_seed(seed: int, tag: int) -> int:
    """The seed of the stream ``tag`` of ``seed``: the first draw of ``default_rng([seed, tag])``.

    A member's seed, a sampling call's and a mixture model's ``random_state`` come from here;
    the generators of a stream (:func:`part_rng`) are the same streams, so a tag names one
    stream whichever of the two reads it.

    Examples
    --------
    >>> derived_seed(7, 1) == derived_seed(7, 1), derived_seed(7, 1) == derived_seed(7, 2)
    (True, False)
    """
    return int(np.random.default_rng([int(seed), int(tag)]).integers(MAX_SEED))


def part_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of the stream ``stream`` of ``seed``: one part of a draw (``LAPLACE_STREAM``,
    ``NOISE_STREAM``) or any other tagged stream (the mixture's choice of models, the prior's
    read-outs).

    Examples
    --------
    >>> a, b = part_rng(3, NOISE_STREAM).standard_normal(2), part_rng(3, LAPLACE_STREAM).standard_normal(2)
    >>> bool((a != b).all()), bool((a == part_rng(3, NOISE_STREAM).standard_normal(2)).all())
    (True, True)
    """
    return np.random.default_rng([int(seed), int(stream)])
