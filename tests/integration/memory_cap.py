"""A memory cap on a child process: a cgroup of its own (v2 ``memory.max`` or v1
``memory.limit_in_bytes``), which counts resident memory as the kernel's OOM killer does.

``prlimit``'s address-space and data limits were tried first: TensorFlow and ONNX Runtime
reserve far more virtual memory than they touch (thread stacks, arenas), so a limit low
enough to matter stops them at start-up. A cgroup caps what is really used. No cgroup
that can be written is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


class MemoryCap:
    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        name = f"logsentry-test-{uuid.uuid4().hex[:8]}"
        if (CGROUP / "cgroup.controllers").exists():  # v2, unified
            self.v2 = True
            self.path = CGROUP / name
            self.path.mkdir()
            (self.path / "memory.max").write_text(str(limit_bytes))
            if (self.path / "memory.swap.max").exists():
                (self.path / "memory.swap.max").write_text("0")
        elif (CGROUP / "memory").is_dir():  # v1
            self.v2 = False
            self.path = CGROUP / "memory" / name
            self.path.mkdir()
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            swap = self.path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit_bytes))
        else:
            raise RuntimeError("no memory cgroup here (neither /sys/fs/cgroup v2 nor v1 memory): cannot cap memory")

    def enter(self) -> None:
        """For ``subprocess.Popen(preexec_fn=...)``: the child joins the cgroup before it runs anything."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def peak(self) -> int:
        """The most memory the cgroup held (bytes)."""
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        return int((self.path / name).read_text())

    def ooms(self) -> int:
        """How many times the kernel killed a process of the cgroup for memory."""
        name = "memory.events" if self.v2 else "memory.oom_control"
        counts = dict(line.split() for line in (self.path / name).read_text().splitlines())
        return int(counts.get("oom_kill", 0))

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a process still inside: the kernel keeps the group
            self.path.rmdir()
