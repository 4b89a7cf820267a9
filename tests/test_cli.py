"""The `privacy-qa` CLI: as a user runs it (real subprocesses, real model, real store; slow)
and, for parsing, exit codes and the progress bar, in process with the core stubbed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "app"]


def run(args, settings_dir: Path, corpus: Path | None = None, stdin: str | None = None):
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings_dir),
        "PRIVACY_QA_CORPUS_DIR": str(corpus or settings_dir / "no-corpus"),
    }
    return subprocess.run(
        CLI + args, capture_output=True, text=True, env=env, input=stdin, timeout=300
    )


def assert_user_error(result, fragment: str):
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_ask_json_follows_the_contract(indexed_settings):
    result = run(
        ["ask", "--json", "How long does OpenAI retain API data?"], indexed_settings.data_dir
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {
        "question",
        "answer",
        "abstained",
        "citations",
        "timings_ms",
        "endpoints",
        "usage",
        "notices",
        "searched",
        "clarify",
        "branch",
        "resolved",
    }
    assert answer["searched"] == answer["question"]  # no history: searched as asked
    # Not a support routine's turn.
    assert (answer["clarify"], answer["branch"], answer["resolved"]) == (None, None, False)
    assert answer["abstained"] is False
    # Offline default: nothing was sent anywhere, no model tokens, nothing to note.
    assert answer["endpoints"] == [] and answer["usage"] is None and answer["notices"] == []
    assert "30 days" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) >= {"n", "source", "title", "section", "url", "quote"}
    assert citation["source"] == "corpus/openai-api-privacy-explained.md"


@pytest.mark.slow
def test_ask_prints_answer_then_numbered_sources(indexed_settings):
    result = run(["ask", "Can I get a BAA for ChatGPT Enterprise?"], indexed_settings.data_dir)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "[1]" in answer and "sales" in answer
    assert sources.startswith("[1] How can I get a Business Associate Agreement")
    assert "corpus/openai-baa-help-article.md:" in sources
    assert "https://help.openai.com/" in sources


@pytest.mark.slow
def test_ask_jsonl_answers_each_line_and_reports_bad_ones(indexed_settings):
    lines = "\n".join(
        [
            json.dumps({"id": "a", "question": "Is the API SOC 2 compliant?"}),
            json.dumps({"id": "b", "question": "What is a good sourdough recipe?"}),
            "not json",
            json.dumps({"id": "c", "question": "   "}),
        ]
    )
    result = run(["ask", "--jsonl", "-"], indexed_settings.data_dir, stdin=lines)
    assert result.returncode == 2  # some lines were user errors
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", None, "c"]
    assert "SOC 2" in out[0]["answer"] and not out[0]["abstained"]
    assert out[1]["abstained"]
    assert "not valid JSON" in out[2]["error"]
    assert "empty" in out[3]["error"]


@pytest.mark.slow
def test_a_bracketed_number_in_a_quoted_sentence_is_no_citation_marker(tmp_path):
    from .test_ui_page import POISONED_DOC, POISONED_QUESTIONS, make_poisoned_corpus

    corpus, data = make_poisoned_corpus(tmp_path / "corpus"), tmp_path / "data"
    assert run(["ingest"], data, corpus).returncode == 0
    for question, literal in POISONED_QUESTIONS.items():
        result = run(["ask", "--json", question], data, corpus)
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        numbers = [c["n"] for c in answer["citations"]]
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])]
        assert markers == numbers == [1], answer  # one quote, one marker, one source
        assert literal not in answer["answer"].replace(" [1]", "")
        assert f"［{literal[1:-1]}］" in answer["answer"]  # the document's text, not a marker
        quote = answer["citations"][0]["quote"]
        assert literal in quote and quote in POISONED_DOC  # the quote stays verbatim
        assert answer["citations"][0]["url"] is None  # javascript: never leaves the corpus
        text = run(["ask", question], data, corpus)
        assert text.returncode == 0 and "javascript:" not in text.stdout
        listed = [int(n) for n in re.findall(r"^\[(\d+)\]", text.stdout, re.MULTILINE)]
        assert listed == [1] and re.findall(r"\[(\d+)\]", text.stdout) == ["1", "1"], text.stdout
    fake = run(["ask", "--json", "Does Acme mail audit logs to a walrus?"], data, corpus)
    answer = json.loads(fake.stdout)
    assert "</source>" in answer["answer"] or "walrus" in answer["answer"]
    assert [c["n"] for c in answer["citations"]] == [
        int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])
    ]


@pytest.mark.slow
def test_empty_question_exits_2(indexed_settings):
    assert_user_error(run(["ask", "  "], indexed_settings.data_dir), "question is empty")


@pytest.mark.slow
def test_too_long_question_exits_2(indexed_settings):
    assert_user_error(run(["ask", "why " * 1000], indexed_settings.data_dir), "limit is 2000")


@pytest.mark.slow
def test_a_question_not_in_english_exits_2_saying_so(indexed_settings):
    result = run(
        ["ask", "Wie lange speichert OpenAI die Daten der API?"], indexed_settings.data_dir
    )
    assert_user_error(result, "This index answers questions in English")


@pytest.mark.slow
def test_missing_store_exits_2_and_says_ingest(tmp_path):
    assert_user_error(run(["ask", "hello?"], tmp_path / "data"), "run `privacy-qa ingest` first")


@pytest.mark.slow
def test_ingest_json_reports_counts_and_warns_about_bad_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 14 days.\n")
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (corpus / "empty.md").write_text("")
    result = run(["ingest", "--json"], tmp_path / "data", corpus)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["documents"] == 1 and report["chunks_added"] == report["chunks"] >= 1
    assert "skipped corpus/photo.png" in result.stderr
    assert "skipped corpus/empty.md" in result.stderr

    again = run(["ingest"], tmp_path / "data", corpus)
    assert again.returncode == 0
    assert "Nothing changed: 1 documents" in again.stdout
    assert "skipped corpus/photo.png" in again.stderr  # still said, though nothing was read

    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 30 days.\n")
    (corpus / "faq.md").write_text("# FAQ\n\nAsk the security team about key rotation.\n")
    changed = json.loads(run(["ingest", "--json"], tmp_path / "data", corpus).stdout)
    assert (changed["added"], changed["updated"], changed["deleted"]) == (1, 1, 0)
    assert changed["files"]["updated"] == ["corpus/policy.md"]
    assert changed["chunks_added"] == 2 and changed["chunks_deleted"] == 1


@pytest.mark.slow
def test_ingest_dry_run_reports_and_writes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 14 days.\n")
    result = run(["ingest", "--dry-run"], tmp_path / "data", corpus)
    assert result.returncode == 0, result.stderr
    assert "Would index 1 documents" in result.stdout and "added corpus/policy.md" in result.stdout
    assert not (tmp_path / "data").exists()


def test_output_whose_reader_went_away_ends_quietly(tmp_path):
    """`privacy-qa ask ... | head -1`: the reader closes the pipe before all is written.
    That is no internal error: exit 141, as shells report it, and nothing on stderr."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 14 days.\n")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails at once
    try:
        result = subprocess.run(
            [*CLI, "ingest", "--dry-run"],  # prints, and needs no model
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PRIVACY_QA_DATA_DIR": str(tmp_path / "data"),
                "PRIVACY_QA_CORPUS_DIR": str(corpus),
            },
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


@pytest.mark.slow
def test_ingest_py_at_the_top_runs_the_same_command(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Logs are kept for seven days.\n")
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(tmp_path / "d"),
        "PRIVACY_QA_CORPUS_DIR": str(corpus),
    }
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(root / "ingest.py"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 1


@pytest.mark.slow
def test_missing_corpus_dir_is_a_user_error(tmp_path):
    assert_user_error(run(["ingest"], tmp_path / "data", tmp_path / "nope"), "does not exist")


@pytest.mark.slow
def test_help_lists_the_commands():
    result = subprocess.run(CLI + ["--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "ingest" in result.stdout and "ask" in result.stdout


@pytest.mark.slow
def test_ask_without_a_question_prompts_until_an_empty_line(indexed_settings):
    result = run(
        ["ask"], indexed_settings.data_dir, stdin="How long does OpenAI retain API data?\n\n"
    )
    assert result.returncode == 0, result.stderr
    assert "30 days" in result.stdout and "Sources:" in result.stdout
    assert "empty line or Ctrl-D" in result.stderr and "question: " in result.stderr
    # Ctrl-D (end of input) ends the session as well.
    ended = run(["ask", "--json"], indexed_settings.data_dir, stdin="Is the API SOC 2 compliant?")
    assert ended.returncode == 0, ended.stderr
    assert json.loads(ended.stdout)["abstained"] is False


# ------------------------------------------------- in process: parsing and exit codes


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Run ``main(args)`` in this process; return (exit code, stdout, stderr)."""
    from app.cli import main

    for name in list(os.environ):
        if name.startswith(("PRIVACY_QA_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit:
            main(list(args))
        out, err = capsys.readouterr()
        return exit.value.code, out, err

    return invoke


@pytest.fixture
def fake_ingest(monkeypatch):
    """Replace the facade's ingest; it records its settings and reports progress 1..3 of 3."""
    from app import qa
    from app.index.manifest import IngestReport

    calls = []

    def ingest(settings, *, rebuild, dry_run, on_progress):
        calls.append(settings)
        for done in (1, 2, 3):
            on_progress(done, 3)
        return IngestReport(added=1, documents=1, chunks=3, chunks_added=3)

    monkeypatch.setattr(qa, "ingest", ingest)
    return calls


def test_version_and_help(cli):
    assert cli("--version") == (0, "privacy-qa 0.1.0\n", "")
    code, out, _ = cli("--help")
    assert code == 0 and all(name in out for name in ("ingest", "ask", "ui", "eval"))
    assert "--data-dir" in out and "--corpus-dir" in out and "-v, --verbose" in out
    options = {
        "ingest": ["--json", "--dry-run", "--rebuild"],
        "ask": ["QUESTION", "--json", "--jsonl FILE"],
        "ui": ["--port PORT", "--host HOST", "questions may contain PHI"],
        "eval": ["--split {dev,test,paraphrase,all}", "--check", "--out DIR", "--judge"]
        + ["--dataset FILE", "--baseline FILE", "--thresholds FILE", "--save-baseline"]
        + ["--fresh-index"],
    }
    for command, expected in options.items():
        code, out, _ = cli(command, "-h")
        assert code == 0 and out.startswith(f"usage: privacy-qa {command}")
        assert all(option in out for option in expected), (command, out)


def test_the_parser_holds_the_commands_named_or_all():
    """Only the commands named on the command line get a sub-parser (a no-op ingest builds
    one, not four), which must not change what any command line means."""
    from app.cli.commands import ingest_command
    from app.cli.parser import COMMANDS, build_parser

    def commands(argv):
        return build_parser(argv)._subparsers._group_actions[0].choices.keys()

    assert list(commands(["ingest", "--json"])) == ["ingest"]
    assert list(commands(["--help"])) == list(COMMANDS) == list(commands(["nope"]))
    # A directory called "ask": both are built, and the command is still ingest.
    argv = ["--data-dir", "ask", "ingest", "--dry-run"]
    args = build_parser(argv).parse_args(argv)
    assert args.run is ingest_command and args.dry_run and args.data_dir == Path("ask")


def test_without_a_command_the_help_is_shown(cli):
    code, out, _ = cli()
    assert code == 2 and "Typical use:" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["ingest", "--dry"], "unrecognized arguments: --dry"),  # no abbreviations
        (["nope"], "invalid choice: 'nope'"),
        (["eval", "--split", "train"], "invalid choice: 'train'"),
        (["ui", "--port", "eighty"], "invalid int value: 'eighty'"),
        (["ask", "--jsonl", "no-such.jsonl"], "can't open 'no-such.jsonl'"),
        (["--data-dir", "a-file", "ingest"], "'a-file' is a file, not a directory"),
        (["eval", "--dataset", "."], "'.' is a directory, not a file"),
    ],
)
def test_a_usage_mistake_is_one_sentence_and_exit_code_2(cli, tmp_path, args, fragment):
    (tmp_path / "a-file").write_text("")
    code, out, err = cli(*args)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and fragment in err and "--help`)." in err
    assert err.count("\n") == 1


def test_invalid_settings_stop_with_the_variable_named(cli, monkeypatch, fake_ingest):
    monkeypatch.setenv("PRIVACY_QA_TOP_K", "0")
    code, _, err = cli("ingest")
    assert code == 2 and "PRIVACY_QA_TOP_K: must be at least 1" in err and not fake_ingest


def test_global_options_reach_the_settings(cli, tmp_path, fake_ingest):
    code, out, _ = cli("--data-dir", "d", "--corpus-dir", "c", "-v", "ingest")
    assert code == 0 and "Indexed 1 documents as 3 chunks in d" in out
    assert (fake_ingest[0].data_dir, fake_ingest[0].corpus_dir) == (Path("d"), Path("c"))


def test_the_progress_bar_is_drawn_on_a_terminal_only(cli, monkeypatch, fake_ingest):
    import sys as sys_module

    code, _, err = cli("ingest")  # captured stderr is no terminal
    assert code == 0 and "embedding chunks" not in err
    monkeypatch.setattr(sys_module.stderr, "isatty", lambda: True)
    code, _, err = cli("ingest")
    assert code == 0
    assert err == (
        "\rembedding chunks [##########--------------------] 1/3"
        "\rembedding chunks [####################----------] 2/3"
        "\rembedding chunks [##############################] 3/3\n"
    )
    code, out, err = cli("ingest", "--json")
    assert code == 0 and err == "" and json.loads(out)["files"]["added"] == []


def test_question_and_jsonl_together_is_a_user_error(cli):
    code, _, err = cli("ask", "--jsonl", "-", "a question?")
    assert code == 2 and "Give either QUESTION or --jsonl, not both." in err


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (KeyboardInterrupt(), 130, "Aborted."),
        ("user", 2, "error: fix this"),
        ("app", 1, "error: it failed"),
        (RuntimeError("boom"), 1, "internal error: RuntimeError: boom (run with -vv"),
    ],
)
def test_errors_become_messages_and_exit_codes(cli, monkeypatch, raised, code, message):
    from app import qa
    from app.errors import PrivacyQAError, UserError

    raised = {"user": UserError("fix this"), "app": PrivacyQAError("it failed")}.get(raised, raised)

    def ingest(settings, **_):
        raise raised

    monkeypatch.setattr(qa, "ingest", ingest)
    got, out, err = cli("ingest")
    assert (got, out) == (code, "") and message in err and "Traceback" not in err


def _hit(section: str, line: int, score: float):
    from langchain_core.documents import Document

    from app.retrieval import Hit

    body = "We review each request."
    doc = Document(
        id=f"c{line}",
        page_content=f"{section}\n\n{body}",
        metadata={
            "source": "corpus/a.md",
            "title": "A guide",
            "url": "https://example.com/a",
            "section": section,
            "start_char": 0,
            "end_char": len(body),
            "start_line": line,
            "body_start": len(section) + 2,
        },
    )
    return Hit(doc, score, 0.3, 1.0)


def test_a_refusal_offers_the_closest_passages_published_first_and_labels_internal_ones():
    from app.cli.output import format_answer
    from app.qa import Answer

    hits = [
        _hit("A guide > Support routine > Routine", 40, 0.9),
        _hit("A guide > Getting started", 12, 0.5),
        _hit("A guide > Getting started", 14, 0.4),  # same section: offered once
    ]
    refused = Answer("q", "The indexed documents don't answer this.", True, [], {}, hits=hits)
    lines = format_answer(refused).splitlines()
    offered = lines[lines.index("You may want to read:") + 1 :]
    assert offered == [
        "- A guide > Getting started",  # the section path starts with the title
        "    corpus/a.md:12  https://example.com/a",
        "- A guide > Support routine > Routine (internal procedure)",
        "    corpus/a.md:40  https://example.com/a",
    ]
    answered = Answer("q", "x [1]", False, [], {}, hits=hits)
    assert "You may want to read:" not in format_answer(answered)


def test_a_citation_from_internal_procedure_is_labelled():
    from app.cli.output import format_answer
    from app.qa import Answer, Citation

    cited = Citation.quoting(1, _hit("A guide > Support routine", 40, 0.9), "We review", 0)
    assert cited.internal and cited.to_dict()["internal"] is True
    text = format_answer(Answer("q", "We review [1]", False, [cited], {}))
    assert "[1] A guide > Support routine (internal procedure)" in text


# ------------------------------------------------------------ conversation history


@pytest.mark.slow
def test_the_interactive_ask_keeps_the_conversation(indexed_settings):
    asked = "How long does OpenAI retain API inputs and outputs?\nand for files?\n\n"
    result = run(["ask"], indexed_settings.data_dir, stdin=asked)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("Searched:")
    assert "30 days" in first and "Until deleted by customer" in second
    assert second.lstrip().startswith("and for files (")


@pytest.mark.slow
def test_ask_jsonl_history_gives_searched_and_bad_history_is_the_lines_error(indexed_settings):
    turn = {"question": "How long does OpenAI retain API inputs and outputs?", "answer": "30 d"}
    lines = "\n".join(
        [
            json.dumps({"id": "f", "question": "and for files?", "history": [turn]}),
            json.dumps({"id": "n", "question": "Is the API SOC 2 compliant?", "history": [turn]}),
            json.dumps({"id": "bad", "question": "and for files?", "history": [{"q": 1}]}),
            json.dumps({"id": "alone", "question": "and for files?"}),
        ]
    )
    result = run(["ask", "--jsonl", "-"], indexed_settings.data_dir, stdin=lines)
    assert result.returncode == 2
    out = {o["id"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert out["f"]["searched"] != "and for files?" and "retain" in out["f"]["searched"]
    assert "Until deleted by customer" in json.dumps(out["f"]["citations"])
    assert out["n"]["searched"] == "Is the API SOC 2 compliant?"
    assert "line 3: history: turn 1" in out["bad"]["error"]
    assert out["alone"]["searched"] == "and for files?"


@pytest.mark.slow
def test_ask_json_history_file(indexed_settings, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"question": "Can we send PHI through the API?", "answer": ""}]))
    result = run(
        ["ask", "--json", "--history", str(history), "And how long is that data kept?"],
        indexed_settings.data_dir,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == "And how long is that data kept?"
    assert "PHI" in answer["searched"] and not answer["abstained"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q", "answer": "a"}', "expected a list of turns"),
        ('[{"question": "q"}]', "turn 1 must be an object"),
        ("[not json", "is not valid UTF-8 JSON"),
        (b"\xff[]", "is not valid UTF-8 JSON"),
    ],
)
def test_a_bad_history_file_exits_2(cli, tmp_path, content, message):
    path = tmp_path / "h.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, _, err = cli("ask", "--json", "--history", str(path), "and for files?")
    assert code == 2 and message in err and "Traceback" not in err


def test_history_without_question_is_a_user_error(cli, tmp_path):
    code, _, err = cli("ask", "--history", str(tmp_path / "missing.json"))
    assert code == 2 and "--history goes with QUESTION" in err
    code, _, err = cli("ask", "--json", "--history", str(tmp_path / "missing.json"), "q?")
    assert code == 2 and "Cannot read the --history file" in err


@pytest.mark.slow
def test_the_interactive_ask_follows_the_routine_with_numbered_choices(indexed_settings):
    result = run(["ask"], indexed_settings.data_dir, stdin="I need a BAA\n1\nno thanks\n\n")
    assert result.returncode == 0, result.stderr
    clarify, api, done = result.stdout.split("Choose (type the number or your own answer):")[:3]
    assert "Could you please specify" in clarify
    assert "1. API" in api and "2. ChatGPT Enterprise" in api and "baa@openai.com" in api
    assert "1. No, that's all" in done and "[resolved]" in done


@pytest.mark.slow
def test_ask_jsonl_follows_the_routine_from_the_history_alone(indexed_settings):
    def ask(question, history):
        line = json.dumps({"id": 1, "question": question, "history": history})
        result = run(["ask", "--jsonl", "-"], indexed_settings.data_dir, stdin=line)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    first = ask("how do we get a BAA?", [])
    assert first["clarify"]["options"] == ["API", "ChatGPT Enterprise"]
    assert first["abstained"] is False and first["branch"] is None
    history = [{"question": first["question"], "answer": first["answer"]}]
    chosen = ask(first["clarify"]["options"][1], history)
    assert chosen["branch"] == "ChatGPT Enterprise" and chosen["clarify"]["options"]
    assert all(c["quote"] for c in chosen["citations"])
    history.append({"question": chosen["question"], "answer": chosen["answer"]})
    last = ask(chosen["clarify"]["options"][0], history)
    assert last["resolved"] is True and last["clarify"] is None
    # A factual question is plain Q&A, whatever came before.
    assert ask("Which address do I email?", history[:1])["clarify"] is None
