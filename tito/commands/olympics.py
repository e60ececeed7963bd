"""`tito olympics submit|run|leaderboard`: the TorchPerf Olympics for a class (logic in `tito.olympics`)."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..console import err, out, print_json
from ..olympics import EVENTS
from ..project import TitoError

DEFAULT_DB = "olympics.db"


def register(subparsers) -> None:
    parser = subparsers.add_parser("olympics", help="the TorchPerf Olympics: submit a model, run an event, "
                                                    "show the leaderboard")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    submit = actions.add_parser("submit", help="check a saved model and write a submission folder")
    submit.add_argument("event", choices=EVENTS, metavar="EVENT", help=f"one of {', '.join(EVENTS)}")
    submit.add_argument("model", type=Path, metavar="MODEL",
                        help="a model saved with tinytorch.models.zoo.save_model (path with or without .json/.npz)")
    submit.add_argument("--team", required=True, help="your team's name (1-64 characters)")
    submit.add_argument("--out", type=Path, default=Path("submissions"),
                        help="folder to put the submission folder in (default: submissions)")
    _add_limit_options(submit)
    submit.add_argument("--json", action="store_true", help="print JSON for machines")
    submit.set_defaults(run=run_submit)

    run = actions.add_parser("run", help="check, measure and rank every submission of an event; record the run")
    run.add_argument("event", choices=EVENTS, metavar="EVENT", help=f"one of {', '.join(EVENTS)}")
    run.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="the folder holding submission folders")
    _add_db_option(run)
    run.add_argument("--processes", type=int, default=10,
                     help="fresh measuring processes; intervals are computed across them (default 10)")
    run.add_argument("--runs", type=int, default=10, help="timed blocks per entry in each process (default 10)")
    run.add_argument("--warmup", type=int, default=5, help="warm-up calls per entry in each process (default 5)")
    run.add_argument("--min-block-ms", type=float, default=1.0, help="shortest timed block in ms (default 1)")
    run.add_argument("--memory-limit-mb", type=int, default=4096,
                     help="address-space limit of each worker process (default 4096)")
    _add_limit_options(run)
    run.add_argument("--html", type=Path, metavar="DIR", help="also write the results page DIR/EVENT.html")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print JSON for machines")
    run.set_defaults(run=run_event_command)

    board = actions.add_parser("leaderboard", help="each team's latest valid entry, with noise-aware ranks")
    board.add_argument("event", choices=EVENTS, metavar="EVENT", help=f"one of {', '.join(EVENTS)}")
    _add_db_option(board)
    board.add_argument("--html", type=Path, metavar="DIR", help="also write the results page DIR/EVENT.html")
    board.add_argument("--json", action="store_true", help="print JSON for machines")
    board.set_defaults(run=run_leaderboard)


def _add_db_option(parser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB,
                        help=f"a SQLite file or a database URL, e.g. postgresql://user@host/olympics "
                             f"(default: {DEFAULT_DB})")


def _add_limit_options(parser) -> None:
    parser.add_argument("--max-model-mb", type=float, default=8.0,
                        help="largest model arrays file accepted, in MB (default 8)")


def _limits(args):
    from ..olympics.submission import Limits

    if not args.max_model_mb > 0:
        raise TitoError(f"--max-model-mb {args.max_model_mb} must be positive", exit_code=2)
    npz = int(args.max_model_mb * 2**20)
    return Limits(max_npz_bytes=npz, max_array_bytes=max(4 * npz, Limits().max_array_bytes))


def _open_db(url: str):
    from ..olympics.database import Database, DatabaseError

    try:
        return Database(url)
    except DatabaseError as error:
        raise TitoError(str(error)) from error


def run_submit(args) -> int:
    from ..olympics.submission import SubmissionError, submit

    try:
        folder = submit(args.event, args.model, args.team, args.out, _limits(args))
    except SubmissionError as error:
        raise TitoError(f"the model {args.model} cannot be submitted: {error}") from error
    if args.json:
        print_json({"submission": str(folder), "team": args.team, "event": args.event})
    else:
        out.print(f"submitted {folder}", markup=False)
    return 0


class _ProgressBar:
    """A rich progress bar on stderr for the two stages of a run."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=False)
        self.tasks = {}
        self.names = {"check": "checking submissions", "measure": "measuring in fresh processes"}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(self.names.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def run_event_command(args) -> int:
    from ..olympics.measure import MeasureSettings
    from ..olympics.runner import run_event
    from ..olympics.submission import SubmissionError

    try:
        settings = MeasureSettings(processes=args.processes, runs=args.runs, warmup=args.warmup,
                                   min_block_ms=args.min_block_ms, memory_limit_mb=args.memory_limit_mb)
    except ValueError as error:
        raise TitoError(str(error), exit_code=2) from error
    limits = _limits(args)
    database = _open_db(args.db)
    show_progress = not (args.no_progress or args.json)
    try:
        if show_progress:
            with _ProgressBar() as bar:
                report = run_event(args.event, args.submissions, database, settings, limits, progress=bar)
        else:
            report = run_event(args.event, args.submissions, database, settings, limits, progress=_no_progress)
    except SubmissionError as error:
        raise TitoError(f"{error}; give the folder that holds the submission folders") from error
    except RuntimeError as error:
        raise TitoError(f"the run failed: {error}") from error
    for folder, why in report.skipped:
        err.print(f"skipped {folder}: {why}", markup=False)
    return _show_board(args, database, run=report.run)


def run_leaderboard(args) -> int:
    return _show_board(args, _open_db(args.db))


def _show_board(args, database, run=None) -> int:
    from ..olympics.board import build_board

    board = build_board(database, args.event)
    page = None
    if args.html is not None:
        from ..olympics.html import write_page

        page = write_page(board, args.html)
    if args.json:
        data = {"board": board.to_json(), "page": str(page) if page else None}
        if run is not None:
            data["run"] = {"run_id": run.id, "entries": [{"team": e.team, "submission": e.submission,
                                                          "status": e.status, "reasons": e.reasons}
                                                         for e in run.entries]}
        print_json(data)
        return 0
    if run is not None:
        counts = {status: sum(e.status == status for e in run.entries) for status in ("valid", "invalid", "rejected")}
        err.print(f"run {run.id} of {args.event}: {counts['valid']} valid, {counts['invalid']} invalid, "
                  f"{counts['rejected']} rejected (the reference included); recorded in {database.shown_url}")
        for entry in run.entries:
            if entry.status != "valid":
                err.print(f"  {entry.status}: {entry.team} ({entry.submission}): {'; '.join(entry.reasons)}",
                          markup=False)
    for warning in board.warnings:
        err.print(f"warning: {warning}", markup=False)
    if board.warnings:
        err.print("These results may not hold: the machine was not quiet while they were measured.", markup=False)
    if board.rows:
        out.print(_board_table(board))
        out.print(f"Ranking: {board.ranking.method}.", markup=False)
    else:
        out.print(f"no valid entry for {args.event} in {database.shown_url} yet", markup=False)
    if page is not None:
        err.print(f"wrote {page}", markup=False)
    return 0


def _board_table(board) -> Table:
    table = Table(title=f"TorchPerf Olympics: {board.event} ({board.objective}); each team's latest valid entry",
                  caption="places: the ranks an entry could hold given the tests; a shared rank = no significant "
                          "difference. Intervals are per entry; the tests pair entries measured in the same "
                          "processes, so they can find a difference where intervals overlap.")
    for header in ("rank", "places", "team", "score [95% CI]", "latency ms [95% CI]", "accuracy", "plain rank"):
        table.add_column(header, no_wrap=header == "team")
    for row in board.rows:
        p = row.placement
        lat, low, high = row.latency_ms
        table.add_row(str(p.rank), p.places, Text(row.label),
                      f"{row.score:.3f} [{row.score_low:.3f}, {row.score_high:.3f}]",
                      f"{lat:.4f} [{low:.4f}, {high:.4f}]", f"{row.accuracy[0]:.3f}", str(p.plain_rank))
    return table
