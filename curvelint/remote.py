"""Runs where they live: ``s3://``, ``gs://``, ``az://``, ``hf://`` and ``file://`` paths, through fsspec.

Nothing here is imported for local paths, and fsspec is imported only when a path has a scheme
(`curvelint.fileio.is_remote`): the plain install needs neither. A store is only ever listed and read.

* Discovery lists a tree with ONE recursive listing (``fs.find``: S3 lists 1,000 keys per request
  without a delimiter) and walks it like ``os.walk`` (`walk`); what it listed is remembered, so the
  readers' ``is_regular``/``is_dir`` checks, file sizes and the folder listings of run folders (W&B,
  MLflow: `listdir`, and `walk` again under a listed tree) cost no request (`lookup`). Worker
  processes get the listing with their tasks (`export`/`seed`).
* `open_remote` returns a seekable binary file that reads with range requests: the first read of a
  file fetches up to `FIRST_READ` bytes (a small file in one request), sequential reads double the
  window up to `MAX_READ`, a seek starts small again. A TensorBoard event file is opened through
  `curvelint.skim`, which seeks over the bulky payloads (images, graphs) instead of downloading them.
* Credentials come from each library's own chain (``AWS_*`` variables, ``~/.aws``, instance roles;
  ``GOOGLE_APPLICATION_CREDENTIALS``; ``AZURE_STORAGE_*``; ``HF_TOKEN``), and so does an S3 endpoint
  (``AWS_ENDPOINT_URL``). S3 requests are retried by botocore's ``standard`` mode with exponential
  backoff (throttling, 5xx, dropped connections), `S3_ATTEMPTS` attempts unless ``AWS_MAX_ATTEMPTS``
  or ``AWS_RETRY_MODE`` say otherwise.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from curvelint.fileio import is_remote

__all__ = [
    "STATS",
    "check_file",
    "describe",
    "exists",
    "export",
    "fetch",
    "is_dir",
    "is_file",
    "is_remote",
    "listdir",
    "lookup",
    "offer",
    "open_remote",
    "root_of",
    "seed",
    "size",
    "walk",
    "withdraw",
]

FIRST_READ = 256 << 10  # bytes fetched by a file's first read (and after a seek)
MAX_READ = 8 << 20  # the largest read-ahead window of a sequential read
S3_ATTEMPTS = 10  # botocore attempts per S3 request (standard retry mode: exponential backoff with jitter)
# scheme -> (extra, package) that reads it
SCHEMES = {"s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"), "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
           "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"),
           "hf": ("hub", "huggingface_hub"), "file": ("remote", "fsspec")}
STATS = {"listings": 0, "requests": 0, "bytes": 0}  # this process's calls to stores (tests, benchmarks)

_FILES: dict[str, int] = {}  # URL -> size, of every file listed
_DIRS: set[str] = set()  # URLs of the folders listed
_ROOTS: set[str] = set()  # URLs listed completely: a path under one that is in neither set does not exist
_MISSING: set[str] = set()  # URLs known not to exist (from another process's listing: `export`)
_NAMED: set[str] = set()  # URLs named as trees to lint (`root_of`: per-path-ignores are relative to them)
_TREE: dict[str, tuple[set[str], set[str]]] = {}  # folder URL -> (names of its folders, of its files) listed
_WAITING: dict[str, Any] = {}  # URL -> future of its first bytes, fetched ahead (`curvelint.prefetch`)
COMPANIONS = ("hparams.yaml", ".curvelint.toml")  # files beside a run's logs that the linting reads
FOLDER_RUNS = ("wandb", "mlflow")  # formats whose reader lists its run folder: workers get the whole subtree
_FILESYSTEMS: dict[str, Any] = {}  # scheme -> fsspec filesystem


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem for `url` (one per scheme) and the path it knows the object by.

    ImportError names the extra to install."""
    proto = scheme(url)
    fs = _FILESYSTEMS.get(proto)
    if fs is None:
        extra, package = SCHEMES.get(proto, ("remote", f"an fsspec implementation of {proto}://"))
        try:
            import fsspec

            fs = fsspec.filesystem(proto, **_options(proto))
        except (ImportError, ValueError) as exc:  # ValueError: a protocol fsspec does not know
            raise ImportError(f"reading {proto}:// paths needs {package}: pip install 'curvelint[{extra}]' "
                              f"({exc})") from None
        _FILESYSTEMS[proto] = fs
    return fs, fs._strip_protocol(url)


def _options(proto: str) -> dict[str, Any]:
    """Filesystem options: S3 retries with backoff, unless the environment configures botocore's."""
    if SCHEMES.get(proto, ("",))[0] == "s3" and not (os.environ.get("AWS_MAX_ATTEMPTS")
                                                     or os.environ.get("AWS_RETRY_MODE")):
        return {"config_kwargs": {"retries": {"max_attempts": S3_ATTEMPTS, "mode": "standard"}}}
    return {}


def reset() -> None:
    """Forget the filesystems (new credentials, a new endpoint) and the listings."""
    _FILESYSTEMS.clear()
    for known in (_FILES, _DIRS, _ROOTS, _MISSING, _WAITING, _TREE, _NAMED):
        known.clear()


# -- errors ----------------------------------------------------------------------------------------------

def describe(exc: BaseException) -> str:
    """One line for a store's error: what failed, without a traceback."""
    if isinstance(exc, ImportError):
        return str(exc)
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = text.splitlines()[0] if text.strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError):  # "The specified bucket does not exist", or just the key
        return text if " " in text else "not found"
    if isinstance(exc, PermissionError):
        return f"permission denied ({text})"
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def _oserror(exc: BaseException, url: str) -> OSError:
    """`exc` as an OSError whose ``strerror`` is one line (readers show ``exc.strerror``)."""
    error = OSError(getattr(exc, "errno", None) or 5, describe(exc), url)
    error.__cause__ = exc
    return error


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
        raise _oserror(exc, url) from exc
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
        from curvelint.prefetch import prefetch

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


def _info(url: str) -> dict[str, Any] | None:
    fs, path = filesystem(url)
    try:
        STATS["requests"] += 1
        return fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise _oserror(exc, url) from exc


def is_file(url: str) -> bool:
    """Whether `url` is an object (from the listing when there is one; False when it cannot be known)."""
    known = lookup(url)
    if known is not None:
        return known == "file"
    try:
        info = _info(url)
    except (OSError, ImportError):
        return False
    return info is not None and info.get("type") != "directory"


def is_dir(url: str) -> bool:
    known = lookup(url)
    if known is not None:
        return known == "dir"
    try:
        info = _info(url)
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
        raise _oserror(exc, url) from exc
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
            info = _info(url)
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


def fetch(url: str, start: int = 0, end: int | None = None) -> bytes:
    """Bytes [start, end) of an object (to its end when `end` is None): one request."""
    fs, path = filesystem(url)
    try:
        STATS["requests"] += 1
        data = fs.cat_file(path, start=start, end=end)
    except Exception as exc:
        raise _oserror(exc, url) from exc
    STATS["bytes"] += len(data)
    return data


def offer(url: str, future: Any) -> None:
    """A future of the first bytes of `url` (`curvelint.prefetch`), for its next `open_remote`."""
    _WAITING[url] = future


def withdraw(url: str) -> None:
    """Forget what was fetched ahead for `url` and was not used (a run that was linted without it)."""
    future = _WAITING.pop(url, None)
    if future is not None:
        future.cancel()


def _take(url: str) -> bytes:
    """What was fetched ahead for `url` (b"" when nothing, or when that failed: then it is read again)."""
    future = _WAITING.pop(url, None)
    try:
        return future.result() if future is not None else b""
    except Exception:  # noqa: BLE001  (the read that follows reports the error)
        return b""


# -- reading ---------------------------------------------------------------------------------------------

class RemoteFile(io.RawIOBase):
    """A read-only, seekable object read with range requests and an adaptive read-ahead window: `first`
    bytes at the first read and after a seek, doubled by each sequential fetch up to `most`."""

    def __init__(self, url: str, length: int, first: int = FIRST_READ, most: int = MAX_READ, head: bytes = b"") -> None:
        super().__init__()
        self.name = url
        self.size = length
        self._pos = 0
        self._buf = head  # the object's first bytes when they were fetched ahead
        self._at = 0  # offset of _buf in the object
        self._first, self._most = first, most
        self._window = first

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(22, "negative seek position", self.name)
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            if not self._at <= self._pos < self._at + len(self._buf):
                self._fetch(len(view) - done, False)
            part = memoryview(self._buf)[self._pos - self._at:self._pos - self._at + len(view) - done]
            view[done:done + len(part)] = part
            done += len(part)
            self._pos += len(part)
        return done

    def chunk(self, want: int = 1, exact: bool = False) -> memoryview:
        """The bytes from the position to the end of the read-ahead buffer, the position moved past them;
        when the buffer has none, a fetch of at least `want` bytes (exactly `want` with `exact`, the
        window left as it is). Empty at the end of the object."""
        if self._pos >= self.size:
            return memoryview(b"")
        if not self._at <= self._pos < self._at + len(self._buf):
            self._fetch(want, exact)
        data = memoryview(self._buf)[self._pos - self._at:]
        self._pos += len(data)
        return data

    def _fetch(self, want: int, exact: bool) -> None:
        if not exact:
            sequential = bool(self._buf) and self._pos == self._at + len(self._buf)
            self._window = min(self._window * 2, self._most) if sequential else self._first
        end = min(self.size, self._pos + (want if exact else max(want, self._window)))
        data = fetch(self.name, self._pos, end)
        if not data:
            raise OSError(5, f"the object ended at byte {self._pos} of {self.size} (changed while read?)", self.name)
        self._buf, self._at = data, self._pos


def open_remote(url: str, skim: bool | None = None) -> io.BufferedIOBase:
    """`url` opened for binary reading (seekable; OSError when it is not an object or cannot be read).

    A TensorBoard event file (by its name, or `skim`) is read through `curvelint.skim.EventSkim`, which
    seeks over the payloads of bulky non-scalar records rather than downloading them."""
    if skim if skim is not None else "tfevents" in posixpath.basename(url):
        from curvelint.skim import FIRST, WINDOW, EventSkim

        return io.BufferedReader(EventSkim(RemoteFile(url, size(url), FIRST, WINDOW, _take(url))), 1 << 16)
    return io.BufferedReader(RemoteFile(url, size(url), head=_take(url)), 1 << 16)
