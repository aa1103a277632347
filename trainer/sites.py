"""Many different web sites' traffic, made from a seed: for training that learns attacks, not one site.

A model trained on one application learns its routes, parameter names and value shapes as
"normal", and reads anything unfamiliar as an attack. Each :class:`Site` here has its own
vocabulary: routes built from its own words and path styles, parameters with its own names
and naming convention, each parameter with a value shape (numbers, dates, UUIDs, e-mail
addresses, names with apostrophes, quoted free text, search phrases in several languages,
file names with spaces, prices, JSON and base64 blobs, tracking IDs, long URLs back to the
site), and JSON or form bodies. Attacks of every family of :mod:`trainer.attacks` are
grafted into the *same* routes and parameters as the site's benign traffic, URL-encoded or
not. Sites with different seeds share no vocabulary by construction beyond the word lists
of their :class:`Vocabulary`; the benchmarks test on sites built from a vocabulary of their
own (``bench/heldout.py``), so what transfers is measured on words training never saw.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from logsentry.trainer.attacks import ATTACK_FAMILIES, payload
from logsentry.trainer.generate import FIRST, LAST, PROSE, WORDS

Event = dict[str, Any]

# fmt: off
ROOTS = [
    "account", "admin", "api", "app", "archive", "article", "assets", "auth", "billing", "blog", "booking",
    "calendar", "campaign", "cart", "catalog", "checkout", "clinic", "community", "content", "course", "customer",
    "dashboard", "data", "device", "docs", "download", "event", "export", "feed", "file", "forum", "gallery",
    "help", "hotel", "import", "inventory", "invoice", "item", "job", "lesson", "library", "listing", "media",
    "member", "message", "news", "note", "order", "page", "partner", "patient", "payment", "photo", "portal",
    "post", "product", "project", "property", "quote", "recipe", "report", "reservation", "resource", "review",
    "room", "schedule", "search", "service", "settings", "shop", "store", "student", "survey", "task", "team",
    "ticket", "topic", "tour", "track", "upload", "user", "vehicle", "video", "wiki", "workspace",
]
ACTIONS = ["list", "view", "edit", "new", "show", "details", "search", "update", "create", "browse", "status", "info"]
PARAM_WORDS = [
    "id", "name", "title", "query", "term", "keyword", "city", "country", "lang", "locale", "page", "size", "limit",
    "offset", "sort", "order", "filter", "category", "type", "kind", "status", "date", "from", "to", "start", "end",
    "email", "phone", "user", "owner", "author", "tag", "label", "color", "price", "min", "max", "amount",
    "currency", "note", "comment", "message", "description", "file", "path", "redirect", "next", "return", "ref",
    "source", "campaign", "token", "session", "utm", "code", "zip", "street", "region", "room", "guests", "nights",
    "course", "grade", "level", "version", "format", "view", "mode", "theme", "callback", "cid", "gclid", "fbclid",
]
EXTENSIONS = ["", "", "", ".php", ".aspx", ".html", ".jsp", ".do", ".json"]
LANG_PHRASES = [
    "chaussures de course", "zapatos rojos", "günstige Flüge nach Berlin", "寿司 レストラン", "книги для детей",
    "café com leite", "mietwohnung münchen", "piso en alquiler", "biglietti concerto", "ホテル 東京",
    "tatil köyü", "voli economici", "appartement à louer", "spa & wellness", "fish 'n' chips",
]
FILES = ["annual report 2025.pdf", "IMG_2041 (1).jpg", "my cv - final.docx", "photo.png", "invoice #4411.pdf",
         "slides_v2 (copy).pptx", "résumé.pdf", "data export.csv"]
# fmt: on
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_STATUS = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 500]
_STATUS_WEIGHTS = [40, 3, 2, 2, 3, 5, 3, 2, 2, 4, 1]
# fmt: off
SHAPES = ["int", "word", "phrase", "lang", "date", "uuid", "email", "name", "prose", "file", "price", "slug",
          "hex", "tracking", "json", "base64", "url", "phone", "bool", "code", "wildcard", "sort", "tag",
          "expr"]
# upper case in ordinary text (shouting, acronyms, versions), so that case alone never reads as an attack
ACRONYMS = ["ASAP", "FYI", "PDF", "USB", "NYC", "FAQ", "TODO", "FINAL", "DRAFT", "URGENT", "OK", "TV", "UK", "EU",
            "CEO", "Q1", "Q3", "IMPORTANT", "NEW", "SALE", "XL", "HD", "v2", "RSVP", "N/A", "AM", "PM"]
# fmt: on
_EXTENSIONS = ["pdf", "docx", "xlsx", "png", "jpg", "jpeg", "csv", "txt", "zip", "pptx", "mp4", "heic"]


# fmt: off
TRICKY = [
    "union station parking", "select your size", "drop-off point", "sleep mask (2 pack)", "cat & dog food",
    "script writing course", "alert bracelet", "or best offer", "1=1 scale model", "\"the end\" -- a novel",
    "I <3 this", "a < b > c", "rock & roll; blues", "Tom's diner | lunch", "50% off * selected items",
    "what's {new}?", "price: $10-$20", "C:/Users/me/Documents", "../back", "email me @ home",
    "order by date", "where to buy", "delete my account", "insert coin", "exec summary.pdf", "admin@example.com",
]
# fmt: on


# Ordinary English, shared by every site (language, not a site's vocabulary): free text is
# composed from it with the punctuation people type, so that apostrophes, quotes, brackets,
# "#3", "&" and even "select", "drop" or "script" in a sentence read as ordinary.
_COMMON_TEXT = """
the a an my your our this that these is was are be have has had do does did can could will would should may
not no yes and or but if so because when where what who how why which with without for from to of in on at by
about after before near over under between new old big small good great bad best last next first please thanks
thank you we they it i me us them here there today tomorrow yesterday morning evening week month year time day
night home work school room table order item price size colour help call email phone message note question
answer problem issue delivery return payment account password login sign up out back again still just only also
very really too more less much many some any all every each other same different free open close select drop
union insert update delete script alert exec run test admin root user file path data set get post put like love
want need buy send bring take make see look find keep leave stay go come cancel change check book read write
print share join sleep wait where's it's don't can't won't i'm we'd they're isn't o'clock kids' parents'
"""
COMMON = tuple(_COMMON_TEXT.split())
# fmt: off
_FLOURISH = ['"{w}"', "'{w}'", "({w})", "#{n}", "{n}%", "${n}", "{n}:{m}0", "{n}/{m}", "--", "&", "{w};",
             ":)", ":-(", "<3", "...", "@{w}", "{w}'s", "{w}-{w2}", "{n}x", "[{w}]", "*{w}*", "{w}!", "{w}?",
             "{w},"]
# fmt: on


_TEXT_SHAPES = frozenset({"email", "file", "lang", "name", "phrase", "prose", "slug", "word"})


@dataclass(frozen=True)
class Vocabulary:
    """The words a family of generated sites is built from; benchmarks hold out a vocabulary of their own."""

    roots: tuple[str, ...] = tuple(ROOTS)
    actions: tuple[str, ...] = tuple(ACTIONS)
    params: tuple[str, ...] = tuple(PARAM_WORDS)
    words: tuple[str, ...] = tuple(WORDS)
    prose: tuple[str, ...] = (*PROSE, *TRICKY)
    phrases: tuple[str, ...] = tuple(LANG_PHRASES)
    files: tuple[str, ...] = tuple(FILES)
    first: tuple[str, ...] = tuple(FIRST)
    last: tuple[str, ...] = tuple(LAST)
    common: tuple[str, ...] = COMMON


DEFAULT_VOCABULARY = Vocabulary()


@dataclass(frozen=True)
class Param:
    name: str
    shape: str


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # may hold "{id}" or "{slug}"
    params: tuple[Param, ...]
    body: str  # "", "json" or "form"


class Site:
    """One web application's vocabulary, and requests to it (benign, or carrying an attack)."""

    def __init__(self, seed: int, *, n_routes: int | None = None, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> None:
        self.seed = seed
        v = self.v = vocabulary
        r = self.r = random.Random(seed * 7919 + 17)
        self.host = f"{r.choice(v.roots)}{r.randint(1, 99)}.example"
        style = r.choice(["snake", "camel", "kebab", "short", "plain"])
        ext = r.choice(EXTENSIONS)
        prefix = r.choice(["", "", "/api/v1", "/app", f"/{r.choice(['en', 'de', 'fr', 'es'])}", "/portal"])
        names = r.sample(v.params, min(30, len(v.params)))
        self.routes: list[Route] = []
        for _ in range(n_routes or r.randint(8, 16)):
            parts = [r.choice(v.roots)]
            if r.random() < 0.6:
                parts.append(r.choice(["{id}", "{slug}", r.choice(v.actions)]))
            if r.random() < 0.3:
                parts.append(r.choice(v.actions))
            path = prefix + "/" + "/".join(parts) + (ext if not parts[-1].startswith("{") else "")
            method = r.choices(["get", "post", "put"], weights=[6, 3, 1])[0]
            params = tuple(Param(self._style(r.choice(names), style), r.choice(SHAPES)) for _ in range(r.randint(1, 5)))
            params = tuple({p.name: p for p in params}.values())
            body = "" if method == "get" else r.choice(["json", "form"])
            self.routes.append(Route(method, path, params, body))
        # every site serves static assets, named with content hashes
        static_dir = r.choice(["static", "assets", "dist", "public", "_next/static", "build", "media"])
        kinds = [("js", "js"), ("css", "css"), ("img", "png"), ("img", "svg"), ("fonts", "woff2"), ("images", "jpg")]
        for kind, extension in r.sample(kinds, r.randint(2, 4)):
            name = r.choice(
                [
                    "main",
                    "app",
                    "vendor",
                    "runtime",
                    "styles",
                    "chunk",
                    "logo",
                    "hero",
                    "icons",
                    r.choice(v.words).replace(" ", "-"),
                ]
            )
            static = (Param("v", "int"),) if r.random() < 0.3 else ()
            self.routes.append(Route("get", f"/{static_dir}/{kind}/{name}.{{hash}}.{extension}", static, ""))

    @staticmethod
    def _style(word: str, style: str) -> str:
        extra = {"snake": "_", "kebab": "-", "camel": ""}.get(style)
        if extra is None or len(word) < 3:
            return word if style != "short" else word[:2] if len(word) > 3 else word
        second = random.Random(word).choice(["id", "name", "value", "type", "key", "text"])
        return f"{word}{extra}{second.title() if style == 'camel' else second}"

    # -- values --------------------------------------------------------------------------
    def value(self, shape: str) -> Any:
        """An ordinary value of ``shape``: words and text people type, or the tokens software sends."""
        return self._text(shape) if shape in _TEXT_SHAPES else self._token(shape)

    def _text(self, shape: str) -> str:
        r, v = self.r, self.v
        if shape == "word":
            return r.choice(v.words)
        if shape == "phrase":
            return " ".join(r.choice(v.words) for _ in range(r.randint(1, 4)))
        if shape == "lang":
            return r.choice(v.phrases)
        if shape == "email":
            return f"{r.choice(v.first)}.{r.choice(v.last)}@{r.choice(['example.com', 'mail.example.org'])}"
        if shape == "name":
            return f"{r.choice(v.first).title()} {r.choice(v.last).title()}"
        if shape == "prose":
            return r.choice(v.prose) if r.random() < 0.4 else self.sentence()
        if shape == "file":
            if r.random() < 0.4:
                return r.choice(v.files)
            stem = " ".join(r.choice(v.words).title() if r.random() < 0.5 else r.choice(v.words) for _ in range(2))
            extra = r.choice(
                [
                    "",
                    "",
                    f" - {r.choice(ACRONYMS)}",
                    f" ({r.randint(1, 9)})",
                    f" v{r.randint(1, 9)}",
                    f"_{r.randint(2019, 2029)}-{r.randint(1, 12):02d}",
                    " copy",
                ]
            )
            return f"{stem}{extra}.{r.choice(_EXTENSIONS)}"
        if shape == "slug":
            return "-".join(r.choice(v.words).replace(" ", "-") for _ in range(r.randint(1, 3)))
        raise ValueError(f"unknown text shape {shape!r}")

    def _token(self, shape: str) -> Any:
        r, v = self.r, self.v
        if shape == "int":
            return str(r.choice([r.randint(0, 9), r.randint(10, 999), r.randint(1000, 10**9)]))
        v = self.v
        if shape == "date":
            return f"20{r.randint(10, 29)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}" + (
                f"T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z" if r.random() < 0.3 else ""
            )
        if shape == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128)))
        if shape == "code":  # product codes, order numbers, booking references
            letters = "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(r.randint(2, 4)))
            number = r.randint(1000, 9999)
            return r.choice(
                [
                    f"{letters}-{r.randint(100, 99999)}",
                    f"SKU-{letters}{r.randint(10, 999)}",
                    f"#{r.randint(10000, 999999)}",
                    f"{letters}{number}{r.choice(letters)}",
                ]
            )
        if shape == "sort":  # sort orders, as APIs and shops spell them
            w = r.choice(v.words).replace(" ", "_")
            return r.choice(
                [
                    f"{w}_asc",
                    f"{w}_desc",
                    "asc",
                    "desc",
                    f"-{w}",
                    f"{w}:asc",
                    f"{w},-{w}",
                    "newest",
                    "relevance",
                    "price_asc",
                    "name desc",
                ]
            )
        if shape == "tag":  # where a visitor came from
            return r.choice(
                [
                    "email",
                    "newsletter",
                    "home",
                    "footer",
                    "banner",
                    "search",
                    "social",
                    "direct",
                    f"ad-campaign-{r.getrandbits(16):04x}",
                    r.choice(v.words),
                ]
            )
        if shape == "wildcard":  # field selections and prefix searches
            return r.choice(["*", "*", f"{r.choice(v.words)}*", "id,name,*", f"*.{r.choice(_EXTENSIONS)}", "all", "%"])
        if shape == "expr":
            return self.expression()
        if shape == "price":
            return f"{r.randint(1, 999)}.{r.randint(0, 99):02d}"
        if shape == "hex":
            return f"{r.getrandbits(r.choice([32, 64, 128])):x}"
        if shape == "tracking":
            return self._tracking()
        if shape == "json":
            return json.dumps({"a": r.randint(0, 9), "tags": [r.choice(v.words) for _ in range(2)]})
        if shape == "base64":
            return base64.b64encode(bytes(r.getrandbits(8) for _ in range(r.randint(8, 40)))).decode()
        if shape == "url":
            return self._url()
        if shape == "phone":
            return f"+{r.randint(1, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}"
        return r.choice(["true", "false", "1", "0", "on"])

    def _tracking(self) -> str:
        r = self.r
        return r.choice(
            [
                f"{r.randint(10**8, 10**9)}.{r.randint(10**9, 2 * 10**9)}.1.1.utmcsr=google|utmccn=(organic)",
                f"GA1.2.{r.randint(10**8, 10**9)}.{r.randint(10**9, 2 * 10**9)}",
                f"__utma={r.randint(10**7, 10**8)}.{r.randint(10**8, 10**9)}.1.2; _ga=GA1.1.{r.randint(10**8, 10**9)}",
                f"_gcl_au=1.1.{r.randint(10**8, 10**9)}&_fbp=fb.1.{r.randint(10**12, 10**13)}",
                "".join(r.choice(_TOKEN_CHARS) for _ in range(40)),
            ]
        )

    def _url(self) -> str:
        r, v = self.r, self.v
        host = r.choice([self.host, f"www.{self.host}", f"cdn.{self.host}", f"{r.choice(v.words)}.example.org"])
        url = f"{r.choice(['https', 'https', 'http'])}://{host}{self.path(r.choice(self.routes))}"
        if r.random() < 0.3:
            url = self.path(r.choice(self.routes))  # a path on the site itself
        if r.random() < 0.3:
            url += f"?utm_source={r.choice(['newsletter', 'google', 'partner'])}&utm_medium={r.choice(v.words)}"
        elif r.random() < 0.15:
            url += f"#{r.choice(v.words).replace(' ', '-')}"
        return url

    def expression(self) -> str:
        """A query in one of the expression syntaxes public APIs document: code-like, and ordinary."""
        r, v = self.r, self.v
        w = r.choice(v.words).replace(" ", "_")
        f = r.choice(v.params)
        n = r.randint(1, 500)
        return r.choice(
            [
                # OData (OASIS OData v4 URL conventions)
                f"{f} eq '{w}'",
                f"startswith({f},'{w[:3]}')",
                f"contains({f}, '{w}') and {f} gt {n}",
                f"{f} lt {n}.5 or {f} eq null",
                f"{f} desc,{w} asc",
                f"{f},{w}($select={f})",
                # RQL (Resource Query Language): function-call operators
                f"and(eq({f},{w}),lt(price,{n}))",
                f"sort(-{f})",
                f"limit({n},{n * 2})",
                f"select({f},{w})",
                f"in({f},({w},{n}))",
                r.choice(["count()", "distinct()", "values(id)", f"sum({f})", f"max({f})"]),
                # Lucene / Elasticsearch query strings
                f'{f}:"{w}" AND {w}:[{n} TO {n * 3}]',
                f"({f}:{w} OR {f}:{w}*) -{w}",
                f"{f}:>{n}",
                # search qualifiers (GitHub, Gmail)
                f'is:open label:"{w}" created:>=2024-0{r.randint(1, 9)}-01',
                f"from:{w} has:attachment -in:chats",
                # field masks and sparse fieldsets (Google APIs, JSON:API)
                f"items({f},{w}/title),nextPageToken",
                f"{f},{w}.{f}",
                f"fields[{w}]={f},{w}",
                # JSONPath, CSS selectors, regular expressions, ranges and arithmetic
                f"$.{w}[?(@.{f} < {n})].{f}",
                f'div.{w} > a[href^="http"]',
                f"^{w}-\\d{{4}}\\.pdf$",
                f"{n}..{n * 2}",
                f"({n}+{n % 7})*2",
                f"{f}>={n}&{f}<={n * 2}",
            ]
        )

    def sentence(self) -> str:
        """Free text as people type it: common words, the site's words, names, numbers and punctuation."""
        r, v = self.r, self.v
        words = [
            r.choice(v.common) if r.random() < 0.7 else r.choice(v.words) if r.random() < 0.7 else r.choice(v.first)
            for _ in range(r.randint(2, 14))
        ]
        words = [w.upper() if r.random() < 0.04 else w.title() if r.random() < 0.1 else w for w in words]
        if r.random() < 0.3:
            words.insert(r.randint(0, len(words)), r.choice(ACRONYMS))
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            flourish = r.choice(_FLOURISH).format(
                w=r.choice(words), w2=r.choice(v.common), n=r.randint(1, 99), m=r.randint(1, 5)
            )
            words.insert(r.randint(0, len(words)), flourish)
        text = " ".join(words)
        if r.random() < 0.6:
            text = text[:1].upper() + text[1:]
        return text + r.choice(["", "", ".", "!", "?", "...", " :)", "!!"])

    def path(self, route: Route) -> str:
        r = self.r
        return (
            route.path.replace("{id}", str(r.randint(1, 99999)))
            .replace("{slug}", "-".join(r.choice(self.v.words).replace(" ", "-") for _ in range(2)))
            .replace("{hash}", f"{r.getrandbits(32):08x}")
        )

    # -- requests ------------------------------------------------------------------------
    def request(self, attack: str | None = None) -> Event:
        """One request; with ``attack`` (a family), its payload replaces one parameter's value."""
        r = self.r
        route = r.choice(self.routes)
        if attack is not None and not route.params:
            route = r.choice([candidate for candidate in self.routes if candidate.params])
        values: dict[str, Any] = {p.name: self.value(p.shape) for p in route.params}
        if attack is not None:
            made = payload(r, attack)
            value = made.value
            if isinstance(value, str) and made.key is None and r.random() < 0.3:
                value = self.value(r.choice(["int", "word", "name"])) + value
            values[made.key or r.choice(route.params).name] = value
        query: dict[str, Any] = {}
        body: Any = None
        if route.body and r.random() < 0.9:
            split = r.randint(0, len(values))
            items = list(values.items())
            query, fields = dict(items[:split]), dict(items[split:])
            body = fields if fields else None
            if body is not None and route.body == "form":
                body = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        else:
            query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
        address = f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        return {
            "method": route.method,
            "query": query,
            "path": self.path(route),
            "statusCode": r.choices(_STATUS, _STATUS_WEIGHTS)[0],
            "source": {"remoteAddress": address},
            "requestPayload": body,
        }


def site_traffic(
    sites: list[int],
    rows: int,
    *,
    seed: int = 0,
    attack_share: float = 0.5,
    families: tuple[str, ...] = ATTACK_FAMILIES,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> Iterator[tuple[Event, int, str]]:
    """``rows`` (event, label, family or "") from the given site seeds, round robin, seeded."""
    made = [Site(s, vocabulary=vocabulary) for s in sites]
    r = random.Random(seed)
    for i in range(rows):
        site = made[i % len(made)]
        if r.random() < attack_share:
            family = r.choice(families)
            yield site.request(family), 1, family
        else:
            yield site.request(), 0, ""
