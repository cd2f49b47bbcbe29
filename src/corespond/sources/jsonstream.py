"""Streaming a JSON file that is one document or an array of many, a document at a time.

A 911 centre's export can be one large JSON array; reading it whole would make memory grow with
the file. The splitter walks the text as it is decoded and hands out each top-level element's
text, so that a broken element is rejected alone and the rest still read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_CHARS = 64 * 1024
JSON_SPACE = " \t\n\r"


def decoded_chunks(path: Path, encoding: str) -> Iterator[str]:
    # Undecodable bytes become lone surrogates; the document holding them is then rejected.
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_CHARS):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)


_OUTSIDE_STRING = re.compile(r'["{}\[\],]')
_INSIDE_STRING = re.compile(r'["\\]')


@dataclass
class _Splitter:
    """The state of :func:`split_json_array` between chunks."""

    depth: int = 0
    in_string: bool = False
    escaped: bool = False
    opened: bool = False
    closed: bool = False


def split_json_array(chunks: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """Split the text of a JSON array into the texts of its elements, as it streams.

    Yields ``(text, problem)``: ``problem`` is None for an element whose end was found (it may
    still be malformed inside: the caller parses it), or says what is wrong (the array ends
    inside the element, text follows the array). Only the current element is held in memory.

    Example:
        >>> list(split_json_array(['[{"a": [1, 2]}, ', '"x,]"]']))
        [('{"a": [1, 2]}', None), ('"x,]"', None)]
    """
    state, pieces = _Splitter(), []
    for chunk in chunks:
        index, size = 0, len(chunk)
        if state.escaped and size:
            pieces.append(chunk[0])
            index, state.escaped = 1, False
        while index < size:
            if state.closed:
                pieces.append(chunk[index:])
                break
            if not state.opened:
                stripped = chunk[index:].lstrip(JSON_SPACE)
                if not stripped:
                    break
                if stripped[0] != "[":
                    pieces.append(stripped)
                    state.opened = state.closed = True  # the rest is reported as trailing text
                    break
                state.opened = True
                index = size - len(stripped) + 1
                continue
            if state.in_string:
                match = _INSIDE_STRING.search(chunk, index)
                if match is None:
                    pieces.append(chunk[index:])
                    break
                end = match.start()
                if chunk[end] == "\\":
                    pieces.append(chunk[index : end + 2])
                    state.escaped = end + 1 >= size
                    index = end + 2
                    continue
                pieces.append(chunk[index : end + 1])
                state.in_string, index = False, end + 1
                continue
            match = _OUTSIDE_STRING.search(chunk, index)
            if match is None:
                pieces.append(chunk[index:])
                break
            end, char = match.start(), match.group()
            if state.depth == 0 and char in ",]":
                pieces.append(chunk[index:end])
                element = "".join(pieces).strip(JSON_SPACE)
                pieces = []
                if element:
                    yield element, None
                state.closed = char == "]"
                index = end + 1
                continue
            if char == '"':
                state.in_string = True
            elif char in "{[":
                state.depth += 1
            elif char in "}]" and state.depth > 0:
                state.depth -= 1
            pieces.append(chunk[index : end + 1])
            index = end + 1
    rest = "".join(pieces).strip(JSON_SPACE)
    if rest and state.closed:
        yield rest, "text after the end of the JSON array"
    elif rest:
        yield rest, "malformed JSON: the file ends inside this document (truncated?)"
    elif state.opened and not state.closed:
        # Documents may be missing after the last complete one: say so rather than stay silent.
        yield rest, "malformed JSON: the array is never closed (truncated?)"
