"""The TorchPerf Olympics for a class: submissions, measurement, a leaderboard in a database, a results page.

Data flows one way:

    tito olympics submit   submission.py   a team's saved model -> checked -> a submission folder
    tito olympics run      runner.py       submission folders -> static checks (submission.py)
                                           -> checks in a worker process (worker.py: load, shapes, accuracy)
                                           -> measurement in fresh worker processes (measure.py)
                                           -> scores and verdicts (scoring.py) -> rows (database.py)
    tito olympics leaderboard  board.py    rows -> each team's latest valid entry -> noise-aware ranks
                                           (ranking.py) -> a table, JSON, or a page (html.py)

No code from a submission ever runs: a model is data (`tinytorch.models.zoo.load_model`), read only
after its sizes have been checked from the file and zip headers, and only inside worker processes
with a memory limit and a deadline. Importing this package imports neither SQLAlchemy nor tinytorch.
"""

# The event names of tinytorch.benchmarking.benchmark.OlympicEvent (a test keeps them equal), here so
# that `tito` can list them without importing tinytorch.
EVENTS = ("latency_sprint", "memory_challenge", "accuracy_contest", "all_around", "extreme_push")
