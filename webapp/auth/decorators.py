from functools import wraps

from flask import abort
from flask_login import current_user


def role_required(role):
    """Server-side role check: the view runs only for users at or above ``role``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated or not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
