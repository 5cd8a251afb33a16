"""Parsed and validated documents, kept by their text.

A client sends the same few documents again and again (its variables change, not its query),
and parsing and validating one costs ~2-3 ms for a page of full leaderboard rows: as much as
completing the rows. A document that passed both is kept (by its exact text, the most recently
used few) and the next request with the same text skips both steps. Validation depends on the
text and the schema only (the limits' rules are the same for every request; the cost limit,
which reads variables, runs at execution), so a kept document is as checked as a new one.
Refused documents are not kept: their errors are built afresh each time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

MAX_DOCUMENTS = 128
MAX_TEXT = 8_000  # characters: the documents clients repeat are small; a huge one is not kept


class _Kept:
    def __init__(self, size: int) -> None:
        self.size = size
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: str) -> DocumentNode | None:
        with self.lock:
            document = self.documents.get(text)
            if document is not None:
                self.documents.move_to_end(text)
            return document

    def put(self, text: str, document: DocumentNode) -> None:
        with self.lock:
            self.documents[text] = document
            self.documents.move_to_end(text)
            while len(self.documents) > self.size:
                self.documents.popitem(last=False)


kept = _Kept(MAX_DOCUMENTS)


class DocumentCache(SchemaExtension):
    """Skips parsing and validation for a document that passed them before."""

    hit = False  # this request's document was kept

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        if text and len(text) <= MAX_TEXT and context.graphql_document is None:
            document = kept.get(text)
            if document is not None:
                context.graphql_document = document
                self.hit = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.hit:
            context.pre_execution_errors = []  # strawberry validates only when this is None
        yield
        text, document = context.query, context.graphql_document
        valid = context.pre_execution_errors == []
        if not self.hit and valid and text and len(text) <= MAX_TEXT and document is not None:
            kept.put(text, document)
