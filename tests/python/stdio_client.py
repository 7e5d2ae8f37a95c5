"""Drives `moat serve` over stdio with the official MCP Python SDK.

Run by the Rust end-to-end test `python::the_official_python_sdk_lists_and_calls_tools_reads_resources_and_gets_prompts`
with MOAT_BIN (the moat binary) and MOAT_CONFIG (a config serving `text`,
`kitchen-sink` and `conformance`, the last granted elicitation). A 2025-11-25
session lists and calls tools, reads resources, gets prompts and completes;
a 2026-07-28 one (found by `server/discover`) calls a tool and gets a prompt
that ask the user, answered through input-required rounds. Exits non-zero
on the first failed check.
"""

import asyncio
import base64
import json
import os
import sys

from mcp import Client, ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.types import PromptReference, ResourceTemplateReference


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


async def main():
    server = StdioServerParameters(
        command=os.environ["MOAT_BIN"],
        args=["serve", "--config", os.environ["MOAT_CONFIG"]],
        env={"RUST_LOG": "warn"},
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "moat", f"server name: {init.server_info}")
            print(f"negotiated protocol {init.protocol_version}")

            tools = (await session.list_tools()).tools
            names = [tool.name for tool in tools]
            check(names == sorted(names), f"tools in name order: {names}")
            count = next(t for t in tools if t.name == "text.word-count")
            check(count.description.startswith("Counts the characters"), count.description)
            check(count.annotations is not None and count.annotations.read_only_hint is True, "read-only hint")
            check(count.output_schema["type"] == "object", "output schema")

            result = await session.call_tool("text.word-count", {"text": "one two three"})
            check(not result.is_error, f"word-count failed: {result}")
            check(result.structured_content["words"] == 3, f"structured content: {result.structured_content}")

            result = await session.call_tool("kitchen-sink.echo-shape", {"x": {"tag": "circle", "val": 2.5}})
            check(result.structured_content == {"result": {"tag": "circle", "val": 2.5}}, str(result))

            result = await session.call_tool("kitchen-sink.echo-result", {"x": {"tag": "err", "val": "no"}})
            check(result.is_error and result.content[0].text == "no", f"err is a tool error: {result}")

            result = await session.call_tool("kitchen-sink.echo-u8", {"x": 300})
            check(result.is_error, "out-of-range argument refused")
            check("expected integer in 0..=255" in result.content[0].text, result.content[0].text)

            # Content blocks, resources, prompts and completion from a component.
            result = await session.call_tool("conformance.test-multiple-content-types", {})
            kinds = [block.type for block in result.content]
            check(kinds == ["text", "image", "resource"], f"content block kinds: {kinds}")
            check(base64.b64decode(result.content[1].data).startswith(b"\x89PNG"), "PNG bytes")
            check(result.structured_content is None, "no structured content for content blocks")

            resources = (await session.list_resources()).resources
            check("test://static-text" in [str(r.uri) for r in resources], f"resources: {resources}")
            read = await session.read_resource("test://static-binary")
            check(base64.b64decode(read.contents[0].blob).startswith(b"\x89PNG"), f"blob: {read}")
            read = await session.read_resource("test://template/42/data")
            check(json.loads(read.contents[0].text)["id"] == "42", f"template read: {read}")

            prompts = (await session.list_prompts()).prompts
            with_args = next(p for p in prompts if p.name == "conformance.test-prompt-with-arguments")
            check([a.name for a in with_args.arguments] == ["arg1", "arg2"], f"arguments: {with_args}")
            got = await session.get_prompt(with_args.name, {"arg1": "a", "arg2": "b"})
            check(got.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'", str(got))

            done = await session.complete(PromptReference(type="ref/prompt", name=with_args.name), {"name": "arg1", "value": "pa"})
            check(done.completion.values == ["paris", "park", "party"], f"completion: {done}")
            template = ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data")
            done = await session.complete(template, {"name": "id", "value": "2"})
            check(done.completion.values == ["200"], f"template completion: {done}")

    asked = []

    async def answer(context, params):
        asked.append(params.message)
        field = "context" if "context" in params.message else "name"
        return types.ElicitResult(action="accept", content={field: "Alice"})

    async with Client(stdio_client(server), mode="auto", elicitation_callback=answer) as client:
        check(client.protocol_version == "2026-07-28", f"negotiated {client.protocol_version}")
        result = await client.call_tool("conformance.test-input-required-result-elicitation", {})
        check(result.content[0].text == "Hello, Alice!", f"asked tool: {result}")
        got = await client.get_prompt("conformance.test-input-required-result-prompt", {})
        check("Alice" in got.messages[0].content.text, f"asked prompt: {got}")
        check(asked == ["What is your name?", "What context should the prompt use?"], f"asked: {asked}")
        print("2026-07-28 over stdio: a tool and a prompt asked through input-required rounds")

    print("python client: all checks passed")


asyncio.run(main())
