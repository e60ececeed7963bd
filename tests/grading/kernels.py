"""Helpers for tests that talk to real kernels or look for processes on this machine."""
from __future__ import annotations

import os


def run(client, code: str) -> str:
    """Execute `code` as an ordinary cell; return its stdout, or the error name and message."""
    output = []

    def keep(message):
        content = message["content"]
        if message["msg_type"] == "stream":
            output.append(content["text"])
        elif message["msg_type"] == "error":
            output.append(f"{content['ename']}: {content['evalue']}")

    client.execute_interactive(code, timeout=30, output_hook=keep)
    return "".join(output).strip()


def processes_with(marker: str) -> list[str]:
    """The pids (as seen by this test) whose command line contains `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(pid)
        except OSError:
            continue
    return found
