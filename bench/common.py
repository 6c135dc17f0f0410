"""What every benchmark script needs around its measurement: the tools, ports, servers,
percentiles and a description of the machine.

The benchmarks run studygraph and a reference (Oxigraph, another server) side by side and
compare them; they must start, wait for and stop their servers, pick ports and summarise
latencies the same way, or the two sides would not be measured alike. So those pieces
live here once, and each script keeps only what it measures.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
HOST = "127.0.0.1"


def find_tool(name: str) -> str:
    """The console script ``name``: next to this Python, in the repo's venv, or on PATH.

    A bench script may be started by a Python that is not the venv's (the shebang finds
    whatever ``python3`` comes first), so the venv is looked at explicitly.
    """
    for folder in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"cannot find the `{name}` command (install the project into a venv: pip install -e '.[test]')")
    return found


def load_script(name: str) -> ModuleType:
    """A bench script without a .py suffix (``ingest``, ``serve``), imported as a module
    (its main does not run), so another script uses its pieces instead of copying them."""
    loader = importlib.machinery.SourceFileLoader(name, str(BENCH / name))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether *port* can be listened on now (a store served at the port its IRIs name)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def start_server(argv: Sequence[str], port: int, log: Path, *, timeout: float = 180.0,
                 env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start a server and return once its port accepts connections.

    Connection attempts, not a fixed sleep: opening a large store takes a while, and a
    server that dies on start-up is reported at once with the end of its log (the script
    exits: there is nothing to measure).
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{Path(argv[0]).name} exited {proc.returncode} on start-up:\n{tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    stop_server(proc)
    sys.exit(f"{shlex.join(argv)} did not accept connections within {timeout:.0f}s:\n{tail(log)}")


def stop_server(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop one server the script started (by its own process handle): TERM, then KILL
    if it has not ended within *timeout* seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, lines: int = 10) -> str:
    """The last lines of a log, indented, for an error message."""
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine_info() -> dict:
    """The machine a result was measured on: results are ratios, but only comparable on
    like machines and loads."""
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "memory_gib": memory,
            "python": platform.python_version(), "load_average": list(os.getloadavg())}


def tool_version(argv: Sequence[str]) -> str:
    """The first line a tool prints for its version command (``oxigraph --version``)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True)
    except OSError as error:
        return f"unavailable ({error})"
    text = (done.stdout or "") + (done.stderr or "")
    return text.strip().splitlines()[0] if text.strip() else ""


def studygraph_version() -> str:
    """The installed package version and the checkout's commit (studygraph has no --version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("studygraph")
    except PackageNotFoundError:
        installed = "not installed"
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return f"{installed} ({commit.stdout.strip() or 'no git'})"
