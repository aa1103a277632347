"""How ``bench/data/`` was made from public repositories: every source pinned to a commit.

    python bench/build_data.py --mirror DIR [--out bench/data] [--only payloads ...]

``DIR`` holds git snapshots of the repositories below as ``<owner>+<name>/repo`` (bare git
directories, as the project's research tooling fetches them); every file is read with
``git show <commit>:<path>``, so a rebuild from the same commits gives the same bytes. The
result is committed (compressed, about 10 MiB in all) and listed in ``docs/data-sources.md``
with each source's licence and use; this script is the record of how it was cut:

* ``sites/<site>.log.gz``: real web servers' access logs (combined or common format),
  client addresses replaced by sequential pseudonyms (``10.0.x.y``), everything else as logged;
* ``captures.jsonl.gz``: the open-appsec WAF comparison project's legitimate requests,
  recorded while browsing real sites: method, host, target and body only (no header, so no
  cookie or authorization), exact repeats dropped, at most ``CAPTURE_CAP`` per site;
* ``payloads.jsonl.gz``: attack payload lists, one payload per row with its family, source
  collection and file;
* ``crs.jsonl.gz``: the OWASP Core Rule Set's regression requests (method, target, body),
  each with its rule, the rule's paranoia level and family, and whether the rule must fire.

No code of these repositories is copied: only their data.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

CAPTURE_CAP = 400  # requests kept per open-appsec site
BODY_CAP = 8192  # characters of a captured body; longer bodies are left out with their request
TRAVERSAL_LIST_CAP = 1500  # dotdotpwn and its kin list thousands of near-identical lines


@dataclass(frozen=True)
class Repo:
    name: str  # owner/name
    commit: str
    licence: str

    def show(self, mirror: Path, path: str) -> bytes:
        git = mirror / self.name.replace("/", "+") / "repo"
        return subprocess.run(
            ["git", "-C", str(git), "show", f"{self.commit}:{path}"], check=True, capture_output=True
        ).stdout

    def tree(self, mirror: Path, under: str) -> list[str]:
        git = mirror / self.name.replace("/", "+") / "repo"
        out = subprocess.run(
            ["git", "-C", str(git), "ls-tree", "-r", "--name-only", self.commit, under],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [line for line in out.splitlines() if line]


ELASTIC = Repo("elastic/examples", "6d86454ebb7a850bcd7e80abe86fe683370018a6", "Apache-2.0")
HURENCE = Repo("Hurence/logisland", "9866d5ebedbb9820c1fcab7058787b02b343cd48", "Apache-2.0")
ERDDAP = Repo("callumrollo/erddaplogs", "deab3d35bf56a4810f6d26446d70c158b77e5939", "MIT")
OPERA = Repo("cosimo/perl5-opengl-earth", "48520c2a02d6074d7907d4ed4f884886ed50cb3c", "Artistic-1.0-Perl OR GPL-1.0+")
NASA = Repo(
    "Hurence/logisland-quickstarts", "be51ca1c38dd73ce9657b5e534f2771a09e39465", "ITA trace, freely redistributable"
)
LNAV = Repo("tstack/lnav", "bb0005f96c8dc486ee0b9005a4562be0ef61c878", "BSD-2-Clause")
SECREPO = Repo(
    "theodorosploumis/logging-presentation", "60e2ec36326a8200f65d71c4ed1753c8baa0905d", "CC-BY-4.0 (SecRepo data)"
)
OPENAPPSEC = Repo(
    "tuannm99/waf-comparison-project-resource",
    "c88e9c7e999a0aa6d45fa1b32508223b2beb0906",
    "Apache-2.0 (open-appsec WAF Comparison Project, legitimate requests dataset)",
)
PATT = Repo("swisskyrepo/PayloadsAllTheThings", "f9fa51417886ac11476cb62db2dff21773dc570b", "MIT")
FUZZDB = Repo("fuzzdb-project/fuzzdb", "5656ab25dc6bb43bae32236fab775658a90d7380", "BSD-3-Clause AND CC-BY-3.0")
PB_SQLI = Repo("payloadbox/sql-injection-payload-list", "6e55457963a04377b904a93a6a65bb49dfe7bccb", "MIT")
PB_XSS = Repo("payloadbox/xss-payload-list", "d473925ebc9aaec0ac8bdb9aa9d26be8d163af04", "MIT")
PB_CMDI = Repo("payloadbox/command-injection-payload-list", "c378188e1154370aa2bd31a109d76748c90f2ae5", "MIT")
PB_LFI = Repo("payloadbox/rfi-lfi-payload-list", "e0c530899c7e1d9ff63f7483cc2b6e077f6bffd1", "MIT")
NOSQL = Repo("cr0hn/nosqlinjection_wordlists", "4f0d06f1f76475a36c677b78c381526a1f601e53", "MIT")
CRS = Repo("coreruleset/coreruleset", "2cbd1d019cb7c85319ba4d9102a382c9de7a8e53", "Apache-2.0")

# site name -> (repository, files in order)
SITES: dict[str, tuple[Repo, tuple[str, ...]]] = {
    "semicomplete": (ELASTIC, ("Common Data Formats/apache_logs/apache_logs",)),
    "hurence": (
        HURENCE,
        tuple(
            f"logisland-components/logisland-processors/logisland-processor-querymatcher/src/test/resources/documents/"
            f"accesslogs/access.log.{n}"
            for n in (5, 48, 49, 51)
        ),
    ),
    "erddap": (ERDDAP, tuple(f"example_data/nginx_example_logs/tomcat-access.log.{n}" for n in range(9, 0, -1))),
    "myopera": (OPERA, ("examples/access.log",)),
    "nasa": (NASA, ("data/access.log",)),
    "zanbil": (LNAV, ("test/logfile_shop_access_log.0",)),
    "secrepo": (SECREPO, ("examples/access.log",)),
}

# payload lists: (repository, path, family); ``source`` is the collection
PATT_LISTS = [
    *(
        (f"SQL Injection/Intruder/{n}", "sqli")
        for n in (
            "Auth_Bypass.txt",
            "Auth_Bypass2.txt",
            "Generic_ErrorBased.txt",
            "Generic_TimeBased.txt",
            "Generic_UnionSelect.txt",
            "Generic_Fuzz.txt",
            "SQL-Injection",
            "SQLi_Polyglots.txt",
        )
    ),
    *(
        (f"XSS Injection/Intruders/{n}", "xss")
        for n in (
            "IntrudersXSS.txt",
            "xss_alert.txt",
            "MarioXSSVectors.txt",
            "XSSDetection.txt",
            "JHADDIX_XSS.txt",
            "BRUTELOGIC-XSS-STRINGS.txt",
            "BRUTELOGIC-XSS-JS.txt",
            "RSNAKE_XSS.txt",
            "xss_payloads_quick.txt",
            "XSS_Polyglots.txt",
            "xss_swf_fuzz.txt",
        )
    ),
    *((f"Command Injection/Intruder/{n}", "cmdi") for n in ("command_exec.txt", "command-execution-unix.txt")),
    *(
        (f"Directory Traversal/Intruder/{n}", "traversal")
        for n in (
            "dotdotpwn.txt",
            "deep_traversal.txt",
            "traversals-8-deep-exotic-encoding.txt",
            "directory_traversal.txt",
        )
    ),
    *(
        (f"File Inclusion/Intruders/{n}", "traversal")
        for n in (
            "Traversal.txt",
            "JHADDIX_LFI.txt",
            "dot-slash-PathTraversal_and_LFI_pairing.txt",
            "php-filter-iconv.txt",
            "LFI-FD-check.txt",
            "simple-check.txt",
        )
    ),
    ("Server Side Template Injection/Intruder/ssti.fuzz", "ssti"),
    *((f"XXE Injection/Intruders/{n}", "xxe") for n in ("XXE_Fuzzing.txt", "xml-attacks.txt")),
    *((f"LDAP Injection/Intruder/{n}", "ldap") for n in ("LDAP_FUZZ.txt", "LDAP_FUZZ_SMALL.txt")),
    *((f"NoSQL Injection/Intruder/{n}", "nosql") for n in ("NoSQL.txt", "MongoDB.txt")),
    ("CRLF Injection/Files/crlfinjection.txt", "crlf"),
]
FUZZDB_LISTS = [
    *(
        (f"attack/sql-injection/{n}", "sqli")
        for n in (
            "detect/xplatform.txt",
            "detect/oracle.txt",
            "detect/GenericBlind.txt",
            "detect/MSSQL.txt",
            "detect/MSSQL_blind.txt",
            "detect/MySQL.txt",
            "detect/MySQL_MSSQL.txt",
        )
    ),
    *((f"attack/xss/{n}", "xss") for n in ("xss-other.txt", "xss-rsnake.txt", "XSSPolyglot.txt", "xss-uri.txt")),
    *((f"attack/os-cmd-execution/{n}", "cmdi") for n in ("command-execution-unix.txt", "OSCommandInject.Windows.txt")),
    ("attack/lfi/JHADDIX_LFI.txt", "traversal"),
    *(
        (f"attack/path-traversal/{n}", "traversal")
        for n in ("traversals-8-deep-exotic-encoding.txt", "path-traversal-windows.txt")
    ),
    ("attack/rfi/rfi.txt", "rfi"),
    ("attack/ldap/ldap-injection.txt", "ldap"),
    ("attack/xpath/xpath-injection.txt", "xpath"),
    ("attack/no-sql-injection/mongodb.txt", "nosql"),
    ("attack/xml/xml-attacks.txt", "xxe"),
    ("attack/http-protocol/crlf-injection.txt", "crlf"),
    *(
        (f"attack/sql-injection/{n}", "sqli")
        for n in (
            "exploit/db2-enumeration.txt",
            "exploit/ms-sql-enumeration.txt",
            "exploit/mysql-injection-login-bypass.txt",
            "exploit/mysql-read-local-files.txt",
            "exploit/postgres-enumeration.txt",
            "payloads-sql-blind/payloads-sql-blind-MSSQL-INSERT.txt",
            "payloads-sql-blind/payloads-sql-blind-MSSQL-WHERE.txt",
            "payloads-sql-blind/payloads-sql-blind-MySQL-INSERT.txt",
            "payloads-sql-blind/payloads-sql-blind-MySQL-ORDER_BY.txt",
            "payloads-sql-blind/payloads-sql-blind-MySQL-WHERE.txt",
        )
    ),
]
# fuzzdb's command-injection template (a ``{cmd}`` between shell delimiters) filled with its
# lists of useful commands, as fuzzdb means them to be used; the command decides the role
FUZZDB_COMMAND_TEMPLATE = "attack/os-cmd-execution/command-injection-template.txt"
FUZZDB_COMMANDS = tuple(f"attack/os-cmd-execution/useful-commands-{n}.txt" for n in ("unix", "windows"))

# the CRS rule files' families (only request-side attack rules; their tests' requests)
CRS_FAMILIES = {
    "930": "traversal",
    "931": "rfi",
    "932": "cmdi",
    "933": "php",
    "934": "generic",
    "941": "xss",
    "942": "sqli",
    "944": "java",
}
CRS_DEFAULT_HEADERS = {
    *("host", "user-agent", "accept", "content-type", "content-length", "connection", "accept-encoding"),
    *("accept-language", "accept-charset", "keep-alive", "proxy-connection"),
}
CRS_AGENT = "OWASP CRS test agent"


def _lines(raw: bytes) -> list[str]:
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")


_CLIENT = re.compile(r"^(\S+)( .*)$")


def build_sites(mirror: Path, out: Path) -> dict[str, Any]:
    """Each real site's access log, client addresses replaced by sequential pseudonyms."""
    report = {}
    (out / "sites").mkdir(parents=True, exist_ok=True)
    for site, (repo, paths) in SITES.items():
        lines: list[str] = []
        for path in paths:
            for line in _lines(repo.show(mirror, path)):
                if line.startswith(' "') and lines:  # erddap: an agent written on a line of its own
                    lines[-1] += line
                elif line.strip():
                    lines.append(line)
        pseudonyms: dict[str, str] = {}
        kept = []
        for line in lines:
            match = _CLIENT.match(line)
            if match is None:
                continue
            n = pseudonyms.setdefault(match[1], str(len(pseudonyms)))
            k = int(n)
            kept.append(f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}{match[2]}")
        with gzip.GzipFile(out / "sites" / f"{site}.log.gz", "wb", compresslevel=9, mtime=0) as handle:
            handle.write(("\n".join(kept) + "\n").encode())
        report[site] = {
            "repository": repo.name,
            "commit": repo.commit,
            "licence": repo.licence,
            "files": list(paths),
            "lines": len(kept),
            "clients": len(pseudonyms),
        }
        print(f"site {site}: {len(kept)} lines, {len(pseudonyms)} clients", file=sys.stderr)
    return report


_CAPTURE = re.compile(r"^Legitimate/(?:splits/([^/]+)/.*|browsing_(?:2024_)?(.+?)(?:_[a-z]{2})?\.json)$")


def build_captures(mirror: Path, out: Path) -> dict[str, Any]:
    """The open-appsec legitimate requests: method, host, target and body, per browsed site."""
    by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, ...]] = set()
    files = [p for p in OPENAPPSEC.tree(mirror, "Legitimate") if p.endswith(".json")]
    for path in sorted(files):
        match = _CAPTURE.match(path)
        if match is None:
            continue
        site = (match[1] or match[2]).removeprefix("browsing_").removeprefix("2024_")
        try:
            requests = json.loads(OPENAPPSEC.show(mirror, path))
        except (subprocess.CalledProcessError, ValueError):
            continue  # a file the snapshot lacks (4 MiB and over)
        for request in requests:
            headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
            body = request.get("data") or ""
            if not isinstance(body, str) or len(body) > BODY_CAP:
                continue
            row = {
                "site": site,
                "method": str(request.get("method", "GET")),
                "host": str(headers.get("host", "")),
                "target": str(request.get("url", "")),
                "content_type": str(headers.get("content-type", "")),
                "body": body,
            }
            key = (row["method"], row["host"], row["target"], body)
            if not row["target"].startswith("/") or key in seen:
                continue
            seen.add(key)
            by_site[site].append(row)
    rows = []
    for site in sorted(by_site):
        chosen = by_site[site]
        if len(chosen) > CAPTURE_CAP:  # an even spread over the session, not its first minutes
            step = len(chosen) / CAPTURE_CAP
            chosen = [chosen[int(i * step)] for i in range(CAPTURE_CAP)]
        rows += chosen
    _write_jsonl(out / "captures.jsonl.gz", rows)
    print(f"captures: {len(rows)} requests of {len(by_site)} sites", file=sys.stderr)
    return {
        "repository": OPENAPPSEC.name,
        "commit": OPENAPPSEC.commit,
        "licence": OPENAPPSEC.licence,
        "sites": len(by_site),
        "requests": len(rows),
    }


def _payload_lines(raw: bytes) -> list[str]:
    out = []
    for line in _lines(raw):
        line = line.strip("\r")
        if line.strip() and not line.startswith("#"):
            out.append(line)
    return out


def _code_blocks(markdown: str) -> list[str]:
    blocks = re.findall(r"```[^\n]*\n(.*?)```", markdown, re.DOTALL)
    return [html.unescape(line) for block in blocks for line in block.split("\n") if line.strip()]


_BARE = re.compile(r"[A-Za-z0-9._+-]*")
_HEADER = re.compile(r"[A-Za-z][A-Za-z -]*:")  # a list's section header: ``Time-Based:``
_LABEL = re.compile(r"\[[A-Z]\]")  # a list's item label: ``[B]``
_PROSE = re.compile(r"[A-Za-z(][A-Za-z ,()'./-]*")  # a cheat sheet's description after a tab
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\([0-9A-Fa-f]{2})|\\([rnt])")


def _decoded_text(text: str) -> str:
    """The characters ``text`` stands for: URL escapes, HTML entities and backslash escapes undone."""

    def one(m: re.Match[str]) -> str:
        if m.group(3):
            return {"r": "\r", "n": "\n", "t": "\t"}[m.group(3)]
        return chr(int(m.group(1) or m.group(2), 16))

    return _ESCAPE.sub(one, html.unescape(unquote(text)))


def without_description(line: str) -> str:
    """A cheat sheet's ``payload<TAB>what it does`` line as its payload alone."""
    head, tab, rest = line.partition("\t")
    rest = rest.strip()
    return head.rstrip() if tab and (not rest or _PROSE.fullmatch(rest)) else line


def is_payload(text: str) -> bool:
    """False for a list's lines that no detector could call an attack by their content, and for
    the prose, truncations and tooling lines some lists carry: a bare word or number (``ls``,
    ``sqlvuln``, ``3.10E+17``), two characters or fewer — also once its escapes are undone
    (``%7C``, ``\\21``, ``&lt;``: one metacharacter) —, a section header (``Comments:``) or an
    item label (``[B]``), a sentence, a ``git clone`` line."""
    text = text.strip()
    if len(text) <= 2 or _BARE.fullmatch(text) or "git clone" in text or "ismailtasdelen" in text:
        return False
    if len(_decoded_text(text).strip()) <= 2 or _HEADER.fullmatch(text) or _LABEL.fullmatch(text):
        return False
    if text.endswith(("...", "…")):
        return False
    words = text.split()
    return not (len(words) >= 4 and all(w.rstrip(".,:;!?").isalpha() for w in words))


def build_payloads(mirror: Path, out: Path) -> dict[str, Any]:
    rows: list[dict[str, str]] = []

    def add(
        source: str, file: str, family: str, payloads: list[str], cap: int | None = None, group: str | None = None
    ) -> None:
        cleaned = (without_description(p).replace("XXpathXX", "http://203.0.113.7/x.txt?") for p in payloads)
        unique = [p for p in dict.fromkeys(cleaned) if is_payload(p)]
        if cap and len(unique) > cap:  # an even spread, deterministic
            unique = [unique[int(i * len(unique) / cap)] for i in range(cap)]
        extra = {"group": group} if group else {}
        rows.extend({"source": source, "file": file, "family": family, "payload": p} | extra for p in unique)

    for path, family in PATT_LISTS:
        add("PayloadsAllTheThings", path, family, _payload_lines(PATT.show(mirror, path)), TRAVERSAL_LIST_CAP)
    for path, family in FUZZDB_LISTS:
        add("fuzzdb", path, family, _payload_lines(FUZZDB.show(mirror, path)), TRAVERSAL_LIST_CAP)
    templates = _payload_lines(FUZZDB.show(mirror, FUZZDB_COMMAND_TEMPLATE))
    for path in FUZZDB_COMMANDS:
        for command in _payload_lines(FUZZDB.show(mirror, path)):
            filled = [t.replace("{cmd}", command.strip()) for t in templates]
            add("fuzzdb", FUZZDB_COMMAND_TEMPLATE, "cmdi", filled, group=command.strip())
    for path in PB_SQLI.tree(mirror, "Intruder"):
        add("payloadbox", path, "sqli", _payload_lines(PB_SQLI.show(mirror, path)))
    add(
        "payloadbox",
        "Intruder/xss-payload-list.txt",
        "xss",
        _payload_lines(PB_XSS.show(mirror, "Intruder/xss-payload-list.txt")),
    )
    commands = [c for c in _code_blocks(PB_CMDI.show(mirror, "README.md").decode()) if not c.startswith("git ")]
    add("payloadbox", "command-injection README.md", "cmdi", commands)
    inclusions = [c for c in _code_blocks(PB_LFI.show(mirror, "README.md").decode()) if "<?" not in c]
    add("payloadbox", "rfi-lfi README.md", "traversal", [c for c in inclusions if not c.startswith("http")])
    add("payloadbox", "rfi-lfi README.md", "rfi", [c for c in inclusions if c.startswith("http")])
    mongodb = _payload_lines(NOSQL.show(mirror, "mongodb_nosqli.txt"))
    add("nosqlinjection_wordlists", "mongodb_nosqli.txt", "nosql", mongodb)
    _write_jsonl(out / "payloads.jsonl.gz", rows)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        counts[row["source"]][row["family"]] += 1
    print(f"payloads: {len(rows)} ({json.dumps(counts)})", file=sys.stderr)
    return {
        repo.name: {"commit": repo.commit, "licence": repo.licence}
        for repo in (PATT, FUZZDB, PB_SQLI, PB_XSS, PB_CMDI, PB_LFI, NOSQL)
    } | {"counts": counts}


def _paranoia_levels(mirror: Path) -> dict[int, int]:
    """Each CRS rule id's paranoia level, from its ``paranoia-level/N`` tag."""
    levels: dict[int, int] = {}
    for path in CRS.tree(mirror, "rules"):
        if not path.endswith(".conf"):
            continue
        text = CRS.show(mirror, path).decode("utf-8", "replace")
        for rule in re.split(r"\n(?=SecRule|SecAction)", text):
            rid = re.search(r"\bid:(\d+)", rule)
            level = re.search(r"paranoia-level/(\d)", rule)
            if rid and level:
                levels[int(rid[1])] = int(level[1])
    return levels


def build_crs(mirror: Path, out: Path) -> dict[str, Any]:
    levels = _paranoia_levels(mirror)
    rows = []
    skipped: dict[str, int] = defaultdict(int)
    for path in CRS.tree(mirror, "tests/regression/tests"):
        match = re.search(r"/REQUEST-(\d{3})-[^/]+/(\d+)\.yaml$", path)
        if match is None or match[1] not in CRS_FAMILIES:
            continue
        document = yaml.safe_load(CRS.show(mirror, path)) or {}
        rule = int(document.get("rule_id", match[2]))
        for test in document.get("tests") or []:
            stage = (test.get("stages") or [{}])[-1]
            given, log = stage.get("input") or {}, (stage.get("output") or {}).get("log") or {}
            if "encoded_request" in given or given.get("uri") is None:
                skipped["raw request"] += 1
                continue
            headers = {str(k).lower(): str(v) for k, v in (given.get("headers") or {}).items()}
            extra = {k for k in headers if k not in CRS_DEFAULT_HEADERS}
            if extra or headers.get("user-agent", CRS_AGENT) != CRS_AGENT:
                skipped["payload in headers"] += 1  # the model reads no header (the reference cleanup drops them)
                continue
            if rule in log.get("expect_ids", []):
                expect = True
            elif rule in log.get("no_expect_ids", []):
                expect = False
            else:
                skipped["other rule"] += 1
                continue
            data = given.get("data")
            rows.append(
                {
                    "rule": rule,
                    "paranoia_level": levels.get(rule),
                    "family": CRS_FAMILIES[match[1]],
                    "test": f"{rule}-{test.get('test_id')}",
                    "description": str(test.get("desc", "")),
                    "method": str(given.get("method", "GET")),
                    "target": str(given["uri"]),
                    "content_type": headers.get("content-type", ""),
                    "body": "\n".join(data) if isinstance(data, list) else str(data) if data is not None else "",
                    "expect": expect,
                }
            )
    _write_jsonl(out / "crs.jsonl.gz", rows)
    print(f"crs: {len(rows)} tests kept; skipped {dict(skipped)}", file=sys.stderr)
    return {
        "repository": CRS.name,
        "commit": CRS.commit,
        "licence": CRS.licence,
        "tests": len(rows),
        "skipped": dict(skipped),
    }


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as handle:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode())


BUILDERS = {"sites": build_sites, "captures": build_captures, "payloads": build_payloads, "crs": build_crs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument(
        "--only", choices=sorted(BUILDERS), action="append", help="rebuild only these parts (repeatable; default all)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sources = args.out / "SOURCES.json"
    manifest = json.loads(sources.read_text()) if args.only and sources.is_file() else {}
    for part, build in BUILDERS.items():
        if not args.only or part in args.only:
            manifest[part] = build(args.mirror, args.out)
    files = sorted(p for p in args.out.rglob("*.gz"))
    manifest["sha256"] = {str(p.relative_to(args.out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    sources.write_text(json.dumps(manifest, indent=2, default=dict) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
