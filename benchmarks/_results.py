"""Shared helpers of the benchmark scripts: a table, peak memory, RESULTS.md."""

import os
import platform
import re
import resource
import shlex
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "..", "shared", "data")


def data_path(*parts):
    """A file of the shared benchmark data (read in place, never copied)."""
    return os.path.normpath(os.path.join(
        os.environ.get("KERASNLP_SEQ_DATA", DATA), *parts))


def parse_overrides(items):
    """`--set key=value` items -> dict; values parsed as JSON where they can be."""
    import json

    overrides = {}
    for item in items:
        key, _, value = override(item).partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def override(text):
    """An argparse type: `key=value` with a non-empty key (`--set`)."""
    import argparse

    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected key=value (e.g. epochs=3), got {text!r}")
    return text


def _number(kind, low, inclusive, text):
    import argparse

    try:
        value = kind(text)
    except ValueError:
        value = None
    ok = value is not None and value == value and (
        value >= low if inclusive else value > low)
    if not ok:
        name = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"expected {name} {'>=' if inclusive else '>'} {low:g}, "
            f"got {text!r}")
    return value


def positive_int(text):
    """An argparse type: an int >= 1."""
    return _number(int, 1, True, text)


def nonnegative_int(text):
    """An argparse type: an int >= 0."""
    return _number(int, 0, True, text)


def positive_float(text):
    """An argparse type: a float > 0."""
    return _number(float, 0, False, text)


def nonnegative_float(text):
    """An argparse type: a float >= 0."""
    return _number(float, 0, True, text)


def _int_pair(text, sep, low, expected):
    """`"A<sep>B"` -> `(A, B)`, both ints >= `low`, or an argparse error
    that says what was `expected`."""
    import argparse

    first, found, second = text.lower().partition(sep)
    try:
        pair = (int(first), int(second))
    except ValueError:
        pair = (low - 1, low - 1)
    if not found or min(pair) < low:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return pair


def thread_spec(text):
    """An argparse type: `INTRA:INTER` -> `(intra, inter)`, two ints >= 0
    (TensorFlow's intra-op and inter-op thread pools; 0: its choice)."""
    return _int_pair(text, ":", 0, "INTRA:INTER, two ints >= 0 (0: "
                     "TensorFlow's choice)")


def shape(text):
    """An argparse type: `BATCHxLENGTH` -> `(batch, length)`, both >= 1."""
    return _int_pair(text, "x", 1, "BATCHxLENGTH, two ints >= 1 (e.g. "
                     "64x200)")


def fail(message):
    """End the script: `error: message` on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def guard(main):
    """Run `main()`; the toolkit's errors (`KerasNLPSeqError`: bad options,
    data or run directories) and `OSError` end it with one line,
    `error: message` on stderr, and exit status 2. Anything else is a bug
    and keeps its traceback."""
    try:
        return main()
    except OSError as e:
        message = (f"{e.filename}: {e.strerror}"
                   if e.filename and e.strerror else str(e))
    except ValueError as e:  # KerasNLPSeqError is a ValueError
        errors = sys.modules.get("kerasnlp_seq.errors")
        if errors is None or not isinstance(e, errors.KerasNLPSeqError):
            raise
        message = str(e)
    fail(message.splitlines()[0] if message else "failed")


def training_parser(description, workdir, epochs, patience):
    """An `argparse` parser with the options every training benchmark takes:
    `--epochs`, `--patience`, `--set key=value` (repeatable), `--workdir`
    and `--no-write`; a script adds its own before `parse_args()`."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=positive_int, default=epochs)
    parser.add_argument("--patience", type=nonnegative_int, default=patience)
    parser.add_argument("--set", action="append", default=[], type=override,
                        help="task or train option override, key=json_value")
    parser.add_argument("--workdir", default=workdir)
    parser.add_argument("--no-write", action="store_true")
    return parser


def training_overrides(args):
    """The run options of parsed `training_parser` arguments: epochs,
    patience, then every `--set` (which wins)."""
    return {"epochs": args.epochs, "patience": args.patience,
            **parse_overrides(args.set)}


def trained_epochs(history, examples, train_config):
    """What the throughput of a run divides: `(examples, seconds, cut)`.

    `history`: the rows of the run's history.csv; `examples`: the size of
    its training set. An epoch trains on the whole set, or with
    `train_config.steps_per_epoch` on that many batches of
    `train_config.batch_size` examples (the dataset repeats, so an epoch
    may be more or less than the set; with `batch_tokens` batches can be
    smaller, and the count is an upper bound). An epoch cut short by
    `train_config.time_limit` (`cut`: True) trained on an unknown part of
    that, so it counts neither its examples nor its seconds; `seconds` is
    0 when no epoch was whole. Epoch seconds include each epoch's
    validation, as `epoch_seconds` does.
    """
    seconds = [float(r["epoch_seconds"]) for r in history]
    limit = getattr(train_config, "time_limit", None)
    cut = bool(limit) and sum(seconds) >= 0.99 * 60 * limit
    whole = seconds[:-1] if cut else seconds
    steps = getattr(train_config, "steps_per_epoch", None)
    per_epoch = steps * train_config.batch_size if steps else examples
    return per_epoch * len(whole), sum(whole), cut


def rate(amount, seconds):
    """`amount / seconds`, or "-" when nothing was timed."""
    return amount / seconds if seconds > 0 else "-"


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux: KiB).

    The high-water mark of the whole process: in a script that runs several
    rows one after another, a later row's value is the maximum over it and
    every row before it, never less (label such a column "process so
    far")."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows, columns):
    """A markdown table of dict rows."""
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def command_line():
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def load():
    """The 1, 5 and 15 minute load averages (other work shares the cores)."""
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def machine():
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


HEADER = """# Benchmark results

Each block between `<!-- BEGIN name -->` and `<!-- END name -->` is written by the script it
names, and a later run of that script (without `--no-write`) replaces it. Notes after an END marker
are written by hand, from runs whose commands they quote, and are kept.
"""


def write_section(name, body):
    """Replace (or append) the block `name` of benchmarks/RESULTS.md.

    Only the text between the block's BEGIN and END markers is replaced:
    hand-written notes about a run go after its END marker, so a re-run of
    the script does not erase them.
    """
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = open(RESULTS, encoding="utf-8").read() if os.path.exists(RESULTS) \
        else HEADER
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda m: block, text) if pattern.search(text) \
        else text.rstrip() + "\n\n" + block + "\n"
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(text)
