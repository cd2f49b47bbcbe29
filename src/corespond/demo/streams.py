"""Fan the simulation's per-source record streams out to the format writers, concurrently.

The simulation produces every source at once (a call yields CAD, RMS, EMS and hospital records
together), while each writer consumes one iterable. Each writer therefore runs in its own
thread, fed through a small bounded queue of record batches: memory holds a few batches per
source, never a whole source. Each writer sees its records in the order they were emitted, so
the output does not depend on thread scheduling.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from corespond.demo.truth import TruthFiles
from corespond.demo.world import Sink
from corespond.sources.records import Record

Writer = Callable[[Iterable[Record]], list[Path]]
BATCH = 500
QUEUED_BATCHES = 8
_END = None


class _Stream:
    """One writer in its thread, and the queue that feeds it."""

    def __init__(self, name: str, write: Writer) -> None:
        self.name = name
        self.write = write
        self.batches: queue.Queue[list[Record] | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.pending: list[Record] = []
        self.paths: list[Path] = []
        self.error: BaseException | None = None
        self.ended = False
        self.thread = threading.Thread(target=self._run, name=f"demo-writer-{name}", daemon=True)
        self.thread.start()

    def _records(self) -> Iterator[Record]:
        while (batch := self.batches.get()) is not _END:
            yield from batch
        self.ended = True

    def _run(self) -> None:
        try:
            self.paths = self.write(self._records())
        except BaseException as exc:  # handed to the producer in finish()
            self.error = exc
        # A writer that failed or stopped early must not leave the producer blocked on put().
        while not self.ended:
            if self.batches.get() is _END:
                self.ended = True

    def put(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            self.batches.put(self.pending)
            self.pending = []

    def finish(self) -> None:
        if self.pending:
            self.batches.put(self.pending)
            self.pending = []
        self.batches.put(_END)
        self.thread.join()


class StreamingSink(Sink):
    """A sink that streams each source to its writer and the truth to ``truth/``."""

    def __init__(self, writers: dict[str, Writer], truth: TruthFiles) -> None:
        super().__init__()
        self.truth_files = truth
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in writers}
        self._streams = {name: _Stream(name, write) for name, write in writers.items()}

    def emit(self, source: str, record: Record) -> None:
        self.counts[source][record.kind] += 1
        self._streams[source].put(record)

    def note_person(self, source: str, kind: str, source_key: str, person_id: str) -> None:
        self.truth_files.person_record(source, kind, source_key, person_id)

    def note_call(self, row: tuple[object, ...]) -> None:
        self.counts.setdefault("truth", Counter())["call"] += 1
        self.truth_files.call(row)

    def finish(self) -> dict[str, list[Path]]:
        """End every stream, wait for the writers, and return the files each wrote.

        Raises:
            RuntimeError: a writer failed (the first failure, with its cause).
        """
        for stream in self._streams.values():
            stream.finish()
        for stream in self._streams.values():
            if stream.error is not None:
                raise RuntimeError(
                    f"the {stream.name} writer failed: {stream.error}"
                ) from stream.error
        return {name: stream.paths for name, stream in self._streams.items()}
