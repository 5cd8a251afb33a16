"""Evaluators (metrics) are plugins: entry points of the group `leaderboard.evaluators`.

The built-in metrics register the same way (see pyproject.toml); a package that declares an entry
point in that group adds an evaluator without touching this project.
"""
