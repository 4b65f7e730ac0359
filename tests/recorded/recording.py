"""Recording an HTTP session, and replaying it against a recording (the golden master).

A session is a Python function that drives the API through a `Driver`: each request it
makes becomes one exchange: what was sent (`method`, `path` with its query, `key`: the name
of the API key, `idempotency_key`, `request_content_type`, and `request_body` as JSON or
`request_text` when it is not JSON) and what came back (`status`, `content_type`, the other
`headers`, and `body`: the answer's exact text, decoded from UTF-8, never re-serialised).
What legitimately differs from one run to the next is normalised, the same way in requests
and answers (see `Normaliser`); nothing else is touched, so equal exchanges mean
byte-for-byte equal answers.

While recording, the driver keeps every exchange; while replaying, it compares each one with
the recording as it goes and stops at the first difference, with a report that names the
request and shows what changed (`Mismatch`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient

#: No request body (as opposed to a JSON `null`).
NOBODY: Any = object()

# --------------------------------------------------------------------------- normalising

#: An ISO 8601 time, as the API writes them (`2026-12-07T06:58:07.956345Z`; a time whose
#: microseconds are zero has no fraction at all, so the length varies too).
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
#: A random UUID (`uuid4()`), written with dashes (hold ids) or as 32 hex digits (the
#: reference of the demo's opening stock, `import:demo-opening-stock/<hex>`).
_UUID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b"
    r"|\b[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}\b"
)
TIME = "<time>"
#: A webhook's signing secret (random): `whsec_` and base64.
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]+=*")
#: An API key's secret and its id (random).
_KEY_SECRET = re.compile(r"osk_[A-Za-z0-9_-]{43}")
_KEY_ID = re.compile(r"\bkey_[0-9a-f]{16}\b")


@dataclass
class Normaliser:
    """Replaces what varies between runs, and only that:

    - clock times (`created_at`, `expires_at`, a movement's `at`, an ETA the demo set from
      its clock…) become `<time>`. A time that the session itself sent in a request body (a
      fixed ETA) is not the clock's and stays as it is, so that its rendering is checked;
    - a webhook's signing secret becomes `whsec_<secret>`, an API key's `osk_<secret>`, and
      an API key's id `key_<N>`, numbered by first appearance like UUIDs;
    - random UUIDs become `<uuid-1>`, `<uuid-2>`… numbered by first appearance in the whole
      session, requests included, so the same id is the same placeholder everywhere (a hold's
      id in its answer, in the path that reads it, in the order that uses it); written as 32
      hex digits it becomes `<hex-uuid-N>`, with the same numbering.
    """

    _uuids: dict[str, int] = field(default_factory=dict)
    _key_ids: dict[str, int] = field(default_factory=dict)
    _sent_times: set[str] = field(default_factory=set)

    def request(self, text: str) -> str:
        """A request's path or body: the times in it are the session's own from now on."""
        self._sent_times.update(_TIME.findall(text))
        return self.answer(text)

    def answer(self, text: str) -> str:
        text = _UUID.sub(self._uuid, _SECRET.sub("whsec_<secret>", text))
        text = _KEY_ID.sub(self._key_id, _KEY_SECRET.sub("osk_<secret>", text))
        return _TIME.sub(lambda m: m[0] if m[0] in self._sent_times else TIME, text)

    def _key_id(self, match: re.Match[str]) -> str:
        n = self._key_ids.setdefault(match[0], len(self._key_ids) + 1)
        return f"key_<{n}>"

    def _uuid(self, match: re.Match[str]) -> str:
        found = match[0]
        n = self._uuids.setdefault(found.replace("-", ""), len(self._uuids) + 1)
        return f"<uuid-{n}>" if "-" in found else f"<hex-uuid-{n}>"


# --------------------------------------------------------------------------- the driver

#: The fields of an exchange that must be equal on replay (a `note` only explains).
COMPARED = (
    "method",
    "path",
    "key",
    "idempotency_key",
    "request_content_type",
    "request_body",
    "request_text",
    "status",
    "content_type",
    "headers",
    "body",
)
#: Answer headers left out: `content-length` follows from the body, whose times may be
#: shorter by their fraction (see `_TIME`); the body itself is compared. `x-request-id` is a
#: new random id on every answer (tests/api/test_request_logs.py checks it).
_UNRECORDED_HEADERS = {"content-length", "content-type", "x-request-id"}


class Mismatch(AssertionError):
    """A replayed exchange differs from the recording (or there are more or fewer)."""


@dataclass
class Driver:
    """Sends the session's requests through `client` and records or checks each exchange.

    `keys` maps a key's name in the recording (`admin`, `viewer`, `none`…) to the headers
    that send it (none at all for `none`). With `expected` (a recording), each exchange is
    compared with the recorded one at once and the first difference raises `Mismatch`.
    """

    client: TestClient
    keys: dict[str, Mapping[str, str]]
    expected: list[dict[str, Any]] | None = None
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    normaliser: Normaliser = field(default_factory=Normaliser)
    section: str = ""

    def part(self, title: str) -> None:
        """Names the part of the story the next requests tell (kept as each one's `note`)."""
        self.section = title

    def get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.send("GET", path, params=params, **kw)

    def put(self, path: str, body: Any = NOBODY, **kw: Any) -> Any:
        return self.send("PUT", path, body, **kw)

    def post(self, path: str, body: Any = NOBODY, **kw: Any) -> Any:
        return self.send("POST", path, body, **kw)

    def patch(self, path: str, body: Any = NOBODY, **kw: Any) -> Any:
        return self.send("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.send("DELETE", path, **kw)

    def send(
        self,
        method: str,
        path: str,
        body: Any = NOBODY,
        *,
        params: Mapping[str, Any] | None = None,
        key: str = "admin",
        idempotency_key: str | None = None,
        raw: str | None = None,
        content_type: str = "application/json",
        expect: int = 200,
    ) -> Any:
        """One request; answers its JSON (None when it has none).

        `raw` sends that text as the body instead of `body` serialised (malformed JSON);
        `expect` is the status the session means to show, checked after the recording.
        """
        if params:
            path += "?" + urlencode(params, doseq=True)
        headers = {**self.keys[key]}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = raw if raw is not None else None if body is NOBODY else json.dumps(body)
        if content is not None:
            headers["Content-Type"] = content_type
        response = self.client.request(method, path, content=content, headers=headers)
        # The request first, then its answer: the times it sends are the session's own, and
        # ids are numbered in the order they appear.
        shown_path = self.normaliser.request(path)
        sent = None if content is None else self.normaliser.request(content)
        exchange = self._exchange(method, shown_path, key, idempotency_key, response)
        if sent is not None:
            exchange["request_content_type"] = content_type
            exchange["request_body" if raw is None else "request_text"] = (
                json.loads(sent) if raw is None else sent
            )
        self._keep(exchange)
        if response.status_code != expect:
            raise AssertionError(
                f"the session meant {method} {path} to answer {expect}, "
                f"it answered {response.status_code}: {response.text[:1000]}"
            )
        return _json_or_none(response.text)

    def _exchange(
        self, method: str, path: str, key: str, idempotency_key: str | None, response: Any
    ) -> dict[str, Any]:
        norm = self.normaliser
        return {
            "n": len(self.exchanges) + 1,
            "note": self.section,
            "method": method,
            "path": path,
            "key": key,
            "idempotency_key": idempotency_key,
            "request_content_type": None,
            "request_body": None,
            "request_text": None,
            "status": response.status_code,
            "content_type": response.headers.get("content-type"),
            "headers": {
                name: norm.answer(value)
                for name, value in response.headers.items()
                if name.lower() not in _UNRECORDED_HEADERS
            },
            "body": norm.answer(response.content.decode("utf-8")),
        }

    def _keep(self, exchange: dict[str, Any]) -> None:
        if self.expected is not None:
            index = len(self.exchanges)
            if index >= len(self.expected):
                raise Mismatch(
                    f"the session goes on past the recording's {len(self.expected)} "
                    f"requests: #{index + 1} is {exchange['method']} {exchange['path']} "
                    "(record again if the session changed on purpose)"
                )
            report = difference(self.expected[index], exchange, total=len(self.expected))
            if report:
                raise Mismatch(report)
        self.exchanges.append(exchange)

    def finish(self) -> None:
        """Replaying: the session must have made every recorded request."""
        if self.expected is not None and len(self.exchanges) != len(self.expected):
            missing = self.expected[len(self.exchanges)]
            raise Mismatch(
                f"the session stopped after {len(self.exchanges)} of the recording's "
                f"{len(self.expected)} requests; next recorded: #{missing['n']} "
                f"{missing['method']} {missing['path']}"
            )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- reporting


def difference(expected: dict[str, Any], actual: dict[str, Any], *, total: int) -> str | None:
    """None when the two exchanges are equal; else a report of the first difference."""
    differing = [name for name in COMPARED if expected.get(name) != actual.get(name)]
    if not differing:
        return None
    lines = [
        f"request #{expected['n']} of {total} differs from the recording"
        f" ({expected.get('note') or 'no note'}):",
        f"  recorded: {expected['method']} {expected['path']} (key {expected['key']})",
        f"  replayed: {actual['method']} {actual['path']} (key {actual['key']})",
    ]
    for name in differing:
        if name == "body":
            lines += _body_report(expected["body"], actual["body"])
        else:
            lines.append(f"  {name}: expected {expected.get(name)!r}, got {actual.get(name)!r}")
    return "\n".join(lines)


def _body_report(expected: str, actual: str, *, context: int = 60, most: int = 40) -> list[str]:
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    start = max(0, at - context)
    lines = [
        f"  body: differs at character {at} (lengths {len(expected)} and {len(actual)}):",
        f"    expected: …{expected[start : at + context]!r}",
        f"    actual:   …{actual[start : at + context]!r}",
    ]
    pretty_expected, pretty_actual = _pretty(expected), _pretty(actual)
    if pretty_expected == pretty_actual:
        lines.append("    (the same JSON value, written differently)")
        return lines
    diff = list(
        difflib.unified_diff(
            pretty_expected, pretty_actual, "recorded", "replayed", n=2, lineterm=""
        )
    )
    lines.append("  diff (pretty-printed):")
    lines += [f"    {line}" for line in diff[:most]]
    if len(diff) > most:
        lines.append(f"    … {len(diff) - most} more diff lines")
    return lines


def _pretty(text: str) -> list[str]:
    value = _json_or_none(text)
    if value is None:
        return text.splitlines()
    return json.dumps(value, indent=2, ensure_ascii=False).splitlines()


# --------------------------------------------------------------------------- the file


def load(path: Path) -> list[dict[str, Any]]:
    exchanges: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["exchanges"]
    return exchanges


def save(path: Path, exchanges: list[dict[str, Any]], *, about: str) -> None:
    """One exchange a line group, keys in a fixed order: a re-recording diffs readably."""
    document = {"about": about, "requests": len(exchanges), "exchanges": exchanges}
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def paths_of(exchanges: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(method, path without its query) of each exchange."""
    for exchange in exchanges:
        yield exchange["method"], exchange["path"].split("?", 1)[0]
