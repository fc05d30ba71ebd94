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


def plot_translation_attention(source_ids, ids, weights, source_tokenizer,
                               target_tokenizer, text, path):
    """Draw one greedy translation's attention, labelled with its tokens.

    Args:
        source_ids: int `(1, s)` tensor. The padded source ids.
        ids: int `(1, t)` tensor. The generated target ids.
        weights: float `(1, t, s)` tensor. The attention weights.
        source_tokenizer, target_tokenizer: `kerasnlp_seq.seq_tokenizers`
            tokenizers of the two sides.
        text: str. The source sentence (for the title).
        path: str. The PNG file to write.
    """
    from kerasnlp_seq.seq_tokenizers import END_ID, JOINER

    def labels(tokenizer, row):
        # One label per id with a row (target) or column (source): up to
        # the end token when one was generated, else all of them (decoding
        # was cut off at the length cap).
        row = [int(i) for i in row]
        if END_ID in row:
            row = row[:row.index(END_ID) + 1]
        tokens = tokenizer.tokens
        # The joiner mark has no glyph in matplotlib's default font.
        return [tokens[i].replace(JOINER, "") if i < len(tokens) else "?"
                for i in row]

    src = labels(source_tokenizer, source_ids.numpy()[0])
    tgt = labels(target_tokenizer, ids.numpy()[0])
    translation = target_tokenizer.decode(ids).numpy()[0].decode("utf-8")
    return plot_attention(weights.numpy()[0], src, tgt, path,
                          title=f"{text}\n-> {translation}")
