"""The browser client: index page, ES modules, i18n, and socket.io-client from npm."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from rooms import errors

SOCKET_IO_DIST = Path("node_modules") / "socket.io-client" / "dist"
# The client's own files. static/ also holds package.json, package-lock.json and
# node_modules/ (npm's), which must not be served: one route per folder, not the root.
CLIENT_DIRS = ("js", "css", "i18n")


def static_routes(root: Path) -> list[web.AbstractRouteDef]:
    index = root / "index.html"
    vendor = root / SOCKET_IO_DIST

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def socket_io_client(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in ("socket.io.esm.min.js", "socket.io.esm.min.js.map"):
            raise web.HTTPNotFound()
        path = vendor / name
        if not path.is_file():
            raise errors.CLIENT_NOT_INSTALLED(
                "socket.io-client is missing: run `npm ci --prefix static`"
            )
        return web.FileResponse(path)

    return [
        web.get("/", page),
        web.get("/join/{code}", page),
        web.get("/vendor/{name}", socket_io_client),
        *(
            web.static(f"/static/{name}", root / name, show_index=False, follow_symlinks=False)
            for name in CLIENT_DIRS
            if (root / name).is_dir()  # a missing one answers 404, like a missing file
        ),
    ]
