"""Labelled texts for a text classifier: from a data spec to examples.

A text classifier's examples are plain dicts, `{"text": str, "label": str}`
plus where they came from (`_source`, and `_line` where known, for
messages). `read_texts` reads them from

- a CSV / TSV / JSONL table (gzip ok), columns named by the config's
  `text_column` / `label_column` (`kerasnlp_seq.readers.read_table`);
- a folder of one sub-folder per class, one text per file (the aclImdb
  layout, `kerasnlp_seq.readers.read_class_folders`);
- a table larger than memory, scanned but not read
  (`kerasnlp_seq.streaming.StreamedExamples`; `should_stream` decides);

and `read_tfds_texts` from a TFDS data set (`tfds:imdb_reviews`), whose
ClassLabel names fix the label order. `stratified_split` holds back a
seeded validation share of each class (a hash split for streamed data).

Example:

>>> examples = [{"text": f"text {i}", "label": "ab"[i % 2]}
...             for i in range(10)]
>>> train, valid = stratified_split(examples, 0.2, seed=0)
>>> len(train), sorted(ex["label"] for ex in valid)
(8, ['a', 'b'])
"""

import os
import random

from kerasnlp_seq import readers, streaming, tfds_data
from kerasnlp_seq.errors import ConfigError, DataError

STREAM_AUTO_BYTES = 512 * 2**20


def should_stream(spec, mode, supports_streaming=True, task_name=None):
    """Whether to stream a table file rather than read it into memory.

    Args:
        spec: str. The data file.
        mode: str. The config's `stream`: `"on"`, `"off"` or `"auto"`
            (files over `STREAM_AUTO_BYTES`).
        supports_streaming: bool. False: the task needs its examples in
            memory; `"on"` is then an error and `"auto"` never streams.
        task_name: str or None. The task, for the message.
    """
    if mode == "on" and not supports_streaming:
        raise ConfigError(
            f"task {task_name!r} needs its examples in memory; it "
            "cannot --stream. Use --stream off.")
    if mode == "auto":
        return supports_streaming and os.path.isfile(spec) and \
            os.path.getsize(spec) > STREAM_AUTO_BYTES
    return mode == "on"


def read_texts(spec, config, stream=False):
    """Labelled texts of a class folder or a table file.

    Args:
        spec: str. A folder of class folders, or a CSV / TSV / JSONL file.
        config: `TextClassifierConfig`. Its `text_column`, `label_column`,
            `format`, `header` and `stream_sample` fields.
        stream: bool. Scan a table file instead of reading it (see
            `should_stream`).

    Returns:
        A list of examples, or `StreamedExamples` when streaming. A table's
        labels are stripped of surrounding white space (`"positive "` is
        `"positive"`); texts are kept as they are.
    """
    c = config
    columns = {"text": c.text_column, "label": c.label_column}
    if os.path.isdir(spec):
        records = readers.read_class_folders(spec)
    elif stream:
        return streaming.scan_table(spec, columns, format=c.format,
                                    header=c.header,
                                    sample_size=c.stream_sample)
    else:
        records = readers.read_table(spec, columns, format=c.format,
                                     header=c.header)
        for r in records:  # "positive " is not a class of its own
            r["label"] = r["label"].strip()
    for r in records:
        r["_source"] = spec
    return records


def read_tfds_texts(spec, role, config):
    """Labelled texts of a TFDS data set, and its class names.

    The text feature is the config's `text_column`, or else the data set's
    first text feature. Unlabelled examples (label -1, as in GLUE test
    splits) are skipped.

    Args:
        spec: str. `tfds:NAME[?split=S]`.
        role: str. `"train"`, `"valid"` or `"eval"` (picks the split).
        config: `TextClassifierConfig`. Its `text_column`, `label_column`
            and `tfds_data_dir` fields.

    Returns:
        `(examples, names)`: `examples` None when the data set has no
        split for `role`; `names` the ClassLabel names in id order, or
        None when the label is not a ClassLabel.
    """
    c = config
    rows, info = tfds_data.load(spec, role, data_dir=c.tfds_data_dir)
    if rows is None:
        return None, None
    text_key = c.text_column
    if text_key not in info.features:
        found = tfds_data.text_features(info)
        if not found:
            raise DataError("the data set has no text feature.", spec)
        text_key = found[0]
    if c.label_column not in info.features:
        raise DataError(
            f"no feature {c.label_column!r}. Features: "
            f"{sorted(info.features)}.", spec)
    names = tfds_data.class_names(info, c.label_column)
    records = []
    for i, row in enumerate(rows):
        label = row[c.label_column]
        if names is not None:
            if label < 0:  # unlabelled (e.g. GLUE test splits)
                continue
            label = names[label]
        records.append({"text": row[text_key], "label": str(label),
                        "_line": i + 1, "_source": spec})
    if not records:
        raise DataError("no labelled examples in this split.", spec)
    return records, names


def stratified_split(examples, fraction, seed):
    """A stratified, seeded hold-back: each class keeps its share.

    Every class of two examples or more keeps at least one in each part.
    Streamed examples are split by a seeded hash of their text instead
    (`StreamedExamples.split`), which needs no list.

    Args:
        examples: list of examples, or `StreamedExamples`.
        fraction: float. The share of each class held back.
        seed: int. The shuffle's seed.

    Returns:
        `(train, valid)`, each in the input order.
    """
    if streaming.is_streamed(examples):
        return examples.split(fraction, seed)
    rng = random.Random(seed)
    by_class = {}
    for i, ex in enumerate(examples):
        by_class.setdefault(ex["label"], []).append(i)
    valid_idx = []
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        n = int(round(len(idx) * fraction))
        if len(idx) > 1:
            n = min(max(n, 1), len(idx) - 1)
        valid_idx.extend(idx[:n])
    chosen = set(valid_idx)
    train = [ex for i, ex in enumerate(examples) if i not in chosen]
    valid = [examples[i] for i in sorted(valid_idx)]
    return train, valid
