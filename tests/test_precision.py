"""Mixed precision and XLA: float32 outputs, loss scaling, options reach Keras.

Every task's model, built under a mixed policy, must compute in 16-bit floats
and still give float32 outputs; `mixed_float16` must train through a
`LossScaleOptimizer`; a run must leave the global policy as it found it;
`--jit-compile` must reach `model.compile`.
"""

import csv
import math
import os

import keras
import pytest

from kerasnlp_seq import runs, training
from kerasnlp_seq.errors import RunError

POLICIES = ["mixed_float16", "mixed_bfloat16"]


def _compute_dtypes(model):
    return {layer.dtype_policy.compute_dtype for layer in model.layers
            if layer.weights}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("representation", ["word", "word_char"])
def test_text_classifier_outputs_stay_float32(helpers, policy,
                                              representation):
    from kerasnlp_seq.text_config import CharTextClassifierConfig
    from kerasnlp_seq.text_task import TextClassificationTask

    task = TextClassificationTask(CharTextClassifierConfig(
        units=4, embedding_dim=4, char_embedding_dim=4, char_filters=4,
        representation=representation))
    task.name = "precision_test"
    task.adapt([{"text": t, "label": label}
                for t, label in helpers.make_texts(12)])
    with training.precision_policy(policy):
        model = task.build_model()
    training.check_float32_outputs(model)
    assert policy.split("_")[1] in _compute_dtypes(model)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_tagger_outputs_stay_float32(policy, head):
    import numpy as np

    from kerasnlp_seq.tagger import build_sequence_tagger

    with training.precision_policy(policy):
        model = build_sequence_tagger(30, 5, word_dim=4, num_chars=10,
                                      char_dim=4, char_units=4, units=4,
                                      head=head)
    training.check_float32_outputs(model)
    assert policy.split("_")[1] in _compute_dtypes(model)
    x = {name: np.ones([2, 3] + ([4] if name == "chars" else []), "int32")
         for name in model.input}
    scores = model(x)["potentials" if head == "crf" else "probabilities"]
    assert keras.backend.standardize_dtype(scores.dtype) == "float32"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_seq2seq_outputs_stay_float32(policy, tie_embeddings):
    import numpy as np

    from kerasnlp_seq.seq2seq import build_seq2seq

    with training.precision_policy(policy):
        model = build_seq2seq(20, 30, embedding_dim=8, encoder_units=4,
                              units=8, tie_embeddings=tie_embeddings)
    training.check_float32_outputs(model)
    assert policy.split("_")[1] in _compute_dtypes(model)
    logits = model({"source": np.ones((2, 3), "int32"),
                    "target_in": np.ones((2, 4), "int32")})
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def test_a_16_bit_output_is_refused():
    with training.precision_policy("mixed_float16"):
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="must be float32"):
        training.check_float32_outputs(model)


def test_optimizer_scales_the_loss_for_float16_only():
    from kerasnlp_seq.config import TrainConfig

    scaled = training.make_optimizer(TrainConfig(
        mixed_precision="mixed_float16", clipnorm=1.0))
    assert isinstance(scaled, keras.optimizers.LossScaleOptimizer)
    assert scaled.inner_optimizer.clipnorm == 1.0
    for name in ("none", "mixed_bfloat16"):
        plain = training.make_optimizer(TrainConfig(mixed_precision=name))
        assert not isinstance(plain, keras.optimizers.LossScaleOptimizer)


@pytest.fixture
def built_models(monkeypatch):
    """Every model `runs.train` builds, with the policy it was built under."""
    models = []
    original = training.build_and_compile

    def spy(task, train_config, strategy=None):
        model = original(task, train_config, strategy)
        models.append(model)
        return model

    monkeypatch.setattr(training, "build_and_compile", spy)
    return models


def test_mixed_float16_run_trains_with_loss_scaling(helpers, tmp_path,
                                                    built_models):
    data = helpers.write_table(tmp_path / "train.tsv",
                               helpers.make_texts(80, seed=6))
    task_config, train_config = runs.resolve_config("sentiment", overrides={
        "units": 8, "embedding_dim": 8, "vocab_size": 100, "epochs": 2,
        "batch_size": 16, "mixed_precision": "mixed_float16",
        "jit_compile": True, "bidirectional": False})
    run, metrics = runs.train(
        "sentiment", data=data, output=str(tmp_path / "run"),
        task_config=task_config, train_config=train_config, verbose=0,
        echo=lambda *a: None)
    (model,) = built_models
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.jit_compile is True
    assert model.dtype_policy.name == "mixed_float16"
    assert keras.config.dtype_policy().name == "float32"  # restored
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert losses[1] < losses[0]
    assert math.isfinite(metrics["loss"])
    # The saved model reloads and predicts float32 probabilities.
    _, answers = runs.predict(run, ["good great superb", "bad awful"])
    assert all(0.0 <= a["score"] <= 1.0 for a in answers)


def test_bfloat16_and_jit_options_via_the_cli(cli, helpers, tmp_path,
                                              built_models):
    data = helpers.write_table(tmp_path / "train.tsv",
                               helpers.make_texts(40, seed=7))
    result = cli("train", "sentiment", "--data", data, "--output",
                 tmp_path / "run", "--mixed-precision", "mixed_bfloat16",
                 *helpers.TINIER)
    assert result.exit_code == 0, result.output
    (model,) = built_models
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert model.jit_compile is not True  # Keras' own choice when off
    assert not isinstance(model.optimizer,
                          keras.optimizers.LossScaleOptimizer)
    bad = cli("train", "sentiment", "--data", data, "--output",
              tmp_path / "run2", "--mixed-precision", "float8")
    assert bad.exit_code == 2 and "float8" in bad.output


def test_a_task_with_16_bit_outputs_is_a_run_error(monkeypatch):
    from kerasnlp_seq.config import TrainConfig

    class Task:
        name = "half"

        def build_model(self):
            inputs = keras.Input((3,))
            return keras.Model(inputs, keras.layers.Dense(2)(inputs))

        def compile_args(self):
            return {"loss": "mse"}

    with pytest.raises(RunError, match="task 'half': Under mixed precision"):
        training.build_and_compile(
            Task(), TrainConfig(mixed_precision="mixed_float16"))
    assert keras.config.dtype_policy().name == "float32"
