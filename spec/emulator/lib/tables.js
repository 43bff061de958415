'use strict';
// The route tables: one per provider / family of endpoints. lib/router.js matches a
// request against them (in this order; the first table whose `mount` matches owns the
// request) and lib/dispatch.js runs the route that matched. README.md, "Route tables",
// describes the format; `node spec/emulator/selfcheck.js` checks it.
//
// Adding an endpoint = adding one { method, path, handler } entry to its table.
// Every route answers any method ('*') unless it says otherwise: the real services
// differ, but the emulator has always been lenient and the specs rely on nothing else.

const H = require('./handlers');
const T = require('./testroutes');
const K = require('./control');
const U = require('./util');
const { compileTables } = require('./router');

const ANY = '*';
// OpenAI-compatible gateway paths accept these spellings of the version prefix.
const OPENAI_PREFIXES = ['api/v1/', 'v1/', 'openai/v1/'];
// Gemini model methods: <version>/models/<model>:<method>
const GEMINI = '{version:v1beta|v1|v1alpha}/models/{model:[^:/]+}:';

// Gateway provider table: mount /v1/:acct/:gw/<provider>[/...], gateway auth and headers.
function gateway(provider, t) {
  return Object.assign({ name: 'gateway/' + provider, mount: '/v1/{acct}/{gw}/' + provider + '{/rest*}', gateway: true }, t);
}

const TABLES = [
  // ------------------------------------------------------------ control API (not recorded)
  {
    name: 'control',
    kind: 'control',
    mount: '/__emulator/{rest*}',
    routes: [
      { method: 'GET', path: 'requests', handler: K.requests },
      { method: ANY, path: 'reset', handler: K.reset },
      { method: ANY, path: 'next', handler: K.next },
      { method: ANY, path: 'scenarios', handler: K.scenarios },
      { method: ANY, path: 'health', handler: K.health },
      { method: ANY, path: 'shutdown', handler: K.shutdown },
      { method: ANY, path: '{ep*}', handler: K.unknown },
    ],
  },

  // ------------------------------------------------------------ generic HTTP test endpoints
  {
    name: 'test',
    kind: 'socket',
    mount: '/__test/{rest*}',
    routes: [
      { method: ANY, path: 'echo', handler: T.echo },
      { method: ANY, path: 'conn', handler: T.conn },
      { method: ANY, path: 'bytes', handler: T.bytes },
      { method: ANY, path: 'drip', handler: T.drip },
      { method: ANY, path: 'stall', handler: T.stall },
      { method: ANY, path: 'drop', handler: T.drop },
      { method: ANY, path: 'status/{code:[0-9]{3}}', handler: T.status },
      { method: ANY, path: 'head_delay', handler: T.headDelay },
      { method: ANY, path: 'sse', handler: T.sse },
    ],
  },

  // ------------------------------------------------------------ assets behind `url` answers
  {
    name: 'files',
    kind: 'direct',
    mount: '/__files/{rest*}',
    routes: [
      { method: ANY, path: 'image.png', handler: H.file('image/png', () => U.makePng(8, 8)) },
      { method: ANY, path: 'image.jpg', handler: H.file('image/jpeg', () => U.makeJpeg()) },
      { method: ANY, path: 'audio.mp3', handler: H.file('audio/mpeg', () => U.makeMp3()) },
      { method: ANY, path: 'audio.wav', handler: H.file('audio/wav', () => U.makeWav(16000, 0.5)) },
    ],
  },

  // ------------------------------------------------------------ Workers AI REST
  {
    name: 'workers-ai',
    mount: '/client/v4/accounts/{acct}/ai/{rest*}',
    shape: 'cloudflare',
    auth: 'bearer',
    workersAi: true,
    routes: [
      { method: ANY, path: 'run/{model*}', handler: H.workersAiModel },
      { method: ANY, path: 'run', handler: H.workersAiRunEnvelope },
      { method: 'GET', path: 'models/search', handler: H.workersAiModelSearch },
      { method: ANY, path: 'v1/chat/completions', handler: H.workersAiChatCompletions },
      { method: ANY, path: 'v1/embeddings', handler: H.workersAiEmbeddings },
      { method: ANY, path: 'v1/messages', handler: H.anthropicMessagesLax, shape: 'anthropic', workersAi: false },
    ],
  },

  // ------------------------------------------------------------ AI Gateway, per provider
  gateway('workers-ai', {
    shape: 'cloudflare',
    auth: 'bearer',
    workersAi: true,
    routes: [
      { method: ANY, path: 'v1/chat/completions', handler: H.workersAiChatCompletions },
      { method: ANY, path: 'v1/embeddings', handler: H.workersAiEmbeddings },
      { method: ANY, path: 'run/{model*}', handler: H.workersAiModel },
      { method: ANY, path: '{model+}', handler: H.workersAiModel },
    ],
  }),
  gateway('openai', {
    shape: 'openai',
    strip: OPENAI_PREFIXES,
    routes: [
      { method: ANY, path: 'chat/completions', handler: H.openaiChat('openai') },
      { method: ANY, path: 'images/generations', handler: H.openaiImages('openai') },
      { method: ANY, path: 'embeddings', handler: H.openaiEmbeddings },
      { method: ANY, path: 'audio/transcriptions', handler: H.openaiTranscription },
      { method: ANY, path: 'audio/translations', handler: H.openaiTranscription },
      { method: ANY, path: 'audio/speech', handler: H.openaiSpeech },
      { method: ANY, path: '{ep*}', handler: H.openaiUnknownUrl },
    ],
  }),
  gateway('anthropic', {
    shape: 'anthropic',
    strip: ['v1/'],
    routes: [
      { method: ANY, path: 'messages', handler: H.anthropicMessages },
      { method: ANY, path: '{ep*}', handler: H.anthropicNotFound },
    ],
  }),
  gateway('google-ai-studio', {
    shape: 'gemini',
    routes: [
      { method: ANY, path: GEMINI + 'generateContent', handler: H.geminiGenerateContent },
      { method: ANY, path: GEMINI + 'streamGenerateContent', handler: H.geminiStreamGenerateContent },
      { method: ANY, path: GEMINI + 'embedContent', handler: H.geminiEmbedContent },
      { method: ANY, path: GEMINI + 'batchEmbedContents', handler: H.geminiBatchEmbedContents },
      { method: ANY, path: GEMINI + 'countTokens', handler: H.geminiCountTokens },
      { method: ANY, path: GEMINI + 'predict', handler: H.geminiPredict },
      { method: ANY, path: GEMINI + '{method:[A-Za-z]+}', handler: H.geminiUnknownMethod },
      { method: ANY, path: '{ep*}', handler: H.geminiNotFound },
    ],
  }),
  gateway('grok', {
    shape: 'openai',
    strip: OPENAI_PREFIXES,
    routes: [
      { method: ANY, path: 'chat/completions', handler: H.openaiChat('grok') },
      { method: ANY, path: 'images/generations', handler: H.openaiImages('grok') },
      { method: ANY, path: 'embeddings', handler: H.openaiEmbeddings },
      { method: ANY, path: 'messages', handler: H.anthropicMessagesLax },
      { method: ANY, path: '{ep*}', handler: H.openaiUnknownUrl },
    ],
  }),
  gateway('openrouter', {
    shape: 'openai',
    strip: OPENAI_PREFIXES,
    routes: [
      { method: ANY, path: 'chat/completions', handler: H.openaiChat('openrouter') },
      { method: ANY, path: 'images/generations', handler: H.openaiImages('openrouter') },
      { method: ANY, path: 'embeddings', handler: H.openaiEmbeddings },
      { method: ANY, path: '{ep*}', handler: H.openaiUnknownUrl },
    ],
  }),
  // OpenAI-compatible endpoint with model "provider/model".
  gateway('compat', {
    shape: 'openai',
    strip: OPENAI_PREFIXES,
    routes: [
      { method: ANY, path: 'chat/completions', handler: H.openaiChat('compat') },
      { method: ANY, path: 'embeddings', handler: H.openaiEmbeddings },
      { method: ANY, path: '{ep*}', handler: H.openaiUnknownUrl },
    ],
  }),
  ...['groq', 'mistral', 'deepseek'].map((p) => gateway(p, {
    shape: 'openai',
    strip: OPENAI_PREFIXES,
    routes: [
      { method: ANY, path: 'chat/completions', handler: H.openaiChat(p) },
      { method: ANY, path: 'images/generations', handler: H.openaiImages(p) },
      { method: ANY, path: 'embeddings', handler: H.openaiEmbeddings },
      { method: ANY, path: '{ep*}', handler: H.openaiUnknownUrl },
    ],
  })),
  // Any other provider: gateway auth and headers, then "no route".
  {
    name: 'gateway/other',
    mount: '/v1/{acct}/{gw}/{provider}{/rest*}',
    shape: 'gateway',
    gateway: true,
    routes: [
      { method: ANY, path: '{ep*}', handler: H.gatewayNoRoute },
    ],
  },

  // ------------------------------------------------------------ AI Gateway universal endpoint
  // After the provider tables: its mount also covers /v1/:acct/:gw/... paths they left.
  {
    name: 'gateway/universal',
    kind: 'direct',
    mount: '/v1/{acct}/{gw}{/rest*}',
    routes: [
      { method: 'POST', path: '', handler: H.universal },
    ],
  },
];

module.exports = { TABLES: compileTables(TABLES), ANY, OPENAI_PREFIXES };
