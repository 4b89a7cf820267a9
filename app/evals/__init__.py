"""The eval suite: known questions with their key facts, answered by :class:`app.session.QA`,
scored, compared with a committed baseline and checked against thresholds.

- :mod:`app.evals.dataset`: the data set (``evals/questions.jsonl``) and its validation;
- :mod:`app.evals.scoring`: the metrics, pure functions over plain data (tested without a
  model), and the result of one question;
- :mod:`app.evals.baseline`: the committed baseline and the thresholds file;
- :mod:`app.evals.judge`: the optional LLM judge (faithfulness, relevancy);
- :mod:`app.evals.report`: the report itself and its output (console summary, report.json,
  report.md, report.png);
- :mod:`app.evals.run`: one whole run, the only part that asks questions; the command line
  reaches it through :func:`app.qa.run_eval`.

The package itself imports nothing, so a script that only reads the data set
(``from app.evals.dataset import load_dataset``) loads no more than that.
"""
