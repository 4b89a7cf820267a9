"""The index: the Chroma store and the ingest that keeps it in step with the corpus dir.

- :mod:`app.index.manifest`: the typed records on disk (manifest, pending marker, file
  hashes), what changed, the one "nothing changed?" check. Cheap to import: a no-op
  ``privacy-qa ingest`` needs nothing else (no LangChain, no Chroma, no logging).
- :mod:`app.index.chroma`: the Chroma client (embedded or HTTP), collections, paged
  reads, search by vector and the one translator of Chroma's errors.
- :mod:`app.index.ingest`: plan (dry run), lock, run and publish an ingest.
- :mod:`app.index.records`: LangChain's SQL record manager (which chunk ids each file
  produced).
- :mod:`app.index.postings` and :mod:`app.index.lexical`: the BM25 index on disk (postings
  per term in SQLite), one file per generation; its writer, and its reader.

Ingest writes through langchain-chroma, for LangChain's indexing API; readers use the
chromadb collection itself (:func:`app.index.chroma.open_collection`).

Layout under ``settings.data_dir``::

    chroma/          Chroma's persistent files; one collection per index generation
                     (with ``chroma_url`` set, the collections live in that Chroma server)
    records.sqlite   LangChain record manager: which chunk ids each document produced
                     (or the SQL database at ``record_db_url``)
    lexical/         the BM25 index of each generation: <collection>.sqlite (postings per
                     term), also with ``chroma_url`` set (every reader shares the data dir)
    manifest.json    the live index: its collection, the store holding it, settings
                     fingerprint, file hashes (:class:`app.index.manifest.Manifest`)
    file-hashes.json a cache of the corpus files' hashes by their stat
    document-times.json, feedback.jsonl  the chat page's (app/documents.py, app/feedback.py)
    ingest.pending   present while an ingest writes (what it writes into); gone when done
                     (:class:`app.index.manifest.Pending`)
    ingest.lock      held (flock) by the running ingest, so two never interleave

How it stays safe:

* Readers only follow ``manifest.json``, which is replaced atomically at the very end of
  an ingest. Until then they keep answering from what was there before.
* An incremental ingest adds the new chunks of changed files before it removes their old
  ones (LangChain's indexing API), so a reader sees the old or the new text, never nothing.
* A rebuild (``--rebuild``, or new embedding/chunking settings) fills a *new* collection
  and switches the manifest to it when complete; the old one is dropped by the next
  ingest. A killed rebuild leaves the live index untouched, and the next ingest resumes it.
* The lexical index takes a run's additions and removals in one SQLite transaction,
  committed just before the manifest is published: a reader sees its old or its new
  state, never a mix, and a killed run leaves the old one.
* ``ingest.pending`` marks an interrupted run: the next ingest then re-checks every file
  and every stored chunk (``cleanup="full"`` plus a sweep of chunks no record claims)
  instead of trusting the file hashes.
* A no-op ingest only hashes files (or only stats them, once their hashes are cached): no
  model, no Chroma. ``privacy-qa ingest`` answers it from :mod:`app.index.manifest` alone.
"""
