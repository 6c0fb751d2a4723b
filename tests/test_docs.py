"""The documentation does what it says: the README's Python examples run (and the MNIST one
reaches the accuracy a user would expect), and so do docs/optimizers.md's; every `xpnet`
command the README shows parses with the real command line, every option and choice it names
exists, every relative link of the README and docs/ leads to a file (and to a section there),
every function and line of code that docs/lecture-to-code.md quotes is there, and the README's
Design table has a row for each module."""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

import xpnet
from xpnet.backend import BackendUnavailable, cupy_unavailable_reason
from xpnet.cli import parser as cli_parser
from xpnet.losses import Quadratic

README = (REPO / "README.md").read_text(encoding="utf-8")
LECTURE_TO_CODE = (REPO / "docs" / "lecture-to-code.md").read_text(encoding="utf-8")
SOURCE = Path(xpnet.__file__).parent  # the package tested: a checkout's or an installed one


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    (commands,) = [action for action in cli_parser.build_parser()._actions
                   if isinstance(action, argparse._SubParsersAction)]
    return dict(commands.choices)


def documented_commands(text: str) -> list[str]:
    """Every ``xpnet ...`` (or ``python -m xpnet ...``) line of a document's shell blocks, and
    every inline one without placeholders such as ``[options]``, ``a|b`` or ``...``, as the
    words after ``xpnet``."""
    lines = []
    for block in code_blocks(text, "bash"):
        lines += [line.split("#")[0].strip()
                  for line in block.replace("\\\n", " ").splitlines()]
    lines += [code for code in re.findall(r"`([^`\n]+)`", text)
              if not re.search(r"[\[|]|\.\.\.", code)]
    return [line.removeprefix("python -m ") for line in lines
            if line.startswith(("xpnet ", "python -m xpnet "))]


#: the README and the guides in docs/ (benchmarks*.md record runs: the commands of their day,
#: and command names in prose, as "`xpnet evaluate` of the saved file")
DOCUMENTS = {"README.md": README, **{f"docs/{path.name}": path.read_text(encoding="utf-8")
                                     for path in sorted((REPO / "docs").glob("*.md"))
                                     if not path.name.startswith("benchmarks")}}


@pytest.mark.parametrize("document, command", [
    (name, command) for name, text in DOCUMENTS.items() for command in documented_commands(text)])
def test_documented_commands_parse(document, command):
    try:
        cli_parser.build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exit_:  # argparse's verdict on a bad command (0 for --help)
        assert exit_.code == 0, f"{document} shows a command xpnet refuses: {command}"


def test_readme_names_every_train_option_and_only_real_ones():
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", README))
    parsers = subcommand_parsers()
    known = {option for parser in parsers.values() for action in parser._actions
             for option in action.option_strings}
    scripts = {"--lean", "--backend"}  # scripts/bench.py's, which the README also shows
    pip = {"--index-url"}  # in the command that installs PyTorch's CPU build
    assert named - known - scripts - pip == set()
    train = {option for action in parsers["train"]._actions
             for option in action.option_strings if option.startswith("--")}
    assert train - {"--help"} - named == set(), "train options the README does not mention"


def test_readme_choices_are_the_command_lines():
    """``--option a\\|b\\|c`` in the README's tables: each value is one the option takes."""
    choices = {option: action.choices for action in subcommand_parsers()["train"]._actions
               for option in action.option_strings if action.choices}
    listed = re.findall(r"`(--[a-z-]+) ([a-z_-]+(?:\\\|[a-z_-]+)+)`", README)
    assert len(listed) >= 6  # the dataset, activation, output, loss, init, optimizer... rows
    for option, values in listed:
        assert set(values.split("\\|")) <= set(choices[option]), option


def readme_option_defaults() -> dict[str, str]:
    """The README's options table as {option: the default it states}: a row's options (less
    its parenthesized notes) paired with its comma-separated defaults, where they pair up."""
    defaults = {}
    for options, stated in re.findall(r"^\| (`--.*) \| (.*) \|$", README, re.M):
        names = re.findall(r"`(--[a-z-]+)", re.sub(r"\([^)]*\)", "", options))
        values = stated.split(", ")
        if len(values) == len(names):
            defaults.update(zip(names, values))
    return defaults


@pytest.mark.parametrize("option", ["--layers", "--optimizer", "--schedule", "--epochs",
                                    "--batch-size", "--validation", "--seed"])
def test_readme_states_the_train_defaults(option):
    """Changing a default (--layers 784,512,256,10, --epochs 10, ...) without the README's
    options table, or the other way round, used to go unnoticed."""
    stated = readme_option_defaults()[option]
    default = vars(cli_parser.build_parser().parse_args(["train"]))[option[2:].replace("-", "_")]
    assert (",".join(map(str, default)) if isinstance(default, list) else str(default)) == \
        stated, option


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch, capsys, mnist):
    """The README's Python blocks, in order, in one namespace, as a reader pastes them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XPNET_DATA_DIR", str(mnist.parent))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    blocks = code_blocks(README, "python")
    assert len(blocks) == 5, "the README's examples changed: update this test"
    short_example, gradient_check, training, reading, backends = blocks
    namespace = {}

    exec(compile(short_example, "README: a short example", "exec"), namespace)
    loss, accuracy = capsys.readouterr().out.split()
    assert float(accuracy) >= 0.95  # a tanh network separates the four quadrants

    exec(compile(gradient_check, "README: a gradient check", "exec"), namespace)
    shown, printed = capsys.readouterr().out, code_blocks(README, "text")[0]
    # the table as printed, but for the errors' digits, which may differ from one BLAS to another
    assert re.sub(r"\d\.\d\de-\d\d", "x", shown) == re.sub(r"\d\.\d\de-\d\d", "x", printed)
    # what the README says of the derivative 1 / (1 + |z|): W^(1) and b^(1) fail
    softsign = namespace["Softsign"]
    wrong = type("WrongSoftsign", (softsign,), {
        "derivative": lambda self, xp, z, a: 1.0 / (1.0 + xp.abs(z))})
    net = xpnet.Network([2, 16, 2], activation=wrong(), output="softmax")
    check = xpnet.check_gradient(net, namespace["X"][:32], namespace["y"][:32])
    assert [p.failed > 0 for p in check.parameters] == [True, True, False, False]
    # and of the lecture's C_i = ||a - y||^2 without the 1/2 its delta_L keeps: 0.5 everywhere
    lecture_cost = type("LectureQuadratic", (Quadratic,), {
        "name": "", "per_sample": lambda self, xp, z, a, y: xp.sum((a - y) ** 2, axis=1)})
    net = xpnet.Network([2, 16, 2], output="sigmoid", loss=lecture_cost())
    check = xpnet.check_gradient(net, namespace["X"][:32], namespace["y"][:32])
    assert [round(p.max_rel_error, 6) for p in check.parameters] == [0.5] * 4

    exec(compile(training, "README: training", "exec"), namespace)
    evaluated, matrix = capsys.readouterr().out.split("\n", 1)
    test_loss, test_accuracy = eval(evaluated)  # the printed tuple
    assert test_accuracy >= 0.97 and test_loss < 0.1
    counts = np.array(matrix.replace("[", " ").replace("]", " ").split(), float).reshape(10, 10)
    assert counts.sum() == 10_000 and np.trace(counts) / 10_000 == pytest.approx(test_accuracy)
    assert (tmp_path / "mnist.npz").is_file() and (tmp_path / "mnist.history.json").is_file()

    exec(compile(reading, "README: reading a checkpoint", "exec"), namespace)
    assert capsys.readouterr().out.strip() == "{}"  # the metadata: fit was given none
    assert namespace["opt"].t > 0 and namespace["opt"].momentum == 0.9  # SGD's, as saved
    assert namespace["opt"].state_dict()["t"] == namespace["state"]["t"]

    if cupy_unavailable_reason() is None:
        exec(compile(backends, "README: choosing the backend", "exec"), namespace)
    else:  # the last line asks for CuPy: a clear error, after the first two lines ran
        with pytest.raises(BackendUnavailable, match="CuPy"):
            exec(compile(backends, "README: choosing the backend", "exec"), namespace)


@pytest.mark.parametrize("document", ["README.md", *(
    str(path.relative_to(REPO)) for path in sorted((REPO / "docs").glob("*.md")))])
def test_layer_l_is_indexed_as_l_minus_1(document):
    """The docs say W^(l) is ``net.weights[l-1]`` (the input layer l = 0 has no weights): a
    layer written with the lecture's l, as in the update ``net.weights[l-1] = ... -
    eta * net.weight_grads[l-1]``, is indexed with l-1, never ``[l]``, which is W^(l+1)."""
    text = (REPO / document).read_text(encoding="utf-8")
    wrong = re.findall(r"\b(?:weights|biases|weight_grads|bias_grads)\[l\]", text)
    assert not wrong, f"{document} indexes layer l as [l], which holds W^(l+1): {wrong}"


def table_rows() -> list[tuple[list[str], list[str]]]:
    """Each row of docs/lecture-to-code.md's tables as (its quotes, its places): the lines of
    code quoted in its "code" column (the backticked snippets that are statements or
    expressions: an assignment, a return, an operator, an index or a method call, split at
    ``;``), whitespace-normalized, and the backticked names in its last column ("where"):
    ``Network._backprop``, ``Sigmoid.forward``, ``_sgd_update``... A user's calls of the API
    (``SGD(momentum=gamma)``, ``xpnet.one_hot(y, k)``, ``net.theta``) and bare names are not
    quotes."""
    rows = []
    for row in re.findall(r"^\|(.*)\|$", LECTURE_TO_CODE, re.M):
        cells = row.split("|")
        places = [name for name in re.findall(r"`([A-Za-z_][\w.]*)`", cells[-1])
                  if name not in ("lecture", "where")]
        quotes = []
        for snippet in re.findall(r"`([^`]+)`", cells[-2]) if len(cells) >= 3 else []:
            if re.match(r"[A-Z]|xpnet\.|net\.|fit\(", snippet):
                continue
            if re.search(r"xp\.|self\.| [-+*/]?= |^return | [-+*/@] |\[|\w\.\w+\(", snippet):
                quotes += [" ".join(part.split()) for part in snippet.split(";")]
        rows.append((quotes, places))
    return rows


def named(name: str):
    """The class, function or method of xpnet that docs/lecture-to-code.md names ``name``,
    such as ``Network._backprop``, or None where xpnet has none."""
    head, *attributes = name.split(".")
    modules = [importlib.import_module(f"xpnet.{module}") for module in (
        "network", "activations", "losses", "optim", "training")]
    owners = [getattr(module, head) for module in modules if hasattr(module, head)]
    if not owners:
        return None
    found = owners[0]
    for attribute in attributes:
        found = getattr(found, attribute, None)
    return found


def test_lecture_to_code_points_to_code_that_exists():
    names = [name for _, places in table_rows() for name in places]
    assert len(names) >= 20
    missing = [name for name in names if named(name) is None]
    assert not missing, f"docs/lecture-to-code.md names what xpnet does not have: {missing}"
    for path in re.findall(r"\((xpnet/\w+\.py)\)", LECTURE_TO_CODE):
        assert (SOURCE / Path(path).name).is_file(), path


def test_lecture_to_code_quotes_the_code_as_it_is():
    source = " ".join(" ".join(path.read_text(encoding="utf-8").split())
                      for path in SOURCE.glob("*.py"))
    quotes = [quote for quotes, _ in table_rows() for quote in quotes]
    assert len(quotes) >= 15
    missing = [quote for quote in quotes if quote not in source]
    assert not missing, f"docs/lecture-to-code.md quotes code that xpnet does not have: {missing}"


def test_lecture_to_code_quotes_each_line_from_where_it_says():
    """A quoted line is in one of the functions its row's "where" column names: a reader who
    opens ``Nesterov`` for the line of the Nesterov row must find it there (it was in
    ``_lecture_momentum_update``, which the row did not name)."""
    misplaced = []
    for quotes, places in table_rows():
        sources = " ".join(" ".join(inspect.getsource(named(name)).split()) for name in places)
        misplaced += [(quote, places) for quote in quotes if quote not in sources]
    assert not misplaced, f"docs/lecture-to-code.md quotes lines from elsewhere: {misplaced}"


def test_optimizer_examples_run(monkeypatch):
    """docs/optimizers.md's Python blocks, each in a namespace of its own: they stand alone."""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    text = (REPO / "docs" / "optimizers.md").read_text(encoding="utf-8")
    blocks = code_blocks(text, "python")
    assert len(blocks) == 2, "docs/optimizers.md's examples changed: update this test"
    namespace = {}
    exec(compile(blocks[0], "docs/optimizers.md: the optimizer loop", "exec"), namespace)
    assert namespace["opt"].t == 10 and namespace["opt"].lr == 1e-4
    namespace = {}  # the second stands alone too, as a reader may paste it
    exec(compile(blocks[1], "docs/optimizers.md: a schedule", "exec"), namespace)
    assert namespace["opt"].lr == namespace["schedule"].lr_at(namespace["epochs"] - 1)
    assert namespace["opt"].t == 10 * namespace["epochs"]


@pytest.mark.parametrize("document", ["README.md", *(
    str(path.relative_to(REPO)) for path in sorted((REPO / "docs").glob("*.md")))])
def test_relative_links_lead_to_files(document):
    """Links and images such as ``[optimizers.md](optimizers.md)`` resolve from the folder of
    the file that holds them, as GitHub and every Markdown viewer resolve them; and a link to a
    section, ``[...](optimizers.md#porting-a-learning-rate-from-torch)`` or ``(#speed)``, to a
    heading there (a heading reworded left such links leading to the top of the page)."""
    path = REPO / document
    targets = re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))
    # (file, section): ("optimizers.md", "porting-..."), ("", "speed") in the same document
    relative = [(*target.split("#", 1), "")[:2] for target in targets
                if not re.match(r"[a-z]+:", target)]
    missing = [file for file, _ in relative if file and not (path.parent / file).exists()]
    assert not missing, f"{document} links to files that are not there: {missing}"
    no_section = [f"{file}#{section}" for file, section in relative
                  if section and section not in heading_anchors(path.parent / file
                                                                if file else path)]
    assert not no_section, f"{document} links to sections that are not there: {no_section}"


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, spaces as "-", and
    every other character but letters, digits, "_" and "-" left out. A "# comment" line in a
    fenced code block is no heading."""
    prose = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    headings = re.findall(r"^#+ (.*)$", prose, re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_readme_design_table_has_a_row_for_each_module_and_none_for_another():
    """A module added, moved or removed without its row in the Design table (which says what
    each module knows) left the table wrong with no test noticing; __main__.py, two lines that
    run the command, has none."""
    design = README.split("\n## Design\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `(xpnet/[^`]+)` \|", design, re.M)
    modules = [f"xpnet/{path.relative_to(SOURCE).as_posix()}"
               for path in [*SOURCE.glob("*.py"), *SOURCE.glob("cli/*.py")]
               if path.name != "__main__.py"]
    twice = sorted({row for row in rows if rows.count(row) > 1})
    assert not twice, f"modules with more than one row: {twice}"
    assert sorted(rows) == sorted(modules), (
        f"no row for {sorted(set(modules) - set(rows))}; "
        f"a row for no module: {sorted(set(rows) - set(modules))}")
