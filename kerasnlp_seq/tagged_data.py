"""Tagged sentences from any source, their tag scheme, and entity spans in raw text.

`read_tagged` reads a data spec (a CoNLL column file, JSON lines, or
`tfds:NAME`) into `{"tokens", "tags"}` sentences, choosing token and tag
columns by index or by name, so one reader serves NER, POS and chunking.
`resolve_scheme` detects (or checks a declared) tag scheme: IOB1, IOB2,
BIOES, or `"none"` for tags that name no entities (POS). `entity_spans`
turns one sentence's tags into character spans of its raw text.

Each sentence also carries `_source` (the spec), `_index` (1-based) and,
from files, `_lines` (CoNLL: the line of each token) or `_line` (JSON
lines), so a later problem can still name the file and the line.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
>>> _ = path.write_text("EU NNP I-NP I-ORG\\nrejects VBZ I-VP O\\n")
>>> names = ["token", "pos", "chunk", "ner"]
>>> resolve_scheme(read_tagged(path, tag_column="ner", columns=names))
'iob1'
>>> [s["tags"] for s in read_tagged(path, tag_column="pos", columns=names)]
[['NNP', 'VBZ']]
"""

import re

from kerasnlp_seq import conll, tfds_data
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.tagging import (detect_scheme, find_malformed,
                                  get_entities, validate_scheme)

FORMATS = ("conll", "jsonl")
_ENTITY_TAG = re.compile(r"^(O|[BIES]-.+)$")
_PREFIXED_TAG = re.compile(r"^(O|[A-Z]-.+)$")


def _column(value):
    """`"2"` / `"-1"` -> int; a name stays a str."""
    value = str(value).strip()
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def read_tagged(spec, role="train", format=None, token_column=0,
                tag_column=-1, columns=None, tfds_data_dir=None,
                documents=False):
    """Read tagged sentences from a file or a TFDS data set.

    Args:
        spec: str. A CoNLL file, a `.jsonl` file (`{"tokens", "tags"}` per
            line), or `tfds:NAME[?split=S]`; gzip by a `.gz` suffix.
        role: str. `train`, `valid` or `eval` (picks TFDS splits).
        format: str or None. `"conll"` or `"jsonl"`; None: from the name.
        token_column: int or str. CoNLL token column (index or name); for
            JSON lines, a name is the key of the tokens (default `tokens`).
        tag_column: int or str. CoNLL tag column (index, `-1` the last, or a
            name from `columns`); for JSON lines, a name is the key of the
            tags (default `tags`); for TFDS, the tag feature (`ner`, `pos`).
        columns: list of str or None. Names of the CoNLL columns.
        tfds_data_dir: str or None. TFDS data directory.
        documents: bool. Files also give each sentence `"_doc"`, its
            document (`-DOCSTART-` count, or JSON lines' `"doc"`) or None.

    Returns:
        A list of `{"tokens", "tags", "_source", "_index"}` dicts (and
        `"_doc"`, see `documents`; `"_lines"` or `"_line"` from CoNLL or
        JSON lines files), or None for a TFDS `valid` role without a
        validation split.
    """
    if tfds_data.is_tfds(spec):
        from kerasnlp_seq.tfds_tagging import load_tagged

        sentences = load_tagged(spec, role, tag_feature=tag_column,
                                data_dir=tfds_data_dir)
        if sentences is None:
            return None
    else:
        spec = str(spec)
        fmt = format or ("jsonl" if re.search(
            r"\.(jsonl|json|ndjson)(\.gz)?$", spec) else "conll")
        if fmt not in FORMATS:
            raise DataError(f"unknown format. Expected one of {list(FORMATS)}."
                            f" Received: format={fmt!r}", spec)
        if fmt == "jsonl":
            # Columns are keys here: a name picks one, an index keeps the
            # default "tokens" / "tags".
            token, tag = _column(token_column), _column(tag_column)
            sentences = conll.read_tagged_jsonl(
                spec, token_key=token if isinstance(token, str) else "tokens",
                tag_key=tag if isinstance(tag, str) else "tags",
                documents=documents, lines=True)
        else:
            token, tag = _column(token_column), _column(tag_column)
            names = None
            if isinstance(token, str) or isinstance(tag, str):
                names = list(columns or [])
            sentences = conll.read_conll(spec, token_column=token,
                                         tag_column=tag, columns=names,
                                         documents=documents, lines=True)
    for n, sentence in enumerate(sentences, start=1):
        if not all(token.strip() for token in sentence["tokens"]):
            raise DataError(f"sentence {n} has an empty token; expected "
                            "non-empty tokens.", spec)
        sentence["_source"], sentence["_index"] = spec, n
    return sentences


def _line(sentence, position=0):
    """The file line of a sentence's tag, or None (TFDS, plain dicts)."""
    if "_lines" in sentence:
        return sentence["_lines"][position]
    return sentence.get("_line")


def _error(message, sentence, position=0):
    """`DataError` at the file line of a sentence's tag (or its number)."""
    line = _line(sentence, position)
    if line is None:
        message = f"sentence {sentence.get('_index', '?')}: {message}"
    return DataError(message, sentence.get("_source"), line)


def _example(sentences, test):
    """` (e.g. line N)` for the first tag with `test(tag)`, or `""`."""
    found = _first(sentences, test)
    line = None if found is None else _line(*found)
    return "" if line is None else f" (e.g. line {line})"


def _first(sentences, test):
    """`(sentence, position)` of the first tag with `test(tag)`, or None."""
    for sentence in sentences:
        for position, tag in enumerate(sentence["tags"]):
            if test(tag):
                return sentence, position
    return None


def _malformed(sentences, scheme):
    """`(sentence, position, reason)` of the first tag off `scheme`, or None."""
    for sentence in sentences:
        found = find_malformed(sentence["tags"], scheme)
        if found is not None:
            return (sentence,) + found
    return None


def check_tags(sentences, scheme):
    """Raise `DataError` at the file line of the first tag off `scheme`.

    IOB2 entities must start with `B-`, BIOES ones be `S-X` or
    `B-X (I-X)* E-X` (`tagging.find_malformed`). The message also says which
    scheme the tags read as, when one fits them.
    """
    bad = _malformed(sentences, scheme)
    if bad is None:
        return
    sentence, position, reason = bad
    try:
        fits = resolve_scheme(sentences)
    except DataError:
        fits = None
    hint = (f"; the tags read as {fits!r}" if fits in ("iob1", "iob2", "bioes")
            else "")
    raise _error(f"{reason} (declared scheme {scheme!r}{hint}).", sentence,
                 position)


def _is_bioes(tag):
    return tag[:2] in ("E-", "S-")


def _check_bioes(sentences):
    """Raise `DataError` where tags with `E-`/`S-` are not well-formed BIOES.

    A file of IOB tags with a few BIOES ones blames the first BIOES tag; a
    BIOES file with a few malformed sequences blames the first of those.
    """
    bad = _malformed(sentences, "bioes")
    if bad is None:
        return
    with_es = [s for s in sentences if any(_is_bioes(t) for t in s["tags"])]
    iob = [s for s in sentences if not any(_is_bioes(t) for t in s["tags"])
           and any(t != "O" for t in s["tags"])]
    if len(iob) > len(with_es):
        sentence, position = _first(with_es, _is_bioes)
        rest = detect_scheme([s["tags"] for s in iob]).upper()
        where = _example(iob, lambda t: t != "O")
        raise _error(
            f"tag {sentence['tags'][position]!r} is BIOES, but the rest of "
            f"the file is {rest}: {len(iob)} sentences have entities without "
            f"E- or S- tags{where}. Expected one tag scheme per file.",
            sentence, position)
    sentence, position, reason = bad
    raise _error(f"{reason}. The tags are read as BIOES: they use E- and S-"
                 f"{_example(with_es, _is_bioes)}.", sentence, position)


def resolve_scheme(sentences, scheme="auto", hint=None):
    """The tag scheme of gold sentences: declared (and checked) or detected.

    Detection: tags that are all `O` or `B/I/E/S-TYPE` are an entity
    scheme: BIOES if any tag is `E-` or `S-` (and then every sequence must
    be well-formed BIOES), else IOB1 if an `I-` tag starts an entity, else
    IOB2 (`tagging.detect_scheme`). Other tags (POS) are `"none"`; tags
    shaped `X-TYPE` with other prefixes (BILOU's `U-`, `L-`) are an unknown
    scheme and an error. A declared scheme is checked (`check_tags`). Every
    error names the file line (or the sentence) of the first tag at fault.

    Args:
        sentences: list of `{"tags": [...]}` dicts.
        scheme: str. `"auto"`, `"iob1"`, `"iob2"`, `"bioes"` or `"none"`.
        hint: str or None. Appended to the unknown-scheme error, e.g. how
            the caller's command learns such tags as plain labels.
    """
    if scheme == "none":
        return scheme
    if scheme != "auto":
        scheme = validate_scheme(scheme)
        check_tags(sentences, scheme)
        return scheme
    tags = {t for s in sentences for t in s["tags"]}
    if all(_ENTITY_TAG.match(t) for t in tags):
        if any(_is_bioes(t) for t in tags):
            _check_bioes(sentences)
            return "bioes"
        return detect_scheme([s["tags"] for s in sentences])
    if all(_PREFIXED_TAG.match(t) for t in tags):
        prefixes = sorted({t[0] for t in tags} - set("BIESO"))
        sentence, position = _first(sentences, lambda t: t[0] in prefixes)
        raise _error(
            f"unknown tag scheme: prefixes {prefixes} (first "
            f"{sentence['tags'][position]!r}). Expected IOB1, IOB2 or BIOES "
            "tags (B-, I-, E-, S-, O)" + (f"; {hint}." if hint else "."),
            sentence, position)
    return "none"


def entity_spans(text, offsets, tags, scheme):
    """Entities of one tagged sentence as character spans of its text.

    Args:
        text: str. The raw sentence.
        offsets: list of `(start, end)`. Character offsets of its tokens.
        tags: list of str. One tag per token.
        scheme: str. The tags' scheme.

    Returns:
        A list of `{"text", "type", "start", "end"}` dicts (`end` exclusive).

    Example:

    >>> entity_spans("Hi Bob!", [(0, 2), (3, 6), (6, 7)],
    ...              ["O", "S-PER", "O"], "bioes")
    [{'text': 'Bob', 'type': 'PER', 'start': 3, 'end': 6}]
    """
    spans = []
    for kind, first, last in get_entities(tags, scheme):
        start, end = offsets[first][0], offsets[last - 1][1]
        spans.append({"text": text[start:end], "type": kind, "start": start,
                      "end": end})
    return spans
