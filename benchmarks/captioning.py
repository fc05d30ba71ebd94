"""Image captioning on Flickr8k: train on the train list, select on dev.

    python benchmarks/captioning.py --minutes 45
    python benchmarks/captioning.py --set batch_size=16 --label batch16

Trains through `kerasnlp_seq.runs.train`, exactly as

    kerasnlp-seq train captioning --data DIR?split=train --valid DIR?split=dev

would (the task's defaults: the from-scratch CNN, an LSTM decoder with
Bahdanau attention, beam search), with a wall-clock cap on training
(`--minutes`, the run's `time_limit`: training stops mid-epoch at the cap), early stopping on the
dev loss. It records BLEU-1..4
and CIDEr-D on the dev list (one caption per image, all five references),
epochs, minutes of training, images/s and (image, caption) pairs/s in
training, and peak memory. The run directory stays in `--workdir`, so the
test list can be scored independently: `kerasnlp-seq evaluate WORKDIR/run
--data DIR?split=test`. Nothing here reads the test list.
"""

import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def train_counts(spec):
    """`(images, pairs)` of a caption data spec (no pixels are read)."""
    from kerasnlp_seq.caption_data import read_captions

    records = read_captions(spec, "train")
    return len(records), sum(len(r["captions"]) for r in records)


def run(overrides, workdir, minutes):
    from kerasnlp_seq import runs

    folder = _results.data_path("flickr8k")
    if minutes:  # 0: no cap
        overrides = {**overrides, "time_limit": minutes}
    task_config, train_config = runs.resolve_config(
        "captioning", overrides=overrides)
    out = os.path.join(workdir, "run")
    start = time.perf_counter()
    run_dir, metrics = runs.train(
        "captioning", data=f"{folder}?split=train",
        valid=f"{folder}?split=dev", output=out, task_config=task_config,
        train_config=train_config, overwrite=True, verbose=2)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        history = list(csv.DictReader(f))
    seconds = sum(float(r["epoch_seconds"]) for r in history)
    best = min(range(len(history)),
               key=lambda i: float(history[i]["val_loss"]))
    n_images, n_pairs = train_counts(f"{folder}?split=train")
    # Images trained on: whole epochs (the last one, if the time limit cut
    # it, is left out), or steps_per_epoch batches of batch_size images.
    images, timed, cut = _results.trained_epochs(history, n_images,
                                                 train_config)
    row = {
        **{f"BLEU-{n}": metrics[f"bleu{n}"] for n in range(1, 5)},
        "CIDEr": metrics["cider"],
        "dev images": metrics["images"],
        "epochs run (best)": f"{len(history)}{'*' if cut else ''}"
                             f" ({best + 1})",
        "train min": seconds / 60,
        "wall min": wall / 60,
        "train images/s": _results.rate(images, timed),
        "train pairs/s": _results.rate(images * n_pairs / n_images, timed),
        "train images (pairs)": f"{n_images} ({n_pairs})",
        "peak RSS MiB": _results.peak_rss_mb(),
        "load": _results.load(),
        "run dir": run_dir,
        "config": json.dumps(overrides),
    }
    with open(os.path.join(run_dir, "benchmark.json"), "w") as f:
        json.dump(row, f, indent=2)
    return row


def main():
    parser = _results.training_parser(__doc__.splitlines()[0],
                                      "/tmp/captioning_benchmark", epochs=30,
                                      patience=3)
    parser.add_argument("--minutes", type=_results.nonnegative_float,
                        default=45.0,
                        help="wall-clock cap on training (0: none)")
    parser.add_argument("--label", default="defaults",
                        help="names this run's RESULTS.md section")
    args = parser.parse_args()
    overrides = _results.training_overrides(args)
    row = run(overrides, args.workdir, args.minutes)
    print(json.dumps(row), flush=True)
    columns = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr",
               "epochs run (best)", "train min", "wall min", "train images/s",
               "train pairs/s", "train images (pairs)", "peak RSS MiB", "load", "config"]
    body = (f"### Image captioning on Flickr8k, dev list (issue 6): "
            f"{args.label}\n\n"
            f"`{_results.command_line()}` on {_results.machine()}, load "
            f"average (1/5/15 min) at the end: {_results.load()}. Encoder "
            "trained from scratch on the 160x160 images (no pretrained "
            "weights offline); trained on the train-list images (`train "
            "images (pairs)`), selected on the dev loss; BLEU (sacrebleu, all five "
            "references) and CIDEr-D on the 1000 dev-list images, in [0, 1] "
            "and the usual x10 scale. The test list is not read here. `*`: "
            "the last epoch was cut short by the time limit (images/s and "
            "pairs/s count whole epochs only; with steps_per_epoch, an "
            "epoch is that many batches of batch_size images, pairs at the "
            "mean captions per image; validation time included). Peak "
            "RSS: the process's high-water mark.\n\n"
            f"{_results.table([row], columns)}\n")
    print(body)
    if not args.no_write:
        _results.write_section(f"captioning-{args.label}", body)


if __name__ == "__main__":
    _results.guard(main)
