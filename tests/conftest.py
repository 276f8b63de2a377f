"""Shared fixtures: the mini-release is written once per session into a tmp dir; caches stay inside tmp dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the journeydb sample cache out of the user's home during tests."""
    os.environ["JOURNEYDB_CACHE"] = str(tmp_path_factory.mktemp("journeydb-cache"))


@pytest.fixture(scope="session")
def mini_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh mini-release (default seed), shared read-only by the tests."""
    from journeydb import write_sample_release

    root = tmp_path_factory.mktemp("mini") / "release"
    write_sample_release(root)
    return root


@pytest.fixture(scope="session")
def mini_manifest(mini_release: Path) -> dict:
    return json.loads((mini_release / "manifest.json").read_text())


@pytest.fixture
def cache_dir(tmp_path: Path) -> str:
    return str(tmp_path / "hf-cache")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI/example subprocess: caches inside `tmp_path`, everything offline."""
    env = dict(os.environ)
    env.update(
        JOURNEYDB_CACHE=str(tmp_path / "jdb-cache"),
        HF_HOME=str(tmp_path / "hf-home"),
        HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        **extra,
    )
    return env


def _run_group(argv: list[str], env: dict, timeout: float) -> "subprocess.CompletedProcess":
    """Run a launcher and its workers as one process group, so a hang cannot leave workers behind."""
    import signal
    import subprocess

    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"{argv[2:]} did not finish in {timeout} s: {stderr[-2000:]}")
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def run_two_processes(script_and_args: list[str], env: dict, timeout: int = 300) -> "subprocess.CompletedProcess":
    """`torch.distributed.run` with two local processes (gloo on CPU stands in for two GPUs).

    A port found free can be taken by another process before torchrun binds it, so a failed launch is retried once
    on a fresh port; callers compare the outputs, so a retry cannot hide a wrong number.
    """
    import sys

    for _ in range(2):
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                   "127.0.0.1", "--master_port", str(_free_port()), *script_and_args]
        done = _run_group(command, env, timeout)
        if done.returncode == 0:
            return done
    return done


@pytest.fixture
def two_processes():
    return run_two_processes
