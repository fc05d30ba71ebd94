"""Attention heatmaps: which source tokens each target token attended to."""

import numpy as np


def plot_attention(weights, source_tokens, target_tokens, path, title=None):
    """Draw attention weights as a heatmap PNG (rows: target, columns: source).

    Args:
        weights: array-like `(len(target_tokens), len(source_tokens))` or
            larger (extra rows and columns, e.g. padding, are cut off).
        source_tokens: list of str. Column labels.
        target_tokens: list of str. Row labels.
        path: str. The PNG file to write.
        title: str or None. The figure title.

    Returns:
        `path`.

    Example:

    >>> plot_attention([[0.9, 0.1], [0.2, 0.8]], ["hola", "mundo"],
    ...                ["hello", "world"], "attention.png")
    'attention.png'
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 2:
        raise ValueError(
            "`weights` must be 2-D (target x source). Received: "
            f"shape={weights.shape}")
    rows, cols = len(target_tokens), len(source_tokens)
    if weights.shape[0] < rows or weights.shape[1] < cols:
        raise ValueError(
            f"`weights` of shape {weights.shape} cannot cover {rows} target "
            f"x {cols} source tokens.")
    weights = weights[:rows, :cols]
    size = (max(4.0, 0.45 * cols + 2.0), max(3.0, 0.4 * rows + 1.5))
    fig, ax = plt.subplots(figsize=size)
    image = ax.imshow(weights, cmap="viridis", vmin=0.0,
                      vmax=max(1e-6, float(weights.max()) if weights.size
                               else 1.0), aspect="auto")
    ax.set_xticks(range(cols))
    ax.set_xticklabels(source_tokens, rotation=60, ha="right")
    ax.set_yticks(range(rows))
    ax.set_yticklabels(target_tokens)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
