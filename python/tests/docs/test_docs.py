"""The examples of README.md and docs/*.md run, so the docs cannot rot.

For each document, in order, in one fresh temporary working directory:

* every fenced ```python block runs as a script in its own interpreter (``sys.executable``) and
  must exit 0; blocks share files (a block may read the SQLite file an earlier one wrote) but
  not state.
* in every fenced ```console block, each line ``$ python -m fast_serde ...`` or
  ``$ fast-serde ...`` (a trailing ``\\`` continues it) runs as ``sys.executable -m fast_serde
  ...``; the lines after it, up to the next ``$`` line, are its expected output (stdout, then
  stderr). They are compared with doctest's checker (ELLIPSIS: ``...`` matches anything;
  NORMALIZE_WHITESPACE) after masking what differs from run to run in both: UUIDs (checkpoint
  and message ids) as ``<uuid>``, ISO 8601 timestamps as ``<timestamp>``, and integers of 3+
  digits (byte sizes, which vary with LangGraph's random channel-version suffix) as ``<n>``.
  The command must exit non-zero exactly when its expected output shows an error line
  (``...: error: ...``). Other ``$`` lines (pip, make) are not run.

A block whose fence is preceded (ignoring blank lines) by the line ``<!-- no-test -->`` is not
run (e.g. it needs a PostgreSQL server); a skipped python block must still compile.
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
NO_TEST = "<!-- no-test -->"
RUN_PREFIXES = ("python -m fast_serde", "fast-serde")
TIMEOUT = 600  # seconds, per block or command

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_BIG_INT = re.compile(r"(?<![\w.])\d{3,}(?![\w.])")
_ERROR_LINE = re.compile(r"^\S[^\n]*: error: ", re.M)


@dataclass
class Block:
    """One fenced block: ``lang`` (info string), ``code`` (its text), ``line`` (1-based line of
    the opening fence), ``skip`` (preceded by the no-test marker)."""

    path: Path
    line: int
    lang: str
    code: str
    skip: bool


@dataclass
class Command:
    """One ``$`` line of a console block: ``argv`` (after ``$``) and its expected output."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)

    @property
    def runs(self) -> bool:
        return self.text.startswith(RUN_PREFIXES)

    def argv(self) -> list[str]:
        words = shlex.split(self.text)
        if words[0] == "fast-serde":
            return [sys.executable, "-m", "fast_serde", *words[1:]]
        return [sys.executable, *words[1:]]  # "python -m fast_serde ..."


def extract_blocks(path: Path, text: str) -> list[Block]:
    """Every fenced code block of the markdown ``text``, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if (
                close
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
                and not close["info"]
            ):
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        blocks.append(
            Block(path, start + 1, match["info"].lower(), "\n".join(body) + "\n", previous == NO_TEST)
        )
        i += 1
    return blocks


def parse_console(block: Block) -> list[Command]:
    """The ``$`` commands of a console block with their expected output lines."""
    commands: list[Command] = []
    lines = block.code.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("$ "):
            text, line = stripped[2:].strip(), block.line + 1 + i
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1].rstrip() + " " + lines[i].strip()
            commands.append(Command(line, text))
        elif commands:
            commands[-1].expected.append(lines[i])
        i += 1
    for command in commands:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return commands


def mask(text: str) -> str:
    """``text`` with UUIDs, timestamps and integers of 3+ digits replaced by placeholders."""
    text = _UUID.sub("<uuid>", text)
    text = _TIMESTAMP.sub("<timestamp>", text)
    return _BIG_INT.sub("<n>", text)


def output_matches(expected: str, actual: str) -> bool:
    """doctest's comparison (ELLIPSIS, NORMALIZE_WHITESPACE) of the masked texts."""
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    return checker.check_output(mask(expected).rstrip() + "\n", mask(actual).rstrip() + "\n", flags)


def _documents_with_blocks() -> list[Path]:
    return [p for p in DOCUMENTS if p.exists()]


def _where(block: Block, line: int | None = None) -> str:
    return f"{block.path.relative_to(REPO_ROOT)}:{line or block.line}"


@pytest.mark.parametrize(
    "path", _documents_with_blocks(), ids=lambda p: str(p.relative_to(REPO_ROOT))
)
def test_document_examples_run(path: Path, tmp_path: Path) -> None:
    blocks = [b for b in extract_blocks(path, path.read_text()) if not b.skip]
    python_blocks = [b for b in blocks if b.lang == "python"]
    consoles = [(b, c) for b in blocks if b.lang == "console" for c in parse_console(b) if c.runs]
    if not python_blocks and not consoles:
        pytest.skip(f"{path.name} has no python block and no fast-serde command")
    for n, block in enumerate(blocks):
        if block.lang == "python":
            script = tmp_path / f"_block_{n}.py"
            script.write_text(block.code)
            proc = subprocess.run(
                [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                timeout=TIMEOUT, check=False,
            )
            assert proc.returncode == 0, (
                f"python block at {_where(block)} exited {proc.returncode}:\n"
                f"{block.code}\n--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}"
            )
        elif block.lang == "console":
            for command in parse_console(block):
                if command.runs:
                    _check_command(block, command, tmp_path)


def _check_command(block: Block, command: Command, cwd: Path) -> None:
    proc = subprocess.run(
        command.argv(), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    actual = proc.stdout + proc.stderr
    expected = "\n".join(command.expected)
    report = (
        f"`$ {command.text}` at {_where(block, command.line)} (exit {proc.returncode})\n"
        f"--- expected:\n{expected}\n--- actual:\n{actual}"
    )
    assert "Traceback" not in actual, report
    if _ERROR_LINE.search(expected):
        assert proc.returncode != 0, report
    else:
        assert proc.returncode == 0, report
    assert output_matches(expected, actual), report


def test_skipped_python_blocks_still_compile() -> None:
    skipped = [
        b for p in _documents_with_blocks() for b in extract_blocks(p, p.read_text())
        if b.skip and b.lang == "python"
    ]
    for block in skipped:
        compile(block.code, _where(block), "exec")


def test_usage_doc_has_runnable_examples() -> None:
    blocks = extract_blocks(REPO_ROOT / "docs/usage.md", (REPO_ROOT / "docs/usage.md").read_text())
    runnable = [b for b in blocks if not b.skip]
    assert sum(b.lang == "python" for b in runnable) >= 5
    commands = [c for b in runnable if b.lang == "console" for c in parse_console(b) if c.runs]
    assert len(commands) >= 5
    assert any(_ERROR_LINE.search("\n".join(c.expected)) for c in commands)
    assert any(b.skip and b.lang == "python" for b in blocks)  # the PostgreSQL examples


# --- the extractor and the checker themselves ---------------------------------------------

SAMPLE = """\
# Title

```python
print("one")
```

<!-- no-test -->

```python
needs_a_server()
```

````console
$ python -m fast_serde inspect db.sqlite \\
    --thread 7
thread  checkpoints
t1      2

$ pip install fast-serde
$ fast-serde inspect missing.sqlite
fast-serde inspect: error: missing.sqlite: no such file
````

- a list item:

  ```python
  x = 1
  ```
"""


def test_extract_blocks_and_console_commands() -> None:
    blocks = extract_blocks(Path("sample.md"), SAMPLE)
    assert [(b.lang, b.line, b.skip) for b in blocks] == [
        ("python", 3, False), ("python", 9, True), ("console", 13, False), ("python", 26, False),
    ]
    assert blocks[0].code == 'print("one")\n'
    assert blocks[3].code == "x = 1\n"
    commands = parse_console(blocks[2])
    assert [(c.text, c.line, c.runs) for c in commands] == [
        ("python -m fast_serde inspect db.sqlite --thread 7", 14, True),
        ("pip install fast-serde", 19, False),
        ("fast-serde inspect missing.sqlite", 20, True),
    ]
    assert commands[0].expected == ["thread  checkpoints", "t1      2"]
    assert commands[0].argv() == [sys.executable, "-m", "fast_serde", "inspect", "db.sqlite", "--thread", "7"]
    assert commands[2].argv()[:3] == [sys.executable, "-m", "fast_serde"]
    assert _ERROR_LINE.search("\n".join(commands[2].expected))
    assert not _ERROR_LINE.search("\n".join(commands[0].expected))


def test_output_matching_masks_volatile_values_only() -> None:
    expected = (
        "1f0c2d3e-1111-6222-8003-abcdefabcdef   4  loop  1488\n"
        '"ts": "2025-01-01T10:00:00.123456+00:00", "step": 4, "tags": [1, 22]'
    )
    actual = (
        "1f1e6221-2cbf-60f4-8004-9dabe13e8caf     4  loop     1502\n"
        '"ts": "2026-11-22T03:09:04.382781+00:00", "step": 4, "tags": [1, 22]'
    )
    assert output_matches(expected, actual)
    assert not output_matches(expected, actual.replace("loop", "input"))
    assert not output_matches(expected, actual.replace('"step": 4', '"step": 5'))
    assert not output_matches(expected, actual.replace("22]", "23]"))
    assert output_matches("first\n...\nlast", "first\nmiddle\nmore\nlast")
    assert not output_matches("first\nlast", "first\nmiddle\nlast")
