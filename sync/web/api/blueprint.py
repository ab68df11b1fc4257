"""The ops API's flask-smorest Blueprint: request bodies read with lifesync's bounded JSON reader, no NUL.

flask-smorest parses bodies through webargs, which uses ``json.loads``: a body nested 50,000
deep raised ``RecursionError`` (a 500). Here a body goes through ``sync.connectors.jsonread``
(depth, number and string limits; the reader of webhooks and ``lifesync ingest``) and a refusal
is a 400 naming what was wrong. Text with a NUL character is a 422 for bodies and query strings
alike: PostgreSQL refuses NUL in any text column, so it would otherwise fail deep in a query.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from sync.connectors import jsonread

NUL = "\x00"


def _nul_path(value: Any, path: str = "") -> str | None:
    """The path of the first text holding a NUL in a parsed body (keys included), or None."""
    if isinstance(value, str):
        return path or "(body)" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return where
            if (found := _nul_path(item, where)) is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{n}]")) is not None:
                return found
    return None


class BoundedParser(FlaskParser):
    """webargs' Flask parser with bounded JSON bodies and no NUL in bodies or query strings."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            data = jsonread.loads(req.get_data(cache=True))
        except jsonread.JsonInputError as exc:
            abort(400, message=f"the body is not JSON lifesync reads: {exc}", errors={"json": [str(exc)]})
        if (where := _nul_path(data)) is not None:
            abort(422, message="text may not contain NUL characters", errors={"json": {where: ["no NUL characters"]}})
        return data

    def load_querystring(self, req: flask.Request, schema: Any) -> Any:
        bad = sorted({k for k, v in req.args.items(multi=True) if NUL in k or NUL in v})
        if bad:
            abort(422, message="text may not contain NUL characters",
                  errors={"query": {k.replace(NUL, "\\0"): ["no NUL characters"] for k in bad}})
        return super().load_querystring(req, schema)


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with :class:`BoundedParser` (every resource of ``sync.web.api`` uses it)."""

    ARGUMENTS_PARSER = BoundedParser()
