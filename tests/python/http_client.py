"""Drives `moat serve --http` with the official MCP Python SDK, in both
protocol eras: the initialize handshake with sessions (mode="legacy",
2025-11-25) and the stateless 2026-07-28 revision found by `server/discover`
(mode="auto"). In both, a tool asks the user twice: over 2025-11-25 moat
sends `elicitation/create` requests, over 2026-07-28 the questions come back
as input-required results the SDK answers and retries (moat runs the call
again with the answers); the tool sees the same answers either way.

Run by the Rust end-to-end test `http::the_official_python_sdk_over_http`
with MOAT_URL (the /mcp endpoint) and MOAT_TOKEN (a bearer token).
Exits non-zero on the first failed check.
"""

import asyncio
import os
import sys

from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


async def session(mode, expected_version):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {os.environ['MOAT_TOKEN']}"})
    asked = []

    async def answer(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"answer": f"yes {len(asked)}"})

    transport = streamable_http_client(os.environ["MOAT_URL"], http_client=http)
    async with Client(transport, mode=mode, elicitation_callback=answer) as client:
        check(client.protocol_version == expected_version, f"{mode}: negotiated {client.protocol_version}")
        names = [tool.name for tool in (await client.list_tools()).tools]
        check("text.word-count" in names, f"{mode}: tools {names}")
        result = await client.call_tool("text.word-count", {"text": "one two three"})
        check(not result.is_error, f"{mode}: word-count failed: {result}")
        check(result.structured_content["words"] == 3, f"{mode}: {result.structured_content}")
        result = await client.call_tool("text.word-count", {"text": 7})
        check(result.is_error, f"{mode}: invalid arguments are a tool error: {result}")
        result = await client.call_tool("asker.ask-user", {"message": "Proceed?", "count": 2})
        check(not result.is_error, f"{mode}: ask-user failed: {result}")
        expected = ['accept {"answer":"yes 1"}', 'accept {"answer":"yes 2"}']
        check(result.structured_content == {"result": expected}, f"{mode}: {result.structured_content}")
        check(asked == ["Proceed?", "Proceed?"], f"{mode}: the user was asked {asked}")
        print(f"{mode}: protocol {client.protocol_version}, {len(names)} tools, calls checked")


async def main():
    await session("legacy", "2025-11-25")
    await session("auto", "2026-07-28")
    print("python http client: all checks passed")


asyncio.run(main())
