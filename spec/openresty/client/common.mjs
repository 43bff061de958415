// Shared bits of the Node drivers (spec/openresty/client/*.mjs). Every driver prints one JSON line on stdout
// and exits; a global timer bounds it even if something hangs.
export function bound(seconds) {
  const t = setTimeout(() => {
    process.stdout.write(JSON.stringify({ error: `driver timed out after ${seconds}s` }) + '\n');
    process.exit(3);
  }, seconds * 1000);
  t.unref();
}

export function done(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(0);
}

// The request body @tanstack/ai-client would send for one user message (buildRunAgentInputBody shape).
export function runAgentInput(text, extra = {}) {
  const id = Math.random().toString(36).slice(2, 10);
  return {
    threadId: `thread-${id}`,
    runId: `run-${id}`,
    state: {},
    messages: [{ id: `msg-${id}`, role: 'user', content: text }],
    tools: [],
    context: [],
    forwardedProps: {},
    data: {},
    ...extra,
  };
}
