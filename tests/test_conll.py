"""CoNLL and JSON-lines readers: formats, round trips and every error message."""

import gzip
import json
import re

import pytest

from kerasnlp_seq.conll import read_conll, read_tagged_jsonl, write_conll
from kerasnlp_seq.errors import DataError

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC


Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O
BRUSSELS NNP B-NP B-LOC"""  # no trailing newline: the last sentence is kept

COLUMNS = ("token", "pos", "chunk", "ner")


def _write(tmp_path, text, name="data.txt", raw=None):
    path = tmp_path / name
    data = raw if raw is not None else text.encode("utf-8")
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _error(path, line, message):
    """A regex for `path:line: message`, the message matched literally."""
    where = f"{path}:{line}: " if line else f"{path}: "
    return "^" + re.escape(where + message)


def test_reads_sentences_docstart_and_last_sentence(tmp_path):
    sentences = read_conll(_write(tmp_path, CONLL))
    assert sentences == [
        {"tokens": ["EU", "rejects", "German"], "tags": ["B-ORG", "O", "B-MISC"]},
        {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]},
        {"tokens": ["BRUSSELS"], "tags": ["B-LOC"]},
    ]


def test_column_choice_by_index_and_name(tmp_path):
    path = _write(tmp_path, CONLL)
    pos = read_conll(path, tag_column="pos", columns=COLUMNS)
    assert pos[0]["tags"] == ["NNP", "VBZ", "JJ"]
    assert read_conll(path, tag_column=2)[1]["tags"] == ["B-NP", "I-NP"]
    assert read_conll(path, tag_column=-3)[0]["tags"] == ["NNP", "VBZ", "JJ"]
    swapped = read_conll(path, token_column="ner", tag_column="token",
                         columns=COLUMNS)
    assert swapped[2] == {"tokens": ["B-LOC"], "tags": ["BRUSSELS"]}


def test_tab_separated_gzip_and_crlf(tmp_path):
    text = "New York\tB-LOC\r\nis\tO\r\n\r\n"
    path = _write(tmp_path, text, name="data.tsv.gz")
    assert read_conll(path, sep="\t") == [
        {"tokens": ["New York", "is"], "tags": ["B-LOC", "O"]}]


def test_write_then_read_round_trips(tmp_path):
    sentences = read_conll(_write(tmp_path, CONLL))
    for name in ("out.conll", "out.conll.gz"):
        write_conll(sentences, tmp_path / name)
        assert read_conll(tmp_path / name) == sentences
    with pytest.raises(DataError, match=r"sentence 0: cannot write field "
                       r"'New York'; expected a non-empty field without whitespace"):
        write_conll([{"tokens": ["New York"], "tags": ["B-LOC"]}], tmp_path / "x")
    with pytest.raises(DataError, match=r"sentence 0 has 1 tokens but 2 tags"):
        write_conll([{"tokens": ["a"], "tags": ["O", "O"]}], tmp_path / "x")


def test_conll_errors_name_file_and_line(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DataError, match=_error(missing, None, "file not found.")):
        read_conll(missing)
    with pytest.raises(DataError, match="expected a file, found a directory"):
        read_conll(tmp_path)
    for text in ("", "\n\n", "-DOCSTART- -X- O O\n\n"):
        empty = _write(tmp_path, text)
        with pytest.raises(DataError, match=_error(empty, None, "no sentences found")):
            read_conll(empty)
    short = _write(tmp_path, "EU NNP B-NP B-ORG\nrejects B-VP O\n")
    with pytest.raises(DataError, match=_error(
            short, 2, "expected 4 columns (as on line 1), found 3.")):
        read_conll(short)
    path = _write(tmp_path, "EU NNP B-ORG\n")
    with pytest.raises(DataError, match=_error(
            path, 1, "expected 4 columns (as `columns` names), found 3.")):
        read_conll(path, columns=COLUMNS)
    with pytest.raises(DataError, match=_error(
            path, 1, "tag_column=3 does not exist: the file has 3 columns, "
            "so expected a column in [-3, 2].")):
        read_conll(path, tag_column=3)
    with pytest.raises(DataError, match=_error(
            path, 1, "tag_column='ner' is not a column name. Expected one of []")):
        read_conll(path, tag_column="ner")
    with pytest.raises(DataError, match=re.escape(
            "tag_column='lemma' is not a column name. Expected one of "
            "['token', 'pos', 'ner']")):
        read_conll(path, tag_column="lemma", columns=("token", "pos", "ner"))


def test_undecodable_bytes_and_broken_gzip(tmp_path):
    bad = _write(tmp_path, None, raw=b"EU B-ORG\nM\xfcnchen B-LOC\n")
    with pytest.raises(DataError, match=_error(
            bad, 2, "bytes that are not UTF-8 at column 2")):
        read_conll(bad)
    fake = tmp_path / "fake.txt.gz"
    fake.write_bytes(b"EU B-ORG\n")
    with pytest.raises(DataError, match=_error(fake, None, "cannot read file")):
        read_conll(fake)


def test_read_tagged_jsonl(tmp_path):
    lines = [{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]},
             {"tokens": [], "tags": []}, {"tokens": ["Ja"], "tags": ["O"]}]
    text = "\n".join(json.dumps(r) for r in lines[:2]) + "\n\n" + json.dumps(lines[2])
    for name in ("data.jsonl", "data.jsonl.gz"):
        assert read_tagged_jsonl(_write(tmp_path, text, name=name)) == [
            lines[0], lines[2]]


@pytest.mark.parametrize("line, message", [
    ('{"tokens": ["a"], "tags": ["O"]', "invalid JSON (Expecting ',' delimiter"),
    ('["a", "O"]', "expected a JSON object with 'tokens' and 'tags', found list."),
    ('{"tokens": ["a"]}', "missing key 'tags'; expected an object with 'tokens' "
                          "and 'tags'. Found keys: ['tokens']."),
    ('{"tokens": "a b", "tags": ["O"]}', "'tokens' must be a list of strings."),
    ('{"tokens": ["a", "b"], "tags": ["O"]}', "2 tokens but 1 'tags'; expected "
                                              "one tag per token."),
])
def test_jsonl_errors_name_file_and_line(tmp_path, line, message):
    path = _write(tmp_path, '{"tokens": ["x"], "tags": ["O"]}\n' + line + "\n")
    with pytest.raises(DataError, match=_error(path, 2, message)):
        read_tagged_jsonl(path)


def test_jsonl_tag_column_picks_a_key(tmp_path):
    from kerasnlp_seq.tagged_data import read_tagged

    record = {"words": ["EU", "rejects"], "ner": ["B-ORG", "O"],
              "pos": ["NNP", "VBZ"]}
    path = _write(tmp_path, json.dumps(record) + "\n", name="multi.jsonl")
    pos = read_tagged(str(path), token_column="words", tag_column="pos")
    assert [(s["tokens"], s["tags"]) for s in pos] == [
        (["EU", "rejects"], ["NNP", "VBZ"])]
    ner = read_tagged(str(path), token_column="words", tag_column="ner")
    assert ner[0]["tags"] == ["B-ORG", "O"]
    with pytest.raises(DataError, match=_error(path, 1, "missing key 'chunk'")):
        read_tagged(str(path), token_column="words", tag_column="chunk")


def test_jsonl_empty_file(tmp_path):
    path = _write(tmp_path, "\n")
    with pytest.raises(DataError, match=_error(path, None, "no sentences found")):
        read_tagged_jsonl(path)


def test_readers_can_keep_line_numbers(tmp_path):
    path = _write(tmp_path, "-DOCSTART- O\n\nEU B-ORG\nrejects O\n\n\nit O\n")
    assert [s["_lines"] for s in read_conll(path, lines=True)] == [[3, 4], [7]]
    assert "_lines" not in read_conll(path)[0]
    text = '{"tokens": ["a"], "tags": ["O"]}\n\n{"tokens": ["b"], "tags": ["O"]}\n'
    jsonl = _write(tmp_path, text, name="data.jsonl")
    assert [s["_line"] for s in read_tagged_jsonl(jsonl, lines=True)] == [1, 3]
    assert "_line" not in read_tagged_jsonl(jsonl)[0]
