"""Readers: CSV / TSV / JSONL (gzip too) and class folders, good and bad."""

import gzip
import os

import pytest

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.readers import (detect_format, open_lines,
                                  read_class_folders, read_table)

COLUMNS = {"text": "text", "label": "label"}


def write(path, content, mode="w"):
    path = str(path)
    if isinstance(content, bytes):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wb") as f:
            f.write(content)
    else:
        with open(path, mode, encoding="utf-8", newline="") as f:
            f.write(content)
    return path


def error_of(fn, *args, **kwargs):
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return info.value, message


# ------------------------------------------------------------------ good


def test_tsv_with_header_gives_records_and_line_numbers(tmp_path):
    path = write(tmp_path / "d.tsv",
                 "text\tlabel\nA good film\tpos\n\nA bad one\tneg\n")
    rows = read_table(path, COLUMNS)
    assert rows == [{"text": "A good film", "label": "pos", "_line": 2},
                    {"text": "A bad one", "label": "neg", "_line": 4}]


def test_tsv_keeps_quotes_literally(tmp_path):
    path = write(tmp_path / "d.tsv", 'text\tlabel\nsaid "hi, there\tpos\n')
    assert read_table(path, COLUMNS)[0]["text"] == 'said "hi, there'


def test_csv_quoted_fields_with_commas_quotes_and_newlines(tmp_path):
    content = ('label,text\n'
               'pos,"Great, really ""great"" film"\n'
               'neg,"line one\nline two\nline three"\n'
               'pos,plain\n')
    rows = read_table(write(tmp_path / "d.csv", content), COLUMNS)
    assert [r["text"] for r in rows] == [
        'Great, really "great" film', "line one\nline two\nline three",
        "plain"]
    assert [r["_line"] for r in rows] == [2, 3, 6]
    assert [r["label"] for r in rows] == ["pos", "neg", "pos"]


def test_jsonl_with_custom_keys_and_integer_labels(tmp_path):
    path = write(tmp_path / "d.jsonl",
                 '{"review": "nice", "stars": 1}\n\n'
                 '{"review": "bad", "stars": 0, "extra": true}\n')
    rows = read_table(path, {"text": "review", "label": "stars"})
    assert rows == [{"text": "nice", "label": "1", "_line": 1},
                    {"text": "bad", "label": "0", "_line": 3}]


@pytest.mark.parametrize("name", ["d.tsv.gz", "d.csv.gz", "d.jsonl.gz"])
def test_gzip_is_read_transparently(tmp_path, name):
    fmt = name.split(".")[1]
    if fmt == "jsonl":
        body = '{"text": "caf\u00e9 ok", "label": "pos"}\n'
    else:
        sep = "," if fmt == "csv" else "\t"
        body = f"text{sep}label\ncaf\u00e9 ok{sep}pos\n"
    path = write(tmp_path / name, body.encode("utf-8"))
    assert read_table(path, COLUMNS) == [
        {"text": "caf\u00e9 ok", "label": "pos", "_line": 1 if fmt == "jsonl"
         else 2}]


def test_headerless_file_by_column_index(tmp_path):
    path = write(tmp_path / "d.txt", "pos\tA good film\nneg\tA bad one\n")
    rows = read_table(path, {"text": "1", "label": "0"}, header=False)
    assert [(r["text"], r["label"], r["_line"]) for r in rows] == [
        ("A good film", "pos", 1), ("A bad one", "neg", 2)]


def test_explicit_format_overrides_extension_and_bom_is_dropped(tmp_path):
    path = write(tmp_path / "data.dat",
                 "\ufefftext,label\nhello,pos\n")
    assert read_table(path, COLUMNS, format="csv")[0]["text"] == "hello"


def test_header_column_by_index_and_limit_and_required(tmp_path):
    path = write(tmp_path / "d.tsv",
                 "text\tlabel\na\t\nb\tneg\nc\tpos\n")
    rows = read_table(path, {"text": "0", "label": "label"},
                      required=["text"], limit=2)
    assert [(r["text"], r["label"]) for r in rows] == [("a", ""), ("b", "neg")]


def test_open_lines_numbers_lines(tmp_path):
    path = write(tmp_path / "x.txt", "a\nb\r\nc")
    assert list(open_lines(path)) == [(1, "a\n"), (2, "b\r\n"), (3, "c")]


@pytest.mark.parametrize("name,fmt", [
    ("a.csv", "csv"), ("a.TSV", "tsv"), ("a.txt", "tsv"), ("a", "tsv"),
    ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.csv.gz", "csv"),
    ("a.jsonl.gz", "jsonl")])
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


# ------------------------------------------------------------------- bad


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.tsv")
    err, message = error_of(read_table, path, COLUMNS)
    assert message == f"{path}: file not found."
    assert err.path == path and err.line is None


def test_directory_instead_of_file(tmp_path):
    _, message = error_of(read_table, str(tmp_path), COLUMNS, format="tsv")
    assert message == f"{tmp_path}: expected a file, found a directory."


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "d.tsv", content)
    _, message = error_of(read_table, path, COLUMNS)
    assert message.startswith(f"{path}: ")
    assert "no records" in message and "empty" in message


def test_header_only_file(tmp_path):
    path = write(tmp_path / "d.tsv", "text\tlabel\n")
    _, message = error_of(read_table, path, COLUMNS)
    assert message == f"{path}: no records found after the header row."


def test_missing_column_names_the_columns_found(tmp_path):
    path = write(tmp_path / "d.csv", "review,sentiment\nhi,pos\n")
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 1
    assert message.startswith(f"{path}:1: no column 'text'")
    assert "['review', 'sentiment']" in message


def test_column_name_without_header(tmp_path):
    path = write(tmp_path / "d.tsv", "hi\tpos\n")
    _, message = error_of(read_table, path, COLUMNS, header=False)
    assert "no header" in message and "0-based index" in message


def test_column_index_out_of_range_without_header(tmp_path):
    path = write(tmp_path / "d.tsv", "hi\tpos\n")
    err, message = error_of(read_table, path, {"text": "0", "label": "5"},
                            header=False)
    assert err.line == 1 and "no column 5" in message


def test_wrong_number_of_fields_names_the_line(tmp_path):
    path = write(tmp_path / "d.tsv",
                 "text\tlabel\nok\tpos\nok\tneg\ttoo many\nok\tpos\n")
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 3
    assert message == (f"{path}:3: expected 2 tab-separated fields, "
                       "found 3.")


def test_wrong_number_of_fields_after_multiline_quoted_field(tmp_path):
    path = write(tmp_path / "d.csv",
                 'text,label\n"one\ntwo\nthree",pos\nfine,neg\n'
                 'bad,neg,extra\n')
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 6
    assert message == f"{path}:6: expected 2 comma-separated fields, found 3."


def test_too_few_fields(tmp_path):
    path = write(tmp_path / "d.tsv", "text\tlabel\nok\tpos\njust text\n")
    err, _ = error_of(read_table, path, COLUMNS)
    assert err.line == 3


def test_undecodable_bytes_name_the_line(tmp_path):
    path = write(tmp_path / "d.tsv",
                 b"text\tlabel\ngood\tpos\nbad \xff\xfe byte\tneg\n")
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 3
    assert message.startswith(f"{path}:3: bytes that are not UTF-8 at "
                              "column 5")


def test_undecodable_bytes_in_gzip_and_jsonl(tmp_path):
    path = write(tmp_path / "d.jsonl.gz",
                 b'{"text": "ok", "label": "a"}\n{"text": "\xc3(", '
                 b'"label": "b"}\n')
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 2 and "UTF-8" in message


def test_not_gzip_despite_the_name(tmp_path):
    path = write(tmp_path / "d.tsv.gz", "text\tlabel\n")
    _, message = error_of(read_table, path, COLUMNS)
    assert message.startswith(f"{path}: cannot read file")


@pytest.mark.parametrize("row,key", [("   \tpos", "text"), ("hi\t ", "label")])
def test_empty_text_or_label(tmp_path, row, key):
    path = write(tmp_path / "d.tsv", f"text\tlabel\nok\tpos\n{row}\n")
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 3
    assert message == f"{path}:3: empty {key} (column {key!r})."


def test_unterminated_quote(tmp_path):
    path = write(tmp_path / "d.csv", 'text,label\nok,pos\n"never closed,neg\n')
    err, message = error_of(read_table, path, COLUMNS)
    assert "malformed CSV" in message and err.line is not None


@pytest.mark.parametrize("line,problem", [
    ('{"text": "a", "label": ', "invalid JSON"),
    ('["a", "b"]', "expected a JSON object, found list"),
    ('{"text": "a"}', "no key 'label'")])
def test_bad_jsonl_lines(tmp_path, line, problem):
    path = write(tmp_path / "d.jsonl",
                 '{"text": "ok", "label": "pos"}\n' + line + "\n")
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 2
    assert message.startswith(f"{path}:2: {problem}")


def test_unknown_extension(tmp_path):
    path = write(tmp_path / "d.xlsx", "x")
    _, message = error_of(read_table, path, COLUMNS)
    assert "'xlsx'" in message and "csv" in message


# --------------------------------------------------------- class folders


def make_imdb(root, texts):
    for label, items in texts.items():
        os.makedirs(root / label, exist_ok=True)
        for i, text in enumerate(items):
            (root / label / f"{i}_7.txt").write_text(text, encoding="utf-8")
    return root


def test_class_folders_aclimdb_layout(tmp_path):
    root = make_imdb(tmp_path / "train", {
        "pos": ["Loved it.<br /><br />Great.", "\ufeffFine film."],
        "neg": ["Dull."], "unsup": ["no label here"]})
    (root / "urls_pos.txt").write_text("http://x\n")
    (root / "labeledBow.feat").write_text("0 1:1\n")
    (root / "pos" / "notes.md").write_text("ignored")
    os.makedirs(root / ".hidden")
    records = read_class_folders(str(root))
    assert [(r["label"], r["text"]) for r in records] == [
        ("neg", "Dull."), ("pos", "Loved it.<br /><br />Great."),
        ("pos", "Fine film.")]
    assert records[0]["_path"] == str(root / "neg" / "0_7.txt")


def test_class_folders_errors(tmp_path):
    _, message = error_of(read_class_folders, str(tmp_path / "none"))
    assert message.endswith("folder not found.")
    os.makedirs(tmp_path / "only_unsup" / "unsup")
    _, message = error_of(read_class_folders, str(tmp_path / "only_unsup"))
    assert "no class folders" in message
    root = make_imdb(tmp_path / "c", {"pos": ["ok"], "neg": []})
    _, message = error_of(read_class_folders, str(root))
    assert message.startswith(str(root / "neg")) and "no .txt files" in message
    root = make_imdb(tmp_path / "d", {"pos": ["ok"], "neg": ["  \n"]})
    _, message = error_of(read_class_folders, str(root))
    assert message == f"{root / 'neg' / '0_7.txt'}: empty text."
    root = make_imdb(tmp_path / "e", {"pos": ["ok"]})
    (root / "pos" / "1_1.txt").write_bytes(b"abc\xff")
    _, message = error_of(read_class_folders, str(root))
    assert message.startswith(str(root / "pos" / "1_1.txt"))
    assert "UTF-8" in message


def test_jsonl_null_text_is_empty_not_the_string_null(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "ok", "label": "pos"}\n'
                 '{"text": null, "label": "neg"}\n')
    err, message = error_of(read_table, path, COLUMNS)
    assert err.line == 2
    assert message == f"{path}:2: empty text (column 'text')."
