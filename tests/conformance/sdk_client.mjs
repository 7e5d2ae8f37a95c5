// Drives `moat serve` over stdio with the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk): tools, content blocks, resources, templates,
// prompts and completion from sandboxed components. Run by the Rust
// end-to-end test `typescript::the_official_typescript_sdk_reads_every_part_of_the_surface`
// with MOAT_BIN and MOAT_CONFIG (a config serving `text` and `conformance`).
// Exits non-zero on the first failed check.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

function check(condition, message) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    process.exit(1);
  }
}

const transport = new StdioClientTransport({
  command: process.env.MOAT_BIN,
  args: ['serve', '--config', process.env.MOAT_CONFIG],
  env: { RUST_LOG: 'warn' },
  stderr: 'inherit',
});
const client = new Client({ name: 'moat-e2e', version: '1.0.0' });
await client.connect(transport);
check(client.getServerVersion().name === 'moat', 'server name');
const capabilities = client.getServerCapabilities();
check(capabilities.resources && capabilities.prompts && capabilities.completions, JSON.stringify(capabilities));

const count = await client.callTool({ name: 'text.word-count', arguments: { text: 'one two three' } });
check(count.structuredContent.words === 3, JSON.stringify(count));

const mixed = await client.callTool({ name: 'conformance.test-multiple-content-types', arguments: {} });
check(JSON.stringify(mixed.content.map((c) => c.type)) === '["text","image","resource"]', JSON.stringify(mixed));
check(Buffer.from(mixed.content[1].data, 'base64').subarray(1, 4).toString() === 'PNG', 'PNG bytes');
const audio = await client.callTool({ name: 'conformance.test-audio-content', arguments: {} });
check(audio.content[0].type === 'audio' && audio.content[0].mimeType === 'audio/wav', JSON.stringify(audio));

const { resources } = await client.listResources();
check(resources.some((r) => r.uri === 'test://static-text'), JSON.stringify(resources));
const { resourceTemplates } = await client.listResourceTemplates();
check(resourceTemplates[0].uriTemplate === 'test://template/{id}/data', JSON.stringify(resourceTemplates));
const text = await client.readResource({ uri: 'test://static-text' });
check(text.contents[0].text === 'This is the content of the static text resource.', JSON.stringify(text));
const data = await client.readResource({ uri: 'test://template/7/data' });
check(JSON.parse(data.contents[0].text).id === '7', JSON.stringify(data));
let notFound = null;
try {
  await client.readResource({ uri: 'test://missing' });
} catch (error) {
  notFound = error;
}
check(notFound && notFound.code === -32602, `not found: ${notFound}`);

const { prompts } = await client.listPrompts();
check(prompts.some((p) => p.name === 'conformance.test-simple-prompt'), JSON.stringify(prompts));
const prompt = await client.getPrompt({
  name: 'conformance.test-prompt-with-arguments',
  arguments: { arg1: 'x', arg2: 'y' },
});
check(prompt.messages[0].content.text === "Prompt with arguments: arg1='x', arg2='y'", JSON.stringify(prompt));
const image = await client.getPrompt({ name: 'conformance.test-prompt-with-image', arguments: {} });
check(image.messages[0].content.type === 'image', JSON.stringify(image));

const completion = await client.complete({
  ref: { type: 'ref/prompt', name: 'conformance.test-prompt-with-arguments' },
  argument: { name: 'arg1', value: 'te' },
});
check(JSON.stringify(completion.completion.values) === '["test","testing"]', JSON.stringify(completion));

await client.close();
console.log('typescript client: all checks passed');
