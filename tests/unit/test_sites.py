"""Generated sites: each its own vocabulary, attacks grafted into it."""

from __future__ import annotations


def test_generated_sites_have_their_own_vocabulary_and_graft_attacks_into_it() -> None:
    from logsentry.trainer.sites import Site, site_traffic

    a, b = Site(1), Site(2)
    assert {r.path for r in a.routes} != {r.path for r in b.routes}
    assert {p.name for r in a.routes for p in r.params} != {p.name for r in b.routes for p in r.params}
    rows = list(site_traffic([1], 400, seed=3, attack_share=0.5))
    assert rows == list(site_traffic([1], 400, seed=3, attack_share=0.5)), "seeded"
    attacks = [(e, f) for e, y, f in rows if y == 1]
    assert 150 < len(attacks) < 250 and {f for _, f in attacks} >= {"sqli", "xss", "traversal"}
    routes = {r.path.split("{")[0] for r in a.routes}
    assert all(any(e["path"].startswith(p) for p in routes) for e, _ in attacks), "attacks use the site's own routes"


def test_the_benchmarks_held_out_vocabulary_shares_no_word_with_training() -> None:
    from bench.heldout import HELD_OUT
    from logsentry.trainer.sites import DEFAULT_VOCABULARY

    for name in ("roots", "actions", "params", "words", "prose", "phrases", "files", "first", "last"):
        shared = set(getattr(HELD_OUT, name)) & set(getattr(DEFAULT_VOCABULARY, name))
        assert not shared, f"{name}: {sorted(shared)}"


def test_free_text_is_composed_with_punctuation() -> None:
    from logsentry.trainer.sites import Site

    site = Site(4)
    texts = [site.sentence() for _ in range(300)]
    assert len(set(texts)) > 250
    assert any("'" in t for t in texts) and any('"' in t for t in texts) and any("(" in t for t in texts)
