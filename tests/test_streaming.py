"""Streamed training data: read from disk through tf.data, never a list.

The scan must count and sample without holding the data, the hash split must
be disjoint and seeded, `records()` must give what the list reader gives for
every format, malformed lines must still be reported as `path:line`, and a
streamed run must train end to end through the CLI.
"""

import gzip
import os

import pytest

from kerasnlp_seq import readers, streaming
from kerasnlp_seq.errors import DataError

COLUMNS = {"text": "text", "label": "label"}


def _records(ds):
    return [(t.decode(), label.decode()) for t, label in
            ds.as_numpy_iterator()]


def _listed(path, **kw):
    return [(r["text"], r["label"])
            for r in readers.read_table(path, COLUMNS, **kw)]


@pytest.mark.parametrize("name", ["data.tsv", "data.tsv.gz", "data.csv",
                                  "data.csv.gz", "data.jsonl"])
def test_records_match_the_list_reader(helpers, tmp_path, name):
    pairs = helpers.make_texts(120, seed=1)
    pairs[3] = ('He said "so, so good", then left.', "pos")
    if "csv" in name:
        pairs[5] = ("two\nlines, quoted", "neg")
    path = helpers.write_table(tmp_path / name, pairs)
    examples = streaming.scan_table(path, COLUMNS)
    assert examples.num_examples == 120
    expected = {}
    for _, label in pairs:
        expected[label] = expected.get(label, 0) + 1
    assert examples.label_counts() == expected
    assert sorted(_records(examples.records())) == sorted(_listed(path))
    assert not hasattr(examples, "__len__")
    assert [(r["text"], r["label"]) for r in examples] == _listed(path)


def test_csv_with_blank_lines_and_crlf_falls_back_to_python(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'text,label\r\n"a, b",pos\r\n\r\nplain,neg\r\n')
    examples = streaming.scan_table(str(path), COLUMNS)
    assert examples.python_parser
    assert _records(examples.records()) == [("a, b", "pos"),
                                            ("plain", "neg")]


def test_hash_split_is_disjoint_complete_and_seeded(helpers, tmp_path):
    pairs = [(f"text number {i} " + t, label) for i, (t, label) in
             enumerate(helpers.make_texts(600, seed=2))]
    path = helpers.write_table(tmp_path / "big.tsv", pairs)
    examples = streaming.scan_table(path, COLUMNS)
    train, valid = examples.split(0.2, seed=7)
    t, v = _records(train.records()), _records(valid.records())
    assert set(t).isdisjoint(v)
    assert sorted(t + v) == sorted(pairs)
    assert (train.num_examples, valid.num_examples) == (len(t), len(v))
    assert 0.12 < len(v) / 600 < 0.28
    again = _records(examples.split(0.2, seed=7)[1].records())
    other = _records(examples.split(0.2, seed=8)[1].records())
    assert again == v and other != v
    counts = valid.label_counts()
    assert sum(counts.values()) == len(v)
    assert counts == {k: sum(1 for _, lab in v if lab == k) for k in counts}


def test_sample_is_bounded_seeded_and_split(helpers, tmp_path):
    pairs = [(f"review {i} is here", "pos" if i % 2 else "neg")
             for i in range(500)]
    path = helpers.write_table(tmp_path / "s.tsv", pairs)
    a = streaming.scan_table(path, COLUMNS, sample_size=50, sample_seed=3)
    b = streaming.scan_table(path, COLUMNS, sample_size=50, sample_seed=3)
    c = streaming.scan_table(path, COLUMNS, sample_size=50, sample_seed=4)
    assert len(a.sample_texts()) == 50
    assert a.sample_texts() == b.sample_texts() != c.sample_texts()
    # A reservoir sample, not the head of the file.
    assert max(int(t.split()[1]) for t in a.sample_texts()) > 250
    train, valid = a.split(0.3, seed=1)
    valid_texts = {t for t, _ in _records(valid.records())}
    assert not set(train.sample_texts()) & valid_texts
    assert len(train.sample_texts()) + len(valid.sample_texts()) == 50


@pytest.mark.parametrize("content, fragment, line", [
    ("text\tlabel\ngood film\tpos\nno label here\n", "found 1", 3),
    ("text\tlabel\ngood film\tpos\n\tneg\n", "empty text", 3),
])
def test_malformed_lines_name_file_and_line(tmp_path, content, fragment,
                                            line):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as e:
        streaming.scan_table(str(path), COLUMNS)
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert fragment in str(e.value)


def test_bad_bytes_in_a_gzip_file_name_the_line(tmp_path):
    path = tmp_path / "bad.tsv.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"text\tlabel\nfine\tpos\nbad \xff byte\tneg\n")
    with pytest.raises(DataError, match=rf"^{path}:3: bytes that are not"):
        streaming.scan_table(str(path), COLUMNS)


def test_missing_column_is_reported(helpers, tmp_path):
    path = helpers.write_table(tmp_path / "d.tsv", helpers.make_texts(10))
    with pytest.raises(DataError, match="no column 'review'"):
        streaming.scan_table(path, {"text": "review", "label": "label"})


def test_an_empty_split_part_is_an_error(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text("text\tlabel\nonly one\tpos\n", encoding="utf-8")
    with pytest.raises(DataError, match="part of a hash split"):
        streaming.scan_table(str(path), COLUMNS).split(0.1, seed=0)


def test_streamed_run_trains_through_the_cli(cli, helpers, tmp_path):
    pairs = helpers.make_texts(150, seed=4)
    data = helpers.write_table(tmp_path / "train.csv.gz", pairs)
    valid = helpers.write_table(tmp_path / "valid.tsv",
                                helpers.make_texts(30, seed=9))
    run = str(tmp_path / "run")
    result = cli("train", "sentiment", "--data", data, "--valid", valid,
                 "--output", run, "--stream", "on", "--stream-sample", "60",
                 "--batch-tokens", "200", *helpers.TINIER)
    assert result.exit_code == 0, result.output
    assert "150 training and 30 validation examples" in result.output
    assert os.path.exists(os.path.join(run, "saved_model"))
    with open(os.path.join(run, "vocab.txt"), encoding="utf-8") as f:
        assert len(f.read().split()) > 5
    # The held-back split works on streamed data too.
    run2 = str(tmp_path / "run2")
    result = cli("train", "sentiment", "--data", data, "--output", run2,
                 "--stream", "on", *helpers.TINIER)
    assert result.exit_code == 0, result.output


def test_a_label_unseen_in_training_names_its_line(cli, helpers, tmp_path):
    data = helpers.write_table(tmp_path / "train.tsv",
                               helpers.make_texts(40, classes=("neg", "pos")))
    valid = helpers.write_table(
        tmp_path / "valid.tsv", [("fine film", "pos"), ("odd one", "meh")])
    result = cli("train", "sentiment", "--data", data, "--valid", valid,
                 "--output", tmp_path / "run", "--stream", "on",
                 *helpers.TINIER)
    helpers.assert_one_line_error(
        result, f"{valid}:3: label 'meh' was not seen in training")
    assert not os.path.exists(tmp_path / "run")
