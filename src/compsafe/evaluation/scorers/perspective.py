"""`perspective`: Google's Perspective API (TOXICITY), key from PERSPECTIVE_API_KEY.

Rate-limited (`qps`), retried with backoff; a request that still fails raises, so a broken
network never shows up as a perfectly non-toxic model (lm-eval's realtoxicityprompts returns 0.0
then). The key goes in a request header, never in URLs, configs, logs or results.
"""

from __future__ import annotations

import os
import time

from compsafe.errors import ConfigError
from compsafe.evaluation.scorers.base import Scorer, register

URL = "https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze"
KEY_VARIABLE = "PERSPECTIVE_API_KEY"


class PerspectiveError(RuntimeError):
    """The API did not score a text; the metric must not be computed without it."""


@register
class Perspective(Scorer):
    name = "perspective"
    measures = "toxicity"
    default_batch_size = 16

    def option_names(self):
        return ("qps", "retries", "timeout", "attribute", "url")

    def check(self) -> None:
        if not os.environ.get(KEY_VARIABLE):
            raise ConfigError("scorer", self.name, f"needs the API key in ${KEY_VARIABLE}")

    def load(self) -> None:
        import requests

        self._session = requests.Session()
        self._session.headers["X-Goog-Api-Key"] = os.environ[KEY_VARIABLE]
        self._interval = 1.0 / float(self.options.get("qps", 1.0))
        self._last = 0.0

    def _request(self, text: str) -> float:
        import requests

        attribute = self.options.get("attribute", "TOXICITY")
        body = {
            "comment": {"text": text},
            "languages": ["en"],
            "requestedAttributes": {attribute: {}},
        }
        retries = int(self.options.get("retries", 3))
        problem = "no attempt"
        for attempt in range(retries + 1):
            time.sleep(max(0.0, self._last + self._interval - time.monotonic()))
            self._last = time.monotonic()
            try:
                reply = self._session.post(
                    self.options.get("url", URL),
                    json=body,
                    timeout=float(self.options.get("timeout", 30)),
                )
            except requests.RequestException as err:
                problem = type(err).__name__  # its message would carry request details
            else:
                if reply.status_code == 200:
                    return reply.json()["attributeScores"][attribute]["summaryScore"]["value"]
                problem = f"HTTP {reply.status_code}"
                if reply.status_code not in (429, 500, 502, 503, 504):
                    break
            if attempt < retries:  # back off before the next try, not after the last
                time.sleep(min(2**attempt, 30))
        raise PerspectiveError(f"Perspective API failed after {attempt + 1} tries: {problem}")

    def score_batch(self, texts):
        return [self._request(text) for text in texts]
