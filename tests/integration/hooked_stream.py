"""``logsentry stream`` with a test hook that holds one batch in flight on request.

Run as ``python -m tests.integration.hooked_stream stream ...`` with
``LOGSENTRY_TEST_HOOK_DIR`` set. When the test creates ``arm`` in that directory, the
next batch whose records were *sent* stops before its acknowledgements are awaited and
its offsets committed: the hook writes the batch's source coordinates to ``held.json``
and waits until ``release`` exists. A fault applied between the two (SIGKILL, a broker
stop, a member joining) provably lands while a batch is published and not committed.
The product code is untouched; only this process's copy of the loop is wrapped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from logsentry.cli import main
from logsentry.stream import runner

HOOK = Path(os.environ["LOGSENTRY_TEST_HOOK_DIR"])
_finish = runner.StreamRunner._finish


def _held_finish(self: runner.StreamRunner, batch: Any, following: Any) -> bool:
    arm = HOOK / "arm"
    if batch.messages and arm.exists():
        arm.unlink()
        held = [[m.topic, m.partition, m.offset] for m in batch.messages]
        (HOOK / "held.tmp").write_text(json.dumps(held))
        (HOOK / "held.tmp").rename(HOOK / "held.json")  # atomic: the test never reads half of it
        while not (HOOK / "release").exists():
            time.sleep(0.02)
    return _finish(self, batch, following)


runner.StreamRunner._finish = _held_finish  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main())
