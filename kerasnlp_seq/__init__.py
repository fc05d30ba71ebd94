"""kerasnlp-seq: applied NLP with recurrent networks, on Keras 3.

The public names below import lazily, so `import kerasnlp_seq` stays light
(the CLI and task configs use it without loading TensorFlow):

    from kerasnlp_seq import build_recurrent, cudnn_report
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "build_recurrent": "kerasnlp_seq.builder",
    "RecurrentStack": "kerasnlp_seq.builder",
    "cudnn_report": "kerasnlp_seq.cudnn",
    "format_cudnn_report": "kerasnlp_seq.cudnn",
    "MaskedGlobalPooling": "kerasnlp_seq.layers",
    "FastGRU": "kerasnlp_seq.recurrent",
    "FastLSTM": "kerasnlp_seq.recurrent",
    "FastSimpleRNN": "kerasnlp_seq.recurrent",
    "Vocabulary": "kerasnlp_seq.text",
    "build_text_classifier": "kerasnlp_seq.classification",
    "build_seq2seq": "kerasnlp_seq.seq2seq",
    "Seq2SeqDecoder": "kerasnlp_seq.seq2seq",
    "RecurrentDecoder": "kerasnlp_seq.decoder",
    "TrainConfig": "kerasnlp_seq.config",
    "DataError": "kerasnlp_seq.errors",
    "ConfigError": "kerasnlp_seq.errors",
    "RunError": "kerasnlp_seq.errors",
    "train": "kerasnlp_seq.runs",
    "evaluate": "kerasnlp_seq.runs",
    "predict": "kerasnlp_seq.runs",
    "export": "kerasnlp_seq.runs",
    "load_run": "kerasnlp_seq.runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerasnlp_seq' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
