"""Realistic labelled request logs in the reference schema, made from a seed.

The demo and the tests train on this instead of the real data set (which is never copied
into the project). Benign traffic covers a shop's usual routes, with free text that looks
suspicious to a naive filter (apostrophes, quotes, angle brackets in prose, e-mail
addresses, file names); attacks of many families are placed in the *same* routes and
parameters, with the *same* status codes, headers and client addresses, so only content
tells them apart.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from logsentry.trainer.attacks import ATTACK_FAMILIES, Payload, payload
from logsentry.trainer.data import format_row

Event = dict[str, Any]

FIRST = [
    "anna",
    "bjorn",
    "chloe",
    "dmitri",
    "emeka",
    "fatima",
    "giulia",
    "hiro",
    "ines",
    "jamal",
    "kasia",
    "liam",
    "mei",
    "noah",
    "olga",
    "pedro",
    "quinn",
    "rosa",
    "sven",
    "tariq",
    "uma",
    "valentin",
    "wen",
    "ximena",
    "yusuf",
    "zoe",
]
LAST = [
    "o'brien",
    "d'angelo",
    "smith",
    "müller",
    "nguyen",
    "garcía",
    "kowalski",
    "okafor",
    "tanaka",
    "ivanova",
    "o'neil",
    "dubois",
    "rossi",
    "haddad",
    "johansson",
    "singh",
]
WORDS = [
    "red",
    "running",
    "shoes",
    "wireless",
    "headphones",
    "coffee",
    "grinder",
    "kids",
    "winter",
    "jacket",
    "usb-c",
    "cable",
    "4k",
    "monitor",
    "gift",
    "for",
    "dad",
    "organic",
    "tea",
    "yoga",
    "mat",
    '"noise cancelling"',
    "size 42",
    "50% off",
    "tv & audio",
    "rock'n'roll",
    "salt + pepper",
    "<3 mugs",
    "c++ book",
    "a/b testing",
    "what's new",
]
PROSE = [
    "Love this product, works as described!",
    "Arrived late, but the seller's support was great.",
    "Would buy again :)",
    "Size runs small -- order one up.",
    "5 stars; my kids' favourite",
    'Not bad for the price ("good enough")',
    "Ships to P.O. boxes? yes.",
    "Colour is more 'teal' than blue",
    "Q: does it fit 2<x<3 cm? A: yes",
    "meh.",
]
CATEGORIES = ["electronics", "books", "garden", "toys", "sports", "kitchen", "fashion", "beauty"]
STATIC = [
    "/static/js/app.{h}.js",
    "/static/css/main.{h}.css",
    "/images/products/{n}.jpg",
    "/fonts/inter-{n}.woff2",
    "/favicon.ico",
    "/static/js/vendor.{h}.js",
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",  # noqa: E501
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "curl/8.8.0",
]
LANGS = ["en-US,en;q=0.9", "de-DE,de;q=0.8", "fr-FR,fr;q=0.9,en;q=0.5", "ja-JP", "es-ES,es;q=0.9"]
STATUS = [200] * 14 + [201, 204, 301, 304, 304, 400, 401, 403, 404, 404, 500]

STUFFED = [
    ("admin", "admin"),
    ("root", "toor"),
    ("admin", "password"),
    ("test", "test123"),
    ("administrator", "changeme"),
    ("user", "123456"),
    ("guest", "guest"),
    ("sa", ""),
]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.clock = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms

    def pick(self, seq: Sequence[Any]) -> Any:
        return self.r.choice(seq)

    def user(self) -> str:
        return f"{self.pick(FIRST)}.{self.pick(LAST).replace(chr(39), '')}{self.r.randint(1, 999)}"

    def email(self) -> str:
        return (
            f"{self.pick(FIRST)}.{self.pick(LAST)}@{self.pick(['example.com', 'mail.example.org', 'corp.example.net'])}"
        )

    def phrase(self) -> str:
        return " ".join(self.pick(WORDS) for _ in range(self.r.randint(1, 4)))

    def hexid(self, n: int = 8) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def address(self) -> str:
        r = self.r
        if r.random() < 0.15:
            return f"2001:db8:{r.randint(0, 65535):x}::{r.randint(1, 65535):x}"
        return f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def payload(self, family: str) -> Payload:
        made = payload(self.r, family)
        if isinstance(made.value, str) and made.key is None and self.r.random() < 0.3:
            made = Payload(self.pick([str(self.r.randint(1, 9999)), self.phrase(), self.user()]) + made.value)
        return made

    # --- one benign request per route; ``attack`` replaces one user-controlled value ------
    def route(self, attack: Callable[[], str] | None) -> tuple[str, str, dict[str, Any], Any]:
        r = self.r
        a = attack() if attack else None
        kind = r.choices(
            ["search", "product", "catalogue", "login", "cart", "profile", "review", "static", "api", "orders"],
            weights=[14, 14, 8, 8, 8, 5, 5, 20 if a is None else 2, 10, 8],
        )[0]
        if kind == "search":
            q = {"q": a or self.phrase(), "page": str(r.randint(1, 9))}
            if r.random() < 0.3:
                q["sort"] = self.pick(["price_asc", "price_desc", "rating", "newest"])
            return "get", "/search", q, None
        if kind == "product":
            q = {"ref": a or self.pick(["home", "search", "email", "ad-campaign-" + self.hexid(4)])}
            return "get", f"/products/{r.randint(1000, 99999)}", q, None
        if kind == "catalogue":
            cat = self.pick(CATEGORIES)
            q = {"filter": a or self.pick(["in_stock", "on_sale", "brand:acme", "color:blue"]), "limit": "24"}
            return "get", f"/catalogue/{cat}", q, None
        if kind == "login":
            body: dict[str, Any] = {
                "username": self.user() if r.random() < 0.6 else self.email(),
                "password": self.hexid(r.randint(10, 16)),
                "remember": r.random() < 0.5,
            }
            if a is not None:
                body[self.pick(["username", "password"])] = a
            return "post", "/api/login", {}, body
        if kind == "cart":
            body = {
                "productId": r.randint(1000, 99999),
                "quantity": r.randint(1, 5),
                "note": a or (self.pick(PROSE) if r.random() < 0.2 else ""),
            }
            return "post", "/api/cart/items", {}, body
        if kind == "profile":
            body = {
                "displayName": a or f"{self.pick(FIRST).title()} {self.pick(LAST).title()}",
                "email": self.email(),
                "bio": self.pick(PROSE),
                "avatar": f"{self.hexid()}_{self.pick(['me', 'profile pic', 'IMG_2041'])}.{self.pick(['png', 'jpg'])}",
            }
            return "put", "/api/profile", {}, body
        if kind == "review":
            body = {"rating": r.randint(1, 5), "title": self.phrase(), "text": a or self.pick(PROSE)}
            return "post", f"/api/products/{r.randint(1000, 99999)}/reviews", {}, body
        if kind == "static":
            path = self.pick(STATIC).format(h=self.hexid(), n=r.randint(1, 500))
            return "get", path, ({"v": a} if a else {}), None
        if kind == "api":
            q = {
                "limit": str(self.pick([10, 20, 50])),
                "offset": str(r.randint(0, 20) * 10),
                "fields": a or self.pick(["id,name,price", "id,status", "*"]),
            }
            return "get", f"/api/v1/{self.pick(['users', 'items', 'invoices'])}/{r.randint(1, 9999)}", q, None
        q = {
            "status": a or self.pick(["open", "shipped", "cancelled"]),
            "since": f"2026-0{r.randint(1, 9)}-1{r.randint(0, 9)}",
        }
        return "get", "/api/v1/orders", q, None

    def stuffing(self) -> tuple[str, str, dict[str, Any], Any]:
        """Credential stuffing: a login with a common pair, told apart by rate, not content."""
        user, password = self.pick(STUFFED)
        return "post", "/api/login", {}, {"username": user, "password": password, "remember": False}

    def grafted(self, made: Payload) -> tuple[str, str, dict[str, Any], Any]:
        """A benign request with a structured payload (an operator, a polluting key) in one of its fields."""
        method, path, query, body = self.route(None)
        if isinstance(body, dict):
            body[made.key or self.pick(list(body))] = made.value
        else:
            value = made.value if isinstance(made.value, str) else json.dumps(made.value)
            query[made.key or self.pick(list(query) or ["q"])] = value
        return method, path, query, body

    def event(self, family: str | None) -> Event:
        """A request; with ``family`` ("stuffing" or one of :data:`ATTACK_FAMILIES`), an attack."""
        r = self.r
        made = self.payload(family) if family and family != "stuffing" else None
        if family == "stuffing":
            method, path, query, body = self.stuffing()
        elif made is not None and (made.key is not None or not isinstance(made.value, str)):
            method, path, query, body = self.grafted(made)
        else:
            method, path, query, body = self.route((lambda: made.value) if made else None)
        self.clock += r.randint(1, 400)
        status = self.pick(STATUS)
        source: dict[str, Any] = {"remoteAddress": self.address()}
        if r.random() < 0.4:
            source["referrer"] = self.pick(["https://shop.example.com/", "https://www.example.org/search"])
        headers = {
            "host": "shop.example.com",
            "connection": "keep-alive",
            "accept": "*/*",
            "accept-encoding": "gzip, deflate, br",
            "accept-language": self.pick(LANGS),
            "user-agent": self.pick(AGENTS),
        }
        if body is not None:
            headers["content-type"] = "application/json"
        response: dict[str, Any] = {"statusCode": status}
        if status >= 400:
            response |= {
                "error": {
                    400: "Bad Request",
                    401: "Unauthorized",
                    403: "Forbidden",
                    404: "Not Found",
                    500: "Internal Server Error",
                }[status],
                "message": "An error occurred",
            }
        return {
            "timestamp": self.clock,
            "method": method,
            "query": query,
            "path": path,
            "statusCode": status,
            "source": source,
            "route": path,
            "headers": headers,
            "requestPayload": body,
            "responsePayload": response,
        }


def labelled_events(rows: int, *, seed: int = 0, attack_share: float = 0.5) -> Iterator[tuple[Event, int, str]]:
    """``rows`` (event, label, family) triples, family "" for benign requests.

    Exactly ``round(rows * attack_share)`` are attacks: one in 25 credential stuffing, the
    rest spread over :data:`trainer.attacks.ATTACK_FAMILIES`.
    """
    if not 0.0 <= attack_share <= 1.0:
        raise ValueError("attack_share must lie in [0, 1]")
    gen = _Gen(seed)
    attacks = round(rows * attack_share)
    labels = [1] * attacks + [0] * (rows - attacks)
    gen.r.shuffle(labels)
    for label in labels:
        family = ("stuffing" if gen.r.random() < 0.04 else gen.pick(ATTACK_FAMILIES)) if label else ""
        yield gen.event(family or None), label, family


def generate_events(rows: int, *, seed: int = 0, attack_share: float = 0.5) -> Iterator[tuple[Event, int]]:
    """``rows`` (event, label) pairs; exactly ``round(rows * attack_share)`` are attacks."""
    for event, label, _ in labelled_events(rows, seed=seed, attack_share=attack_share):
        yield event, label


def write_csv(path: str | Path, rows: int, *, seed: int = 0, attack_share: float = 0.5) -> int:
    """Labelled CSV in the reference format, with a third column naming each attack's family."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        for event, label, family in labelled_events(rows, seed=seed, attack_share=attack_share):
            handle.write(format_row(event, label, family))
    return rows
