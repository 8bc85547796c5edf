"""fairhall's domain: lobby, booths, chat, people and permissions.

Nothing in here imports aiohttp or socketio: services talk to an Engine (state,
history, presence, pub/sub) and an Outbox (emit to Socket.IO rooms) that server/
provides.
"""
