"""Spam detection on the SMS Spam Collection: 30/70 split and 5-fold CV.

    python benchmarks/spam.py                      # both protocols
    python benchmarks/spam.py --only cv --set representation=char

Protocols (both stratified by class and seeded, `--seed`):

- `split`: the protocol of Almeida et al. 2011 -- 30% of the messages to
  train, 70% to test. Their best (linear SVM): accuracy 97.64%, MCC 0.893,
  spam caught 83.1%, blocked ham 0.18%.
- `cv`: 5-fold cross-validation; every message is tested once; mean and
  standard deviation over the folds.

Each training set gives up `valid_fraction` (10%, stratified) as validation
data for early stopping and for choosing the decision threshold; the test
part is scored only once, at the end, with `SpamTask.evaluate` -- the steps
of `kerasnlp-seq train spam` (`kerasnlp_seq.runs`), minus the export. The
data file is read in place. Reports every metric of the task, training time,
training and prediction throughput (messages per second) and peak memory.

Unlike the other benchmarks, it leaves benchmarks/RESULTS.md alone unless
`--write` is given; `--no-write` (the default) is accepted too, so the
same `--no-write` works with every script.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc",
           "spam_caught", "blocked_ham")
PEAK = "peak RSS MiB (process so far)"
ANCHOR = {"protocol": "Almeida et al. 2011, linear SVM (30/70)",
          "accuracy": 0.9764, "mcc": 0.893, "spam_caught": 83.1,
          "blocked_ham": 0.18}


def stratified_folds(examples, k, seed):
    """`k` lists of indices, each class dealt round-robin after a shuffle."""
    rng = random.Random(seed)
    folds = [[] for _ in range(k)]
    by_class = {}
    for i, ex in enumerate(examples):
        by_class.setdefault(ex["label"], []).append(i)
    offset = 0
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(j + offset) % k].append(i)
        offset += len(idx)
    return [sorted(f) for f in folds]


def train_and_test(task_config, train_config, train, test, workdir):
    """Fit as `runs.train` does, choose the threshold, score `test`."""
    import keras

    from kerasnlp_seq.run_callbacks import make_callbacks
    from kerasnlp_seq.training import make_optimizer
    from tasks.spam import SpamTask

    keras.utils.set_random_seed(train_config.seed)
    os.makedirs(workdir, exist_ok=True)
    task = SpamTask(task_config)
    train, valid = task.split_validation(
        train, train_config.valid_fraction, train_config.seed)
    task.adapt(train)
    train_ds = task.dataset(train, train_config.batch_size, training=True,
                            seed=train_config.seed)
    valid_ds = task.dataset(valid, train_config.batch_size, training=False)
    model = task.build_model()
    model.compile(optimizer=make_optimizer(train_config),
                  **task.compile_args())
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=valid_ds,
                        epochs=train_config.epochs, verbose=2, shuffle=False,
                        callbacks=make_callbacks(task, train_config, workdir))
    train_seconds = time.perf_counter() - start
    epochs = len(history.history["loss"])
    task.after_fit(model, train, valid, workdir)
    start = time.perf_counter()
    metrics = task.evaluate(model, test)
    predict_seconds = time.perf_counter() - start
    metrics.update(
        train_seconds=train_seconds, epochs=epochs,
        train_msgs_per_s=len(train) * epochs / train_seconds,
        predict_msgs_per_s=len(test) / predict_seconds,
        params=model.count_params())
    return metrics


def run_split(examples, task_config, train_config, seed, workdir):
    from tasks.spam import SpamTask

    rest, train = SpamTask(task_config).split_validation(examples, 0.3, seed)
    print(f"split: {len(train)} train (incl. validation), {len(rest)} test",
          flush=True)
    return [train_and_test(task_config, train_config, train, rest,
                           os.path.join(workdir, "split"))]


def run_cv(examples, task_config, train_config, seed, workdir, k=5):
    results = []
    folds = stratified_folds(examples, k, seed)
    for i, fold in enumerate(folds):
        held = set(fold)
        train = [ex for j, ex in enumerate(examples) if j not in held]
        test = [examples[j] for j in fold]
        print(f"fold {i + 1}/{k}: {len(train)} train, {len(test)} test",
              flush=True)
        results.append(train_and_test(task_config, train_config, train, test,
                                      os.path.join(workdir, f"fold{i}")))
    return results


def summarise(name, results):
    import numpy as np

    row = {"protocol": name}
    for key in METRICS + ("train_seconds", "epochs", "train_msgs_per_s",
                          "predict_msgs_per_s"):
        values = np.array([r[key] for r in results], dtype=float)
        scale = 100.0 if key in ("accuracy", "precision", "recall", "f1") \
            else 1.0
        if len(values) == 1:
            row[key] = f"{scale * values[0]:.4g}"
        else:
            row[key] = (f"{scale * values.mean():.4g} ± "
                        f"{scale * values.std(ddof=1):.2g}")
    row["blocked ham (count)"] = "+".join(str(r["fp"]) for r in results)
    row["missed spam (count)"] = "+".join(str(r["fn"]) for r in results)
    return row


def parse_sets(items):
    """`["units=64", "cell=lstm"]` -> `{"units": 64, "cell": "lstm"}`."""
    return _results.parse_overrides(items)


def fold_count(text):
    """An argparse type: cross-validation needs 2 folds or more."""
    import argparse

    value = _results.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"cross-validation needs at least 2 folds, got {text!r}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["split", "cv"])
    parser.add_argument("--folds", type=fold_count, default=5)
    parser.add_argument("--seed", type=int, default=42,
                        help="Seed of the split and the folds.")
    parser.add_argument("--set", action="append", default=[],
                        type=_results.override,
                        help="A task or train option, key=value (JSON).")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true",
                         help="Also write the section of RESULTS.md.")
    writing.add_argument("--no-write", action="store_true",
                         help="Print the results only (the default).")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    from kerasnlp_seq import runs
    from tasks.spam import SpamTask

    task_config, train_config = runs.resolve_config(
        "spam", overrides=parse_sets(args.set))
    data = _results.data_path("sms_spam", "SMSSpamCollection")
    examples = SpamTask(task_config).read(data, "train")
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        if args.only in (None, "split"):
            rows.append(summarise("30% train / 70% test", run_split(
                examples, task_config, train_config, args.seed, workdir)))
            rows[-1][PEAK] = f"{_results.peak_rss_mb():.0f}"
        if args.only in (None, "cv"):
            rows.append(summarise(f"{args.folds}-fold CV", run_cv(
                examples, task_config, train_config, args.seed, workdir,
                args.folds)))
            rows[-1][PEAK] = f"{_results.peak_rss_mb():.0f}"
    columns = ["protocol", "accuracy", "precision", "recall", "f1", "mcc",
               "roc_auc", "spam_caught", "blocked_ham", "blocked ham (count)",
               "missed spam (count)", "epochs", "train_seconds",
               "train_msgs_per_s", "predict_msgs_per_s", PEAK]
    body = "\n".join([
        "## Spam: SMS Spam Collection (5,574 messages, 747 spam)",
        "",
        f"Command: `{_results.command_line()}`  ",
        f"Machine: {_results.machine()}; wall time "
        f"{(time.perf_counter() - start) / 60:.1f} min; peak RSS "
        f"{_results.peak_rss_mb():.0f} MiB.  ",
        "accuracy, precision, recall, f1 in %; spam_caught, blocked_ham in "
        "%; counts per test part; times in seconds; peak RSS: the "
        "process's high-water mark at the end of the row's protocol (the "
        "second row's includes the first's).",
        "",
        _results.table(rows, columns),
        "",
        f"Anchor: {ANCHOR['protocol']}: accuracy 97.64%, MCC 0.893, spam "
        "caught 83.1%, blocked ham 0.18%.",
        "Task config: `" + json.dumps({k: v for k, v in
                                       task_config.__dict__.items()}) + "`",
        "Train config: `" + json.dumps(train_config.__dict__) + "`",
    ])
    print(body)
    if args.write:
        _results.write_section("spam", body)


if __name__ == "__main__":
    _results.guard(main)
