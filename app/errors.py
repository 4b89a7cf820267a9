"""The few exceptions the core raises. The CLI and UI turn them into messages.

Every message says what to do next, so the edge can show ``str(error)`` as it is.
"""


class PrivacyQAError(Exception):
    """Base class: something went wrong that the app knows how to explain."""


class UserError(PrivacyQAError):
    """The user can fix this (bad input, missing store, bad settings). CLI exit code 2."""


class ConfigError(UserError):
    """A setting is invalid or a required one (such as an API key) is missing."""


class EmptyQuestionError(UserError):
    """The question is empty or only whitespace."""


class QuestionTooLongError(UserError):
    """The question is longer than the app accepts."""


class StoreMissingError(UserError):
    """No index has been built yet in the data dir."""


class StoreMismatchError(UserError):
    """The index was built with other embeddings or chunking settings than the current ones."""


class StoreCorruptError(UserError):
    """The data dir holds something the app cannot read as its store."""


class StoreUnavailableError(UserError):
    """The Chroma server (PRIVACY_QA_CHROMA_URL) cannot be reached."""


class IngestLockedError(UserError):
    """Another ingest is writing to the same data dir."""


class ProviderError(PrivacyQAError):
    """A remote provider (OpenAI or a compatible server) failed."""


class APIKeyRejectedError(ConfigError):
    """OpenAI (or the compatible server) answered 401: the API key is wrong or revoked."""


class ZDRViolationError(PrivacyQAError):
    """A request to OpenAI was refused before it was sent: it was not for one of the
    zero-data-retention endpoints the app allows (see app/openai_http.py)."""


class PhiFoundError(UserError):
    """The PHI check found likely PHI in a question the chat model would send away
    (app/phi.py); ``kinds`` names what was found, never the values."""

    def __init__(self, message: str, kinds: list[str]):
        super().__init__(message)
        self.kinds = kinds
