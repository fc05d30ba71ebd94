"""The docstring examples of the library and the tasks run and print what they show.

Examples that need a user's files (`read_table("reviews.csv")`) or a trained
model are marked `# doctest: +SKIP` where they stand; every other example is
executed here in its module's own namespace and nothing more, as `python -m
doctest kerasnlp_seq/MODULE.py` runs it (so an example imports what it uses),
in a temporary working directory (examples that save a plot write it there).
"""

import doctest
import importlib
import pkgutil

import pytest

import kerasnlp_seq
import tasks

MODULES = sorted(
    name for package in (kerasnlp_seq, tasks)
    for _, name, is_pkg in pkgutil.iter_modules(
        package.__path__, package.__name__ + ".")
    if not is_pkg)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in finder.find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
