"""Translation benchmark: Multi30k en->de and Anki spa->eng (issue 5).

    python benchmarks/translation.py --dataset multi30k --minutes 45
    python benchmarks/translation.py --dataset anki --minutes 20

Each run trains through `kerasnlp_seq.runs.train`, exactly as

    kerasnlp-seq train translation --data .../multi30k/train \\
        --valid .../multi30k/val --source en --target de

would (the task's defaults: subword units learned by BPE, one 6k vocabulary
shared by both sides, BiGRU encoder 2x256, GRU decoder 256 with Luong
attention, dropout 0.2, label smoothing 0.1, batch 64, Adam 1e-3 with cosine
decay, clipnorm 5),
with a wall-clock cap on training: `--minutes` is the run's `time_limit`
(training stops mid-epoch at the cap; the cut epoch is still validated;
the cosine schedule reaches its lowest rate there), and early stopping's
restore keeps the best-on-val weights. Multi30k's val (1014 pairs) selects the model (early stopping on
val loss) and is scored; test2016 is not here and is scored independently:
`kerasnlp-seq evaluate WORKDIR/multi30k --data .../test2016` with `.en` /
`.de` files beside it. Anki spa->eng holds back a seeded 2% of spa.txt
(`TrainConfig.valid_fraction=0.02`, `seed=1337`, the task's
`split_validation`) as its test set, and reads the file as
`--source 1 --target 0` (English is the first column).

Scores: sacreBLEU BLEU and chrF on detokenized, cased output, and
`bleu_tok_lc` (13a-tokenized, lower-cased BLEU, the Multi30k literature's
number), for greedy and for beam search (the task's defaults: width 5,
length penalty 1.5), with decoding speed, training minutes, target tokens/s
and peak RSS.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

DATASETS = {
    "multi30k": dict(data=("multi30k", "train"), valid=("multi30k", "val"),
                     overrides={"source": "en", "target": "de"}),
    "anki": dict(data=("anki_spa_eng", "spa.txt"), valid=None,
                 overrides={"source": "1", "target": "0",
                            "valid_fraction": 0.02}),
}


def score(task, model, examples, method):
    from kerasnlp_seq.translation_metrics import translation_scores

    start = time.perf_counter()
    hypotheses = task.translate(model, [ex["source"] for ex in examples],
                                method=method)
    seconds = time.perf_counter() - start
    scores = translation_scores(hypotheses, [ex["target"] for ex in examples])
    return scores, len(examples) / seconds, hypotheses


def run(name, overrides, workdir, minutes):
    import csv

    from kerasnlp_seq import runs

    spec = DATASETS[name]
    data = _results.data_path(*spec["data"])
    valid = _results.data_path(*spec["valid"]) if spec["valid"] else None
    limit = {"time_limit": minutes} if minutes else {}
    task_config, train_config = runs.resolve_config(
        "translation", overrides={**spec["overrides"], **overrides, **limit})
    out = os.path.join(workdir, name)
    start = time.perf_counter()
    run_dir, _ = runs.train("translation", data=data, valid=valid,
                            output=out, task_config=task_config,
                            train_config=train_config, overwrite=True,
                            verbose=2)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        history = list(csv.DictReader(f))
    seconds = sum(float(r["epoch_seconds"]) for r in history)
    best = min(range(len(history)),
               key=lambda i: float(history[i]["val_loss"]))
    task, model, _ = runs.load_run(run_dir)
    train = task.read(data, "train")
    if valid:
        held_out = task.read(valid, "valid")
    else:
        train, held_out = task.split_validation(
            train, train_config.valid_fraction, train_config.seed)
    _, targets = task.encode_pairs(train)
    target_tokens = sum(len(t) + 1 for t in targets)  # + end token
    # Pairs trained on: whole epochs (a last epoch cut by the time limit
    # left out), or steps_per_epoch batches of batch_size pairs.
    pairs, timed, cut = _results.trained_epochs(history, len(targets),
                                                train_config)
    rows = []
    for method in ("greedy", "beam"):
        scores, speed, hyps = score(task, model, held_out, method)
        rows.append({
            "data": name, "decoding": method,
            "BLEU": scores["bleu"], "chrF": scores["chrf"],
            "BLEU tok lc": scores["bleu_tok_lc"],
            "sent/s decode": speed,
            "epochs (best)": f"{len(history)}{'*' if cut else ''}"
                             f" ({best + 1})",
            "val loss": float(history[best]["val_loss"]),
            "val tok acc": float(history[best]["val_token_accuracy"]),
            "train min": seconds / 60, "wall min": wall / 60,
            "train tgt tokens/s": _results.rate(
                target_tokens / len(targets) * pairs, timed),
            "peak RSS MiB (process so far)": _results.peak_rss_mb(),
            "held out": len(held_out),
        })
        with open(os.path.join(run_dir, f"hyps_{method}.txt"), "w",
                  encoding="utf-8") as f:
            f.writelines(h + "\n" for h in hyps)
    with open(os.path.join(run_dir, "benchmark.json"), "w") as f:
        json.dump({"rows": rows, "signature": scores["bleu_signature"],
                   "overrides": {**spec["overrides"], **overrides}}, f,
                  indent=2)
    return rows


def notes(datasets, minutes):
    """The text under the table's heading, for the data sets that ran."""
    text = (f"Training capped at {minutes:g} minutes per data set. "
            if minutes else "No cap on training time. ")
    if "multi30k" in datasets:
        text += ("Multi30k en->de: train on train, select and score on val "
                 "(1014 pairs). ")
    if "anki" in datasets:
        text += "Anki spa->eng: seeded 2% held out (seed 1337). "
    return text + (
        "sacreBLEU on detokenized cased output; `BLEU tok lc` is sacreBLEU "
        "with tokenize=13a and lowercase=True (the literature's tokenized "
        "lower-cased BLEU). `val loss` includes label smoothing (0.1); with "
        "`--set steps_per_epoch=N` an epoch is N batches. `train tgt "
        "tokens/s`: target tokens trained on (whole epochs, or N x "
        "batch_size pairs at the mean target tokens per pair; `*`: the last "
        "epoch, cut by the time limit, is left out) over those epochs' "
        "seconds, validation included. Peak RSS: the process's high-water "
        "mark, over this row and every row before it.")


def main():
    parser = _results.training_parser(__doc__.splitlines()[0],
                                      "/tmp/translation_benchmark",
                                      epochs=40, patience=3)
    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        action="append")
    parser.add_argument("--minutes", type=_results.nonnegative_float,
                        default=45.0,
                        help="training time cap per data set (0: none)")
    args = parser.parse_args()
    overrides = _results.training_overrides(args)
    rows = []
    for name in args.dataset or ["multi30k"]:
        rows += run(name, overrides, args.workdir, args.minutes)
        print(json.dumps(rows[-2:]), flush=True)
    columns = ["data", "decoding", "BLEU", "chrF", "BLEU tok lc",
               "sent/s decode", "epochs (best)", "val loss", "val tok acc",
               "train min", "wall min",
               "train tgt tokens/s", "peak RSS MiB (process so far)",
               "held out"]
    body = (f"### Translation (issue 5)\n\n"
            f"`{_results.command_line()}` on {_results.machine()}, load "
            f"average at the end: {_results.load()} (the cores are shared "
            "with other work). "
            + notes(args.dataset or ["multi30k"], args.minutes) + "\n\n"
            f"{_results.table(rows, columns)}\n")
    print(body)
    if not args.no_write:
        _results.write_section(
            "translation-" + "-".join(args.dataset or ["multi30k"]), body)


if __name__ == "__main__":
    _results.guard(main)
