"""Traffic no training recipe ever sees: sites built from a vocabulary of their own.

``trainer.sites`` builds the generated sites training may use from
:data:`trainer.sites.DEFAULT_VOCABULARY`. The benchmarks judge generalisation on sites built
from :data:`HELD_OUT` instead: its route words, parameter names, free text (names with
apostrophes, quotes, e-mail addresses, search phrases in other languages, file names,
addresses) share no entry with the training vocabulary (``tests/unit/test_sites.py`` checks
that), so a model cannot do well here by remembering words.

The value *shapes* (dates, UUIDs, prices, JSON blobs, tracking cookies) and the attack
generators are shared with training; leave-one-family-out (``bench/generalisation.py``) is
the measure for attacks never shown.
"""

from __future__ import annotations

import random
from typing import Any

from logsentry.trainer.sites import Vocabulary

# fmt: off
HELD_OUT = Vocabulary(
    roots=("ledger", "parcel", "claim", "appointment", "loan", "tenant", "shipment", "warranty", "donation",
           "volunteer", "prescription", "sermon", "harvest", "voyage", "pupil", "locker", "mortgage", "grant",
           "thesis", "recital", "kennel", "vineyard", "greenhouse", "lodge", "ferry", "tram", "cinema", "museum"),
    actions=("overview", "summary", "compose", "archive-view", "renew", "approve", "preview", "history"),
    params=("surname", "forename", "postcode", "isbn", "vin", "iban", "breed", "vintage", "diagnosis", "dosage",
            "berth", "cabin", "platform", "seat", "aisle", "shelf", "genre", "composer", "instrument", "cuisine",
            "allergy", "hobby", "pronoun", "nickname", "mood", "weather", "flavour", "fabric", "habitat", "era"),
    words=("tulip", "harbour", "violin", "quilt", "lantern", "meadow", "pebble", "saffron", "canoe", "marble",
           "walnut", "cedar", "comet", "falcon", "thimble", "velvet", "orchid", "granite", "biscuit", "compass"),
    prose=("Can I bring my dog? She's very calm.", "We'd like a table by the window, please!",
           'The "quiet carriage" was anything but quiet...', "Lost my keys -- maybe in row 12?",
           "Allergic to nuts & shellfish; no sesame either.", "Please call after 6pm (not before).",
           "Dear team, thanks for the lovely stay :-)", "Is 3/4 cup the same as 180 ml?",
           "Room 2B's heater isn't working; it's cold.", "I'd rate it 4.5/5 -- would return.",
           "Select a seat near the exit if possible.", "Union rep will attend the meeting at 10.",
           "Script for Sunday's play attached (draft #3).", "drop me a line at home or work",
           "Where's the nearest cash machine?", "from Mon to Fri, 9-5"),
    phrases=("ferienwohnung an der ostsee", "tapas y vino tinto", "pâtisserie près de chez moi",
             "кофейня рядом", "京都 お寺 観光", "pizzeria napoletana", "bokhandel i stockholm",
             "ristorante sul lago", "leçons de piano", "huisdier vriendelijk hotel", "çay bahçesi",
             "ruta del vino", "Øl og pølse", "naleśniki z serem"),
    files=("holiday photos (2).zip", "Q3 budget - FINAL v2.xlsx", "scan 2026-03-01.pdf", "D&D character sheet.pdf",
           "mum's recipes.txt", "wedding playlist.m3u", "contract (signed).pdf", "floor plan #2.png"),
    first=("agnieszka", "bartholomew", "cecilia", "desmond", "eleonora", "florian", "gwendolyn", "horatio",
           "isadora", "jasper", "kalinda", "leopold", "marisol", "nikolai", "octavia", "percival"),
    last=("o'sullivan", "d'arcy", "mcallister", "van der berg", "fitzgerald", "de la cruz", "o'hara",
          "saint-pierre", "abernathy", "lindqvist", "nakamura", "okonkwo", "papadopoulos", "zimmermann"),
)
# fmt: on
HELD_OUT_SITES = (5000, 5001, 5002, 5003, 5004)  # seeds of the held-out vocabulary's sites

_WIKI_PAGES = (
    "Main_Page",
    "Release_notes",
    "Style_guide",
    "Onboarding",
    "FAQ",
    "Team_calendar",
    "API_reference",
    "Incident_2026-03",
    "Coffee_machine",
    "Office_map",
)
_WIKI_MARKUP = (
    "<p>{t}</p>",
    "<p><b>{t}</b> &mdash; {t}</p>",
    '<a href="/wiki/{p}">{t}</a>',
    "<ul><li>{t}</li><li>{t}</li></ul>",
    "<h2>{t}</h2>\n<p>{t}</p>",
    "<code>SELECT name FROM users WHERE id = 1</code>",
    "<pre>cd ../build && make</pre>",
    "<blockquote>{t}</blockquote>",
    '<img src="/files/{p}.png" alt="{t}">',
    "<table><tr><td>{t}</td></tr></table>",
    "**{t}** _{t}_ [link](/wiki/{p})",
    "`rm -rf build/` then `make` again",
    "{{{{Template:Note|{t}}}}}",
)


def wiki_traffic(rows: int, seed: int) -> list[dict[str, Any]]:
    """Ordinary requests of an internal wiki: page edits carry HTML and markup, search has operators.

    A site whose normal traffic looks like attacks to a generic model (markup in bodies, code
    snippets, ``../`` in a shell example): what a site-specific model (``train --benign``) is for.
    """
    r = random.Random(seed)
    words = [w for phrase in HELD_OUT.prose for w in phrase.split()]

    def text() -> str:
        return " ".join(r.choice(words) for _ in range(r.randint(2, 8)))

    out = []
    for _ in range(rows):
        page = r.choice(_WIKI_PAGES)
        kind = r.random()
        if kind < 0.4:
            content = "\n".join(
                r.choice(_WIKI_MARKUP).format(t=text(), p=r.choice(_WIKI_PAGES)) for _ in range(r.randint(1, 4))
            )
            body = {"content": content, "summary": text()[:40], "minor": r.random() < 0.3}
            event = {"method": "post", "path": f"/wiki/{page}/edit", "query": {}, "requestPayload": body}
        elif kind < 0.7:
            tag = r.choice(_WIKI_PAGES).lower()
            q = r.choice(
                [
                    f'title:"{text()}"',
                    f"{r.choice(words)} AND author:{r.choice(HELD_OUT.first)}",
                    f"{r.choice(words)} -draft",
                    f"tag:{tag} OR {r.choice(words)}",
                ]
            )
            event = {
                "method": "get",
                "path": "/wiki/search",
                "query": {"q": q, "limit": str(r.choice([10, 20, 50]))},
                "requestPayload": None,
            }
        else:
            event = {
                "method": "get",
                "path": f"/wiki/{page}",
                "query": {"oldid": str(r.randint(1, 9999))} if r.random() < 0.3 else {},
                "requestPayload": None,
            }
        event["statusCode"] = r.choice([200, 200, 200, 302, 304, 404])
        out.append(event)
    return out
