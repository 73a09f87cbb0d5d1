"""Several query processes on one port answer keep-alive requests without Nagle's delay.

uvicorn binds the listener of ``--workers N`` without marking it TCP, so asyncio left Nagle's
algorithm on for every accepted connection and each request after the first on a keep-alive
connection waited ~40 ms for the client's delayed ACK. What asyncio does with a connection
accepted from our listener is what decides it; that is what these tests look at (no timing).
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from suyuan_cli._serve_query import tcp_listener


async def _nodelay_of_accepted(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class _Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(_Report, sock=listener)
    port = listener.getsockname()[1]
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(accepted, 10)
    finally:
        writer.close()
        server.close()


def _config() -> uvicorn.Config:
    return uvicorn.Config("suyuan_trace_query.app:create_served_app", host="127.0.0.1", port=0)


def test_connections_accepted_by_the_query_processes_send_without_delay() -> None:
    listener = tcp_listener(_config())

    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(_nodelay_of_accepted(listener)) != 0


def test_uvicorns_own_listener_for_several_workers_left_nagle_on() -> None:
    """Why :func:`tcp_listener` exists: when this fails, uvicorn marks its listener itself
    and ours can go."""
    assert asyncio.run(_nodelay_of_accepted(_config().bind_socket())) == 0
