"""Support routines as guided flows (issue 16): read from the indexed documents
(:mod:`.parse`), decided offline for each question (:mod:`.decide`), answered with
verbatim, cited statements (:mod:`.compose`). The session (app/session.py) runs them."""

from app.routine.compose import RESOLVED_TEXT, routine_answer
from app.routine.decide import DONE_OPTION, Decision, decide
from app.routine.parse import Routine, RoutineError, check_routines, find_routines

__all__ = [
    "DONE_OPTION",
    "RESOLVED_TEXT",
    "Decision",
    "Routine",
    "RoutineError",
    "check_routines",
    "decide",
    "find_routines",
    "routine_answer",
]
