"""Runs where they live: ``s3://``, ``gs://``, ``az://``, ``hf://`` and ``file://`` paths, through fsspec.

Nothing here is imported for local paths, and fsspec is imported only when a path has a scheme
(`curvelint.fileio.is_remote`): the plain install needs neither. A store is only ever listed and read.

* Discovery lists a tree with ONE recursive listing (``fs.find``: S3 lists 1,000 keys per request
  without a delimiter) and walks it like ``os.walk`` (`walk`); what it listed is remembered, so the
  readers' ``is_regular``/``is_dir`` checks, file sizes and the folder listings of run folders (W&B,
  MLflow: `listdir`, and `walk` again under a listed tree) cost no request (`lookup`). Worker
  processes get the listing with their tasks (`export`/`seed`).
* `open_remote` returns a seekable binary file that reads with range requests
  (`curvelint.remote_file.RemoteFile`: an adaptive read-ahead window). A TensorBoard event file is opened
  through `curvelint.skim`, which seeks over the bulky payloads (images, graphs) instead of downloading them.
* The filesystems, credentials, retries and one-line errors are `curvelint.remote_store`'s; this module
  re-exports what its callers use (`describe`, `fetch`, `STATS`, `offer`, `withdraw`).
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curvelint import remote_file, remote_store
from curvelint.urls import is_remote
from curvelint.remote_file import FIRST_READ, MAX_READ, RemoteFile, offer, take, withdraw
from curvelint.remote_store import SCHEMES, STATS, describe, fetch, filesystem, oserror, scheme

__all__ = [  # with what it re-exports from remote_store and remote_file, which its callers use
    "FIRST_READ",
    "MAX_READ",
    "SCHEMES",
    "STATS",
    "check_file",
    "describe",
    "exists",
    "export",
    "fetch",
    "filesystem",
    "is_dir",
    "is_file",
    "is_remote",
    "listdir",
    "lookup",
    "offer",
    "open_remote",
    "RemoteFile",
    "root_of",
    "scheme",
    "seed",
    "size",
    "walk",
    "withdraw",
]

_FILES: dict[str, int] = {}  # URL -> size, of every file listed
_DIRS: set[str] = set()  # URLs of the folders listed
_ROOTS: set[str] = set()  # URLs listed completely: a path under one that is in neither set does not exist
_MISSING: set[str] = set()  # URLs known not to exist (from another process's listing: `export`)
_NAMED: set[str] = set()  # URLs named as trees to lint (`root_of`: per-path-ignores are relative to them)
_TREE: dict[str, tuple[set[str], set[str]]] = {}  # folder URL -> (names of its folders, of its files) listed
COMPANIONS = ("hparams.yaml", ".curvelint.toml")  # files beside a run's logs that the linting reads
FOLDER_RUNS = ("wandb", "mlflow")  # formats whose reader lists its run folder: workers get the whole subtree


def reset() -> None:
    """Forget the filesystems (new credentials, a new endpoint), the listings and what was fetched ahead."""
    remote_store.reset()
    remote_file.reset()
    for known in (_FILES, _DIRS, _ROOTS, _MISSING, _TREE, _NAMED):
        known.clear()


# -- listing ---------------------------------------------------------------------------------------------

Triple = tuple[str, list[str], list[str]]


def walk(url: str, excluded: Callable[[str], bool] = lambda path: False,
         heads: Callable[[str], bool] | None = None, named: bool = True) -> Iterator[Triple]:
    """``(folder, folder names, file names)`` under `url`, top-down like ``os.walk`` (prune the folder
    names in place), from one recursive listing; hidden names, ``__pycache__`` and `excluded` paths
    are left out. The folders are URLs spelled as `url` is. The first bytes of the files whose names
    `heads` accepts are fetched meanwhile, concurrently (files that discovery opens to sniff). OSError
    when the store cannot be listed or `url` does not exist; ImportError when its filesystem is not installed.
    `named`: `url` was named to be linted (not a run folder that a reader lists), see `root_of`."""
    root = url.rstrip("/") if not url.endswith("://") else url
    if named:
        _NAMED.add(root)
    if root in _TREE and _complete(root):  # a folder of a tree listed before (a run folder's reader)
        yield from _visit(root, _TREE, excluded)
        return
    fs, path = filesystem(root)
    path = path.rstrip("/")
    try:
        STATS["listings"] += 1
        found = fs.find(path, withdirs=True, detail=True)
        if not found and fs.isfile(path):  # a single object named as the path
            found = {path: fs.info(path)}
    except Exception as exc:
        raise oserror(exc, url) from exc
    if not found:
        raise OSError(2, "no such file, folder or prefix", url)
    if set(found) == {path} and found[path].get("type") != "directory":  # `url` is a file
        folder, name = posixpath.split(root)
        _remember(root, int(found[path].get("size") or 0))
        _ROOTS.add(root)
        yield folder, [], [] if name.startswith(".") or excluded(root) else [name]
        return
    _remember(root)
    _ROOTS.add(root)
    listed = []
    for name, info in found.items():
        rel = name[len(path):].strip("/") if name.startswith(path) else ""
        if rel:
            item = f"{root}/{rel}"
            _remember(item, None if info.get("type") == "directory" else int(info.get("size") or 0))
            listed.append(item)
    if heads is not None:
        prefetch([u for u in listed if u in _FILES and heads(posixpath.basename(u))], 4096)
    yield from _visit(root, _TREE, excluded)


def _remember(url: str, size: int | None = None) -> None:
    """A listed file of `size` bytes (a folder when None), in its folder's entry and its folders'."""
    if size is None:
        _DIRS.add(url)
        _TREE.setdefault(url, (set(), set()))
    else:
        _FILES[url] = size
    while "/" in url.split("://", 1)[-1]:
        folder, name = url.rsplit("/", 1)
        entry = _TREE.setdefault(folder, (set(), set()))
        if name in entry[0] or name in entry[1]:
            return
        entry[1 if size is not None else 0].add(name)
        _DIRS.add(folder)
        url, size = folder, None


def root_of(url: str) -> str | None:
    """The longest URL named to be linted (`walk`) that is `url` or holds it; None when none is known."""
    held = [root for root in _NAMED if url == root or url.startswith(root.rstrip("/") + "/")]
    return max(held, key=len) if held else None


def _complete(url: str) -> bool:
    """Whether `url` is in a tree that was listed completely (what is not in the listing does not exist)."""
    return url in _ROOTS or any(url.startswith(root + "/") for root in _ROOTS)


def _visit(root: str, tree: dict[str, tuple[set[str], set[str]]], excluded: Callable[[str], bool]
           ) -> Iterator[Triple]:
    stack = [root]
    while stack:
        folder = stack.pop()
        dirs, files = tree.get(folder, (set(), set()))
        dirnames = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                          and not excluded(f"{folder}/{d}"))
        filenames = sorted(f for f in files if not f.startswith(".") and not excluded(f"{folder}/{f}"))
        yield folder, dirnames, filenames
        stack.extend(f"{folder}/{d}" for d in reversed(dirnames))  # pruned by the caller: not visited


def lookup(url: str) -> str | None:
    """"file", "dir", "missing" (under a listed tree, not in it), or None when no listing says."""
    url = url.rstrip("/")
    if url in _FILES:
        return "file"
    if url in _DIRS:
        return "dir"
    if url in _MISSING or _complete(url):
        return "missing"
    return None


def is_file(url: str) -> bool:
    """Whether `url` is an object (from the listing when there is one; False when it cannot be known)."""
    known = lookup(url)
    if known is not None:
        return known == "file"
    try:
        info = remote_store.info(url)
    except (OSError, ImportError):
        return False
    return info is not None and info.get("type") != "directory"


def is_dir(url: str) -> bool:
    known = lookup(url)
    if known is not None:
        return known == "dir"
    try:
        info = remote_store.info(url)
    except (OSError, ImportError):
        return False
    return info is not None and info.get("type") == "directory"


def exists(url: str) -> bool:
    """Whether `url` is an object or a folder of its store."""
    return is_file(url) or is_dir(url)


def listdir(url: str) -> list[str]:
    """The names in the folder `url`, sorted, like ``os.listdir`` (from the listing of a tree that holds it,
    else one listing request). OSError when it is not a folder."""
    url = url.rstrip("/")
    if url in _TREE and _complete(url):
        dirs, files = _TREE[url]
        return sorted(dirs | files)
    if lookup(url) in ("file", "missing"):
        raise OSError(20 if lookup(url) == "file" else 2, "not a folder" if lookup(url) == "file" else "not found", url)
    fs, path = filesystem(url)
    try:
        STATS["listings"] += 1
        found = fs.ls(path.rstrip("/"), detail=True)
    except Exception as exc:
        raise oserror(exc, url) from exc
    _remember(url)
    names = []
    for info in found:
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        if name and f"{url}/{name}" != url:
            _remember(f"{url}/{name}", None if info.get("type") == "directory" else int(info.get("size") or 0))
            names.append(name)
    return sorted(set(names))


def check_file(url: str) -> None:
    """OSError unless `url` is an object (a folder or a missing key: said in ``strerror``)."""
    known = lookup(url)
    if known == "file":
        return
    if known is None:
        try:
            info = remote_store.info(url)
        except ImportError as exc:
            raise OSError(5, str(exc), url) from None
        if info is not None and info.get("type") != "directory":
            _remember(url.rstrip("/"), int(info.get("size") or 0))
            return
        known = "dir" if info is not None else "missing"
    raise OSError(21 if known == "dir" else 2, "not a file (a folder)" if known == "dir" else "not found", url)


def size(url: str) -> int:
    """An object's size in bytes (OSError when it is not one)."""
    check_file(url)
    return _FILES[url.rstrip("/")]


def export(sources: list[Any]) -> dict[str, Any]:
    """What the listing says about the files that linting `sources` (`RunSource`s) reads, for `seed` in a
    worker process: their sizes, their folders, which companion files (`COMPANIONS`) are absent, and the
    whole subtree of a run folder whose reader lists it (`FOLDER_RUNS`)."""
    files: dict[str, int] = {}
    dirs: set[str] = set()
    missing: set[str] = set()
    complete: list[str] = []
    for source in sources:
        if source.format in FOLDER_RUNS and source.path in _TREE and _complete(source.path):
            complete.append(source.path)
            _subtree(source.path, files, dirs)
        folder = source.path if source.path in _DIRS else posixpath.dirname(source.path)
        dirs.update(d for d in (source.path, folder) if d in _DIRS)
        for url in (*source.files, *source.graphs, *(f"{folder}/{name}" for name in COMPANIONS)):
            known = lookup(url)
            if known == "file":
                files[url] = _FILES[url]
            elif known == "missing":
                missing.add(url)
    named = sorted({root for root in map(root_of, (s.path for s in sources)) if root is not None})
    return {"files": files, "dirs": sorted(dirs), "missing": sorted(missing), "complete": complete, "named": named}


def _subtree(url: str, files: dict[str, int], dirs: set[str]) -> None:
    """The files (and sizes) and folders under the listed folder `url`, it included, into `files` and `dirs`."""
    stack = [url]
    while stack:
        folder = stack.pop()
        dirs.add(folder)
        names, filenames = _TREE.get(folder, (set(), set()))
        files.update((f"{folder}/{name}", _FILES[f"{folder}/{name}"]) for name in filenames)
        stack.extend(f"{folder}/{name}" for name in names)


def seed(listing: dict[str, Any] | None) -> None:
    """Remember what another process's listing said (`export`)."""
    if listing:
        for url in listing["dirs"]:
            _remember(url)
        for url, n in listing["files"].items():
            _remember(url, n)
        _MISSING.update(listing["missing"])
        _ROOTS.update(listing.get("complete", ()))
        _NAMED.update(listing.get("named", ()))


# -- reading ---------------------------------------------------------------------------------------------

def open_remote(url: str, skim: bool | None = None) -> io.BufferedIOBase:
    """`url` opened for binary reading (seekable; OSError when it is not an object or cannot be read).

    A TensorBoard event file (by its name, or `skim`) is read through `curvelint.skim.EventSkim`, which
    seeks over the payloads of bulky non-scalar records rather than downloading them."""
    if skim if skim is not None else "tfevents" in posixpath.basename(url):
        from curvelint.skim import FIRST, WINDOW, EventSkim

        return io.BufferedReader(EventSkim(RemoteFile(url, size(url), FIRST, WINDOW, take(url))), 1 << 16)
    return io.BufferedReader(RemoteFile(url, size(url), head=take(url)), 1 << 16)


THREADS = 16  # requests in flight while fetching ahead (`prefetch`, `curvelint.prefetch.ahead`)


def prefetch(urls: Iterable[str], most: int) -> None:
    """Fetch the first `most` bytes of each of `urls` concurrently, for their next `open_remote`; returns
    when they are all fetched."""
    from concurrent.futures import ThreadPoolExecutor

    urls = list(urls)
    if not urls:
        return
    with ThreadPoolExecutor(min(THREADS, len(urls))) as pool:
        for url in urls:
            offer(url, pool.submit(fetch, url, 0, min(most, size(url))))
