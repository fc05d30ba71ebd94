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
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def training_parser(description, workdir, epochs, patience):
    """An `argparse` parser with the options every training benchmark takes:
    `--epochs`, `--patience`, `--set key=value` (repeatable), `--workdir`
    and `--no-write`; a script adds its own before `parse_args()`."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--patience", type=int, default=patience)
    parser.add_argument("--set", action="append", default=[],
                        help="task or train option override, key=json_value")
    parser.add_argument("--workdir", default=workdir)
    parser.add_argument("--no-write", action="store_true")
    return parser


def training_overrides(args):
    """The run options of parsed `training_parser` arguments: epochs,
    patience, then every `--set` (which wins)."""
    return {"epochs": args.epochs, "patience": args.patience,
            **parse_overrides(args.set)}


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux: KiB)."""
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
