"""Moderated webinars: sessions (sessions.py), and the parts built on them."""

from rooms.webinars.sessions import Webinars, moderates, role_of

__all__ = ["Webinars", "moderates", "role_of"]
