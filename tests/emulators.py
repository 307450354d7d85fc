"""Real storage emulators for the tests, each a subprocess on 127.0.0.1 (like tests/s3server.py for S3).

* `Azurite`: Microsoft's Azure Storage emulator (npm package ``azurite``; its ``azurite-blob`` on PATH),
  read through adlfs with ``AZURE_STORAGE_CONNECTION_STRING`` (its well-known development account).
* `GcsEmulator`: ``gcp-storage-emulator`` (PyPI), read through gcsfs with ``STORAGE_EMULATOR_HOST`` and
  anonymous credentials (``FSSPEC_GS_TOKEN=anon``: no credential chain, no metadata server asked), and
  ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``: gcsfs's default filesystem asks each bucket's layout over
  gRPC with TLS, which an emulator's plain HTTP port never answers (the client retries forever).

* `HubMirror`: there is no Hugging Face Hub emulator, but Olah (PyPI ``olah``, a self-hosted Hub
  mirror; its ``olah-cli`` on PATH) serves local git repositories under its ``mirrors-path`` with the
  Hub's API (repo info, tree, paths-info, resolve with ranges), which ``HfFileSystem`` reads through
  ``HF_ENDPOINT``. It runs offline, its upstream set to a closed local port: it never asks the real Hub.
  A revision is named by its commit (``hf://org/repo@<sha>/...``): offline, Olah cannot resolve
  ``main`` (it asks the upstream for a branch's head).

`available()` says why one cannot run here (the tests skip); .ci/run installs all three.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from s3server import free_port

# Azurite's documented development account (public, emulator-only)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class _Server:
    """A server process started by `command()`, ready once `ready()` answers (a context manager)."""

    name = ""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._dir = tempfile.mkdtemp(prefix="curvelint-emulator-")

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def __enter__(self):
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=self._dir)
        deadline = time.monotonic() + 60
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def _answers(self, path: str) -> bool:
        try:
            urllib.request.urlopen(f"{self.endpoint}{path}", timeout=2).close()
        except urllib.error.HTTPError:
            return True  # it answered (an error status is still an answer)
        except OSError:
            return False
        return True


class Azurite(_Server):
    name = "Azurite"

    @staticmethod
    def available() -> str | None:
        if shutil.which("azurite-blob") is None:
            return "Azurite is not installed (npm install azurite; .ci/run does)"
        if importlib.util.find_spec("adlfs") is None:
            return "adlfs is not installed (pip install '.[azure]')"
        return None

    def command(self) -> list[str]:
        return ["azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", self._dir,
                "--silent", "--skipApiVersionCheck", "--loose"]

    def ready(self) -> bool:
        return self._answers(f"/{AZURITE_ACCOUNT}?comp=list")

    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};")

    def env(self) -> dict[str, str]:
        return {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": self.connection_string()}

    def filesystem(self):
        import adlfs

        return adlfs.AzureBlobFileSystem(connection_string=self.connection_string())


class GcsEmulator(_Server):
    name = "gcp-storage-emulator"

    @staticmethod
    def available() -> str | None:
        for module, package in (("gcp_storage_emulator", "gcp-storage-emulator"), ("gcsfs", "gcsfs")):
            if importlib.util.find_spec(module) is None:
                return f"{package} is not installed (pip install {package}; .ci/run does)"
        return None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port",
                str(self.port), "--in-memory", "--quiet"]

    def ready(self) -> bool:
        return self._answers("/storage/v1/b")

    def env(self) -> dict[str, str]:
        return {**os.environ, "STORAGE_EMULATOR_HOST": self.endpoint, "FSSPEC_GS_TOKEN": "anon",
                "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}

    def filesystem(self):
        from gcsfs.core import GCSFileSystem  # (not the gRPC-probing default: module doc)

        return GCSFileSystem(token="anon", endpoint_url=self.endpoint)


def upload(fs, folder: Path, bucket: str, prefix: str) -> int:
    """Every file under `folder` to ``bucket/prefix/...`` of the fsspec filesystem `fs` (the bucket is
    created); how many."""
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{bucket}/{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes())
            count += 1
    return count


class HubMirror(_Server):
    name = "Olah"

    @staticmethod
    def available() -> str | None:
        if shutil.which("olah-cli") is None:
            return "Olah is not installed (pip install olah, in a virtualenv of its own; .ci/run does)"
        if shutil.which("git") is None:
            return "git is not installed (Olah serves git repositories)"
        if importlib.util.find_spec("huggingface_hub") is None:
            return "huggingface_hub is not installed (pip install '.[hub]')"
        return None

    def __init__(self) -> None:
        super().__init__()
        self.mirrors = Path(self._dir) / "mirrors"
        config = Path(self._dir) / "olah.toml"
        config.write_text(f"""[basic]
host = "127.0.0.1"
port = {self.port}
hf-scheme = "http"
hf-netloc = "127.0.0.1:9"
hf-lfs-netloc = "127.0.0.1:9"
mirror-scheme = "http"
mirror-netloc = "127.0.0.1:{self.port}"
mirror-lfs-netloc = "127.0.0.1:{self.port}"
repos-path = "{Path(self._dir) / 'cache'}"
mirrors-path = ["{self.mirrors}"]

[accessibility]
offline = true
""")
        self._config = config

    def command(self) -> list[str]:
        return ["olah-cli", "-c", str(self._config)]

    def ready(self) -> bool:
        return self._answers("/api/whoami-v2")

    def env(self) -> dict[str, str]:
        # (HF_HUB_OFFLINE=0: tests/test_integrations_hf.py sets it to 1 in this process for the suite)
        return {**os.environ, "HF_ENDPOINT": self.endpoint, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(Path(self._dir) / "hf-home")}

    def publish(self, folder: Path, repo: str) -> str:
        """`folder`'s files as the model repository `repo` ("org/name", one commit); the commit's hash."""
        target = self.mirrors / "models" / repo
        shutil.copytree(folder, target)
        git = ["git", "-C", str(target), "-c", "user.name=curvelint tests", "-c", "user.email=tests@localhost"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "runs"]):
            subprocess.run([*git, *args], check=True, capture_output=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
