"""Text files larger than memory, read through tf.data from disk.

`scan_table` makes one cheap pass over a CSV / TSV / JSONL file (gzip ok)
and keeps only what is bounded: the number of examples in each of
`NUM_BUCKETS` hash buckets per label, the first line of each label, and a
seeded reservoir sample of texts. The pass checks every line as the list
reader does, so a malformed line is still reported as `path:line: problem`
before training starts. It returns `StreamedExamples`, which the text
classification tasks accept wherever they take a list of examples:

- `records()` is a `tf.data.Dataset` of `(text, label)` strings read from
  disk (`TextLineDataset` split on tabs, `CsvDataset` for quoted CSV,
  Python's reader for JSONL), never a Python list;
- `split(fraction, seed)` holds back validation examples by a hash of
  their text: a contiguous, seed-rotated window of the hash buckets, so
  train and validation are disjoint (duplicate texts land on the same
  side) without materialising either, and their counts come from the scan;
- `sample_texts()` is the bounded, seeded sample that vocabularies are
  adapted on; `num_examples` and `label_counts()` need no data in memory.

Peak memory therefore depends on the sample size and the shuffle buffer,
not on the file size.

Example:

>>> examples = scan_table(  # doctest: +SKIP
...     "big.tsv", {"text": "text", "label": "label"})
>>> train, valid = examples.split(0.1, seed=1337)  # doctest: +SKIP
>>> ds = train.records()  # doctest: +SKIP
"""

import random

import numpy as np

from kerasnlp_seq import readers
from kerasnlp_seq.errors import DataError

NUM_BUCKETS = 10_000
MAX_LABELS = 1_000
_HASH_BATCH = 4096


def _hash_buckets(texts):
    """Bucket of each text in `[0, NUM_BUCKETS)` (the graph op `records` uses)."""
    import tensorflow as tf

    return tf.strings.to_hash_bucket_fast(
        tf.constant(texts, dtype=tf.string), NUM_BUCKETS).numpy()


def scan_table(path, columns, format=None, header=True, sample_size=20_000,
               sample_seed=0):
    """Check a table file in one pass and describe it for streaming.

    Args:
        path: str. A CSV / TSV / JSONL file (gzip ok).
        columns: dict with `"text"` and `"label"` -> column name or index.
        format: str or None. As in `readers.read_table`.
        header: bool. Whether a CSV/TSV file starts with a header row.
        sample_size: int. Texts kept for adapting vocabularies.
        sample_seed: int. Seed of the reservoir sample.

    Returns:
        `StreamedExamples` of the whole file.
    """
    path = str(path)
    format = format or readers.detect_format(path)
    layout = readers.table_layout(path, columns, format, header)
    counts, first_line = {}, {}
    sample, seen = [], 0
    rng = random.Random(sample_seed)
    pending = []
    stats = {}  # blank or CRLF lines: CsvDataset cannot parse those

    def flush():
        buckets = _hash_buckets([text for text, _, _ in pending])
        for (text, label, lineno), bucket in zip(pending, buckets):
            counts[label][bucket] += 1
            _reservoir(sample, (text, label, int(bucket)))
        pending.clear()

    def _reservoir(sample, item):
        nonlocal seen
        seen += 1
        if len(sample) < sample_size:
            sample.append(item)
        else:
            k = rng.randrange(seen)
            if k < sample_size:
                sample[k] = item

    for record in _records(path, columns, format, header, stats=stats):
        label, lineno = record["label"], record["_line"]
        if label not in counts:
            if len(counts) >= MAX_LABELS:
                raise DataError(
                    f"more than {MAX_LABELS} distinct labels; is "
                    "--label-column the right column?", path, lineno)
            counts[label] = np.zeros(NUM_BUCKETS, dtype=np.int64)
            first_line[label] = lineno
        pending.append((record["text"], label, lineno))
        if len(pending) >= _HASH_BATCH:
            flush()
    if pending:
        flush()
    if not counts:
        raise DataError("no records found; the file is empty.", path)
    irregular = format == "csv" and bool(stats.get("irregular_lines"))
    return StreamedExamples(path, format, header, layout, counts, first_line,
                            sample, python_parser=irregular)


class StreamedExamples:
    """Examples of one table file, streamed from disk (see module doc).

    Made by `scan_table`; `split` gives the train and validation parts.
    There is deliberately no `len()`: use `num_examples`.
    """

    def __init__(self, path, format, header, layout, counts, first_line,
                 sample, python_parser=False, window=None, part="all"):
        self.path = path
        self.format = format
        self.header = header
        self.layout = layout  # {"indices": {...}, "width": int, "names": ...}
        self._counts = counts  # label -> int64[NUM_BUCKETS]
        self._first_line = first_line
        self._sample = sample  # [(text, label, bucket)]
        self.python_parser = python_parser
        self.window = window  # (start, size) of the validation buckets
        self.part = part  # "all", "train" or "valid"
        self._mask = self._bucket_mask()

    # ----------------------------------------------------------- parts
    def _bucket_mask(self):
        mask = np.ones(NUM_BUCKETS, dtype=bool)
        if self.part == "all":
            return mask
        start, size = self.window
        valid = (np.arange(NUM_BUCKETS) - start) % NUM_BUCKETS < size
        return valid if self.part == "valid" else ~valid

    def split(self, fraction, seed):
        """`(train, valid)`: disjoint parts by a seeded window of hashes.

        Args:
            fraction: float. Share of the hash buckets held back.
            seed: int. Rotates the window, so seeds pick different data.
        """
        size = max(1, int(round(fraction * NUM_BUCKETS)))
        window = (random.Random(seed).randrange(NUM_BUCKETS), size)
        parts = [StreamedExamples(
            self.path, self.format, self.header, self.layout, self._counts,
            self._first_line, self._sample, self.python_parser, window, part)
            for part in ("train", "valid")]
        for part in parts:
            if part.num_examples == 0:
                raise DataError(
                    f"the {part.part} part of a hash split of this file is "
                    f"empty; use a larger --valid-fraction or give --valid.",
                    self.path)
        return tuple(parts)

    def label_counts(self):
        """`{label: examples}` in this part (labels with none left out)."""
        counts = {label: int(c[self._mask].sum())
                  for label, c in self._counts.items()}
        return {label: n for label, n in counts.items() if n}

    @property
    def num_examples(self):
        """Examples in this part, from the scan (no data held)."""
        return sum(self.label_counts().values())

    def first_line(self, label):
        """The first line of the file that carries `label`."""
        return self._first_line.get(label)

    def sample_texts(self):
        """The reservoir sample's texts that fall in this part."""
        return [t for t, _, b in self._sample if self._mask[b]]

    def sample_records(self, size=None):
        """Up to `size` sampled `{"text", "label"}` dicts of this part."""
        rows = [{"text": t, "label": label}
                for t, label, b in self._sample if self._mask[b]]
        return rows[:size] if size else rows

    # ------------------------------------------------------------ data
    def records(self):
        """A `tf.data.Dataset` of `(text, label)` strings of this part."""
        import tensorflow as tf

        ds = self._parsed()
        if self.part != "all":
            mask = tf.constant(self._mask)
            ds = ds.filter(lambda text, label: tf.gather(
                mask, tf.strings.to_hash_bucket_fast(text, NUM_BUCKETS)))
        return ds

    def _parsed(self):
        import tensorflow as tf

        indices = self.layout["indices"] or {}
        text_i, label_i = indices.get("text"), indices.get("label")
        gzip = "GZIP" if self.path.endswith(".gz") else ""
        if self.format == "tsv":
            lines = tf.data.TextLineDataset(self.path, compression_type=gzip)
            lines = lines.map(lambda s: tf.strings.regex_replace(
                s, "^\ufeff|\r$", ""))
            lines = lines.filter(
                lambda s: tf.strings.length(tf.strings.strip(s)) > 0)
            if self.header:
                lines = lines.skip(1)

            def fields(line):
                parts = tf.strings.split(line, "\t")
                return parts[text_i], tf.strings.strip(parts[label_i])

            return lines.map(fields, num_parallel_calls=tf.data.AUTOTUNE)
        if self.format == "csv" and not self.python_parser:
            cols = sorted({text_i, label_i})
            ds = tf.data.experimental.CsvDataset(
                self.path, [tf.string] * len(cols), header=self.header,
                select_cols=cols, compression_type=gzip)
            where = {c: k for k, c in enumerate(cols)}
            return ds.map(lambda *row: (
                row[where[text_i]], tf.strings.strip(row[where[label_i]])))
        columns = {"text": self.layout["columns"]["text"],
                   "label": self.layout["columns"]["label"]}
        path, format, header = self.path, self.format, self.header

        def generate():
            for r in _records(path, columns, format, header):
                yield r["text"], r["label"]

        spec = tf.TensorSpec([], tf.string)
        return tf.data.Dataset.from_generator(
            generate, output_signature=(spec, spec))

    def __iter__(self):
        """`{"text", "label", "_line"}` dicts of this part, from disk."""
        columns = self.layout["columns"]
        batch = []
        for record in _records(self.path, columns, self.format,
                               self.header):
            batch.append(record)
            if len(batch) >= _HASH_BATCH:
                yield from self._keep(batch)
                batch = []
        yield from self._keep(batch)

    def _keep(self, batch):
        if not batch:
            return
        buckets = _hash_buckets([r["text"] for r in batch])
        for record, bucket in zip(batch, buckets):
            if self._mask[bucket]:
                record["_source"] = self.path
                yield record


def _records(path, columns, format, header, stats=None):
    """`readers.iter_table` with labels stripped, as `text_data.read_texts`
    strips them (the tf.data readers in `_parsed` strip theirs)."""
    for record in readers.iter_table(path, columns, format, header,
                                     stats=stats):
        record["label"] = record["label"].strip()
        yield record


def is_streamed(examples):
    """Whether `examples` is a `StreamedExamples` rather than a list."""
    return isinstance(examples, StreamedExamples)
