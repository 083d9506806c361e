"""A mail server for the checkout benchmark that accepts every message and keeps none.

Production hands order e-mails to an MTA on localhost:25 (settings: EMAIL_URL's default), and
checkout sends them after commit, inside the request. The benchmark points EMAIL_URL here, so
that cost is measured as production pays it, and nobody is mailed.

    python bench/smtp_sink.py --port 2525

It prints "ready" once it listens. On SIGTERM or SIGINT it prints "messages N" and exits.
Just enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Standard library only.
"""

import argparse
import asyncio
import signal
import sys

MAX_LINE = 1 << 20


class Sink:
    def __init__(self) -> None:
        self.messages = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 joycart-bench-sink ESMTP\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-joycart-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b".\n", b""):
                        pass
                    self.messages += 1
                    writer.write(b"250 OK: discarded\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()


async def serve(port: int) -> int:
    sink = Sink()
    server = await asyncio.start_server(sink.session, "127.0.0.1", port, limit=MAX_LINE)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    async with server:
        await stop.wait()
    return sink.messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    messages = asyncio.run(serve(parser.parse_args().port))
    sys.stdout.write(f"messages {messages}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
