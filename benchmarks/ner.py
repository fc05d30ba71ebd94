"""NER on CoNLL-2003: train on eng.train, select on eng.testa (issue 4).

    python benchmarks/ner.py --only crf_chars --epochs 25 --patience 5
    python benchmarks/ner.py --only softmax_chars --only crf_nochars --epochs 10

Variants: `crf_chars` (the task's defaults: word + character CNN + casing
features, BiLSTM, CRF), `softmax_chars` (softmax head) and `crf_nochars`
(no character features). Each trains through `kerasnlp_seq.runs.train`,
exactly as `kerasnlp-seq train ner --data eng.train --valid eng.testa`
would, with random word embeddings (no pretrained vectors offline), and
records entity F1 on eng.testa (overall and per type, conlleval's way),
epochs, minutes and tokens per second. Run directories stay in `--workdir`
so the held-out test half can be scored independently:
`kerasnlp-seq evaluate WORKDIR/crf_chars --data .../eng.testb`. Nothing
here reads eng.testb.
"""

import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

VARIANTS = {
    "crf_chars": {},
    "softmax_chars": {"head": "softmax"},
    "crf_nochars": {"char_encoder": "none"},
}
TYPES = ("LOC", "MISC", "ORG", "PER")


def run(name, overrides, workdir):
    from kerasnlp_seq import runs

    data = _results.data_path("conll2003", "eng.train")
    valid = _results.data_path("conll2003", "eng.testa")
    task_config, train_config = runs.resolve_config(
        "ner", overrides={**VARIANTS[name], **overrides})
    out = os.path.join(workdir, name)
    start = time.perf_counter()
    run_dir, metrics = runs.train("ner", data=data, valid=valid, output=out,
                                  task_config=task_config,
                                  train_config=train_config, overwrite=True,
                                  verbose=2)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        history = list(csv.DictReader(f))
    seconds = sum(float(r["epoch_seconds"]) for r in history)
    best = max(range(len(history)),
               key=lambda i: float(history[i]["val_tags_f1"]))
    task, _, _ = runs.load_run(run_dir)
    sentences = task.read(data, "train")
    tokens = sum(len(ex["tokens"]) for ex in sentences)
    trained, timed, cut = _results.trained_epochs(history, len(sentences),
                                                  train_config)
    row = {
        "variant": name,
        "val F1": 100 * metrics["f1"],
        "P": 100 * metrics["precision"],
        "R": 100 * metrics["recall"],
        **{f"F1 {k}": 100 * metrics.get(f"f1_{k}", 0.0) for k in TYPES},
        "token acc": 100 * metrics["accuracy"],
        "epochs run (best)": f"{len(history)}{'*' if cut else ''}"
                             f" ({best + 1})",
        "train min": seconds / 60,
        "wall min": wall / 60,
        "train tokens/s": _results.rate(tokens / len(sentences) * trained,
                                        timed),
        "peak RSS MiB (process so far)": _results.peak_rss_mb(),
        "run dir": run_dir,
        "config": json.dumps({**VARIANTS[name], **overrides}),
    }
    with open(os.path.join(run_dir, "benchmark.json"), "w") as f:
        json.dump(row, f, indent=2)
    return row


def main():
    parser = _results.training_parser(__doc__.splitlines()[0],
                                      "/tmp/ner_benchmark", epochs=25,
                                      patience=5)
    parser.add_argument("--only", choices=sorted(VARIANTS), action="append")
    args = parser.parse_args()
    overrides = _results.training_overrides(args)
    rows = []
    for name in args.only or list(VARIANTS):
        rows.append(run(name, overrides, args.workdir))
        print(json.dumps(rows[-1]), flush=True)
    columns = ["variant", "val F1", "P", "R"] + [f"F1 {k}" for k in TYPES] + [
        "token acc", "epochs run (best)", "train min", "wall min",
        "train tokens/s", "peak RSS MiB (process so far)", "config"]
    body = (f"### NER on CoNLL-2003 eng.testa (issue 4)\n\n"
            f"`{_results.command_line()}` on {_results.machine()}, load "
            f"average at the end: {_results.load()}. Random word embeddings; "
            "entity F1 as conlleval computes it, in percent.\n\n"
            f"{_results.table(rows, columns)}\n\n"
            "train tokens/s: tokens trained on (whole epochs, or "
            "steps_per_epoch x batch_size sentences at the mean tokens per "
            "sentence; `*`: the last epoch, cut by the time limit, is left "
            "out) over those epochs' seconds, validation included. Peak "
            "RSS: the process's high-water mark, so a row shows the largest "
            "value over it and the rows before it.\n")
    print(body)
    if not args.no_write:
        _results.write_section("ner-" + "-".join(r["variant"] for r in rows),
                               body)


if __name__ == "__main__":
    _results.guard(main)
