"""The NER task end to end: readers, schemes, training, metrics, predict, export.

One tiny tagger is trained once per module (`trained`) on a seeded sample in
CoNLL-2003's own format (four columns, IOB1 tags) with a small vectors file;
the prediction, reload, export and CLI tests all use it.
"""

import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerasnlp_seq import runs
from kerasnlp_seq.config import TrainConfig
from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.samples import generate_ner
from kerasnlp_seq.tagging import convert_tags, entity_scores
from tasks.ner import NERConfig, NERTask

TINY = dict(embedding_dim=16, char_embedding_dim=8, char_units=8, units=16)
FIT = TrainConfig(epochs=10, batch_size=16, learning_rate=0.01, patience=10,
                  clipnorm=5.0)


def write_conll(path, sentences, scheme="iob1", four_columns=True):
    """Sentences (IOB2 tags) as a CoNLL file in `scheme`, 4 or 2 columns."""
    lines = ["-DOCSTART- -X- O O" if four_columns else "-DOCSTART- O", ""]
    for tokens, tags in sentences:
        tags = convert_tags(tags, "iob2", scheme)
        for token, tag in zip(tokens, tags):
            pos = "NNP" if token[:1].isupper() else "NN"
            lines.append(f"{token} {pos} I-NP {tag}" if four_columns
                         else f"{token} {tag}")
        lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("ner_data")
    train = generate_ner.generate(240, seed=3)
    held_out = generate_ner.generate(60, seed=4)
    words = sorted({t.lower() for tokens, _ in train for t in tokens})
    rng = np.random.default_rng(0)
    with open(base / "vectors.txt", "w", encoding="utf-8") as f:
        for word in words[::2]:  # half of the words have a vector
            f.write(word + " " + " ".join(f"{v:.3f}" for v in
                                          rng.normal(size=16)) + "\n")
    return {"train": write_conll(base / "train.txt", train),
            "valid_iob1": write_conll(base / "valid1.txt", held_out),
            "valid_iob2": write_conll(base / "valid2.txt", held_out, "iob2"),
            "vectors": str(base / "vectors.txt"), "base": base,
            "held_out": held_out}


@pytest.fixture(scope="module")
def trained(data):
    lines = []
    # Cased words: the lower-cased vectors file needs the fallback.
    config = NERConfig(embeddings=data["vectors"], lowercase=False,
                       dropout=0.2, embedding_dropout=0.2, **TINY)
    run_dir, metrics = runs.train(
        "ner", data=data["train"], valid=data["valid_iob1"],
        output=str(data["base"] / "run"), task_config=config,
        train_config=FIT, verbose=0, echo=lines.append)
    task, model, _ = runs.load_run(run_dir)
    return {"dir": run_dir, "metrics": metrics, "task": task, "model": model}


# ------------------------------------------------------------- training
def test_tagger_learns_the_sample_and_writes_a_full_run(trained):
    metrics, run_dir = trained["metrics"], trained["dir"]
    assert metrics["f1"] > 0.9, metrics
    with open(os.path.join(run_dir, "metrics.json")) as f:
        saved = json.load(f)
    for key in ("precision", "recall", "f1", "accuracy", "f1_PER",
                "precision_LOC", "recall_ORG", "support_MISC"):
        assert key in saved
    with open(os.path.join(run_dir, "history.csv")) as f:
        header, *rows = [line.strip().split(",") for line in f]
    f1 = [float(r[header.index("val_tags_f1")]) for r in rows]
    assert f1[-1] > f1[0] + 0.5
    with open(os.path.join(run_dir, "tags.json")) as f:
        assets = json.load(f)
    assert (assets["scheme"], assets["train_scheme"]) == ("iob1", "bioes")
    assert {"S-PER", "E-LOC", "B-ORG", "I-MISC"} <= set(assets["tags"])
    with open(os.path.join(run_dir, "train.log")) as f:
        log = f.read()
    cov = assets["embeddings"]
    assert cov["exact"] > 0 and cov["lower"] > 0 and cov["missing"] > 0
    assert (f"{cov['exact'] + cov['lower']} of {cov['words']} vocabulary "
            f"words found") in log


def test_evaluate_matches_seqeval_on_iob1_and_iob2(trained, data):
    from seqeval.metrics import f1_score, precision_score, recall_score

    task, model = trained["task"], trained["model"]
    for name, scheme in (("valid_iob1", "iob1"), ("valid_iob2", "iob2")):
        examples = task.read(data[name], "eval")
        ours = task.evaluate(model, examples)
        gold = [ex["tags"] for ex in examples]
        pred = [convert_tags(p, "bioes", scheme) for p in
                task.predict_tags(model, [ex["tokens"] for ex in examples])]
        assert ours["f1"] == pytest.approx(f1_score(gold, pred), abs=1e-9)
        assert ours["precision"] == pytest.approx(precision_score(gold, pred))
        assert ours["recall"] == pytest.approx(recall_score(gold, pred))
    # The reloaded run directory scores the same, on BIOES gold too.
    assert ours == runs.evaluate(trained["dir"], data["valid_iob2"])
    bioes = write_conll(data["base"] / "valid3.txt", data["held_out"],
                        "bioes")
    assert runs.evaluate(trained["dir"], bioes)["f1"] == ours["f1"]


def test_evaluate_reads_another_column_layout_with_options(trained, data,
                                                          cli):
    # The run read 4-column CoNLL; a 3-column file (token, tag, a comment
    # column) scores the same once --set names its columns.
    lines = []
    for tokens, tags in data["held_out"]:
        lines += [f"{w} {t} src" for w, t in zip(
            tokens, convert_tags(tags, "iob2", "iob1"))] + [""]
    other = data["base"] / "three_columns.txt"
    other.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = runs.evaluate(trained["dir"], data["valid_iob1"])
    result = cli("evaluate", trained["dir"], "--data", str(other), "--json",
                 "--set", "columns=token,ner,source", "--set",
                 "tag_column=ner", "--set", "scheme=iob1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):]) == want
    # Read with the run's own layout (tags in the last column), the file
    # is a one-line error, not a silent misreading.
    result = cli("evaluate", trained["dir"], "--data", str(other))
    assert result.exit_code == 1 and "three_columns.txt" in result.output


def test_in_fit_entity_f1_matches_entity_scores():
    from kerasnlp_seq.entity_metric import EntityF1

    rng = random.Random(0)
    for scheme, prefixes in (("iob1", "BI"), ("iob2", "BI"),
                             ("bioes", "BIES")):
        tags = ["O"] + [f"{p}-{k}" for k in ("PER", "LOC") for p in prefixes]
        lengths = [rng.randint(0, 9) for _ in range(12)]
        true, pred = np.zeros((12, 9), int), np.zeros((12, 9), int)
        for i, n in enumerate(lengths):
            true[i] = [rng.randrange(len(tags)) for _ in range(9)]
            pred[i] = [t if rng.random() < 0.7 and j < n
                       else rng.randrange(len(tags))
                       for j, t in enumerate(true[i])]
        mask = np.arange(9)[None] < np.array(lengths)[:, None]
        metric = EntityF1(tags, scheme)
        metric.update_state(true, pred, sample_weight=mask)
        expected = entity_scores(
            [[tags[k] for k in true[i, :n]] for i, n in enumerate(lengths)],
            [[tags[k] for k in pred[i, :n]] for i, n in enumerate(lengths)],
            scheme)["f1"]
        assert float(metric.result()) == pytest.approx(expected, abs=1e-6)


# ----------------------------------------------------------- prediction
SENTENCES = ["John Smith arrived in Paris on Monday for talks with Wei Chen.",
             "Reuters, based in Tokyo, said 40 jobs would go.", "", " "]


def test_predict_returns_tokens_tags_and_character_spans(trained):
    task, model = trained["task"], trained["model"]
    first, second, empty, blank = task.predict(model, SENTENCES)
    assert first["tokens"][-3:] == ["Wei", "Chen", "."]
    assert [(e["text"], e["type"]) for e in first["entities"]] == [
        ("John Smith", "PER"), ("Paris", "LOC"), ("Wei Chen", "PER")]
    for answer, text in ((first, SENTENCES[0]), (second, SENTENCES[1])):
        assert len(answer["tags"]) == len(answer["tokens"])
        for e in answer["entities"]:
            assert text[e["start"]:e["end"]] == e["text"]
    assert [(e["text"], e["type"]) for e in second["entities"]] == [
        ("Reuters", "ORG"), ("Tokyo", "LOC")]
    assert empty == blank == {"tokens": [], "tags": [], "entities": []}
    line = task.format_prediction(SENTENCES[0], first)
    assert "John/B-PER Smith/E-PER" in line and "[LOC 'Paris' 22:27]" in line


def test_padding_does_not_change_tags(trained):
    task, model = trained["task"], trained["model"]
    short = ["Fischler", "visited", "Bonn", "."]
    long = "The deal between Sony and NATO collapsed on Monday .".split() * 3
    alone = task.predict_tags(model, [short])[0]
    assert task.predict_tags(model, [long, short, long])[1] == alone


def test_saved_model_in_a_fresh_process_matches_predict(trained, tmp_path):
    task, model = trained["task"], trained["model"]
    path = str(tmp_path / "serving")
    task.export(model, path)
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(f"""
        import json, os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        fn = tf.saved_model.load({path!r}).signatures["serving_default"]
        out = fn(text=tf.constant({SENTENCES!r}))
        print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}},
                         default=lambda b: b.decode("utf-8")))
        """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "kerasnlp_seq" not in script.read_text()
    for i, answer in enumerate(task.predict(model, SENTENCES)):
        n = served["lengths"][i]
        assert n == len(answer["tokens"])
        assert served["tokens"][i][:n] == answer["tokens"]
        assert served["tags"][i][:n] == answer["tags"]
        assert set(served["tags"][i][n:]) <= {""}


def test_cli_predict_json_and_text(trained, cli):
    result = cli("predict", trained["dir"], SENTENCES[0], "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)[0]
    assert answer["input"] == SENTENCES[0]
    assert {"text": "Paris", "type": "LOC", "start": 22, "end": 27} in \
        answer["entities"]
    result = cli("predict", trained["dir"], SENTENCES[0])
    assert result.exit_code == 0 and "Paris/S-LOC" in result.output


# ------------------------------------------------------ model variants
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_pos_tagging_with_softmax_and_char_lstm(tmp_path, data):
    """The tag column is POS (no entity scheme): softmax head, char BiLSTM,
    GRU, no casing; loss falls, token accuracy scores, `.keras` reloads."""
    import keras

    from kerasnlp_seq.training import make_optimizer

    task = NERTask(NERConfig(tag_column="pos", head="softmax",
                             char_encoder="lstm", casing=False, cell="gru",
                             dropout=0.0, embedding_dropout=0.0, **TINY))
    examples = task.read(data["train"], "train")[:96]
    task.adapt(examples)
    assert task.scheme == "none" and task.tags == ["NN", "NNP"]
    model = task.build_model()
    model.compile(optimizer=make_optimizer(FIT), **task.compile_args())
    ds = task.dataset(examples, 16, training=True, seed=1)
    history = model.fit(ds, epochs=5, verbose=0, shuffle=False).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert "casing" not in model.input and "tags_f1" not in history
    scores = task.evaluate(model, examples)
    assert set(scores) == {"accuracy", "sentences", "tokens"}
    assert scores["accuracy"] > 0.9
    assert task.predict(model, ["Bonn rests ."])[0]["entities"] == []
    path = str(tmp_path / "model.keras")
    model.save(path)
    tokens = [ex["tokens"] for ex in examples[:8]]
    again = task.load_model(path)
    assert task.predict_tags(again, tokens) == task.predict_tags(model, tokens)
    assert isinstance(again.get_layer("probabilities"), keras.layers.Layer)


# ------------------------------------------------ data, schemes, errors
def test_schemes_are_detected_converted_or_declared(data):
    task = NERTask(NERConfig())
    examples = task.read(data["train"], "train")
    task.adapt(examples)
    assert (task.scheme, task.train_scheme) == ("iob1", "bioes")
    ids = task.tag_ids(examples[:20])
    back = [convert_tags([task.tags[i] for i in row], "bioes", "iob1")
            for row in ids]
    assert back == [ex["tags"] for ex in examples[:20]]
    same = NERTask(NERConfig(train_scheme="same"))
    same.adapt(examples)
    assert same.train_scheme == "iob1" and "S-PER" not in same.tags
    pos = NERTask(NERConfig(tag_column="pos"))
    tagged = pos.read(data["train"], "train")
    assert set(tagged[0]["tags"]) <= {"NN", "NNP"}
    pos.adapt(tagged)
    assert pos.scheme == "none" and pos.monitor == ("val_tags_accuracy", "max")
    jsonl = data["base"] / "bioes.jsonl"
    jsonl.write_text(json.dumps({"tokens": ["Bonn", "rests"],
                                 "tags": ["S-LOC", "O"]}) + "\n")
    bioes = NERTask(NERConfig())
    bioes.adapt(bioes.read(str(jsonl), "train"))
    assert bioes.scheme == "bioes"


def test_bad_input_messages(data, tmp_path):
    def error(config, path, exc=DataError):
        task = NERTask(NERConfig(**config))
        with pytest.raises(exc) as info:
            task.adapt(task.read(path, "train"))
        return str(info.value)

    train = data["train"]
    assert error({"tag_column": "7"}, train).startswith(f"{train}:3: ")
    assert "tag_column=7 does not exist" in error({"tag_column": "7"}, train)
    assert "'lemma' is not a column name" in error({"tag_column": "lemma"},
                                                   train)
    short = tmp_path / "short.txt"
    short.write_text("EU B-ORG\nrejects\n")
    assert error({}, str(short)) == (
        f"{short}:2: expected 2 columns (as on line 1), found 1.")
    two = write_conll(tmp_path / "two.txt", [(["Bonn"], ["B-LOC"])],
                      four_columns=False)
    assert "expected 4 columns (as `columns` names), found 2" in error(
        {"tag_column": "pos"}, two)
    assert error({"scheme": "iob2", "tag_column": "1"}, train).startswith(
        f"{train}:3: tag 'NNP' is not IOB2: expected 'O' or one of")
    with pytest.raises(ConfigError, match="Unknown `scheme`"):
        NERConfig(scheme="bilou")
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"tokens": [], "tags": []}\n')
    assert "no sentences found" in error({}, str(empty))
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"tokens": ["a", " "], "tags": ["O", "O"]}\n')
    assert error({}, str(blank)) == (
        f"{blank}: sentence 1 has an empty token; expected non-empty tokens.")
    bilou = tmp_path / "bilou.txt"
    bilou.write_text("New B-LOC\nYork L-LOC\nis O\nbig U-MISC\n")
    assert error({}, str(bilou)) == (
        f"{bilou}:2: unknown tag scheme: prefixes ['L', 'U'] (first 'L-LOC'). "
        "Expected IOB1, IOB2 or BIOES tags (B-, I-, E-, S-, O); pass "
        "--scheme none to learn the tags as plain labels.")


def test_cli_errors_are_one_line(cli, helpers, tmp_path, data):
    out = tmp_path / "never"
    result = cli("train", "ner", "--data", data["train"], "--tag-column",
                 "9", "--output", out)
    helpers.assert_one_line_error(result, "tag_column=9 does not exist")
    assert not out.exists()
    result = cli("train", "ner", "--scheme", "bilou", "--output", out)
    assert result.exit_code == 2 and "bilou" in result.output


def test_tfds_conll2003_offline(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import splits as splits_lib

    from kerasnlp_seq.tfds_tagging import load_tagged

    # The real split names and label names, written as a prepared data set's
    # metadata would be; the examples come from `as_dataset` below.
    builder = tfds.builder("conll2003", data_dir=str(tmp_path))
    builder.info.set_splits(splits_lib.SplitDict([
        splits_lib.SplitInfo(name=s, shard_lengths=[2], num_bytes=0,
                             filename_template=None)
        for s in ("train", "dev", "test")]))
    os.makedirs(builder.data_path, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)
    features = builder.info.features
    ner, pos = features["ner"].feature.names, features["pos"].feature.names
    gold = [(["EU", "rejects", "German", "call"],
             ["B-ORG", "O", "B-MISC", "O"], ["NNP", "VBZ", "JJ", "NN"]),
            (["Peter", "Blackburn"], ["B-PER", "I-PER"], ["NNP", "NNP"])]

    def as_dataset(self, *args, **kwargs):
        rows = [{"tokens": t, "ner": [ner.index(x) for x in n],
                 "pos": [pos.index(x) for x in p], "chunks": [0] * len(t)}
                for t, n, p in gold]
        spec = {k: tf.TensorSpec([None], tf.string if k == "tokens"
                                 else tf.int64) for k in rows[0]}
        return tf.data.Dataset.from_generator(lambda: iter(rows),
                                              output_signature=spec)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset,
                                data_dir=str(tmp_path)):
        task = NERTask(NERConfig(tfds_data_dir=str(tmp_path)))
        sentences = task.read("tfds:conll2003", "train")
        assert [(s["tokens"], s["tags"]) for s in sentences] == [
            (t, n) for t, n, _ in gold]
        assert task.read("tfds:conll2003", "valid")  # the "dev" split
        tagged = load_tagged("tfds:conll2003", "eval", tag_feature="pos",
                             data_dir=str(tmp_path))
        assert [s["tags"] for s in tagged] == [p for _, _, p in gold]
        with pytest.raises(DataError, match="no tag feature 'lemma'"):
            load_tagged("tfds:conll2003", "train", tag_feature="lemma",
                        data_dir=str(tmp_path))


def test_tokenizer_follows_conll_and_gives_offsets():
    from kerasnlp_seq.tokenize import tokenize_with_offsets

    text = "U.S. stocks didn't fall, Mr. O'Brien's 3,000 fans (1996-08-22)..."
    tokens, offsets = tokenize_with_offsets([text])[0]
    assert tokens == ["U.S.", "stocks", "did", "n't", "fall", ",", "Mr.",
                      "O'Brien", "'s", "3,000", "fans", "(", "1996-08-22",
                      ")", "..."]
    assert [text[a:b] for a, b in offsets] == tokens
    tokens, offsets = tokenize_with_offsets(["Zürich\u00a0é—x"])[0]
    assert tokens == ["Zürich", "é", "—", "x"] and offsets[1] == (7, 8)


def test_bundled_sample_is_what_the_generator_writes(tmp_path):
    from kerasnlp_seq.samples import sample_path

    generate_ner.write(tmp_path / "ner.conll")
    with open(sample_path("ner.conll"), encoding="utf-8") as f:
        assert (tmp_path / "ner.conll").read_text(encoding="utf-8") == f.read()
    assert NERTask().default_data() == sample_path("ner.conll")


# -------------------------------- scheme checks name the file and line
def _adapt_error(path, **config):
    task = NERTask(NERConfig(**config))
    with pytest.raises(DataError) as info:
        task.adapt(task.read(str(path), "train"))
    return str(info.value)


def test_valid_files_of_every_scheme_read(data, tmp_path):
    held_out = data["held_out"]
    for scheme in ("iob1", "iob2", "bioes"):
        path = write_conll(tmp_path / f"{scheme}.txt", held_out, scheme,
                           four_columns=False)
        task = NERTask(NERConfig())
        task.adapt(task.read(path, "train"))
        assert task.scheme == scheme
        declared = NERTask(NERConfig(scheme=scheme))
        declared.adapt(declared.read(path, "train"))
    # IOB1 tags read as IOB1 and IOB2 alike (conlleval's reading).
    iob1 = NERTask(NERConfig(scheme="iob1"))
    iob1.adapt(iob1.read(tmp_path / "iob2.txt", "train"))


def test_a_stray_tag_of_another_scheme_names_its_line(data, tmp_path, cli,
                                                      helpers):
    iob2 = write_conll(tmp_path / "iob2.txt", data["held_out"], "iob2",
                       four_columns=False)
    text = open(iob2, encoding="utf-8").read()
    mixed = tmp_path / "mixed.conll"
    mixed.write_text(text + "John B-PER\nSmith E-PER\n", encoding="utf-8")
    line = text.count("\n") + 2
    first = next(n for n, row in enumerate(text.splitlines(), 1)
                 if row.split() and row.split()[-1][:2] in ("B-", "I-"))
    message = _adapt_error(mixed)
    assert message.startswith(
        f"{mixed}:{line}: tag 'E-PER' is BIOES, but the rest of the file is "
        f"IOB2: "), message
    assert message.endswith(f"(e.g. line {first}). Expected one tag scheme "
                            "per file.")
    # Evaluation data is checked the same way.
    task = NERTask(NERConfig())
    task.adapt(task.read(iob2, "train"))
    with pytest.raises(DataError, match=f"^{mixed}:{line}: tag 'E-PER'"):
        task.gold_scheme(task.read(str(mixed), "eval"))
    # A BIOES file with one malformed sentence blames that sentence.
    bioes = write_conll(tmp_path / "bioes.txt", data["held_out"], "bioes",
                        four_columns=False)
    text = open(bioes, encoding="utf-8").read()
    broken = tmp_path / "broken.conll"
    broken.write_text(text + "John B-PER\nSmith I-PER\nsaid O\n",
                      encoding="utf-8")
    line = text.count("\n") + 2
    assert _adapt_error(broken).startswith(
        f"{broken}:{line}: tag 'I-PER' is followed by 'O'; in BIOES an "
        "entity is 'S-PER' or 'B-PER', 'I-PER'..., 'E-PER'. The tags are "
        "read as BIOES: they use E- and S- (e.g. line ")
    jsonl = tmp_path / "broken.jsonl"
    jsonl.write_text(json.dumps({"tokens": ["Bonn"], "tags": ["S-LOC"]})
                     + "\n" + json.dumps({"tokens": ["a", "B"],
                                          "tags": ["O", "E-PER"]}) + "\n")
    assert _adapt_error(jsonl).startswith(
        f"{jsonl}:2: tag 'E-PER' ends no entity")
    out = tmp_path / "never"
    result = cli("train", "ner", "--data", str(mixed), "--output", str(out))
    helpers.assert_one_line_error(result, f"{mixed}:", "tag 'E-PER' is BIOES")
    assert not out.exists()


def test_a_declared_scheme_must_fit_the_data(data, tmp_path, cli, helpers):
    iob2 = write_conll(tmp_path / "iob2.txt", [(["Ann", "Lee", "ran"],
                       ["B-PER", "I-PER", "O"])], "iob2", four_columns=False)
    assert _adapt_error(iob2, scheme="bioes") == (
        f"{iob2}:4: tag 'I-PER' is followed by 'O'; in BIOES an entity is "
        "'S-PER' or 'B-PER', 'I-PER'..., 'E-PER' (declared scheme 'bioes'; "
        "the tags read as 'iob2').")
    bioes = write_conll(tmp_path / "bioes.txt", [(["in", "Bonn"],
                        ["O", "B-LOC"])], "bioes", four_columns=False)
    assert _adapt_error(bioes, scheme="iob2") == (
        f"{bioes}:4: tag 'S-LOC' is not IOB2: expected 'O' or one of "
        "'B-TYPE', 'I-TYPE' (declared scheme 'iob2'; the tags read as "
        "'bioes').")
    train = data["train"]  # IOB1: entities start with I-
    assert "starts an entity, but IOB2 starts every entity with" in (
        _adapt_error(train, scheme="iob2"))
    out = tmp_path / "never"
    many = write_conll(tmp_path / "many.txt", data["held_out"], "iob2")
    result = cli("train", "ner", "--data", many, "--scheme", "bioes",
                 "--output", str(out))
    helpers.assert_one_line_error(
        result, f"{many}:", "(declared scheme 'bioes'; the tags read as "
        "'iob2').")
    assert not out.exists()


def test_validation_data_keeps_its_own_scheme(data, tmp_path):
    held_out = data["held_out"]
    iob2 = write_conll(tmp_path / "iob2.txt", held_out, "iob2")
    bioes = write_conll(tmp_path / "bioes.txt", held_out, "bioes")
    task = NERTask(NERConfig(train_scheme="iob2"))
    task.adapt(task.read(data["train"], "train"))
    valid = task.read(bioes, "valid")
    assert task.tag_ids(valid) == task.tag_ids(task.read(iob2, "valid"))
    assert task.gold_scheme(valid) == "bioes"
    # Held-back sentences of the training data keep its scheme.
    assert task.gold_scheme(task.read(data["train"], "valid")[:3]) == "iob1"
    broken = tmp_path / "broken.txt"
    broken.write_text("Bonn S-LOC\n\nAnn B-PER\nran O\n")
    with pytest.raises(DataError, match=f"^{broken}:3: tag 'B-PER' is "
                       "followed by 'O'"):
        task.tag_ids(task.read(str(broken), "valid"))


def test_scheme_errors_under_evaluate(trained, tmp_path):
    bad = tmp_path / "badtag.conll"
    bad.write_text("Ann B-PER\nLee X-PER\n\nBonn B-LOC\n")
    with pytest.raises(DataError) as info:
        runs.evaluate(trained["dir"], str(bad))
    assert str(info.value) == (
        f"{bad}:2: unknown tag scheme: prefixes ['X'] (first 'X-PER'). "
        "Expected IOB1, IOB2 or BIOES tags (B-, I-, E-, S-, O).")
    # Evaluation data without entities is scored, not refused.
    plain = tmp_path / "plain.conll"
    plain.write_text("a O\nb O\n\nc O\n")
    assert runs.evaluate(trained["dir"], str(plain))["true_entities"] == 0


def test_training_data_without_entities_is_refused(tmp_path, cli, helpers):
    plain = tmp_path / "plain.conll"
    plain.write_text("a O\nb O\n\nc O\n")
    assert _adapt_error(plain) == (
        f"{plain}: no entities: every tag is 'O'; expected training data "
        "with tagged entities (B-, I-, E-, S- tags).")
    assert _adapt_error(plain, scheme="none") == (
        f"{plain}: every tag is 'O'; expected at least two different tags "
        "to learn.")
    out = tmp_path / "never"
    result = cli("train", "ner", "--data", str(plain), "--output", str(out))
    helpers.assert_one_line_error(result, f"{plain}: no entities")
    assert not out.exists()


def test_training_checks_the_whole_file_before_holding_back(tmp_path, cli,
                                                           helpers):
    # Whichever sentence is held back for validation, the bad tag is found.
    bad = tmp_path / "badtag.conll"
    bad.write_text("Ann B-PER\nLee X-PER\n\nBonn B-LOC\n")
    out = tmp_path / "never"
    result = cli("train", "ner", "--data", str(bad), "--output", str(out))
    helpers.assert_one_line_error(
        result, f"{bad}:2: unknown tag scheme: prefixes ['X'] (first "
        "'X-PER'). Expected IOB1, IOB2 or BIOES tags (B-, I-, E-, S-, O); "
        "pass --scheme none to learn the tags as plain labels.")
    assert not out.exists()


def test_crf_constraints_make_every_decoded_sequence_well_formed(trained,
                                                                  data):
    from kerasnlp_seq.tagging import allowed_transitions, find_malformed

    task, model = trained["task"], trained["model"]
    assert task.train_scheme == "bioes" and task.config.crf_constraints
    crf = model.get_layer("crf")
    assert (crf.allowed_transitions, crf.allowed_start, crf.allowed_end) == \
        tuple(allowed_transitions(task.tags, "bioes"))
    # Word salad, where an unconstrained tagger often ends an entity early.
    rng = np.random.default_rng(0)
    words = [t for tokens, _ in data["held_out"] for t in tokens]
    salad = [list(rng.choice(words, size=n)) for n in rng.integers(1, 20, 60)]
    for tags in task.predict_tags(model, salad):
        assert find_malformed(tags, "bioes") is None, tags
