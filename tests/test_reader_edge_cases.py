"""Reader edge cases from an audit: unreadable files in class folders,
labels with surrounding white space, very long fields, header-only tables,
and a file given where a run directory belongs."""

import os

import pytest

from kerasnlp_seq import finished_run
from kerasnlp_seq.errors import DataError, RunError
from kerasnlp_seq.readers import iter_table, read_class_folders, read_table
from kerasnlp_seq.text_data import read_texts

COLUMNS = {"text": "text", "label": "label"}


def write(path, content):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(content)
    return str(path)


def error_of(fn, *args, error=DataError, **kwargs):
    with pytest.raises(error) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return info.value, message


class TextConfig:
    """The fields of a `TextClassifierConfig` that `read_texts` reads."""
    text_column, label_column = "text", "label"
    format, header, stream_sample = None, True, 100


def class_folders(root):
    for label in ("negative", "positive"):
        os.makedirs(root / label)
        (root / label / "0.txt").write_text(f"a {label} text",
                                            encoding="utf-8")
    return root


# ------------------------------------------- 1. unreadable class-folder file


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_class_folder_dangling_symlink_is_a_one_line_data_error(tmp_path):
    root = class_folders(tmp_path / "f")
    gone = root / "negative" / "gone.txt"
    os.symlink(str(tmp_path / "does_not_exist.txt"), str(gone))
    err, message = error_of(read_class_folders, str(root))
    assert message == f"{gone}: cannot read file (No such file or directory)."
    assert err.path == str(gone) and err.line is None


def test_class_folder_directory_named_txt_is_a_one_line_data_error(tmp_path):
    root = class_folders(tmp_path / "f")
    os.makedirs(root / "positive" / "notes.txt")
    err, message = error_of(read_class_folders, str(root))
    assert message.startswith(f"{root / 'positive' / 'notes.txt'}: "
                              "cannot read file (")
    assert err.path == str(root / "positive" / "notes.txt")


# ------------------------------------------ 2. labels stripped, texts kept


@pytest.mark.parametrize("name, content", [
    ("d.tsv", "text\tlabel\n good \tpositive \nbad\t negative\n"
              "ok\t positive\n"),
    ("d.csv", 'text,label\n good ,positive \nbad," negative\t"\n'
              'ok,\tpositive\n'),
    ("d.jsonl", '{"text": " good ", "label": "positive "}\n'
                '{"text": "bad", "label": " negative\\t"}\n'
                '{"text": "ok", "label": "\\tpositive"}\n'),
])
def test_labels_are_stripped_in_every_format_texts_are_not(tmp_path, name,
                                                           content):
    path = write(tmp_path / name, content)
    examples = read_texts(path, TextConfig())
    assert [ex["label"] for ex in examples] == ["positive", "negative",
                                                "positive"]
    assert [ex["text"] for ex in examples] == [" good ", "bad", "ok"]
    first = 1 if name.endswith(".jsonl") else 2  # below the header
    assert [ex["_line"] for ex in examples] == [first, first + 1, first + 2]


@pytest.mark.parametrize("name, content", [
    ("d.tsv", "text\tlabel\ngood\tpositive \nbad\t negative\n"
              "ok\tpositive\n"),
    ("d.csv", 'text,label\ngood,positive \nbad," negative"\nok,positive\n'),
    ("d.jsonl", '{"text": "good", "label": "positive "}\n'
                '{"text": "bad", "label": " negative"}\n'
                '{"text": "ok", "label": "positive"}\n'),
])
def test_streamed_labels_are_stripped_too(tmp_path, name, content):
    path = write(tmp_path / name, content)
    streamed = read_texts(path, TextConfig(), stream=True)
    assert streamed.label_counts() == {"positive": 2, "negative": 1}
    pairs = [(t.decode(), l.decode()) for t, l in
             streamed.records().as_numpy_iterator()]
    assert pairs == [("good", "positive"), ("bad", "negative"),
                     ("ok", "positive")]
    assert [r["label"] for r in streamed] == ["positive", "negative",
                                              "positive"]


def test_one_class_for_a_label_with_a_trailing_space(tmp_path):
    path = write(tmp_path / "d.tsv",
                 "text\tlabel\ngreat\tpositive\nfine\tpositive \n")
    examples = read_texts(path, TextConfig())
    assert {ex["label"] for ex in examples} == {"positive"}


def test_a_white_space_only_label_is_still_empty(tmp_path):
    path = write(tmp_path / "d.tsv", "text\tlabel\nhi\t   \n")
    _, message = error_of(read_table, path, COLUMNS)
    assert message == f"{path}:2: empty label (column 'label')."


# ------------------------------------------------ 3. fields over 128 KiB


@pytest.mark.parametrize("name, sep", [("d.tsv", "\t"), ("d.csv", ",")])
def test_a_200k_character_field_is_read(tmp_path, name, sep):
    long_text = "word " * 40_000  # 200,000 characters
    assert len(long_text) == 200_000
    path = write(tmp_path / name,
                 f"text{sep}label\n{long_text}{sep}positive\nshort{sep}neg\n")
    records = read_table(path, COLUMNS)
    assert records[0]["text"] == long_text
    assert [r["label"] for r in records] == ["positive", "neg"]
    assert records[1]["_line"] == 3


def test_a_200k_character_quoted_csv_field_with_newlines(tmp_path):
    long_text = ("x" * 99_999 + "\n") * 2
    path = write(tmp_path / "d.csv", f'text,label\n"{long_text}",pos\n')
    assert read_table(path, COLUMNS)[0]["text"] == long_text


# ------------------------------------------------- 4. header-only tables


@pytest.mark.parametrize("name, content", [
    ("d.tsv", "text\tlabel\n"), ("d.tsv", "text\tlabel\n\n\n"),
    ("d.csv", "text,label\n"), ("d.csv", "\ufefftext,label\r\n")])
def test_header_only_table_says_no_records_after_the_header(tmp_path, name,
                                                            content):
    path = write(tmp_path / name, content)
    err, message = error_of(read_table, path, COLUMNS)
    assert message == f"{path}: no records found after the header row."
    _, message = error_of(lambda: list(iter_table(path, COLUMNS)))
    assert message == f"{path}: no records found after the header row."


@pytest.mark.parametrize("name, content, header", [
    ("d.tsv", "", True), ("d.tsv", "\n \n", True),
    ("d.tsv", "", False), ("d.jsonl", "\n", True)])
def test_truly_empty_table_still_says_the_file_is_empty(tmp_path, name,
                                                        content, header):
    path = write(tmp_path / name, content)
    kwargs = {} if header else {"header": False}
    columns = COLUMNS if header else {"text": "0", "label": "1"}
    _, message = error_of(read_table, path, columns, **kwargs)
    assert message == f"{path}: no records found; the file is empty."


# ------------------------------------ 5. a file given as the run directory


def test_file_as_run_directory_hint_is_command_neutral(tmp_path):
    a_file = tmp_path / "config.json"
    a_file.write_text("{}")
    _, message = error_of(finished_run.load_run, str(a_file),
                          error=RunError)
    assert message == (f"{a_file}: a file, not a run directory (the run "
                       "directory comes first, before any data or inputs).")
    assert "--data" not in message
