"""Readers and a writer for token-tagging files: CoNLL columns and JSON lines.

Both readers return a list of sentences, each `{"tokens": [...], "tags": [...]}`,
read UTF-8 (gzip transparently for a `.gz` suffix) and raise `DataError` as
`path:line: what was wrong` for every problem a file can have.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
>>> _ = path.write_text("-DOCSTART- -X- O O\\n\\nEU NNP B-NP B-ORG\\n"
...                     "rejects VBZ B-VP O\\n")
>>> read_conll(path)
[{'tokens': ['EU', 'rejects'], 'tags': ['B-ORG', 'O']}]
>>> read_conll(path, tag_column="pos", columns=("token", "pos", "chunk", "ner"))
[{'tokens': ['EU', 'rejects'], 'tags': ['NNP', 'VBZ']}]
"""

import gzip
import json
import os

from kerasnlp_seq import readers
from kerasnlp_seq.errors import DataError


def _open(path, mode, **kwargs):
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    return opener(path, mode, **kwargs)


def _lines(path):
    """Yield `(line_number, text)` of a UTF-8 file, without line endings."""
    for number, text in readers.open_lines(path):
        yield number, text.rstrip("\r\n")


def _column_index(column, columns, num_fields, path, line, role):
    """Resolve an int (negative allowed) or a name to a column index."""
    if isinstance(column, str):
        if columns is None or column not in columns:
            raise DataError(
                f"{role}={column!r} is not a column name. Expected one of "
                f"{list(columns or [])} (pass `columns=` to name the columns).",
                path, line)
        column = list(columns).index(column)
    if not -num_fields <= column < num_fields:
        raise DataError(
            f"{role}={column} does not exist: the file has {num_fields} "
            f"columns, so expected a column in [{-num_fields}, {num_fields - 1}].",
            path, line)
    return column % num_fields


def read_conll(path, token_column=0, tag_column=-1, sep=None, columns=None,
               documents=False, lines=False):
    """Read a CoNLL column file into sentences of tokens and tags.

    One token per line, blank lines between sentences; `-DOCSTART-` lines
    start a document; a last sentence without a trailing blank line is kept
    and empty sentences are dropped. Every token line must have as many
    columns as the first one (or as `columns` names).

    Args:
        path: str or path-like. The file; a `.gz` suffix reads it gzipped.
        token_column: int or str. The token column (index or name).
        tag_column: int or str. The tag column; `-1` is the last. A name
            needs `columns`, e.g. `tag_column="pos"` for POS tagging.
        sep: str or None. Column separator; None splits on any whitespace.
        columns: sequence of str or None. Names of the columns, in order,
            e.g. `("token", "pos", "chunk", "ner")`.
        documents: bool. Also give each sentence `"_doc"`: the number of
            its document (0, 1, ... by `-DOCSTART-` line), or None where
            no `-DOCSTART-` line came before it.
        lines: bool. Also give each sentence `"_lines"`: the 1-based line
            number of each of its tokens, for messages downstream.

    Returns:
        A list of `{"tokens": [str], "tags": [str]}` dicts (with `"_doc"`
        if `documents`, `"_lines"` if `lines`).
    """
    sentences, tokens, tags, numbers = [], [], [], []
    expected = None if columns is None else len(columns)
    first_line = indices = doc = None

    def flush():
        if tokens:
            sentences.append({"tokens": list(tokens), "tags": list(tags)})
            if documents:
                sentences[-1]["_doc"] = doc
            if lines:
                sentences[-1]["_lines"] = list(numbers)
        tokens.clear()
        tags.clear()
        numbers.clear()

    for number, text in _lines(path):
        if not text.strip():
            flush()
            continue
        if text.startswith("-DOCSTART-"):
            flush()
            doc = 0 if doc is None else doc + 1
            continue
        fields = text.split(sep)
        if expected is None:
            expected, first_line = len(fields), number
        if len(fields) != expected:
            where = ("as `columns` names" if first_line is None
                     else f"as on line {first_line}")
            raise DataError(
                f"expected {expected} columns ({where}), found {len(fields)}.",
                path, number)
        if indices is None:
            indices = (
                _column_index(token_column, columns, expected, path, number,
                              "token_column"),
                _column_index(tag_column, columns, expected, path, number,
                              "tag_column"))
        tokens.append(fields[indices[0]])
        tags.append(fields[indices[1]])
        numbers.append(number)
    flush()
    if not sentences:
        raise DataError("no sentences found; expected token lines with "
                        "columns, sentences separated by blank lines.", path)
    return sentences


def read_tagged_jsonl(path, token_key="tokens", tag_key="tags",
                      documents=False, lines=False):
    """Read JSON lines of `{"tokens": [...], "tags": [...]}` into sentences.

    Blank lines and sentences with no tokens are skipped. Other keys may
    hold other token-level columns (`{"tokens", "ner", "pos"}`): pick them
    with `token_key` / `tag_key`. An optional `"doc"` key (a string or an
    integer) names the sentence's document.

    Args:
        path: str or path-like. The file; a `.gz` suffix reads it gzipped.
        token_key: str. The key of the token list.
        tag_key: str. The key of the tag list (one tag per token).
        documents: bool. Also give each sentence `"_doc"`: its `"doc"`
            value, or None without one. Without it the `"doc"` key is
            not read.
        lines: bool. Also give each sentence `"_line"`: the 1-based number
            of its line, for messages downstream.

    Returns:
        A list of `{"tokens": [str], "tags": [str]}` dicts (with `"_doc"`
        if `documents`, `"_line"` if `lines`).
    """
    sentences = []
    keys = (token_key, tag_key)
    for number, text in _lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON ({e.msg} at column {e.colno}).",
                            path, number) from None
        if not isinstance(record, dict):
            raise DataError(
                f"expected a JSON object with {token_key!r} and {tag_key!r}, "
                f"found {type(record).__name__}.", path, number)
        for key in keys:
            if key not in record:
                raise DataError(
                    f"missing key {key!r}; expected an object with "
                    f"{token_key!r} and {tag_key!r}. Found keys: "
                    f"{sorted(record)}.", path, number)
            value = record[key]
            if not isinstance(value, list) or not all(
                    isinstance(v, str) for v in value):
                raise DataError(f"{key!r} must be a list of strings.",
                                path, number)
        toks, tags = record[token_key], record[tag_key]
        if len(toks) != len(tags):
            raise DataError(
                f"{len(toks)} tokens but {len(tags)} {tag_key!r}; expected "
                "one tag per token.", path, number)
        doc = record.get("doc") if documents else None
        if doc is not None and (isinstance(doc, bool)
                                or not isinstance(doc, (str, int))):
            raise DataError(f"'doc' must be a string or an integer, found "
                            f"{type(doc).__name__}.", path, number)
        if toks:
            sentences.append({"tokens": toks, "tags": tags})
            if documents:
                sentences[-1]["_doc"] = doc
            if lines:
                sentences[-1]["_line"] = number
    if not sentences:
        raise DataError("no sentences found; expected JSON lines like "
                        '{"tokens": [...], "tags": [...]}.', path)
    return sentences


def write_conll(sentences, path, sep="\t"):
    """Write sentences as two columns (token, tag), blank line after each.

    Args:
        sentences: iterable of `{"tokens": [...], "tags": [...]}` dicts.
        path: str or path-like. The file; a `.gz` suffix writes it gzipped.
        sep: str. The column separator. Fields may hold no whitespace, so
            `read_conll(path)` reads the file back as written.
    """
    with _open(path, "wt", encoding="utf-8", newline="\n") as f:
        for n, sentence in enumerate(sentences):
            toks, tags = sentence["tokens"], sentence["tags"]
            if len(toks) != len(tags):
                raise DataError(f"sentence {n} has {len(toks)} tokens but "
                                f"{len(tags)} tags; expected one tag per token.")
            for token, tag in zip(toks, tags):
                for field in (token, tag):
                    if not field or sep in field or any(c.isspace() for c in field):
                        raise DataError(
                            f"sentence {n}: cannot write field {field!r}; "
                            "expected a non-empty field without whitespace "
                            f"or the separator {sep!r}.")
                f.write(f"{token}{sep}{tag}\n")
            f.write("\n")
