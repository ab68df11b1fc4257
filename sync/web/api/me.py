"""``GET /api/me``: who the token acts as (name and role)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import principal
from sync.web.api.schemas import PrincipalSchema

blp = Blueprint("me", __name__, description="The caller's own identity")


@blp.route("/me")
class Me(MethodView):
    """The caller."""

    @requires("viewer", brand_scoped=True)  # the token itself: no data of any brand
    @blp.response(200, PrincipalSchema)
    def get(self) -> Any:
        """Who this token acts as."""
        who = principal()
        return {"name": who.name, "role": who.role}
