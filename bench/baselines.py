"""The detectors logsentry is compared with: a rule set (OWASP CRS on ModSecurity) and TF-IDF + logistic regression.

* **CRS**: the OWASP Core Rule Set as Debian ships it (``apt-get install modsecurity-crs``,
  CRS 3.3) on ModSecurity v3 (``pip install libmodsecurity``, its Python binding), at
  paranoia level 1, the default: a request is flagged when CRS would block it (its anomaly
  score reaches the inbound threshold: rule 949110). ModSecurity's libinjection is part of
  it (rules 942100, 941100). The IP-reputation rules (910) are left out: they need GeoIP.
* **TF-IDF + logistic regression**: character 1-3-grams of the cleaned request text,
  sublinear term frequencies, C = 10 (the strongest setting measured on the shared data),
  trained on whatever rows it is given.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np

CRS_SETUP = "/etc/modsecurity/crs/crs-setup.conf"
CRS_RULES = "/usr/share/modsecurity-crs/rules"
CRS_INSTALL = "pip install libmodsecurity; apt-get install modsecurity-crs"


def request_parts(event: Mapping[str, Any]) -> tuple[str, str, bytes, str]:
    """(method, target, body, content type) of a request log, as the client would have sent it."""
    method = str(event.get("method") or "get").upper()
    path = quote(str(event.get("path") or "/"), safe="/%:@!$&'()*+,;=~")
    query = event.get("query") or {}
    pairs = [(k, v) for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs])]
    target = path + ("?" + urlencode([(k, "" if v is None else str(v)) for k, v in pairs]) if pairs else "")
    body = event.get("requestPayload")
    if isinstance(body, dict) and all(isinstance(v, (str, int, float)) for v in body.values()):
        form = urlencode({k: str(v) for k, v in body.items()}).encode()
        return method, target, form, "application/x-www-form-urlencoded"
    if isinstance(body, (dict, list)):
        return method, target, json.dumps(body).encode(), "application/json"
    if isinstance(body, str) and body:  # a body that was not a form or JSON: sent as a form's raw text
        return method, target, body.encode("utf-8", "surrogatepass"), "application/x-www-form-urlencoded"
    return method, target, b"", ""


class CrsBaseline:
    """OWASP CRS at paranoia level 1 on ModSecurity v3: 1.0 where it would block, else 0.0."""

    name = "OWASP CRS 3.3, PL1 (ModSecurity v3)"

    def __init__(self) -> None:
        try:
            from libmodsecurity import ModSecurity, RulesSet
        except ImportError:
            raise SystemExit(f"the CRS baseline needs ModSecurity's binding and the rules: {CRS_INSTALL}") from None
        rules = sorted(p for p in glob.glob(f"{CRS_RULES}/*.conf") if "910-IP-REPUTATION" not in p)
        if not rules:
            raise SystemExit(f"no CRS rules in {CRS_RULES}: {CRS_INSTALL}")
        self.engine = ModSecurity()
        self.engine.set_log_callback(lambda *_: None)
        self.rules = RulesSet()
        config = "\n".join(
            [
                "SecRuleEngine DetectionOnly",
                "SecRequestBodyAccess On",
                "SecRequestBodyLimit 13107200",
                # the body processors of ModSecurity's recommended configuration (modsecurity.conf-recommended)
                'SecRule REQUEST_HEADERS:Content-Type "@rx (?:application(?:/soap\\+|/)|text/)xml" '
                '"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"',
                'SecRule REQUEST_HEADERS:Content-Type "@rx application/json" '
                '"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"',
                'SecAction "id:900000,phase:1,pass,nolog,setvar:tx.paranoia_level=1"',
                f"Include {CRS_SETUP}",
                *(f"Include {p}" for p in rules),
            ]
        )
        if self.rules.load(config) < 0:
            raise SystemExit(f"CRS rules did not load: {self.rules.get_parser_error()}")

    def blocks(self, event: Mapping[str, Any]) -> bool:
        from libmodsecurity import Transaction

        method, target, body, content_type = request_parts(event)
        t = Transaction(self.engine, self.rules)
        t.process_connection("192.0.2.10", 40000, "127.0.0.1", 80)
        t.process_uri(target, method, "1.1")
        for name, value in (("Host", "localhost"), ("User-Agent", "Mozilla/5.0"), ("Accept", "*/*")):
            t.add_request_header(name, value)
        if body:
            t.add_request_header("Content-Type", content_type)
            t.add_request_header("Content-Length", str(len(body)))
        t.process_request_headers()
        if body:
            t.append_request_body(body)
        t.process_request_body()
        return any(m.rule_id == 949110 for m in t.get_rule_messages())

    def score_events(self, events: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.asarray([1.0 if self.blocks(e) else 0.0 for e in events], dtype=np.float32)


class TfidfBaseline:
    """Character 1-3-gram TF-IDF + logistic regression over the cleaned request (request units)."""

    name = "TF-IDF + logistic regression"

    def __init__(self, events: Sequence[Mapping[str, Any]], labels: Sequence[int]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        features = self.vectorizer.fit_transform(self._texts(events))
        self.model = LogisticRegression(C=10, max_iter=2000).fit(features, np.asarray(labels))

    @staticmethod
    def _texts(events: Sequence[Mapping[str, Any]]) -> list[str]:
        from logsentry.model_store.model.preprocessing import clean

        return [clean(e) for e in events]

    def score_events(self, events: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.model.predict_proba(self.vectorizer.transform(self._texts(events)))[:, 1].astype(np.float32)
