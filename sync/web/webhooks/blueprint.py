"""The webhooks blueprint every receiver module registers its routes on (mounted at ``/webhooks``)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)
