"""A static results page per event: one self-contained HTML file (inline CSS, the plot as an embedded
PNG, no script, nothing fetched), so it can be mailed, served from anywhere, or opened offline.

Everything a submission controls (team names, reasons quoting its files) is escaped.
"""
from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path


from .board import Board, BoardRow
from .database import EntryRecord
from .scoring import t_interval_of_logs, wilson_interval

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; vertical-align: top; }
td { white-space: nowrap; } td.text, td.team { white-space: normal; }
th { background: #f3f3f3; } td.team, th.team, td.text { text-align: left; }
tr.reference td { font-style: italic; } .muted { color: #666; } figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #ddd; } details { margin: 0.4rem 0; }
summary { cursor: pointer; font-weight: 600; } code { font-size: 0.85rem; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; } dt { color: #555; }
.warning { border-left: 4px solid #b35900; background: #fff4e5; padding: 0.4rem 0.8rem; margin: 1rem 0; }
"""


def _number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _interval(centre: float, low: float, high: float, digits: int = 3) -> str:
    return f"{centre:.{digits}g} [{low:.{digits}g}, {high:.{digits}g}]"


def _kb(value_mb: float | None) -> str:
    return "n/a" if value_mb is None else f"{value_mb * 1024:.2f}"


def pareto_png(board: Board, dpi: int = 110) -> bytes:
    """Latency vs accuracy of every measured entry, with 95% error bars; the Pareto front of the ranked ones."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tinytorch.benchmarking.benchmark import pareto_front

    figure = Figure(figsize=(8, 5), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    points = {}
    for row in board.rows:
        (lat, lat_low, lat_high), (acc, acc_low, acc_high) = row.latency_ms, row.accuracy
        color = "tab:gray" if row.entry.is_reference else "tab:blue"
        ax.errorbar([lat], [acc], xerr=[[lat - lat_low], [lat_high - lat]], yerr=[[acc - acc_low], [acc_high - acc]],
                    fmt="o", color=color, ecolor=color, alpha=0.8, capsize=3, markersize=5)
        ax.annotate(str(row.placement.rank), (lat, acc), textcoords="offset points", xytext=(4, 4), fontsize=7)
        points[row.key] = (lat, acc)
    for entry in board.not_ranked:
        measured = entry.measured
        if entry.status == "invalid" and measured is not None:
            lat, low, high = t_interval_of_logs(measured.per_process("latency"))
            acc_low, acc_high = wilson_interval(measured.correct, measured.samples)
            ax.errorbar([lat], [measured.accuracy], xerr=[[lat - low], [high - lat]],
                        yerr=[[measured.accuracy - acc_low], [acc_high - measured.accuracy]], fmt="x",
                        color="tab:red", alpha=0.7, capsize=2)
    if points:
        front = sorted((points[key] for key in pareto_front(points, ("min", "max"))))
        if front:
            xs, ys = zip(*front)
            ax.step(xs, ys, where="post", color="tab:orange", linewidth=1.5, label="Pareto front (ranked entries)")
    ax.plot([], [], "o", color="tab:blue", label="ranked entry (number = rank)")
    ax.plot([], [], "o", color="tab:gray", label="reference (baseline)")
    if any(e.status == "invalid" and e.measured is not None for e in board.not_ranked):
        ax.plot([], [], "x", color="tab:red", label="measured, breaks a rule (latest run)")
    ax.set_xlabel("latency per inference, ms (geometric mean of per-process medians, 95% t interval)")
    ax.set_ylabel("accuracy on the TinyDigits test set (95% Wilson)")
    ax.set_title(f"{board.event}: latency vs accuracy (lower right is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _row_html(row: BoardRow) -> str:
    e, p = row.entry, row.placement
    lat = row.latency_ms
    cls = ' class="reference"' if e.is_reference else ""
    return (f'<tr id="row-{row.key}"{cls}><td>{p.rank}</td><td>{escape(p.places)}</td>'
            f'<td class="team"><a href="#{row.key}">{escape(row.label)}</a></td>'
            f"<td>{_interval(row.score, row.score_low, row.score_high)}</td>"
            f"<td>{_interval(*lat)}</td><td>{_interval(*row.accuracy, digits=3)}</td>"
            f"<td>{_kb(row.memory_mb)}</td><td>{_kb(e.model_size_mb)}</td><td>{p.plain_rank}</td>"
            f"<td>{e.run_id}</td></tr>")


def _details_html(row: BoardRow, board: Board) -> str:
    e, p = row.entry, row.placement
    labels = {r.key: r.label for r in board.rows}
    medians = ", ".join(f"{v:.4g}" for v in row.entry.measured.per_process("latency"))
    scores = ", ".join(f"{v:.4g}" for v in row.process_scores)
    items = [("places", f"{p.places} (rank {p.rank}; plain rank by the estimate alone: {p.plain_rank})"),
             ("significantly better entries", ", ".join(labels[k] for k in p.better) or "none"),
             ("significantly worse entries", ", ".join(labels[k] for k in p.worse) or "none"),
             ("score interval", row.score_interval),
             ("score per process", scores), ("latency per process, ms (median of blocks)", medians),
             ("calls per block", ", ".join(str(c) for c in e.calls_per_block or [])),
             ("accuracy", f"{e.correct} of {e.samples} test images"),
             ("tinytorch's verdict (score_olympic_event)",
              f"score {_number(e.library_score)}; " + "; ".join(e.reasons)),
             ("model sha256", e.model_sha256 or "n/a"), ("model files", f"{e.model_bytes} bytes"),
             ("submission", e.submission),
             ("submitted at", e.submitted_at.isoformat() if e.submitted_at else "n/a (the baseline)"),
             ("run", str(e.run_id))]
    if row.note:
        items.append(("note", row.note))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v) if k != 'model sha256' else f'<code>{escape(v)}</code>'}</dd>"
                   for k, v in items)
    comparisons = [c for c in board.ranking.comparisons if row.key in (c.first, c.second)]
    comparisons.sort(key=lambda c: c.adjusted_p)
    lines = []
    for c in comparisons:
        other = c.second if c.first == row.key else c.first
        ahead = c.direction if c.first == row.key else -c.direction
        word = "higher" if ahead > 0 else "lower" if ahead < 0 else "equal"
        lines.append(f"<tr><td class='text'>{escape(labels[other])}</td><td class='text'>{word}</td>"
                     f"<td>{c.p_value:.3g}</td><td>{c.adjusted_p:.3g}</td>"
                     f"<td class='text'>{'yes' if c.significant else 'no'}</td>"
                     f"<td class='text'>{escape(c.test)}</td></tr>")
    table = ("<table><thead><tr><th class='team'>against</th><th>score here is</th><th>p</th><th>Holm p</th>"
             "<th>significant</th><th class='team'>test</th></tr></thead><tbody>" + "".join(lines) + "</tbody></table>"
             if lines else "")
    return (f'<details id="{row.key}"><summary>{p.rank}. {escape(row.label)}</summary>'
            f"<dl>{body}</dl>{table}</details>")


def _not_ranked_html(entries: list[EntryRecord]) -> str:
    if not entries:
        return "<p>Every entry of the latest run was valid.</p>"
    rows = "".join(f"<tr><td class='team'>{escape(e.team)}</td><td class='text'>{escape(e.submission)}</td>"
                   f"<td class='text'>{escape(e.status)}</td><td class='text'>{escape('; '.join(e.reasons))}</td></tr>"
                   for e in entries)
    return ("<table id='not-ranked-table'><thead><tr><th class='team'>team</th><th class='team'>submission</th>"
            "<th class='team'>status</th><th class='team'>reasons</th></tr></thead><tbody>" + rows + "</tbody></table>")


def render_page(board: Board) -> str:
    """The page's HTML text."""
    constraints = ", ".join(board.constraints) or "none"
    runs = "".join(f"<li>run {r.id}, {escape(r.started_at.isoformat(timespec='seconds'))}: "
                   f"{escape(str(r.settings.get('method', '')))}; load average at start "
                   f"{escape(str(r.environment.get('load_average_start')))}, at end "
                   f"{escape(str(r.environment.get('load_average_end')))}</li>" for r in board.runs)
    image = base64.b64encode(pareto_png(board)).decode("ascii")
    rows = "".join(_row_html(row) for row in board.rows)
    warnings = ("<div id=\"warnings\" class=\"warning\"><strong>These results may not hold.</strong> The machine "
                "was not quiet while they were measured:<ul>" + "".join(f"<li>{escape(w)}</li>" for w in board.warnings)
                + "</ul></div>") if board.warnings else ""
    details = "".join(_details_html(row, board) for row in board.rows)
    title = f"TorchPerf Olympics: {board.event}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>Objective: <strong>{escape(board.objective)}</strong>. Constraints: {escape(constraints)}.
Scores are ratios to the reference model (tinydigits_mlp) measured in the same processes; higher is better.
Each team's latest valid entry is shown.</p>
{warnings}
<h2>Leaderboard</h2>
<p class="muted">{len(board.rows)} ranked entries. How sure each place is: <em>places</em> are the ranks an entry
could hold given the significance tests; entries that share a rank are not significantly different.
The intervals describe each entry alone; the tests compare entries measured in the same processes pair by
pair, so two entries can differ significantly even where their intervals overlap.</p>
<table id="leaderboard">
<thead><tr><th>rank</th><th>places</th><th class="team">team</th><th>score [95% CI]</th>
<th>latency ms [95% CI]</th><th>accuracy [95% CI]</th><th>peak memory KB</th><th>model size KB</th>
<th>plain rank</th><th>run</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<h2>How the ranking is made</h2>
<p id="method">{escape(board.ranking.method)}.</p>
<p class="muted">"Plain rank" orders by the estimate alone, as single-number leaderboards do; it is shown
to compare, not to decide.</p>
<ul>{runs}</ul>
<figure>
<img alt="Latency against accuracy of every measured entry with 95% error bars and the Pareto front"
 src="data:image/png;base64,{image}">
<figcaption>Latency against accuracy. Error bars: 95% intervals (latency across processes, accuracy
over the test images).</figcaption>
</figure>
<h2>Entries</h2>
{details}
<h2>Not ranked (latest run)</h2>
{_not_ranked_html(board.not_ranked)}
<p class="muted">Generated {escape(board.generated_at.isoformat(timespec="seconds"))} by tito olympics.</p>
</body>
</html>
"""


def write_page(board: Board, folder: str | Path) -> Path:
    """Write `<folder>/<event>.html` atomically; return its path."""
    from tito.fileio import write_text_atomic

    path = Path(folder) / f"{board.event}.html"
    write_text_atomic(path, render_page(board))
    return path
