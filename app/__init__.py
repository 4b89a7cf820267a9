"""privacy-qa: cited question answering over privacy and compliance documents.

Importing the package is cheap on purpose: heavy libraries (torch, chromadb, langchain)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"
