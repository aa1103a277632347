"""The public corpus: real sites' traffic and real attack payloads, and which part of it is for what.

The default recipe mixes it into training so that the model meets real traffic, not only one
application's and the generator's (``docs/data-sources.md`` lists every source, its licence
and its commit; ``bench/build_data.py`` cut the files). It lives in a checkout's
``bench/data/``:

* ``sites/<site>.log.gz`` — real web servers' access logs;
* ``captures.jsonl.gz`` — legitimate requests recorded while browsing real sites (open-appsec);
* ``payloads.jsonl.gz`` — attack payload lists (PayloadsAllTheThings, fuzzdb, payloadbox);
* ``crs.jsonl.gz`` — the OWASP Core Rule Set's regression requests.

**Roles.** Every site and every payload has one role, decided here and nowhere else:
``train`` (training rows), ``validation`` (where the alert threshold is chosen) or
``benchmark`` (what ``bench/real_sites.py`` reports on: never read by training or by the
threshold). Access-log sites have named roles; the browsed sites and the payloads are split by
a hash of their name or normalised text (payloads a list makes from one base — fuzzdb's
command template filled with each command — by the base's), so the split is the same on every
machine, a payload listed by two collections lands once, and a command the benchmark holds is
never trained on with any delimiter. The CRS requests are benchmark only.

**What training reads.** Real traffic is read as *values*: one value of each form the
training sites hold (:func:`value_shape`: digits and long tokens set aside) becomes a row of
its own (a request holding that value alone), so one site's ten thousand visits to one page,
or ten thousand order numbers, weigh as one row, and a long value costs a slice of
``VALUE_SLICE`` characters, not its whole length. Each training payload (at most
``PAYLOAD_CAP`` of a family, evenly spread over its lists) is grafted into a benign request
of the training sites or the generated ones (into a query value, a body field or the path,
encoded as a client would send it) and the row holds the value it changed; so
is each family's share of the generator's payloads (:mod:`trainer.attacks`, composed from
parts: the variety lists lack) grafted into the training sites' requests. The
validation rows are the validation sites' whole requests, and validation payloads grafted
into them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, unquote, unquote_plus

from logsentry.errors import ConfigError, InvalidMessage
from logsentry.model_store.ingest.formats.access_log import parse_line
from logsentry.model_store.ingest.request_log import request_log
from logsentry.model_store.model.preprocessing import CleanupSpec, FieldPath, value_units
from logsentry.model_store.store import file_sha256
from logsentry.trainer.attacks import ATTACK_FAMILIES
from logsentry.trainer.attacks import graft as generated_graft

Role = Literal["train", "validation", "benchmark"]
Event = dict[str, Any]

SITE_ROLES: Final[dict[str, Role]] = {
    "hurence": "train",  # a Drupal company site, 2013-14
    "nasa": "validation",  # NASA Kennedy Space Center, July 1995
    "semicomplete": "benchmark",  # a blog and file server (the issue's own example)
    "erddap": "benchmark",  # an ocean-data API server
    "myopera": "benchmark",  # a community and blog platform
    "zanbil": "benchmark",  # an online shop (1,000 requests)
    "secrepo": "benchmark",  # a small security-data site (1,000 requests)
}
BENCHMARK_SITES: Final = tuple(site for site, role in SITE_ROLES.items() if role == "benchmark")
VALUE_SLICE: Final = 240  # characters of a long benign value that a training row holds
PAYLOAD_CAP: Final = 1500  # training payloads per family, evenly spread (traversal lists repeat themselves)
GRAFTS: Final = 4  # benign requests each training payload is grafted into (one of them buried in long text)
GENERATED_PER_FAMILY: Final = 1000  # generated payloads of each family grafted into real sites' requests
_VALUES = CleanupSpec(units="values", max_units=10_000)


def _share(text: str) -> int:
    """0-9 from a hash of ``text``: the same on every machine and every run."""
    return int(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % 10


def capture_role(site: str) -> Role:
    """A browsed site's role: 60 % train, 20 % validation, 20 % benchmark."""
    share = _share(f"site:{site}")
    return "train" if share < 6 else "validation" if share < 8 else "benchmark"


def normalised(payload: str) -> str:
    return " ".join(payload.lower().split())


def payload_role(payload: str) -> Role:
    """A payload's role: 60 % train, 10 % validation, 30 % benchmark, by its normalised text."""
    share = _share(f"payload:{normalised(payload)}")
    return "train" if share < 6 else "validation" if share < 7 else "benchmark"


@dataclass(frozen=True)
class Payload:
    family: str
    text: str
    source: str
    group: str = ""  # payloads made from one base (a command in a template) share its role

    @property
    def role(self) -> Role:
        return payload_role(self.group or self.text)


def evenly(items: Sequence[Any], cap: int) -> list[Any]:
    """At most ``cap`` of ``items``, evenly spread over them (every list of a family, not the first ones)."""
    return list(items) if len(items) <= cap else [items[int(i * len(items) / cap)] for i in range(cap)]


def default_corpus() -> Path | None:
    """The corpus of the checkout this code runs from, if it is one."""
    here = Path(__file__).resolve().parents[1] / "bench" / "data"
    return here if (here / "payloads.jsonl.gz").is_file() else None


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


@dataclass(frozen=True)
class Corpus:
    root: Path

    def __post_init__(self) -> None:
        needed = ("payloads.jsonl.gz", "captures.jsonl.gz", "sites")
        missing = [name for name in needed if not (self.root / name).exists()]
        if missing:
            raise ConfigError(
                f"{self.root} is not a logsentry corpus (no {', '.join(missing)}): point --corpus at a checkout's "
                "bench/data, or --corpus none"
            )

    def files(self) -> list[dict[str, str]]:
        """Name and SHA-256 of every corpus file, for a manifest."""
        paths = sorted(p for p in self.root.rglob("*.gz"))
        return [{"name": str(p.relative_to(self.root)), "sha256": file_sha256(p)} for p in paths]

    def site_events(self, site: str) -> list[Event]:
        """A real site's access log as request logs (lines no reader understands are left out)."""
        events = []
        with gzip.open(self.root / "sites" / f"{site}.log.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                try:
                    events.append(parse_line(line))
                except InvalidMessage:
                    continue
        return events

    @cached_property
    def captures(self) -> dict[str, list[Event]]:
        """The browsed sites' requests, by site."""
        by_site: dict[str, list[Event]] = {}
        for row in _jsonl(self.root / "captures.jsonl.gz"):
            try:
                event = request_log(method=row["method"], target=row["target"], body=row["body"] or None)
            except InvalidMessage:
                continue
            if not row["body"]:
                event.pop("requestPayload", None)
            by_site.setdefault(row["site"], []).append(event)
        return by_site

    @cached_property
    def payloads(self) -> list[Payload]:
        """Every distinct payload (the first collection listing it names its source and family)."""
        seen: dict[str, Payload] = {}
        for row in _jsonl(self.root / "payloads.jsonl.gz"):
            payload = Payload(row["family"], row["payload"], row["source"], row.get("group", ""))
            seen.setdefault(normalised(row["payload"]), payload)
        return list(seen.values())

    def crs(self) -> list[dict[str, Any]]:
        return list(_jsonl(self.root / "crs.jsonl.gz"))

    def benign(self, role: Role) -> dict[str, list[Event]]:
        """The real sites of ``role``, by site: access-log sites and browsed sites."""
        out = {site: self.site_events(site) for site, r in SITE_ROLES.items() if r == role}
        out |= {f"browsed:{site}": events for site, events in self.captures.items() if capture_role(site) == role}
        return out

    def payloads_of(self, role: Role, families: Sequence[str] | None = None) -> list[Payload]:
        chosen = [p for p in self.payloads if p.role == role]
        return [p for p in chosen if families is None or p.family in families]


# -- grafting ---------------------------------------------------------------------------
def _encoded(payload: str, r: random.Random) -> str:
    """The payload as a client puts it in a URL: as a browser or tool encodes it, fully, or raw."""
    roll = r.random()
    if roll < 0.5:
        return quote(payload, safe="/:=?()',*!$;@~")
    if roll < 0.8:
        return quote(payload, safe="")
    return payload.replace(" ", "+").replace("&", "%26").replace("#", "%23")


def _decoded(raw: str) -> str:
    """What the request log holds for a query value sent as ``raw`` (decoded once, ``+`` a space)."""
    return unquote_plus(raw, errors="replace") if "+" in raw else unquote(raw, errors="replace")


GRAFT_NAMES: Final = ("q", "id", "page", "file", "search", "url", "name", "cmd", "s", "p", "item", "path")


def graft(event: Mapping[str, Any], payload: str, r: random.Random) -> Event:
    """``event`` with ``payload`` in one of its values: a body field, a query value or the path
    (a segment replaced or appended), or a new query parameter, as a client would send it."""
    out = dict(event)
    query = dict(out.get("query") or {})
    body = out.get("requestPayload")
    roll = r.random()
    if isinstance(body, dict) and body and roll < 0.3:
        out["requestPayload"] = {**body, r.choice(list(body)): payload}
    elif query and roll < 0.8:
        out["query"] = {**query, r.choice(list(query)): _decoded(_encoded(payload, r))}
    elif roll < 0.9:
        parts = str(out.get("path") or "/").split("/")
        segment = quote(payload, safe="/:=?()',*!$;@~")
        if len(parts) > 2 and r.random() < 0.5:
            parts[r.randrange(1, len(parts))] = segment
        else:
            parts.append(segment)
        out["path"] = "/".join(parts)
    else:
        out["query"] = {**query, r.choice(GRAFT_NAMES): _decoded(_encoded(payload, r))}
    return out


def _sliced(value: Any, r: random.Random) -> Any:
    if isinstance(value, str) and len(value) > VALUE_SLICE:
        start = r.randrange(len(value) - VALUE_SLICE + 1)
        return value[start : start + VALUE_SLICE]
    return value


def value_alone(event: Mapping[str, Any], path: FieldPath, r: random.Random | None = None) -> Event:
    """A request holding only ``event``'s value at ``path`` (a long one sliced when ``r`` is given)."""
    if path[0] == "path":
        return {"method": event.get("method", "get"), "path": event.get("path", "/")}
    value: Any = event
    for key in path:
        value = value[key]
    value = _sliced(value, r) if r is not None else value
    if path[0] == "query":
        return {"query": {path[1]: value} if len(path) > 1 else value}
    for key in reversed(path[1:]):
        value = [value] if isinstance(key, int) else {key: value}
    return {"requestPayload": value}


_DIGITS = re.compile(r"\d+")
_TOKENS = re.compile(r"[0-9A-Fa-f]{8,}|[A-Za-z0-9_-]{24,}")


def value_shape(text: str) -> str:
    """A value's form: its digits and its long tokens (ids, hashes, base64) as placeholders. Values of
    one form (``?"id"="1234"``, ``?"id"="98"``) teach the same thing; one of each is read."""
    return _DIGITS.sub("0", _TOKENS.sub("#", text[: VALUE_SLICE + 32]))


def distinct_values(sites: Mapping[str, Sequence[Event]], cap: int, r: random.Random) -> list[Event]:
    """A value of each form the sites' requests hold, as a request of its own; at most ``cap``, drawn at random."""
    seen: set[str] = set()
    out: list[Event] = []
    for site in sorted(sites):
        for event in sites[site]:
            for path, text in value_units(event, _VALUES):
                shape = value_shape(text)
                if shape not in seen:
                    seen.add(shape)
                    out.append(value_alone(event, path, r))
    r.shuffle(out)
    return out[:cap]


def changed_value(base: Mapping[str, Any], grafted: Mapping[str, Any]) -> Event | None:
    """The value ``grafted`` holds that ``base`` does not, as a request of its own."""
    before = {text for _, text in value_units(base, _VALUES)}
    changed = [path for path, text in value_units(grafted, _VALUES) if text not in before]
    return value_alone(grafted, changed[0]) if changed else None


def grafted_value(base: Mapping[str, Any], payload: str, r: random.Random) -> Event | None:
    """The value ``payload`` changed when grafted into ``base``, as a request of its own."""
    return changed_value(base, graft(base, payload, r))


def _long_texts(rows: Sequence[tuple[Event, int, str]], r: random.Random) -> list[str]:
    """Long benign strings of the training sites' values: what a payload can hide in."""
    texts = []
    for event, _, _ in rows:
        for path, _ in value_units(event, _VALUES):
            value: Any = event
            for key in path:
                if isinstance(value, dict):
                    value = value.get(key)
                elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                    value = value[key]
                else:
                    value = None
            if isinstance(value, str) and len(value) >= 120:
                texts.append(value)
    r.shuffle(texts)
    return texts[:5000] or ["lorem ipsum dolor sit amet " * 10]


def buried(payload: str, texts: Sequence[str], r: random.Random) -> str:
    """``payload`` inside a long ordinary value: text before it, text after it, up to ~1.5 KB.

    A value longer than a window is read in windows; these teach that a payload is an attack
    whatever ordinary text shares its window (one graft of each training payload in
    ``GRAFTS`` is buried)."""
    before = " ".join(r.choice(texts) for _ in range(r.randint(0, 3)))[: r.randint(0, 700)]
    after = " ".join(r.choice(texts) for _ in range(r.randint(1, 4)))[: r.randint(100, 800)]
    return f"{before} {payload} {after}".strip()


@dataclass(frozen=True)
class CorpusRows:
    """What a training run reads of the corpus: (event, label, family) rows per part."""

    train: list[tuple[Event, int, str]]
    validation: list[tuple[Event, int, str]]
    validation_sites: list[str]  # the site of each validation row, for the alert budget

    def summary(self) -> str:
        counts = Counter((label, family or "benign") for _, label, family in self.train)
        attacks = sum(n for (label, _), n in counts.items() if label == 1)
        return (
            f"{len(self.train):,} training rows ({len(self.train) - attacks:,} benign values of real sites, "
            f"{attacks:,} real payloads), {len(self.validation):,} validation rows of "
            f"{len(set(self.validation_sites)):,} sites"
        )


def corpus_rows(
    corpus: Corpus,
    *,
    seed: int,
    benign_values: int,
    hosts: Sequence[Event] = (),
    families: Sequence[str] | None = None,
) -> CorpusRows:
    """The rows a training run reads of ``corpus``: see the module docstring.

    ``hosts`` are more benign requests to graft training payloads into (the generated sites');
    ``families`` keeps only those payload families (the leave-one-family-out benchmark).
    """
    r = random.Random(f"corpus/{seed}")
    training_sites = corpus.benign("train")
    train: list[tuple[Event, int, str]] = [(e, 0, "") for e in distinct_values(training_sites, benign_values, r)]
    pool = [e for site in sorted(training_sites) for e in training_sites[site]] + list(hosts)
    by_family: dict[str, list[Payload]] = {}
    for payload in corpus.payloads_of("train", families):
        by_family.setdefault(payload.family, []).append(payload)
    prose = _long_texts(train, r)
    for family in sorted(by_family):
        for payload in evenly(by_family[family], PAYLOAD_CAP):
            for graft_number in range(GRAFTS):
                text = payload.text if graft_number else buried(payload.text, prose, r)
                value = grafted_value(r.choice(pool), text, r)
                if value is not None:
                    train.append((value, 1, family))
    # the generator's payloads (composed from parts: variety the lists lack) in real sites' requests
    for family in (f for f in ATTACK_FAMILIES if families is None or f in families):
        for _ in range(GENERATED_PER_FAMILY):
            base = r.choice(pool)
            value = changed_value(base, generated_graft(base, family, r))
            if value is not None:
                train.append((value, 1, family))
    r.shuffle(train)

    validation: list[tuple[Event, int, str]] = []
    sites: list[str] = []
    for site, events in sorted(corpus.benign("validation").items()):
        validation += [(e, 0, "") for e in events]
        sites += [site] * len(events)
    whole = [e for e, _, _ in validation]
    for payload in corpus.payloads_of("validation", families):
        validation.append((graft(r.choice(whole), payload.text, r), 1, payload.family))
        sites.append("grafted")
    return CorpusRows(train, validation, sites)
