"""`tito module lint NN --renumber`: rewrite the task numbers after an exercise was inserted or moved.

The numbers live in two places per exercise (its brief and its `# Task NN.k:` comment); both are
rewritten to the exercise's position. Other mentions ("as in Task 19.5", "Tasks 19.1 to 19.9") are
rewritten through the old numbering when it is unambiguous: the exercise whose comment (or brief) said
19.5 before is the one meant. Question labels `Qk` are renumbered the same way. Nothing else changes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .source import BEGIN_SOLUTION, ModuleSource
from .tasks import QUESTION_LABEL, TASK_COMMENT, TASK_NUMBER, TASK_PHRASE, own_task_numbers


@dataclass(frozen=True)
class Change:
    line: int  # 1-based line in the source file
    old: str
    new: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.old.strip()}  ->  {self.new.strip()}"


def renumber(src: ModuleSource) -> tuple[str, list[Change], list[str]]:
    """The source text with its numbers rewritten, the changed lines, and what could not be mapped."""
    if src.number is None:
        return src.text, [], ["the source is not in modules/NN_name/: nothing to number"]
    lines = src.text.splitlines(keepends=True)
    old_of = {exercise.number: _old_number(src, exercise) for exercise in src.exercises}
    targets: dict[int, set[int]] = {}
    for new, old in old_of.items():
        if old is not None:
            targets.setdefault(old, set()).add(new)
    notes = [f"Task {src.number}.{old} was the number of exercises "
             f"{', '.join(f'{src.number}.{k}' for k in sorted(new))}: mentions of it are left as they are"
             for old, new in sorted(targets.items()) if len(new) > 1]
    comment_lines = {}  # file line index -> new number
    brief_lines = {}  # file line index -> (old number, new number)
    for exercise in src.exercises:
        cell = exercise.cell
        for offset, line in enumerate(cell.lines):
            if BEGIN_SOLUTION in line and offset and TASK_COMMENT.match(cell.lines[offset - 1]):
                comment_lines[cell.line_of(offset - 1) - 1] = exercise.number
        if exercise.brief is not None:
            for offset in range(len(exercise.brief.lines)):
                brief_lines[exercise.brief.line_of(offset) - 1] = (old_of[exercise.number], exercise.number)

    def cross_reference(old: int) -> int:
        new = targets.get(old, set())
        return next(iter(new)) if len(new) == 1 else old

    changes = []
    for index, line in enumerate(lines):
        if index in comment_lines:
            match = TASK_COMMENT.match(line.rstrip("\n"))
            new_line = f"{line[:match.start(1)]}{src.number}.{comment_lines[index]}{line[match.end(2):]}"
        else:
            own = brief_lines.get(index)
            new_line = _rewrite_mentions(src, line, lambda k: own[1] if own and k == own[0] else cross_reference(k))
        if new_line != line:
            changes.append(Change(index + 1, line, new_line))
            lines[index] = new_line
    for question in src.questions:
        cell = question.question
        if cell is None or cell.cell_type != "markdown":
            continue
        offset = next((i for i, text in enumerate(cell.lines) if text.strip()), None)
        label = QUESTION_LABEL.match(cell.lines[offset].strip()) if offset is not None else None
        if label and int(label.group(1)) != question.number:
            index = cell.line_of(offset) - 1
            new_line = re.sub(rf"Q{label.group(1)}\b", f"Q{question.number}", lines[index], count=1)
            changes.append(Change(index + 1, lines[index], new_line))
            lines[index] = new_line
    return "".join(lines), sorted(changes, key=lambda change: change.line), notes


def _old_number(src: ModuleSource, exercise) -> int | None:
    """What the exercise was called before: its task comment's number, else its brief's only number."""
    for offset, line in enumerate(exercise.cell.lines):
        if BEGIN_SOLUTION in line and offset:
            match = TASK_COMMENT.match(exercise.cell.lines[offset - 1])
            if match and match.group(1) == src.number:
                return int(match.group(2))
    if exercise.brief is not None:
        numbers = set(own_task_numbers(src, exercise.brief.source))
        if len(numbers) == 1:
            return numbers.pop()
    return None


def _rewrite_mentions(src: ModuleSource, line: str, new_number) -> str:
    def phrase(match: re.Match) -> str:
        def number(inner: re.Match) -> str:
            if inner.group(1) != src.number:
                return inner.group(0)
            return f"{inner.group(1)}.{new_number(int(inner.group(2)))}"
        return TASK_NUMBER.sub(number, match.group(0))
    return TASK_PHRASE.sub(phrase, line)
