"""Who may do what on the ops surfaces: roles, API tokens, and the audit log of every change.

The REST API, the console and the CLI share this package: a change made through any of them is
made by a :class:`~sync.access.roles.Principal` and recorded by :func:`sync.access.audit.record`
in the same transaction as the change itself.
"""
