"""The English check: measured on every eval question (none refused) and on foreign ones."""

from __future__ import annotations

import json

import pytest

from app.errors import UserError
from app.language import NOT_ENGLISH, check_english, is_english, latin_share

from .conftest import ROOT

FOREIGN = [
    "Combien de temps OpenAI conserve-t-il les données de l'API ?",
    "Wie lange speichert OpenAI die Daten der API?",
    "¿Cuánto tiempo guarda OpenAI los datos de la API?",
    "Per quanto tempo OpenAI conserva i dati delle API?",
    "Quanto tempo a OpenAI guarda os dados da API?",
    "Hoe lang bewaart OpenAI de gegevens van de API?",
    "OpenAI はAPIデータをどのくらい保存しますか？",
    "Как долго OpenAI хранит данные API?",
    "OpenAI 保留 API 数据多长时间？",
]
# English the way people type it: keywords, typos, names, a stray foreign word.
ENGLISH = [
    "baa openai hipaa",
    "zdr endpoints list",
    "Does OpenAI sign a BAA?",
    "Is de data encrypted at rest?",
    "retension of api inputs 30 dayz?",
    "SOC 2 Type 2 report",
    "Le SOC 2 report?",
]


def test_no_eval_question_is_refused():
    lines = (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    assert len(questions) > 300
    assert [q for q in questions if not is_english(q)] == []


@pytest.mark.parametrize("question", FOREIGN)
def test_a_question_mostly_in_another_language_is_refused_saying_so(question):
    assert not is_english(question)
    with pytest.raises(UserError, match="This index answers questions in English"):
        check_english(question)


@pytest.mark.parametrize("question", ENGLISH)
def test_english_keywords_typos_and_names_pass(question):
    assert is_english(question)
    check_english(question)


def test_the_script_share_counts_cjk_double_and_ignores_digits():
    assert latin_share("1234 ?!") == 1.0
    assert latin_share("abc") == 1.0
    assert latin_share("ab数据") == pytest.approx(2 / 6)
    assert NOT_ENGLISH.startswith("This index answers questions in English")
