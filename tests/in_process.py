"""Run a service in this test's event loop and wait until its health RPC answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from plugyard_core.connection import connect
from plugyard_core.rpc import RpcError, call
from plugyard_core.service import Service
from plugyard_core.streams import rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest


@dataclass
class RunningService:
    service: Service
    stop: asyncio.Event
    task: asyncio.Task

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


async def start_in_process(service: Service, *, ready_timeout: float = 10.0) -> RunningService:
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    client = await connect("wait-ready", service.nats_url)
    try:
        deadline = asyncio.get_running_loop().time() + ready_timeout
        while True:
            try:
                await call(client, rpc_subject(service.name, "health"), HealthRequest(), HealthReply, timeout=0.5)
                break
            except RpcError:
                if task.done() or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await client.close()
    return RunningService(service, stop, task)
