"""Graph API plumbing the Meta sandbox's modules share: the error envelope, request parameters, trace ids."""

from __future__ import annotations

from typing import Any

from flask import request

from sync.sandbox.ads.common import request_json

INVALID = 2804007  # the sandbox's subcode for a value it cannot read (see sync.sandbox.ads.meta)


class MetaError(Exception):
    """A Graph API error answer: ``{"error": {message, type, code, error_subcode, ...}}``."""

    def __init__(self, code: int, message: str, *, subcode: int | None = None, title: str = "", user_msg: str = "",
                 kind: str = "OAuthException", status: int = 400, transient: bool = False,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.subcode, self.title, self.user_msg = code, message, subcode, title, user_msg
        self.kind, self.status, self.transient, self.headers = kind, status, transient, dict(headers or {})

    def body(self, trace: str) -> dict[str, Any]:
        """The JSON error envelope."""
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.transient
        if self.title or self.user_msg:
            error["error_user_title"], error["error_user_msg"] = self.title, self.user_msg
        error["fbtrace_id"] = trace
        return {"error": error}


def params_of() -> dict[str, Any]:
    """The request's parameters: query, form and JSON body, and a Bearer/OAuth header's token as ``access_token``."""
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    if request.mimetype == "application/json" or (not request.form and request.get_data(cache=True).strip()):
        try:
            body = request_json()
        except ValueError:
            raise MetaError(100, "Invalid parameter", subcode=INVALID, title="Invalid JSON",
                            user_msg="the request body is not valid JSON") from None
        if isinstance(body, dict):
            params.update(body)
    auth = request.headers.get("Authorization", "")
    if "access_token" not in params and auth.lower().startswith(("bearer ", "oauth ")):
        params["access_token"] = auth.split(None, 1)[1].strip()
    return params


def trace(index: int) -> str:
    """The ``fbtrace_id`` of the request with this index."""
    return f"AsandboxTrace{index:06d}"
