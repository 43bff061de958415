'use strict';
// Non-chat models: Workers AI media/embedding/summarisation models and the OpenAI-style
// image, audio and embedding endpoints.

const U = require('./util');
const { jsonReply, envelope } = require('./chat');
const CAT = require('./catalog');

function cfError(status, code, message) {
  return jsonReply(status, { result: null, success: false, errors: [{ code, message }], messages: [] });
}
function openaiError(status, message, type, code, param) {
  return jsonReply(status, { error: { message, type: type || 'invalid_request_error', param: param === undefined ? null : param, code: code === undefined ? null : code } });
}
function bytesReply(buf, contentType, headers) {
  return { status: 200, headers: Object.assign({ 'content-type': contentType }, headers || {}), body: buf };
}

function isJsonCt(ct) { return /json/i.test(ct || ''); }

function words(n, duration) {
  const list = ['transcribed', String(n), 'bytes'];
  const step = duration / list.length;
  return list.map((w, i) => ({ word: w, start: round(i * step), end: round((i + 1) * step) }));
}
function round(x) { return Math.round(x * 1000) / 1000; }
function vttFor(text, duration) {
  return 'WEBVTT\n\n00:00:00.000 --> ' + fmtTime(duration) + '\n' + text + '\n\n';
}
function fmtTime(sec) {
  const ms = Math.round(sec * 1000);
  const h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60, s = Math.floor(ms / 1000) % 60, r = ms % 1000;
  const p2 = (x) => String(x).padStart(2, '0');
  return p2(h) + ':' + p2(m) + ':' + p2(s) + '.' + String(r).padStart(3, '0');
}
function durationOf(n) { return round(Math.max(0.5, n / 32000)); }

const MODEL_DIMS = [
  [/bge-small/, 384], [/bge-base/, 768], [/bge-large/, 1024], [/bge-m3/, 1024],
  [/embeddinggemma/, 768], [/plamo-embedding/, 2048], [/qwen3-embedding/, 1024],
];
function waiDims(model) {
  for (const [re, d] of MODEL_DIMS) if (re.test(model)) return d;
  return 768;
}

function catalogTask(model) { const e = CAT.entry(model); return e ? e.task : null; }
function isEmbeddingModel(model) {
  return /^@cf\/baai\/bge-/.test(model) || /embedding/.test(model) || catalogTask(model) === 'text-embeddings';
}
function isImageModel(model) {
  return /stable-diffusion|dreamshaper|flux|lucid-origin|phoenix|sdxl/i.test(model) || catalogTask(model) === 'text-to-image';
}
function isWhisper(model) { return /^@cf\/openai\/whisper/.test(model); }
function isTTS(model) { return /^@cf\/deepgram\/aura/.test(model) || /melotts/.test(model); }

function isMediaModel(model) {
  return isEmbeddingModel(model) || isImageModel(model) || isWhisper(model) || isTTS(model) ||
    /^@cf\/deepgram\/nova/.test(model) || /bart-large-cnn/.test(model);
}

// A Workers AI catalog model (lib/catalog.js): refuse a body its input schema rejects, answer the forms the
// per-model handlers below do not know from the catalog's task and output form. Returns a Reply or null
// (the caller goes on to the per-model handlers and the chat handler).
function waiCatalog(ctx, model, e, input) {
  const ct = ctx.headers['content-type'] || '';
  const wrap = (result) => jsonReply(200, envelope(result));
  if (e.realtime) return cfError(400, 5006, CAT.problem(model, e, {}));
  if (e.input === 'multipart') {
    const parts = /multipart\/form-data/i.test(ct) ? ctx.multipart : null;
    let fields = null;
    if (parts) {
      fields = {};
      for (const p of parts) if (p.name) fields[p.name] = p.filename === null ? p.value : p.data;
    } else if (input && typeof input === 'object' && input.multipart) {
      fields = {}; // a universal entry cannot carry form data; the emulator reads what it was given
      Object.assign(fields, input.multipart.body && typeof input.multipart.body === 'object' ? input.multipart.body : {});
    }
    if (!fields) return cfError(400, 5006, CAT.problem(model, e, {}));
    if (typeof fields.prompt !== 'string' || fields.prompt === '') {
      return cfError(400, 5006, "Error: required properties at '/multipart/body' are 'prompt'");
    }
    for (const k of ['width', 'height', 'steps', 'seed', 'guidance']) {
      if (fields[k] !== undefined && !/^[0-9.]+$/.test(String(fields[k]))) {
        return cfError(400, 5006, "Error: Type mismatch of '/multipart/body/" + k + "', 'string' not in 'number'");
      }
    }
    return wrap({ image: U.makeJpeg().toString('base64') });
  }
  const binaryCt = /^(audio|video|image)\/|octet-stream/i.test(ct);
  const json = input !== undefined ? input : (binaryCt ? undefined : ctx.json);
  const obj = json && typeof json === 'object' && !Array.isArray(json) ? json : null;
  if (obj) {
    // text generation: the native input takes only its typed fields (no stream_options where they lack it)
    const strict = e.task === 'text-generation' && !e.fields.input;
    if (!(e.task === 'text-generation' && Array.isArray(obj.requests))) {
      const p = CAT.problem(model, e, obj, { strict });
      if (p) return cfError(400, 5006, p);
    }
  } else if (e.input === 'json' || e.input === 'base64' || e.task === 'text-generation') {
    if (ctx.body.length && json === undefined && !binaryCt) return null; // bad JSON: the caller's answer
  }
  if (e.task === 'speech-recognition' && !/^@cf\/(openai\/whisper|deepgram\/nova)/.test(model)) {
    // a model without its own handler below: {text, duration} from the bytes it got
    let n = 0;
    if (obj && obj.audio && typeof obj.audio === 'object' && typeof obj.audio.body === 'string') n = Buffer.from(obj.audio.body, 'base64').length;
    else if (obj && typeof obj.audio === 'string') n = Buffer.from(obj.audio, 'base64').length;
    else if (!obj) n = ctx.body.length;
    if (!n) return cfError(400, 5006, "Error: required properties at '/' are 'audio'");
    return wrap({ text: 'transcribed ' + n + ' bytes', duration: durationOf(n) });
  }
  return null;
}

// Workers AI /ai/run/<model> for non-text-generation models. Returns a Reply or null.
function waiMedia(ctx, model, input) {
  const ct = ctx.headers['content-type'] || '';
  const binaryCt = /^(audio|video|image)\/|octet-stream/i.test(ct);
  const json = input !== undefined ? input : (binaryCt ? undefined : ctx.json);
  const obj = json && typeof json === 'object' && !Array.isArray(json) ? json : null;
  const wrap = (result) => jsonReply(200, envelope(result));

  if (isImageModel(model)) {
    if (!obj || typeof obj.prompt !== 'string' || obj.prompt === '') {
      return cfError(400, 5006, "Error: required properties at '/' are 'prompt'");
    }
    if (/flux-1-schnell/.test(model)) {
      const allowed = ['prompt', 'steps', 'seed'];
      const extra = Object.keys(obj).filter((k) => allowed.indexOf(k) < 0);
      if (extra.length) {
        return cfError(400, 5006, "Error: 'additionalProperties' not allowed: '/" + extra[0] + "' is not a valid property");
      }
      if (obj.steps !== undefined && (typeof obj.steps !== 'number' || obj.steps > 8)) {
        return cfError(400, 5006, "Error: Type mismatch of '/steps': must be <= 8");
      }
      return wrap({ image: U.makeJpeg().toString('base64') });
    }
    if (/flux/.test(model) || /lucid-origin|phoenix/.test(model)) {
      return wrap({ image: U.makeJpeg().toString('base64') });
    }
    const w = Math.max(1, Math.min(64, Math.round((Number(obj.width) || 1024) / 128)));
    const h = Math.max(1, Math.min(64, Math.round((Number(obj.height) || 1024) / 128)));
    return bytesReply(U.makePng(w, h), 'image/png');
  }

  if (model === '@cf/openai/whisper-large-v3-turbo') {
    if (!obj || typeof obj.audio !== 'string') {
      return cfError(400, 5006, "Error: Type mismatch of '/audio', 'array' not in 'string'; required properties at '/' are 'audio'");
    }
    const n = Buffer.from(obj.audio, 'base64').length;
    const text = 'transcribed ' + n + ' bytes';
    const dur = durationOf(n);
    const ws = words(n, dur);
    return wrap({
      text,
      word_count: ws.length,
      transcription_info: { language: obj.language || 'en', language_probability: 0.99, duration: dur, duration_after_vad: dur },
      segments: [{ start: 0, end: dur, text, temperature: 0, avg_logprob: -0.1, compression_ratio: 1.0, no_speech_prob: 0.01, words: ws }],
      vtt: vttFor(text, dur),
    });
  }

  if (isWhisper(model)) {
    let n;
    if (obj || isJsonCt(ct)) {
      if (!obj || !Array.isArray(obj.audio)) {
        return cfError(400, 5006, "Error: required properties at '/' are 'audio'");
      }
      n = obj.audio.length;
    } else {
      n = ctx.body.length;
      if (n === 0) return cfError(400, 3003, 'Request is missing headers or body');
    }
    const text = 'transcribed ' + n + ' bytes';
    const dur = durationOf(n);
    const ws = words(n, dur);
    return wrap({ text, word_count: ws.length, words: ws, vtt: vttFor(text, dur) });
  }

  if (/^@cf\/deepgram\/nova/.test(model)) {
    let n;
    if (obj || isJsonCt(ct)) {
      const a = obj && obj.audio;
      if (!a || typeof a !== 'object' || typeof a.body !== 'string' || typeof a.contentType !== 'string') {
        return cfError(400, 5006, "Error: required properties at '/audio' are 'body,contentType'");
      }
      n = Buffer.from(a.body, 'base64').length;
    } else {
      if (!/^audio\/|^video\/|application\/octet-stream/i.test(ct)) {
        return cfError(400, 5006, "Error: required properties at '/audio' are 'body,contentType'");
      }
      n = ctx.body.length;
    }
    const transcript = 'transcribed ' + n + ' bytes';
    const dur = durationOf(n);
    const ws = words(n, dur).map((w) => Object.assign({}, w, { confidence: 0.99, punctuated_word: w.word }));
    const alt = { transcript, confidence: 0.99, words: ws };
    const out = {
      results: { channels: [{ alternatives: [alt] }] },
      metadata: { duration: dur, channels: 1, request_id: U.uuid(), models: ['nova-3'] },
    };
    const q = ctx.query || {};
    if (q.detect_language === 'true') out.results.channels[0].detected_language = 'en';
    if (q.utterances === 'true') out.results.utterances = [{ start: 0, end: dur, transcript, confidence: 0.99, channel: 0, words: ws }];
    return wrap(out);
  }

  if (/^@cf\/deepgram\/aura/.test(model)) {
    if (!obj || (typeof obj.text !== 'string' || obj.text === '')) {
      return cfError(400, 5006, "Error: required properties at '/' are 'text'");
    }
    const enc = obj.encoding || 'mp3';
    let container = obj.container;
    if (!container) container = enc === 'linear16' ? 'wav' : (enc === 'opus' ? 'ogg' : 'none');
    const a = U.makeAudio(enc, container, obj.sample_rate);
    return bytesReply(a.data, a.contentType);
  }

  if (/melotts/.test(model)) {
    if (!obj || typeof obj.prompt !== 'string' || obj.prompt === '') {
      return cfError(400, 5006, "Error: required properties at '/' are 'prompt'");
    }
    return wrap({ audio: U.makeMp3().toString('base64') });
  }

  if (/bart-large-cnn/.test(model)) {
    if (!obj || typeof obj.input_text !== 'string' || obj.input_text === '') {
      return cfError(400, 5006, "Error: required properties at '/' are 'input_text'");
    }
    const ws = obj.input_text.match(/\S+/g) || [];
    const limit = Math.max(1, Math.min(10, Number(obj.max_length) || 10));
    return wrap({ summary: ws.slice(0, limit).join(' ') });
  }

  if (isEmbeddingModel(model)) {
    if (!obj) return cfError(400, 5006, "Error: required properties at '/' are 'text'");
    if (/bge-m3/.test(model) && obj.query !== undefined) {
      const contexts = Array.isArray(obj.contexts) ? obj.contexts : [];
      return wrap({ response: contexts.map((c, i) => ({ id: i, score: round(1 / (i + 1.25)) })) });
    }
    if (obj.text === undefined) return cfError(400, 5006, "Error: required properties at '/' are 'text'");
    const texts = Array.isArray(obj.text) ? obj.text : [obj.text];
    const dims = waiDims(model);
    return wrap({ shape: [texts.length, dims], data: texts.map((t) => U.embedding(t, dims)), pooling: obj.pooling || 'mean' });
  }
  return null;
}

// OpenAI embeddings object (also Workers AI /ai/v1/embeddings and Gateway openai/embeddings).
function openaiEmbeddings(ctx, defaultDims) {
  const body = ctx.json;
  if (!body || typeof body !== 'object' || body.input === undefined) {
    return openaiError(400, "'input' is a required property", 'invalid_request_error', null, 'input');
  }
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const model = body.model || 'text-embedding-3-small';
  let dims = Number(body.dimensions) || 0;
  if (!dims) {
    if (typeof defaultDims === 'function') dims = defaultDims(model);
    else dims = /3-large/.test(model) ? 3072 : (defaultDims || 1536);
  }
  let tokens = 0;
  const dataArr = inputs.map((t, i) => {
    tokens += U.countWords(typeof t === 'string' ? t : JSON.stringify(t));
    let emb = U.embedding(typeof t === 'string' ? t : JSON.stringify(t), dims);
    if (body.encoding_format === 'base64') {
      const b = Buffer.alloc(dims * 4);
      emb.forEach((v, k) => b.writeFloatLE(v, k * 4));
      emb = b.toString('base64');
    }
    return { object: 'embedding', index: i, embedding: emb };
  });
  return jsonReply(200, { object: 'list', data: dataArr, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

// OpenAI-compatible image generation (OpenAI, xAI, OpenRouter).
function openaiImages(ctx, provider, baseUrl) {
  const body = ctx.json;
  if (!body || typeof body !== 'object' || typeof body.prompt !== 'string' || body.prompt === '') {
    return openaiError(400, "Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt');
  }
  const n = Math.max(1, Math.min(10, Number(body.n) || 1));
  const jpeg = provider === 'grok' || body.output_format === 'jpeg';
  const bytes = jpeg ? U.makeJpeg() : U.makePng(8, 8);
  const useUrl = body.response_format === 'url' && !/gpt-image/.test(body.model || '');
  const items = [];
  for (let i = 0; i < n; i++) {
    const item = useUrl ? { url: baseUrl + '/__files/image.' + (jpeg ? 'jpg' : 'png') } : { b64_json: bytes.toString('base64') };
    if (/dall-e-3|grok/.test(body.model || provider)) item.revised_prompt = body.prompt;
    items.push(item);
  }
  const out = { created: Math.floor(Date.now() / 1000), data: items };
  if (/gpt-image/.test(body.model || '')) {
    const it = U.countWords(body.prompt);
    out.usage = { input_tokens: it, output_tokens: 272 * n, total_tokens: it + 272 * n, input_tokens_details: { text_tokens: it, image_tokens: 0 } };
  }
  return jsonReply(200, out);
}

function openaiTranscription(ctx) {
  const parts = ctx.multipart;
  if (!parts) {
    return openaiError(400, 'Could not parse multipart form', 'invalid_request_error', null, null);
  }
  const field = (name) => { const p = parts.find((x) => x.name === name && x.filename === null); return p ? p.value : undefined; };
  const file = parts.find((x) => x.name === 'file' && (x.filename !== null || x.content_type));
  if (!file) return openaiError(400, "Missing required parameter: 'file'.", 'invalid_request_error', 'missing_required_parameter', 'file');
  if (!field('model')) return openaiError(400, "Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model');
  const n = file.size;
  const text = 'transcribed ' + n + ' bytes';
  const dur = durationOf(n);
  const fmt = field('response_format') || 'json';
  const lang = field('language');
  const langName = { en: 'english', fr: 'french', de: 'german', es: 'spanish', it: 'italian', pt: 'portuguese', ja: 'japanese' };
  if (fmt === 'text') return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text + '\n' };
  if (fmt === 'srt') return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '1\n00:00:00,000 --> ' + fmtTime(dur).replace('.', ',') + '\n' + text + '\n\n' };
  if (fmt === 'vtt') return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: vttFor(text, dur) };
  if (fmt === 'verbose_json') {
    return jsonReply(200, {
      task: 'transcribe', language: lang ? (langName[lang] || lang) : 'english', duration: dur, text,
      segments: [{ id: 0, seek: 0, start: 0, end: dur, text, tokens: [1, 2, 3], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0.01 }],
      words: words(n, dur),
    });
  }
  return jsonReply(200, { text, usage: { type: 'duration', seconds: Math.ceil(dur) } });
}

function openaiSpeech(ctx) {
  const body = ctx.json;
  if (!body || typeof body !== 'object' || typeof body.input !== 'string' || body.input === '') {
    return openaiError(400, "Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input');
  }
  const fmt = body.response_format || 'mp3';
  switch (fmt) {
    case 'opus': return bytesReply(U.makeOgg(), 'audio/opus');
    case 'aac': return bytesReply(U.makeAac(), 'audio/aac');
    case 'flac': return bytesReply(U.makeFlac(), 'audio/flac');
    case 'wav': return bytesReply(U.makeWav(24000, 0.25), 'audio/wav');
    case 'pcm': return bytesReply(U.pcm16(24000, 0.25), 'audio/pcm');
    default: return bytesReply(U.makeMp3(), 'audio/mpeg');
  }
}

module.exports = {
  waiMedia, waiCatalog, isMediaModel, isEmbeddingModel, waiDims, openaiEmbeddings, openaiImages,
  openaiTranscription, openaiSpeech, openaiError, cfError, bytesReply,
};
