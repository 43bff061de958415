// Drive POST /v1/chat/completions with the official `openai` npm SDK (pinned in package.json).
//   node openai-sdk.mjs <baseURL> <case> [apiKey] [model]
// cases: text, stream, tools, tools-stream, tool-result, structured, structured-stream, image, error,
//        models (models.list()), embeddings (embeddings.create(): the SDK's default base64), embeddings-float
// Prints one JSON line: what the SDK returned (or the APIError's status, code, type, message).
import OpenAI from 'openai';
import { bound, done } from './common.mjs';

bound(60);
const [baseURL, which, apiKey = 'sk-none', model = 'gpt-4o-mini'] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const schema = {
  type: 'json_schema',
  json_schema: {
    name: 'city',
    strict: true,
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, population: { type: 'integer' } },
      required: ['name', 'population'],
      additionalProperties: false,
    },
  },
};

async function collect(stream) {
  const chunks = [];
  let text = '';
  const calls = {};
  let finish = null;
  let usage = null;
  for await (const c of stream) {
    chunks.push(c);
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (ch.delta?.content) text += ch.delta.content;
      for (const tc of ch.delta?.tool_calls ?? []) {
        const k = tc.index;
        calls[k] = calls[k] ?? { id: null, name: null, arguments: '' };
        if (tc.id) calls[k].id = tc.id;
        if (tc.function?.name) calls[k].name = tc.function.name;
        if (tc.function?.arguments) calls[k].arguments += tc.function.arguments;
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { text, calls: Object.values(calls), finish, usage, objects: [...new Set(chunks.map((c) => c.object))],
    ids: [...new Set(chunks.map((c) => c.id))].length, models: [...new Set(chunks.map((c) => c.model))],
    count: chunks.length };
}

try {
  const user = (content) => [{ role: 'user', content }];
  switch (which) {
    case 'text': {
      const r = await client.chat.completions.create({ model, messages: user('hello router'), temperature: 0.2,
        max_tokens: 200, stop: ['\n\n'] });
      done({ object: r.object, model: r.model, content: r.choices[0].message.content,
        finish: r.choices[0].finish_reason, usage: r.usage, id: r.id });
      break;
    }
    case 'stream': {
      const s = await client.chat.completions.create({ model, messages: user('stream please'), stream: true,
        stream_options: { include_usage: true } });
      done(await collect(s));
      break;
    }
    case 'tools': {
      const r = await client.chat.completions.create({ model, messages: user('what is the weather in Paris?'),
        tools: [weatherTool], tool_choice: 'auto' });
      done({ finish: r.choices[0].finish_reason, message: r.choices[0].message, usage: r.usage });
      break;
    }
    case 'tools-stream': {
      const s = await client.chat.completions.create({ model, messages: user('what is the weather in Paris?'),
        tools: [weatherTool], stream: true });
      done(await collect(s));
      break;
    }
    case 'tool-result': {
      // the second half of a tool round trip: the client ran the tool and posts its result
      const first = await client.chat.completions.create({ model, messages: user('what is the weather in Paris?'),
        tools: [weatherTool] });
      const call = first.choices[0].message.tool_calls[0];
      const r = await client.chat.completions.create({ model, tools: [weatherTool], messages: [
        ...user('what is the weather in Paris?'),
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
      ] });
      done({ finish: r.choices[0].finish_reason, content: r.choices[0].message.content, callId: call.id });
      break;
    }
    case 'structured': {
      const r = await client.chat.completions.create({ model, messages: user('a city as JSON'),
        response_format: schema });
      done({ content: r.choices[0].message.content, parsed: JSON.parse(r.choices[0].message.content),
        finish: r.choices[0].finish_reason });
      break;
    }
    case 'structured-stream': {
      const s = await client.chat.completions.create({ model, messages: user('a city as JSON'),
        response_format: schema, stream: true });
      const out = await collect(s);
      done({ ...out, parsed: JSON.parse(out.text) });
      break;
    }
    case 'image': {
      const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: [
        { type: 'text', text: 'describe this image' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
      ] }] });
      done({ content: r.choices[0].message.content, finish: r.choices[0].finish_reason });
      break;
    }
    case 'error-stream': {
      // an error after the first byte: the SDK sees the stream's error event
      const s = await client.chat.completions.create({ model, messages: user('stream please'), stream: true });
      const out = await collect(s);
      done({ ...out, noError: true });
      break;
    }
    case 'models': {
      const ids = [];
      for await (const m of client.models.list()) ids.push({ id: m.id, object: m.object, owned_by: m.owned_by });
      done({ models: ids });
      break;
    }
    case 'embeddings':
    case 'embeddings-float': {
      const r = await client.embeddings.create({ model, input: ['first text', 'second text'],
        ...(which === 'embeddings-float' ? { encoding_format: 'float' } : {}) });
      done({ object: r.object, model: r.model, count: r.data.length, index: r.data.map((d) => d.index),
        dims: r.data.map((d) => d.embedding.length), isArray: Array.isArray(r.data[0].embedding),
        first: r.data[0].embedding.slice(0, 3), usage: r.usage });
      break;
    }
    default:
      done({ error: `unknown case ${which}` });
  }
} catch (e) {
  done({ apiError: true, status: e.status ?? null, code: e.code ?? null, type: e.type ?? null,
    message: e.message, name: e.constructor?.name, retryAfter: e.headers?.get?.('retry-after') ?? null });
}
