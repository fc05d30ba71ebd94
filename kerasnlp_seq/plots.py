"""Plots of a run: the training curve from `history.csv`."""

import csv


def plot_history(history_csv, path):
    """Draw loss and every metric per epoch (train and validation) to a PNG.

    Args:
        history_csv: str. The CSVLogger file of the run.
        path: str. The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with open(history_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    # Losses and metrics; timing and gradient diagnostics have their own
    # columns in history.csv and TensorBoard.
    names = [k for k in rows[0] if k != "epoch" and not k.startswith("val_")
             and "/" not in k and k not in (
                 "learning_rate", "epoch_seconds", "clip_fraction")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5),
                             squeeze=False)
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, name in zip(axes[0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--o")):
            if key in rows[0]:
                values = [float(r[key]) if r[key] else float("nan")
                          for r in rows]
                ax.plot(epochs, values, style, label=key, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
