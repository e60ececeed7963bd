"""`tito bench ACTION`: standard benchmarks. `tinymlperf` lives in `tito.tinymlperf_cli`."""
from __future__ import annotations

from ..tinymlperf_cli import add_tinymlperf_parser


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="run standard benchmarks: tinymlperf")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_tinymlperf_parser(actions)
