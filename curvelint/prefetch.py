"""Fetching remote runs' small files ahead, concurrently, while the run before them is linted.

Linting a bucket one run at a time waits one round trip (tens of milliseconds on S3) per file: at
10,000 runs, minutes of waiting for seconds of work. `ahead` yields the runs in order while
`THREADS` threads fetch the files of the next `DEPTH` runs (`curvelint.remote.offer`): each object
up to `WHOLE` bytes whole, nothing of a larger one (a Parquet table is read by its footer, then
the columns it needs); a TensorBoard event file up to its first window only, so that the bulky
records `curvelint.skim` skips are not fetched ahead. What a run did not use is dropped once it is
linted. The engine uses it only for URLs (local runs import nothing of this).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from curvelint import remote
from curvelint.urls import is_remote

THREADS = remote.THREADS  # requests in flight
DEPTH = 64  # runs fetched ahead of the one being linted
WHOLE = 1 << 20  # objects up to this size are fetched whole


def _wanted(source: Any) -> list[tuple[str, int]]:
    """(URL, bytes to fetch ahead) of the listed files that linting `source` reads: small objects whole, an
    event file up to its first window (`curvelint.skim.FIRST`), nothing of a larger object."""
    from curvelint.skim import FIRST

    folder = source.path if remote.lookup(source.path) == "dir" else posixpath.dirname(source.path)
    out = []
    for url in dict.fromkeys((*source.files, *source.graphs, *(f"{folder}/{n}" for n in remote.COMPANIONS))):
        if remote.lookup(url) == "file":
            size = remote.size(url)
            n = min(size, FIRST) if "tfevents" in posixpath.basename(url) else size if size <= WHOLE else 0
            if n:
                out.append((url, n))
    return out


def ahead(sources: Iterable[Any], depth: int = DEPTH) -> Iterator[Any]:
    """`sources` (`RunSource`s) in order; the files of the next `depth` remote ones fetched meanwhile."""
    sources = list(sources)
    pool = ThreadPoolExecutor(THREADS)
    offered: list[list[str]] = []

    def submit(source: Any) -> None:
        urls = []
        if is_remote(source.path):
            for url, n in _wanted(source):
                remote.offer(url, pool.submit(remote.fetch, url, 0, n))
                urls.append(url)
        offered.append(urls)

    try:
        for source in sources[:depth]:
            submit(source)
        for i, source in enumerate(sources):
            if i + depth < len(sources):
                submit(sources[i + depth])
            yield source
            for url in offered[i]:
                remote.withdraw(url)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
