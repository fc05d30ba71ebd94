"""Attention plots of captions: where the model looked for each word.

`plot_caption_attention` draws the image once per generated word, with that
word's attention over the spatial feature map upsampled and overlaid as a
heat map, in a grid of panels (`kerasnlp-seq predict RUN IMAGE
--attention-plot FILE.png`).
"""

import math

import numpy as np


def plot_caption_attention(pixels, tokens, weights, path, title=None,
                           columns=5):
    """Write a grid of per-word attention overlays to a PNG.

    Args:
        pixels: `uint8` array `(S, S, 3)`. The image as the model saw it.
        tokens: list of str. The generated words, the end token when one
            was generated (none when the length cap cut the caption).
        weights: array `(len(tokens), h, w)`. Attention per word over the
            feature map.
        path: str. The PNG file to write.
        title: str or None. A title above the grid.
        columns: int. Panels per row.

    Returns:
        `path`.

    Example:

    >>> plot_caption_attention(np.zeros((32, 32, 3), "uint8"), ["a", "dog"],
    ...                        np.full((2, 4, 4), 1 / 16), "attention.png")
    'attention.png'
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, np.float32)
    if weights.ndim != 3 or len(weights) != len(tokens):
        raise ValueError(
            "Expected one (h, w) attention map per token. Received: "
            f"{len(tokens)} tokens, weights.shape={weights.shape}")
    n = max(1, len(tokens))
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows),
                             squeeze=False)
    size = pixels.shape[0]
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(tokens):
            continue
        ax.imshow(pixels)
        peak = weights[i].max()
        heat = weights[i] / peak if peak > 0 else weights[i]
        ax.imshow(heat, cmap="jet", alpha=0.45, interpolation="bilinear",
                  extent=(-0.5, size - 0.5, size - 0.5, -0.5), vmin=0.0,
                  vmax=1.0)
        ax.set_title(tokens[i], fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
