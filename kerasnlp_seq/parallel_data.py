"""Parallel data: readers of sentence pairs and their tf.data pipeline.

Three layouts, told apart by the data spec:

- A tab-separated pair file, the Anki / Tatoeba format
  `source<TAB>target[<TAB>attribution]` (gzip ok). The source and target
  columns are 0-based indices (`source="1", target="0"` reads Anki's
  `spa.txt`, English first, as Spanish -> English); by default 0 and 1.
- Two line-aligned files named by a prefix and language codes, the
  Multi30k / Moses layout: `--data corpus/train --source en --target de`
  reads `corpus/train.en` and `corpus/train.de` (or `.en.gz` ...). Both
  files must have the same number of lines.
- A TFDS translation data set, `tfds:ted_hrlr_translate/pt_to_en` (see
  `kerasnlp_seq.tfds_data`): source and target are feature names, by
  default the data set's supervised keys (`pt`, `en`).

Empty sentences: in files, a line whose source or target is empty (blank
lines at the end of a file excepted) is a
`DataError` naming the file and line (the pair cannot be trained on, and a
silent drop would misalign nothing but hide a broken export); TFDS data
cannot be fixed by the user, so its empty pairs are skipped with a logged
count. Over-long sentences are truncated per token (`encode_pairs`), with a
logged count, and batched as teacher-forcing examples by `pair_dataset`.
"""

import logging
import os

from kerasnlp_seq import tfds_data
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.readers import open_lines

log = logging.getLogger("kerasnlp_seq")


def _clean(text):
    return text.rstrip("\r\n")


def read_pair_file(path, source="0", target="1"):
    """Read a `source<TAB>target[<TAB>attribution]` file.

    Args:
        path: str. The file (gzip ok).
        source: str. The 0-based column of the source sentence.
        target: str. The 0-based column of the target sentence.

    Returns:
        A list of `{"source", "target", "_source", "_line"}` dicts.
    """
    columns = {}
    for role, value in (("source", source), ("target", target)):
        if value is None:
            value = "0" if role == "source" else "1"
        if not str(value).isdigit():
            raise DataError(
                f"a tab-separated pair file has columns, not languages: the "
                f"{role} is a 0-based column index (--{role} 0 or 1 to "
                f"train; --set {role}=0 or 1 to evaluate a run trained on "
                f"line-aligned files). Received: {value!r}", path)
        columns[role] = int(value)
    if columns["source"] == columns["target"]:
        raise DataError(
            f"source and target are the same column ({columns['source']}).",
            path)
    need = max(columns.values()) + 1
    pairs = []
    for lineno, text in open_lines(path):
        text = _clean(text)
        if not text.strip():
            continue  # blank lines separate nothing in a pair file
        fields = text.split("\t")
        if len(fields) < max(need, 2):
            raise DataError(
                f"expected at least {max(need, 2)} tab-separated fields "
                f"(source, target[, attribution]), found {len(fields)}.",
                path, lineno)
        pair = {role: fields[i].strip() for role, i in columns.items()}
        _check_pair(pair, path, lineno)
        pair.update(_source=path, _line=lineno)
        pairs.append(pair)
    if not pairs:
        raise DataError("no sentence pairs found; the file is empty.", path)
    return pairs


def _check_pair(pair, path, lineno, paths=None):
    for role in ("source", "target"):
        if not pair[role].strip():
            where = paths[role] if paths else path
            raise DataError(
                f"empty {role} sentence; every pair needs text on both "
                "sides (remove the pair from the data).", where, lineno)


def aligned_paths(prefix, source, target):
    """`(source_path, target_path)` of a prefix and two language codes."""
    prefix = prefix[:-1] if prefix.endswith(".") else prefix
    paths = {}
    for role, lang in (("source", source), ("target", target)):
        candidates = [f"{prefix}.{lang}", f"{prefix}.{lang}.gz"]
        found = next((p for p in candidates if os.path.isfile(p)), None)
        if found is None:
            raise DataError(
                f"no {role} file {candidates[0]} (from the prefix and "
                f"--{role} {lang}); expected PREFIX.{lang} beside "
                f"PREFIX.{target if role == 'source' else source}.", prefix)
        paths[role] = found
    return paths["source"], paths["target"]


def read_aligned(source_path, target_path):
    """Read two line-aligned files into pairs (line i with line i).

    Blank lines at the end of either file are ignored; a blank line
    anywhere else is an empty sentence, a `DataError` naming file and line.
    """
    sides = {}
    for role, path in (("source", source_path), ("target", target_path)):
        lines = [_clean(text) for _, text in open_lines(path)]
        while lines and not lines[-1].strip():
            lines.pop()  # blank lines at the end align with nothing
        sides[role] = lines
    n_src, n_tgt = len(sides["source"]), len(sides["target"])
    if n_src != n_tgt:
        raise DataError(
            f"line counts differ: {source_path} has {n_src} lines, "
            f"{target_path} has {n_tgt}; line-aligned files must match line "
            "for line.")
    if not n_src:
        raise DataError("no sentence pairs found; the file is empty.",
                        source_path)
    paths = {"source": source_path, "target": target_path}
    pairs = []
    for i, (src, tgt) in enumerate(zip(sides["source"], sides["target"])):
        pair = {"source": src.strip(), "target": tgt.strip()}
        _check_pair(pair, None, i + 1, paths)
        pair.update(_source=source_path, _line=i + 1)
        pairs.append(pair)
    return pairs


def read_tfds(spec, role, source=None, target=None, data_dir=None):
    """Read a TFDS translation data set; None if the role has no split."""
    records, info = tfds_data.load(spec, role, data_dir=data_dir)
    if records is None:
        return None
    keys = tuple(info.supervised_keys or ())
    source = source or (keys[0] if len(keys) == 2 else None)
    target = target or (keys[1] if len(keys) == 2 else None)
    available = sorted(records[0])
    for role_name, name in (("source", source), ("target", target)):
        if name is None or name not in records[0]:
            raise DataError(
                f"choose the {role_name} feature with --{role_name}; "
                f"features: {available}. Received: {name!r}", spec)
    pairs, empty = [], 0
    for i, record in enumerate(records):
        pair = {"source": str(record[source]).strip(),
                "target": str(record[target]).strip()}
        if not pair["source"] or not pair["target"]:
            empty += 1
            continue
        pair.update(_source=spec, _line=i + 1)
        pairs.append(pair)
    if empty:
        log.warning("%s: skipped %d pair(s) with an empty side.", spec, empty)
    if not pairs:
        raise DataError("no sentence pairs with text on both sides.", spec)
    return pairs


def read_parallel(spec, role="train", source=None, target=None,
                  tfds_data_dir=None):
    """Read sentence pairs from any supported layout (see the module doc).

    Args:
        spec: str. A pair file, a prefix of line-aligned files, or
            `tfds:NAME[?split=S]`.
        role: str. `train`, `valid` or `eval` (picks TFDS splits).
        source: str or None. Column index, language code or TFDS feature.
        target: str or None. The same for the target side.
        tfds_data_dir: str or None. Where TFDS keeps prepared data.

    Returns:
        A list of `{"source", "target", "_source", "_line"}` dicts, or None
        for a TFDS data set without a split for `role`.

    Example:

    >>> pairs = read_parallel(  # doctest: +SKIP
    ...     "multi30k/train", source="en", target="de")
    >>> pairs[0]["source"], pairs[0]["target"]  # doctest: +SKIP
    """
    if tfds_data.is_tfds(spec):
        return read_tfds(spec, role, source, target, tfds_data_dir)
    if os.path.isfile(spec):
        return read_pair_file(spec, source, target)
    if os.path.isdir(spec):
        raise DataError(
            "expected a pair file or a prefix of line-aligned files (e.g. "
            "multi30k/train with --source en --target de), found a folder.",
            spec)
    if source is None or target is None or source.isdigit() or \
            target.isdigit():
        if not os.path.exists(os.path.dirname(spec) or "."):
            raise DataError("file not found.", spec)
        raise DataError(
            "file not found; for line-aligned files give the prefix and "
            "both language codes (--source en --target de).", spec)
    return read_aligned(*aligned_paths(spec, source, target))


def encode_pairs(examples, source_tokenizer, target_tokenizer, max_length,
                 chunk=2048):
    """Token ids of pairs: `(sources, targets, truncated)`.

    Sources end with the end token (so none is empty); both sides keep at
    most `max_length - 1` tokens before it, and the target gets its end
    token in `pair_dataset`. Truncations are counted and logged.

    Args:
        examples: list of `{"source", "target"}` dicts.
        source_tokenizer: a `kerasnlp_seq.seq_tokenizers` tokenizer.
        target_tokenizer: the same for the target side.
        max_length: int. Tokens per side, the end token included.
        chunk: int. Sentences tokenized per TF call.

    Returns:
        Two lists of int lists, and `{"source": n, "target": n}` counts of
        truncated sentences.
    """
    import tensorflow as tf

    from kerasnlp_seq.seq_tokenizers import END_ID

    room = max_length - 1
    sides = {"source": [], "target": []}
    cut = {"source": 0, "target": 0}
    for start in range(0, len(examples), chunk):
        part = examples[start:start + chunk]
        for side, tokenizer in (("source", source_tokenizer),
                                ("target", target_tokenizer)):
            ids = tokenizer.encode(tf.constant([ex[side] for ex in part]))
            for row in ids.to_list():
                if len(row) > room:
                    cut[side] += 1
                    row = row[:room]
                sides[side].append(row + [END_ID] if side == "source"
                                   else row)
    if cut["source"] or cut["target"]:
        log.warning(
            "truncated %d source and %d target sentence(s) to --max-length "
            "%d tokens (end token included).", cut["source"], cut["target"],
            max_length)
    return sides["source"], sides["target"], cut


def pair_dataset(sources, targets, batch_size, max_length, training,
                 seed=None, bucket=True, batch_tokens=None):
    """Teacher-forcing batches `({"source", "target_in"}, target_out)`.

    `target_in` is the start token and the target, `target_out` the target
    and the end token; all int32, padded with 0 per batch. Training batches
    are shuffled and bucketed by length (`kerasnlp_seq.pipeline`);
    inference keeps the input order.

    Args:
        sources: list of int lists (from `encode_pairs`).
        targets: list of int lists.
        batch_size: int. Examples per batch (the upper bound with
            `batch_tokens`).
        max_length: int. The longest sequence (sets bucket edges).
        training: bool. Shuffle and bucket.
        seed: int or None. Shuffling seed.
        bucket: bool. Bucket training batches by length.
        batch_tokens: int or None. Padded-token budget per batch.
    """
    import numpy as np
    import tensorflow as tf

    from kerasnlp_seq import pipeline
    from kerasnlp_seq.seq_tokenizers import END_ID, START_ID

    def ragged(rows):  # much faster than tf.ragged.constant on big lists
        flat = np.fromiter((i for row in rows for i in row), np.int32)
        lengths = np.fromiter((len(row) for row in rows), np.int64,
                              count=len(rows))
        return tf.RaggedTensor.from_row_lengths(flat, lengths)

    ds = tf.data.Dataset.from_tensor_slices((ragged(sources),
                                             ragged(targets)))

    def to_example(source, target):
        target_in = tf.concat([[START_ID], target], axis=0)
        target_out = tf.concat([target, [END_ID]], axis=0)
        return {"source": source, "target_in": target_in}, target_out

    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(max(len(sources), 1), seed=seed,
                        reshuffle_each_iteration=True)
    budget = {"batch_tokens": batch_tokens} if batch_tokens else {}
    ds = pipeline.bucketed_batches(
        ds, batch_size, max_length,
        lambda x, y: tf.maximum(tf.size(x["source"]), tf.size(y)),
        bucket=bucket and training, **budget)
    return pipeline.finish(ds, training, seed)
