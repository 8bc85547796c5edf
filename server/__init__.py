"""The fairhall process: aiohttp app, Socket.IO gateway, engines, HTTP API, CLI."""
