"""Readers for tabular text files and one-folder-per-class corpora.

Formats: CSV, TSV, JSONL (one JSON object per line) and headerless
delimited files, each optionally gzip-compressed (by the `.gz` suffix). The
format comes from the file name unless given. Columns are chosen by name, or
by 0-based index for files without a header (`"0"`, `"1"`, ...).

Every problem is a `DataError` naming the file and, where there is one, the
line: a missing or empty file, a missing column, a row with the wrong number
of fields, bytes that are not UTF-8, an empty text.

Fields may be of any length (the `csv` module's 128 KiB default field limit
is lifted).
"""

import csv
import gzip
import itertools
import json
import os
import sys

from kerasnlp_seq.errors import DataError

FORMATS = ("csv", "tsv", "jsonl")
_DELIMITERS = {"csv": ",", "tsv": "\t"}

# A long review (a megabyte) is a legitimate field; the default limit of
# 131072 characters would refuse it as malformed. 2**31 - 1 fits a C long
# everywhere (sys.maxsize overflows it on Windows).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def open_lines(path):
    """Yield `(line_number, text)` of a UTF-8 file (gzip ok), strictly decoded.

    Args:
        path: str. The file. A `.gz` suffix means gzip.
    """
    path = str(path)
    if not os.path.exists(path):
        raise DataError("file not found.", path)
    if os.path.isdir(path):
        raise DataError("expected a file, found a directory.", path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            yield from decode_lines(f, path)
    except (OSError, EOFError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"cannot read file ({e}).", path) from None


def decode_lines(lines, name):
    """Yield `(line_number, text)` of byte lines, strictly UTF-8 (a leading
    byte-order mark dropped); `name` (a file, `<stdin>`) is what an error
    names."""
    for lineno, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(
                f"bytes that are not UTF-8 at column {e.start + 1} "
                f"({raw[e.start:e.start + 4]!r}); re-encode it as UTF-8.",
                name, lineno) from None
        if lineno == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield lineno, text


def detect_format(path):
    """`csv`, `tsv` or `jsonl` from the file name (`.gz` ignored)."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1].lstrip(".")
    if ext in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if ext in ("tsv", "tab", "txt", ""):
        return "tsv"
    if ext == "csv":
        return "csv"
    raise DataError(
        f"cannot tell the format from the extension {ext!r}. Expected one of "
        f"{list(FORMATS)} (pass the format explicitly).", path)


def _column_index(name, header, path):
    if header is None:
        try:
            return int(name)
        except ValueError:
            raise DataError(
                f"column {name!r} given by name, but the file has no header; "
                "give a 0-based index instead.", path) from None
    if name in header:
        return header.index(name)
    if name.isdigit() and int(name) < len(header):
        return int(name)
    raise DataError(
        f"no column {name!r}. Columns found: {header}.", path, 1)


def read_table(path, columns, format=None, header=True, required=None,
               limit=None):
    """Read selected columns of a CSV / TSV / JSONL file into a list of dicts.

    Args:
        path: str. The file (gzip ok).
        columns: dict. Output key -> column name (or 0-based index as str).
        format: str or None. `csv`, `tsv` or `jsonl`; None: from the name.
        header: bool. Whether a CSV/TSV file starts with a header row.
        required: iterable of output keys that must not be empty (after
            stripping white space); defaults to all of them.
        limit: int or None. Read at most this many records.

    Returns:
        A list of dicts with the keys of `columns`, values as str, plus
        `"_line"` (the 1-based line number, for messages downstream).

    Example:

    >>> rows = read_table(  # doctest: +SKIP
    ...     "reviews.csv", {"text": "review", "label": "sentiment"})
    """
    path = str(path)
    records = list(itertools.islice(
        iter_table(path, columns, format, header, required), limit))
    if not records:
        raise DataError("no records found; the file is empty.", path)
    return records


def iter_table(path, columns, format=None, header=True, required=None,
               stats=None):
    """Yield the records `read_table` returns, one at a time, checked.

    For files larger than memory (`kerasnlp_seq.streaming`): nothing is
    kept between records.

    Args:
        path, columns, format, header, required: as in `read_table`.
        stats: dict or None. Filled with `irregular_lines` (blank lines or
            CRLF line ends seen), which `tf.data`'s CSV reader rejects.
    """
    path = str(path)
    format = format or detect_format(path)
    if format not in FORMATS:
        raise DataError(
            f"unknown format. Expected one of {list(FORMATS)}. "
            f"Received: format={format!r}", path)
    required = set(columns if required is None else required)
    reader = _read_jsonl if format == "jsonl" else _read_delimited
    seen = {}  # _read_delimited notes a header row here
    found = False
    for record in reader(path, columns, format, header, stats, seen):
        for key in required:
            if not record[key].strip():
                raise DataError(
                    f"empty {key} (column {columns[key]!r}).",
                    path, record["_line"])
        found = True
        yield record
    if not found:
        raise DataError(_no_records(seen), path)


def _no_records(seen):
    if seen.get("header"):
        return "no records found after the header row."
    return "no records found; the file is empty."


def table_layout(path, columns, format=None, header=True):
    """Where the columns are: `{"indices", "width", "columns"}`.

    `indices` maps each key of `columns` to its 0-based field index
    (None for JSONL, whose records are objects); `width` is the number of
    fields of the first row.
    """
    path = str(path)
    format = format or detect_format(path)
    layout = {"indices": None, "width": None, "columns": dict(columns)}
    if format == "jsonl":
        return layout
    quoting = csv.QUOTE_MINIMAL if format == "csv" else csv.QUOTE_NONE
    rows = csv.reader((text for _, text in open_lines(path)),
                      delimiter=_DELIMITERS[format], quoting=quoting)
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        names = [c.strip() for c in row] if header else None
        layout["indices"] = {k: _column_index(v, names, path)
                             for k, v in columns.items()}
        layout["width"] = len(row)
        return layout
    raise DataError("no records found; the file is empty.", path)


def _watched_lines(path, stats):
    for _, text in open_lines(path):
        if stats is not None and not stats.get("irregular_lines") and (
                text.endswith("\r\n") or not text.strip()):
            stats["irregular_lines"] = True
        yield text


def _read_delimited(path, columns, format, header, stats=None, seen=None):
    quoting = csv.QUOTE_MINIMAL if format == "csv" else csv.QUOTE_NONE
    rows = csv.reader(_watched_lines(path, stats),
                      delimiter=_DELIMITERS[format], quoting=quoting,
                      strict=True)
    indices = None
    width = None
    previous = 0
    try:
        for row in rows:
            lineno, previous = previous + 1, rows.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if indices is None:
                width = len(row)
                if header:
                    names = [c.strip() for c in row]
                    indices = {k: _column_index(v, names, path)
                               for k, v in columns.items()}
                    if seen is not None:
                        seen["header"] = True
                    continue
                indices = {k: _column_index(v, None, path)
                           for k, v in columns.items()}
                for key, index in indices.items():
                    if index >= width:
                        raise DataError(
                            f"no column {index} for {key} (rows have {width} "
                            "fields).", path, lineno)
            if len(row) != width:
                raise DataError(
                    f"expected {width} {_sep_name(format)}-separated fields, "
                    f"found {len(row)}.", path, lineno)
            record = {k: row[i] for k, i in indices.items()}
            record["_line"] = lineno
            yield record
    except csv.Error as e:
        raise DataError(f"malformed {format.upper()} ({e}).", path,
                        rows.line_num) from None


def _sep_name(format):
    return "comma" if format == "csv" else "tab"


def _read_jsonl(path, columns, format, header, stats=None, seen=None):
    for lineno, text in open_lines(path):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON ({e.msg}).", path, lineno) from None
        if not isinstance(obj, dict):
            raise DataError(
                f"expected a JSON object, found {type(obj).__name__}.",
                path, lineno)
        record = {}
        for key, name in columns.items():
            if name not in obj:
                raise DataError(
                    f"no key {name!r} for {key}. Keys found: {sorted(obj)}.",
                    path, lineno)
            value = obj[name]
            record[key] = ("" if value is None else value if isinstance(
                value, str) else json.dumps(value))  # null: empty
        record["_line"] = lineno
        yield record


def read_class_folders(root, exclude=("unsup",), suffixes=(".txt",)):
    """Read a one-folder-per-class corpus (the aclImdb layout).

    `root/<class>/*.txt`, each file one text, the folder name its label.

    Args:
        root: str. The folder holding one sub-folder per class.
        exclude: iterable of str. Sub-folders to ignore (aclImdb's `unsup`).
        suffixes: tuple of str. File endings to read.

    Returns:
        A list of `{"text", "label", "_path"}` dicts.
    """
    root = str(root)
    if not os.path.isdir(root):
        raise DataError("folder not found.", root)
    classes = sorted(
        d for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
        and d not in set(exclude))
    if not classes:
        raise DataError(
            "no class folders found; expected one sub-folder per class "
            "holding text files.", root)
    records = []
    for label in classes:
        folder = os.path.join(root, label)
        names = sorted(n for n in os.listdir(folder) if n.endswith(suffixes))
        if not names:
            raise DataError(
                f"no {'/'.join(suffixes)} files in class folder.", folder)
        for name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except OSError as e:  # a dangling link, a folder named *.txt
                raise DataError(
                    f"cannot read file ({e.strerror or e}).", path) from None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                raise DataError(
                    f"bytes that are not UTF-8 at offset {e.start}.",
                    path) from None
            if not text.strip():
                raise DataError("empty text.", path)
            records.append({"text": text, "label": label, "_path": path})
    return records
