"""Captures the `tools/list` of published MCP servers as benign data for vet.

Starts each server over stdio with the official MCP Python SDK, lists its
tools, and writes `<slug>.json` here with the package, its version and its
licence (read from the installed package). Servers that need an account get a
placeholder credential: listing tools needs none. A server that does not
start or answer is skipped and said so.

    CAPTURE_NPM="pkg ..." python3 capture.py OUT_DIR [NODE_MODULES_DIR]

`tuned/` holds the servers vet's detector was tuned against; `unseen/`
holds servers captured afterwards and never looked at before their first
run (README.md reports both).
"""

import asyncio
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

OUT = Path(sys.argv[1])
PLACEHOLDER = "placeholder-not-a-secret"

# (slug, npm package or None, PyPI distribution or None, command, args, extra env)
PYPI = [
    ("fetch", "mcp-server-fetch", [sys.executable, "-m", "mcp_server_fetch"], {}),
    ("time", "mcp-server-time", [sys.executable, "-m", "mcp_server_time"], {}),
    ("git", "mcp-server-git", [sys.executable, "-m", "mcp_server_git"], {}),
    ("sqlite", "mcp-server-sqlite", ["mcp-server-sqlite", "--db-path", "/tmp/capture.db"], {}),
    ("qdrant", "mcp-server-qdrant", ["mcp-server-qdrant"], {"QDRANT_URL": "http://127.0.0.1:1", "COLLECTION_NAME": "c"}),
    ("duckduckgo", "duckduckgo-mcp-server", ["duckduckgo-mcp-server"], {}),
    ("arxiv", "arxiv-mcp-server", ["arxiv-mcp-server"], {}),
    ("atlassian", "mcp-atlassian", ["mcp-atlassian"], {"JIRA_URL": "https://jira.invalid", "JIRA_USERNAME": "u", "JIRA_API_TOKEN": PLACEHOLDER, "CONFLUENCE_URL": "https://c.invalid/wiki", "CONFLUENCE_USERNAME": "u", "CONFLUENCE_API_TOKEN": PLACEHOLDER}),
    ("aws-documentation", "awslabs.aws-documentation-mcp-server", ["awslabs.aws-documentation-mcp-server"], {}),
    ("docker", "mcp-server-docker", ["mcp-server-docker"], {}),
    ("calculator", "mcp-server-calculator", ["mcp-server-calculator"], {}),
    ("obsidian", "mcp-obsidian", ["mcp-obsidian"], {"OBSIDIAN_API_KEY": PLACEHOLDER}),
    ("clickhouse", "mcp-clickhouse", ["mcp-clickhouse"], {"CLICKHOUSE_HOST": "127.0.0.1", "CLICKHOUSE_USER": "u", "CLICKHOUSE_PASSWORD": PLACEHOLDER}),
    ("neo4j-cypher", "mcp-neo4j-cypher", ["mcp-neo4j-cypher"], {"NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": PLACEHOLDER}),
    ("neo4j-memory", "mcp-neo4j-memory", ["mcp-neo4j-memory"], {"NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": PLACEHOLDER}),
    ("excel", "excel-mcp-server", ["excel-mcp-server", "stdio"], {}),
    ("aws-pricing", "awslabs.aws-pricing-mcp-server", ["awslabs.aws-pricing-mcp-server"], {}),
    ("elevenlabs", "elevenlabs-mcp", ["elevenlabs-mcp"], {"ELEVENLABS_API_KEY": PLACEHOLDER}),
    ("motherduck", "mcp-server-motherduck", ["mcp-server-motherduck", "--db-path", ":memory:"], {}),
    ("youtube-transcript", "mcp-youtube-transcript", ["mcp-youtube-transcript"], {}),
]

NPM_ENV = {
    "GITHUB_PERSONAL_ACCESS_TOKEN": PLACEHOLDER, "GITLAB_PERSONAL_ACCESS_TOKEN": PLACEHOLDER,
    "SLACK_BOT_TOKEN": PLACEHOLDER, "SLACK_TEAM_ID": "T0", "BRAVE_API_KEY": PLACEHOLDER,
    "GOOGLE_MAPS_API_KEY": PLACEHOLDER, "EVERART_API_KEY": PLACEHOLDER, "AWS_ACCESS_KEY_ID": PLACEHOLDER,
    "AWS_SECRET_ACCESS_KEY": PLACEHOLDER, "AWS_REGION": "us-east-1", "FIRECRAWL_API_KEY": PLACEHOLDER,
    "TAVILY_API_KEY": PLACEHOLDER, "EXA_API_KEY": PLACEHOLDER, "NOTION_TOKEN": PLACEHOLDER,
    "SUPABASE_ACCESS_TOKEN": PLACEHOLDER, "HEROKU_API_KEY": PLACEHOLDER, "SENTRY_ACCESS_TOKEN": PLACEHOLDER,
    "BROWSERBASE_API_KEY": PLACEHOLDER, "BROWSERBASE_PROJECT_ID": "p", "PRIVATE_APP_ACCESS_TOKEN": PLACEHOLDER,
    "STRIPE_SECRET_KEY": "sk_test_" + PLACEHOLDER, "AIRTABLE_API_KEY": PLACEHOLDER, "ES_URL": "http://127.0.0.1:1",
    "ES_API_KEY": PLACEHOLDER, "APIFY_TOKEN": PLACEHOLDER, "FIGMA_API_KEY": PLACEHOLDER,
    "NEON_API_KEY": PLACEHOLDER, "CIRCLECI_TOKEN": PLACEHOLDER, "PERPLEXITY_API_KEY": PLACEHOLDER,
    "LARA_ACCESS_KEY_ID": PLACEHOLDER, "LARA_ACCESS_KEY_SECRET": PLACEHOLDER, "MDB_MCP_CONNECTION_STRING": "mongodb://127.0.0.1:1",
    "MYSQL_HOST": "127.0.0.1", "MYSQL_USER": "u", "MYSQL_PASS": PLACEHOLDER, "MYSQL_DB": "d",
    "REDIS_URL": "redis://127.0.0.1:1", "CURRENTS_API_KEY": PLACEHOLDER, "API_KEY": PLACEHOLDER,
    "CHANNEL_ACCESS_TOKEN": PLACEHOLDER, "DESTINATION_USER_ID": "U0", "MAPBOX_ACCESS_TOKEN": "pk." + PLACEHOLDER,
    "UPSTASH_EMAIL": "u@example.com", "UPSTASH_API_KEY": PLACEHOLDER, "LINEAR_API_KEY": PLACEHOLDER,
    "OBSIDIAN_API_KEY": PLACEHOLDER, "RAILWAY_API_TOKEN": PLACEHOLDER, "TWENTY_FIRST_API_KEY": PLACEHOLDER,
    "CLOUDFLARE_API_TOKEN": PLACEHOLDER, "CLOUDFLARE_ACCOUNT_ID": "a0",
}
NPM_ARGS = {
    "@modelcontextprotocol/server-filesystem": ["/tmp"],
    "@modelcontextprotocol/server-postgres": ["postgresql://127.0.0.1:1/db"],
    "@modelcontextprotocol/server-redis": ["redis://127.0.0.1:1"],
    "@modelcontextprotocol/server-everything": ["stdio"],
    "@stripe/mcp": ["--tools=all", "--api-key=sk_test_" + PLACEHOLDER],
    "@supabase/mcp-server-supabase": ["--access-token", PLACEHOLDER],
    "figma-developer-mcp": ["--stdio", "--figma-api-key", PLACEHOLDER],
    "@zilliz/mcp-server-milvus": [],
    "@azure-devops/mcp": ["example-org"],
    "@upstash/mcp-server": ["run", "u@example.com", PLACEHOLDER],
    "@playwright/mcp": ["--headless"],
    "@neondatabase/mcp-server-neon": ["start", PLACEHOLDER],
    "@cloudflare/mcp-server-cloudflare": ["run", "a0"],
}


def npm_servers(modules: Path):
    for package_json in sorted(modules.glob("*/package.json")) + sorted(modules.glob("@*/*/package.json")):
        pkg = json.loads(package_json.read_text())
        name = pkg.get("name", "")
        wanted = os.environ.get("CAPTURE_NPM", "").split()
        if name not in wanted:
            continue
        bins = pkg.get("bin")
        if isinstance(bins, str):
            entry = bins
        elif isinstance(bins, dict) and bins:
            entry = next(iter(bins.values()))
        else:
            print(f"skip {name}: no bin", file=sys.stderr)
            continue
        slug = name.replace("@modelcontextprotocol/server-", "").replace("@", "").replace("/", "-")
        licence = pkg.get("license") or "unknown"
        yield slug, f"npm:{name}@{pkg.get('version')}", licence, ["node", str(package_json.parent / entry)] + NPM_ARGS.get(name, []), {}


def pypi_servers():
    for slug, dist, command, env in PYPI:
        try:
            meta = metadata.metadata(dist)
        except metadata.PackageNotFoundError:
            print(f"skip {dist}: not installed", file=sys.stderr)
            continue
        licence = meta.get("License-Expression") or meta.get("License") or "unknown"
        if len(licence) > 40:
            licence = next((c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")), "see package")
        yield slug, f"pypi:{dist}=={meta['Version']}", licence, command, env


async def capture(slug, source, licence, command, env):
    server = StdioServerParameters(command=command[0], args=command[1:], env={**os.environ, **NPM_ENV, **env})
    async with stdio_client(server, errlog=open(os.devnull, "w")) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
    dumped = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    out = {"source": source, "licence": licence, "tools": dumped}
    (OUT / f"{slug}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return len(dumped)


async def main():
    servers = list(pypi_servers())
    if len(sys.argv) > 2:
        servers += list(npm_servers(Path(sys.argv[2])))
    for slug, source, licence, command, env in servers:
        if any((split / f"{slug}.json").exists() for split in OUT.parent.iterdir() if split.is_dir()):
            continue
        try:
            count = await asyncio.wait_for(capture(slug, source, licence, command, env), 90)
            print(f"{slug}: {count} tools ({source}, {licence})")
        except BaseException as error:  # a server that fails is skipped, not fatal
            print(f"{slug}: skipped ({type(error).__name__}: {str(error)[:120]})")


asyncio.run(main())
