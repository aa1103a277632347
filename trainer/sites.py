"""Many different web sites' traffic, made from a seed: for training that learns attacks, not one site.

A model trained on one application learns its routes, parameter names and value shapes as
"normal", and reads anything unfamiliar as an attack. Each :class:`Site` here has its own
vocabulary: routes built from its own words and path styles, parameters with its own names
and naming convention, each parameter with a value shape (numbers, dates, UUIDs, e-mail
addresses, names with apostrophes, quoted free text, search phrases in several languages,
file names with spaces, prices, JSON and base64 blobs, tracking IDs, long URLs back to the
site), and JSON or form bodies. Attacks of every family of :mod:`trainer.generate` are
grafted into the *same* routes and parameters as the site's benign traffic, URL-encoded or
not. Sites with different seeds share no vocabulary by construction beyond the word lists,
so training on some and testing on others measures what transfers to a site never seen
(``bench/cross_site.py``).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trainer.generate import FAMILIES, FIRST, LAST, NOSQL, PROSE, WORDS

Event = dict[str, Any]

ROOTS = [
    "account", "admin", "api", "app", "archive", "article", "assets", "auth", "billing", "blog", "booking",
    "calendar", "campaign", "cart", "catalog", "checkout", "clinic", "community", "content", "course", "customer",
    "dashboard", "data", "device", "docs", "download", "event", "export", "feed", "file", "forum", "gallery",
    "help", "hotel", "import", "inventory", "invoice", "item", "job", "lesson", "library", "listing", "media",
    "member", "message", "news", "note", "order", "page", "partner", "patient", "payment", "photo", "portal",
    "post", "product", "project", "property", "quote", "recipe", "report", "reservation", "resource", "review",
    "room", "schedule", "search", "service", "settings", "shop", "store", "student", "survey", "task", "team",
    "ticket", "topic", "tour", "track", "upload", "user", "vehicle", "video", "wiki", "workspace",
]  # fmt: skip
ACTIONS = ["list", "view", "edit", "new", "show", "details", "search", "update", "create", "browse", "status", "info"]
PARAM_WORDS = [
    "id", "name", "title", "query", "term", "keyword", "city", "country", "lang", "locale", "page", "size", "limit",
    "offset", "sort", "order", "filter", "category", "type", "kind", "status", "date", "from", "to", "start", "end",
    "email", "phone", "user", "owner", "author", "tag", "label", "color", "price", "min", "max", "amount",
    "currency", "note", "comment", "message", "description", "file", "path", "redirect", "next", "return", "ref",
    "source", "campaign", "token", "session", "utm", "code", "zip", "street", "region", "room", "guests", "nights",
    "course", "grade", "level", "version", "format", "view", "mode", "theme", "callback", "cid", "gclid", "fbclid",
]  # fmt: skip
EXTENSIONS = ["", "", "", ".php", ".aspx", ".html", ".jsp", ".do", ".json"]
LANG_PHRASES = [
    "chaussures de course", "zapatos rojos", "günstige Flüge nach Berlin", "寿司 レストラン", "книги для детей",
    "café com leite", "mietwohnung münchen", "piso en alquiler", "biglietti concerto", "ホテル 東京",
    "tatil köyü", "voli economici", "appartement à louer", "spa & wellness", "fish 'n' chips",
]  # fmt: skip
FILES = ["annual report 2025.pdf", "IMG_2041 (1).jpg", "my cv - final.docx", "photo.png", "invoice #4411.pdf",
         "slides_v2 (copy).pptx", "résumé.pdf", "data export.csv"]  # fmt: skip
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_STATUS = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 500]
_STATUS_WEIGHTS = [40, 3, 2, 2, 3, 5, 3, 2, 2, 4, 1]
SHAPES = ["int", "word", "phrase", "lang", "date", "uuid", "email", "name", "prose", "file", "price", "slug",
          "hex", "tracking", "json", "base64", "url", "phone", "bool"]  # fmt: skip


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

    def __init__(self, seed: int, *, n_routes: int | None = None) -> None:
        self.seed = seed
        r = self.r = random.Random(seed * 7919 + 17)
        self.host = f"{r.choice(ROOTS)}{r.randint(1, 99)}.example"
        style = r.choice(["snake", "camel", "kebab", "short", "plain"])
        ext = r.choice(EXTENSIONS)
        prefix = r.choice(["", "", "/api/v1", "/app", f"/{r.choice(['en', 'de', 'fr', 'es'])}", "/portal"])
        names = r.sample(PARAM_WORDS, 30)
        self.routes: list[Route] = []
        for _ in range(n_routes or r.randint(8, 16)):
            parts = [r.choice(ROOTS)]
            if r.random() < 0.6:
                parts.append(r.choice(["{id}", "{slug}", r.choice(ACTIONS)]))
            if r.random() < 0.3:
                parts.append(r.choice(ACTIONS))
            path = prefix + "/" + "/".join(parts) + (ext if not parts[-1].startswith("{") else "")
            method = r.choices(["get", "post", "put"], weights=[6, 3, 1])[0]
            params = tuple(Param(self._style(r.choice(names), style), r.choice(SHAPES)) for _ in range(r.randint(1, 5)))
            params = tuple({p.name: p for p in params}.values())
            body = "" if method == "get" else r.choice(["json", "form"])
            self.routes.append(Route(method, path, params, body))

    @staticmethod
    def _style(word: str, style: str) -> str:
        extra = {"snake": "_", "kebab": "-", "camel": ""}.get(style)
        if extra is None or len(word) < 3:
            return word if style != "short" else word[:2] if len(word) > 3 else word
        second = random.Random(word).choice(["id", "name", "value", "type", "key", "text"])
        return f"{word}{extra}{second.title() if style == 'camel' else second}"

    # -- values --------------------------------------------------------------------------
    def value(self, shape: str) -> Any:
        r = self.r
        if shape == "int":
            return str(r.choice([r.randint(0, 9), r.randint(10, 999), r.randint(1000, 10**9)]))
        if shape == "word":
            return r.choice(WORDS)
        if shape == "phrase":
            return " ".join(r.choice(WORDS) for _ in range(r.randint(1, 4)))
        if shape == "lang":
            return r.choice(LANG_PHRASES)
        if shape == "date":
            return f"20{r.randint(10, 29)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}" + (
                f"T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z" if r.random() < 0.3 else "")  # fmt: skip
        if shape == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128)))
        if shape == "email":
            return f"{r.choice(FIRST)}.{r.choice(LAST)}@{r.choice(['example.com', 'mail.example.org'])}"
        if shape == "name":
            return f"{r.choice(FIRST).title()} {r.choice(LAST).title()}"
        if shape == "prose":
            return r.choice(PROSE)
        if shape == "file":
            return r.choice(FILES)
        if shape == "price":
            return f"{r.randint(1, 999)}.{r.randint(0, 99):02d}"
        if shape == "slug":
            return "-".join(r.choice(WORDS).replace(" ", "-") for _ in range(r.randint(1, 3)))
        if shape == "hex":
            return f"{r.getrandbits(r.choice([32, 64, 128])):x}"
        if shape == "tracking":
            return r.choice([
                f"{r.randint(10**8, 10**9)}.{r.randint(10**9, 2 * 10**9)}.1.1.utmcsr=google|utmccn=(organic)",
                f"GA1.2.{r.randint(10**8, 10**9)}.{r.randint(10**9, 2 * 10**9)}",
                "".join(r.choice(_TOKEN_CHARS) for _ in range(40)),
            ])  # fmt: skip
        if shape == "json":
            return json.dumps({"a": r.randint(0, 9), "tags": [r.choice(WORDS) for _ in range(2)]})
        if shape == "base64":
            return base64.b64encode(bytes(r.getrandbits(8) for _ in range(r.randint(8, 40)))).decode()
        if shape == "url":
            return f"https://{self.host}{self.path(r.choice(self.routes))}"
        if shape == "phone":
            return f"+{r.randint(1, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}"
        return r.choice(["true", "false", "1", "0", "on"])

    def path(self, route: Route) -> str:
        r = self.r
        return route.path.replace("{id}", str(r.randint(1, 99999))).replace(
            "{slug}", "-".join(r.choice(WORDS).replace(" ", "-") for _ in range(2))
        )

    def payload(self, family: str) -> Any:
        r = self.r
        if family == "nosql":
            return r.choice(NOSQL)
        text = r.choice(FAMILIES[family])
        if r.random() < 0.3:
            text = "".join(c.upper() if r.random() < 0.5 else c for c in text)
        if r.random() < 0.3:
            text = self.value(r.choice(["int", "word", "name"])) + text
        return text

    # -- requests ------------------------------------------------------------------------
    def request(self, attack: str | None = None) -> Event:
        """One request; with ``attack`` (a family), its payload replaces one parameter's value."""
        r = self.r
        route = r.choice(self.routes)
        values: dict[str, Any] = {p.name: self.value(p.shape) for p in route.params}
        if attack is not None:
            values[r.choice(route.params).name] = self.payload(attack)
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


ATTACK_FAMILIES = (*FAMILIES, "nosql")


def site_traffic(
    sites: list[int],
    rows: int,
    *,
    seed: int = 0,
    attack_share: float = 0.5,
    families: tuple[str, ...] = ATTACK_FAMILIES,
) -> Iterator[tuple[Event, int, str]]:
    """``rows`` (event, label, family or "") from the given site seeds, round robin, seeded."""
    made = [Site(s) for s in sites]
    r = random.Random(seed)
    for i in range(rows):
        site = made[i % len(made)]
        if r.random() < attack_share:
            family = r.choice(families)
            yield site.request(family), 1, family
        else:
            yield site.request(), 0, ""
