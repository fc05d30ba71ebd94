"""One trained NER tagger decoded with and without the CRF's scheme constraints.

    python benchmarks/crf_constraints.py RUN_DIR [--data ../shared/data/conll2003/eng.testa]

RUN_DIR is a finished `ner` run (e.g. `benchmarks/ner.py --workdir W`'s
`W/crf_chars`). The script rebuilds its model twice, with
`crf_constraints` on and off, gives both the run's trained weights (the
constraints are config, not weights), and scores both on `--data` (default:
the run's validation data): entity P/R/F1 as conlleval computes them, and
how many decoded sentences are ill-formed in the training scheme
(`tagging.find_malformed`; a strict BIOES reader drops such fragments). The
difference is the effect of constrained decoding alone, with training held
fixed. Nothing is written to RESULTS.md.
"""

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402


def score(run_dir, data, constrained):
    from kerasnlp_seq import runs
    from kerasnlp_seq.tagging import find_malformed

    task, trained, run_config = runs.load_run(run_dir)
    if not hasattr(task.config, "crf_constraints"):
        _results.fail(f"{run_dir}: a {run_config.get('task', 'non-NER')} "
                      "run; give an `ner` run (with a CRF head).")
    task.config = dataclasses.replace(task.config,
                                      crf_constraints=constrained)
    model = task.build_model()
    model.set_weights(trained.get_weights())
    data = data or run_config["valid"]
    if data is None:
        _results.fail(f"{run_dir}: validated on held-back data; give "
                      "--data.")
    examples = task.read(data, "eval")
    metrics = task.evaluate(model, examples)
    predicted = task.predict_tags(model, [ex["tokens"] for ex in examples])
    bad = sum(find_malformed(tags, task.train_scheme) is not None
              for tags in predicted)
    return metrics, bad, len(predicted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data", help="default: the run's validation data")
    args = parser.parse_args()
    results = [score(args.run_dir, args.data, constrained)
               for constrained in (False, True)]
    print("| decoding | F1 | P | R | ill-formed sentences |")
    print("|---|---|---|---|---|")
    for constrained, (metrics, bad, total) in zip((False, True), results):
        print(f"| {'constrained' if constrained else 'free'} | "
              f"{100 * metrics['f1']:.2f} | {100 * metrics['precision']:.2f} "
              f"| {100 * metrics['recall']:.2f} | {bad} of {total} |",
              flush=True)


if __name__ == "__main__":
    _results.guard(main)
