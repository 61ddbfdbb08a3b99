"""A TCP proxy in front of the real PostgreSQL server, to cut and restore the database."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()
        self.silent: set[asyncio.StreamWriter] = set()
        self.flowing = asyncio.Event()
        self.flowing.set()

    def stall(self) -> None:
        """Keep every connection open but pass nothing on, as a hung server or network does."""
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def silence(self) -> None:
        """Leave every open connection open but pass nothing on through it ever again, as
        a server that vanished without a reset does (a failover, a dropped NAT entry);
        new connections flow."""
        self.silent |= self.links

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every open connection, as a crashed server would."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def restore(self) -> None:
        await self.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    await self.flowing.wait()
                    if sink in self.silent:
                        continue
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self.links -= {writer, upstream_writer}


async def proxied(url: str) -> tuple[TcpProxy, str]:
    """A started proxy in front of the PostgreSQL server of ``url``, and ``url`` through it."""
    target = urlsplit(url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    through = url.replace(f"{target.hostname}:{target.port or 5432}", f"127.0.0.1:{proxy.port}")
    assert through != url
    return proxy, through
