"""Entry point: `python3 -m sandboxd_interpreter [--port 49999] [--host 0.0.0.0]`."""

import argparse
import asyncio
import logging
import signal

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from .handlers import make_app
from .registry import Registry


async def main(host, port):
    registry = Registry()
    # Kernels first, port second: once /health answers, the default contexts are warm (and in the snapshot).
    await registry.start_defaults()
    server = HTTPServer(make_app(registry), idle_connection_timeout=640, max_body_size=256 * 1024 * 1024)
    sockets = bind_sockets(port, host)
    server.add_sockets(sockets)
    # Port 0 picks a free port; the line below tells a parent process (the tests) which one.
    bound = sockets[0].getsockname()[1]
    print(f"serving on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    await registry.stop_all()


def cli():
    parser = argparse.ArgumentParser(prog="sandboxd_interpreter")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=49999)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(args.host, args.port))


if __name__ == "__main__":
    cli()
