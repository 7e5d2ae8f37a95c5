"""The Python baseline of moat's benchmarks: the trivial tool `add` served by
the official MCP Python SDK over stdio, in CPython, with no sandbox. moat's
Python component (guest-examples/python/bench-py) is measured against it.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("python-baseline")


@server.tool(name="bench.add")
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


if __name__ == "__main__":
    server.run("stdio")
