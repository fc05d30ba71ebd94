"""Document context for the tagger: readers keep documents, windows join
sentences of one document, and predictions split back per sentence."""

import json

import pytest

from kerasnlp_seq import doc_context, runs
from kerasnlp_seq.config import TrainConfig
from kerasnlp_seq.conll import read_conll, read_tagged_jsonl
from kerasnlp_seq.errors import DataError
from tasks.ner import NERConfig, NERTask

TINY = dict(embedding_dim=8, char_embedding_dim=4, char_units=4, units=8)

DOCS = """\
Intro O

-DOCSTART- -X- O O

Peter I-PER
Blackburn I-PER

BRUSSELS I-LOC
1996-08-22 O

-DOCSTART- -X- O O

Leicester I-ORG
won O
"""


def test_read_conll_numbers_documents(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text(DOCS)
    sentences = read_conll(path, documents=True)
    assert [s["_doc"] for s in sentences] == [None, 0, 0, 1]
    # Without the option the sentences are as before; without -DOCSTART-
    # no sentence has a document.
    assert "_doc" not in read_conll(path)[0]
    plain = tmp_path / "plain.txt"
    plain.write_text("a O\n\nb O\n")
    assert [s["_doc"] for s in read_conll(plain, documents=True)] == [
        None, None]


def test_read_jsonl_doc_key(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [{"tokens": ["a"], "tags": ["O"], "doc": "d1"},
            {"tokens": ["b"], "tags": ["O"], "doc": "d1"},
            {"tokens": ["c"], "tags": ["O"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [s["_doc"] for s in read_tagged_jsonl(path, documents=True)] == [
        "d1", "d1", None]
    path.write_text(json.dumps({"tokens": ["a"], "tags": ["O"],
                                "doc": [1]}) + "\n")
    with pytest.raises(DataError, match=r"docs.jsonl:1: 'doc' must be"):
        read_tagged_jsonl(path, documents=True)
    # Without documents asked for, the key is not read.
    assert "_doc" not in read_tagged_jsonl(path)[0]


@pytest.mark.parametrize("budget", [0, 1, 5, 9, 100])
def test_windows_keep_documents_order_and_budget(budget):
    docs = [None, 0, 0, 0, 1, 1, None, None, 2]
    lengths = [2, 3, 4, 2, 9, 1, 1, 1, 3]
    spans = doc_context.windows(docs, lengths, budget)
    assert [i for span in spans for i in span] == list(range(len(docs)))
    for span in spans:
        assert len({docs[i] for i in span}) == 1
        assert len(span) == 1 or (docs[span[0]] is not None and sum(
            lengths[i] for i in span) <= budget)
    rows = [[f"{i}.{k}" for k in range(n)] for i, n in enumerate(lengths)]
    joined = doc_context.join(rows, spans)
    padded = [row + ["pad"] * 3 for row in joined]
    assert doc_context.split(padded, spans, lengths) == rows
    if budget == 100:
        assert spans == [[0], [1, 2, 3], [4, 5], [6], [7], [8]]
    if budget == 0:
        assert spans == [[i] for i in range(len(docs))]


def _task(tmp_path, doc_context_tokens):
    path = tmp_path / "train.txt"
    path.write_text(DOCS)
    task = NERTask(NERConfig(doc_context=doc_context_tokens, **TINY))
    examples = task.read(str(path), "train")
    task.adapt(examples)
    return task, examples


def test_windows_convert_tags_per_sentence(tmp_path):
    task, examples = _task(tmp_path, 64)
    ds = task.dataset(examples, batch_size=8, training=False)
    (x, y), = list(ds)
    # "Intro" has no document; the first document is one window of 4 tokens.
    assert x["words"].shape[0] == 3
    rows = [[task.tags[i] for i in row] for row in y["tags"].numpy().tolist()]
    # IOB1 -> BIOES per sentence: Peter Blackburn is one entity, BRUSSELS
    # (I-LOC, the next sentence) another, not a continuation.
    assert rows[1][:4] == ["B-PER", "E-PER", "S-LOC", "O"]


def test_predict_tags_with_documents_tags_the_window(tmp_path):
    task, examples = _task(tmp_path, 64)
    model = task.build_model()
    tokens = [ex["tokens"] for ex in examples]
    docs = [ex["_doc"] for ex in examples]
    together = task.predict_tags(model, tokens, docs=docs)
    assert [len(t) for t in together] == [len(t) for t in tokens]
    window = task.predict_tags(model, [tokens[1] + tokens[2]])[0]
    assert together[1] + together[2] == window
    # Without documents each sentence is tagged alone.
    assert task.predict_tags(model, tokens) == [
        task.predict_tags(model, [t])[0] for t in tokens]


def test_training_with_doc_context_round_trips(tmp_path, caplog):
    from kerasnlp_seq.samples import generate_ner

    lines = []
    for n, (tokens, tags) in enumerate(generate_ner.generate(60, seed=5)):
        if n % 4 == 0:
            lines += ["-DOCSTART- O", ""]
        lines += [f"{t} {g}" for t, g in zip(tokens, tags)] + [""]
    path = tmp_path / "train.txt"
    path.write_text("\n".join(lines) + "\n")
    config = NERConfig(doc_context=40, **TINY)
    run_dir, metrics = runs.train(
        "ner", data=str(path), valid=str(path), output=str(tmp_path / "run"),
        task_config=config, train_config=TrainConfig(epochs=2, batch_size=4),
        verbose=0)
    task, model, _ = runs.load_run(run_dir)
    assert task.config.doc_context == 40
    assert runs.evaluate(run_dir, str(path)) == metrics
    # Data without documents: a warning, and sentences are tagged alone.
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(l for l in lines if not l.startswith("-DOC")))
    examples = task.read(str(plain), "train")
    assert task.windows(examples) == [[i] for i in range(len(examples))]
    with caplog.at_level("WARNING", logger="kerasnlp_seq"):
        NERTask(config).adapt(examples)
    assert "doc_context=40 has no effect" in caplog.text


def test_shuffled_sentences_never_join_out_of_order():
    sentences = [{"tokens": ["x"] * 3, "_doc": 0, "_index": i, "_source": "f"}
                 for i in (1, 2, 4, 5, 3)]
    keys = doc_context.documents(sentences)
    assert keys == [1, 1, 2, 2, 3]
    spans = doc_context.windows(keys, [3] * 5, 100)
    assert spans == [[0, 1], [2, 3], [4]]
    # Another file with the same document number is another document.
    other = dict(sentences[2], _source="g", _index=3)
    assert doc_context.documents([sentences[1], other]) == [1, 2]


def test_validation_split_holds_back_whole_documents():
    sentences = [{"tokens": ["x"], "_doc": d, "_index": i + 1, "_source": "f"}
                 for i, d in enumerate([0, 0, 1, 1, 1, 2, 3, 3, 4, 5])]
    task = NERTask(NERConfig(doc_context=16))
    train, valid = task.split_validation(sentences, 0.3, seed=1)
    assert len(train) + len(valid) == len(sentences)
    held = {s["_doc"] for s in valid}
    assert len(held) == 2 and not held & {s["_doc"] for s in train}
    for part in (train, valid):
        assert [s["_index"] for s in part] == sorted(s["_index"] for s in part)
    assert task.split_validation(sentences, 0.3, seed=1) == (train, valid)
    # One document only, or no doc_context: the sentence-level split.
    one = [dict(s, _doc=0) for s in sentences]
    train, valid = task.split_validation(one, 0.3, seed=1)
    assert len(valid) == 3 and len(train) == 7
    plain = NERTask(NERConfig()).split_validation(sentences, 0.3, seed=1)
    assert len(plain[1]) == 3
