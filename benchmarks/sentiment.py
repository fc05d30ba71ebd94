"""Sentiment on real data: IMDB (train half, 10% held back) and SST-2 (dev).

    python benchmarks/sentiment.py                 # imdb and sst2, defaults
    python benchmarks/sentiment.py --only imdb --set epochs=4
    python benchmarks/sentiment.py --only imdb_movies   # movie-grouped split

Trains with the task's defaults (plus any `--set key=value` overrides)
through `kerasnlp_seq.runs.train`, exactly as `kerasnlp-seq train sentiment`
would, and records validation accuracy, minutes of training, real
(non-padding) tokens per second and peak memory in benchmarks/RESULTS.md
(unless `--no-write`). Tokens/s counts what was trained on: whole epochs,
or with `--set steps_per_epoch=N` N batches of `batch_size` reviews at the
training set's mean real tokens per review; an epoch cut short by
`--set time_limit=MIN` is left out (`*`).
The IMDB test half is held out for independent scoring; nothing here reads it.

`imdb` validates on a random, stratified 10% of the train half (the task's
`--valid-fraction`), so its validation reviews share movies with training
ones; the test half's movies are disjoint from the train half's (aclImdb
README). `imdb_movies` holds out instead the last 10% of review ids of each
class. aclImdb numbers a class's reviews movie by movie (`urls_pos.txt`
line i is review i's movie page; here, reviews with consecutive ids share
30-50 times as many capitalised names as random pairs), so an id block is
a block of whole movies. Only the movies at the block's edge and those
with reviews in both classes (pos and neg ids are numbered independently)
can straddle the split. It is the closer stand-in for the test half. The
two files it trains and validates on are written to the temporary work
directory and deleted with it.
"""

import argparse
import csv
import gzip
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

DATASETS = {
    "imdb": dict(data=("imdb", "imdb_train.csv.gz"), valid=None,
                 task={"text_column": "review", "label_column": "sentiment"}),
    "imdb_movies": dict(data=("imdb", "imdb_train.csv.gz"), valid=None,
                        holdout_ids=0.1,
                        task={"text_column": "review",
                              "label_column": "sentiment"}),
    "sst2": dict(data=("sst2", "train.tsv"), valid=("sst2", "dev.tsv"),
                 task={"text_column": "sentence", "label_column": "label"}),
}


def real_tokens(task, examples):
    """Non-padding tokens the model sees per epoch (after truncation):
    words, or characters for a characters-only model."""
    import numpy as np

    total = 0
    for start in range(0, len(examples), 2048):
        texts = [ex["text"] for ex in examples[start:start + 2048]]
        ids = task.encode_texts(texts)
        if isinstance(ids, dict):  # words (and characters): count words
            ids = ids.get("token_ids", ids.get("char_ids"))
        total += int(np.count_nonzero(ids.numpy()))
    return total


def split_by_id(path, fraction, workdir):
    """Writes `path`'s rows to train / valid CSVs in `workdir`: valid gets
    each class's reviews whose id (from the `file` column, e.g.
    `train/pos/123_9.txt`) is in the top `fraction` of that class's ids."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = []
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                label, name = row["file"].split("/")[-2:]
                rows.append((label, int(name.split("_")[0]), row))
            except (KeyError, ValueError):
                sys.exit(f"{path}: line {line}: expected a `file` column "
                         "like train/pos/123_9.txt (aclImdb's id_rating).")
    ids = {}
    for label, review_id, _ in rows:
        ids.setdefault(label, []).append(review_id)
    cut = {label: sorted(v)[int(len(v) * (1 - fraction))]
           for label, v in ids.items()}
    paths = []
    for part, held in (("train", False), ("valid", True)):
        paths.append(os.path.join(workdir, f"imdb_{part}.csv"))
        with open(paths[-1], "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["review", "sentiment"])
            writer.writerows([row["review"], row["sentiment"]]
                             for label, review_id, row in rows
                             if (review_id >= cut[label]) == held)
    return paths


def run(name, overrides, train_overrides, workdir):
    from kerasnlp_seq import runs

    spec = DATASETS[name]
    data = _results.data_path(*spec["data"])
    valid = _results.data_path(*spec["valid"]) if spec["valid"] else None
    if spec.get("holdout_ids"):
        data, valid = split_by_id(data, spec["holdout_ids"], workdir)
    task_config, train_config = runs.resolve_config(
        "sentiment", overrides={**spec["task"], **overrides, **train_overrides})
    out = os.path.join(workdir, name)
    start = time.perf_counter()
    run_dir, metrics = runs.train("sentiment", data=data, valid=valid,
                                  output=out, task_config=task_config,
                                  train_config=train_config, verbose=2)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        history = list(csv.DictReader(f))
    train_seconds = sum(float(r["epoch_seconds"]) for r in history)
    task, _, _ = runs.load_run(run_dir)
    examples = task.read(data, "train")
    if valid is None:
        examples, _ = task.split_validation(
            examples, train_config.valid_fraction, train_config.seed)
    tokens = real_tokens(task, examples)
    trained, timed, cut = _results.trained_epochs(history, len(examples),
                                                  train_config)
    best = min(range(len(history)),
               key=lambda i: float(history[i]["val_loss"]))
    return {
        "dataset": name,
        "train / valid": f"{len(examples)} / {metrics['support']}",
        "val accuracy": metrics["accuracy"],
        "val macro F1": metrics["f1"],
        "epochs run (best)": f"{len(history)}{'*' if cut else ''}"
                             f" ({best + 1})",
        "train min": train_seconds / 60,
        "wall min": wall / 60,
        "real tokens/s": _results.rate(tokens / len(examples) * trained,
                                       timed),
        "peak RSS MiB (process so far)": _results.peak_rss_mb(),
        "config": json.dumps({k: v for k, v in task_config.__dict__.items()
                              if k in ("cell", "units", "num_layers",
                                       "bidirectional", "pooling",
                                       "max_length", "vocab_size")}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(DATASETS), action="append")
    parser.add_argument("--set", action="append", default=[],
                        type=_results.override,
                        help="task or train option override, key=json_value")
    parser.add_argument("--no-write", action="store_true",
                        help="print the results only; leave RESULTS.md "
                        "alone")
    args = parser.parse_args()
    overrides = _results.parse_overrides(args.set)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.only or ("imdb", "sst2"):
            rows.append(run(name, overrides, {}, workdir))
            print(json.dumps(rows[-1]), flush=True)
    columns = ["dataset", "train / valid", "val accuracy", "val macro F1",
               "epochs run (best)", "train min", "wall min", "real tokens/s",
               "peak RSS MiB (process so far)", "config"]
    for row in rows:
        body = (f"### Sentiment on {row['dataset']} (issue 2)\n\n"
                f"`{_results.command_line()}` on {_results.machine()}, "
                f"load average during the run: {_results.load()}\n\n"
                f"{_results.table([row], columns)}\n\n"
                "real tokens/s: non-padding tokens trained on (whole "
                "epochs, or steps_per_epoch x batch_size reviews at the mean "
                "tokens per review; `*`: the last epoch, cut by the time "
                "limit, is left out) over those epochs' seconds, validation "
                "included. Peak RSS: the process's high-water mark, over "
                "this row and the rows the same command ran before it.\n")
        print(body)
        if not args.no_write:
            _results.write_section(f"sentiment-{row['dataset']}", body)

if __name__ == "__main__":
    _results.guard(main)
