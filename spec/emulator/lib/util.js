'use strict';
// Small helpers shared by the emulator: ids, text splitting, schema examples,
// multipart parsing and tiny-but-valid binary media (PNG, JPEG, WAV, MP3, OGG, FLAC).
// Node standard library only.

const crypto = require('crypto');
const zlib = require('zlib');

let counter = 0;
function nextId() { counter += 1; return counter; }

function randomAlnum(n) {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[bytes[i] % chars.length];
  return s;
}

// ULID-like: 10 chars of time + 16 random chars, Crockford base32.
function ulid() {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) { time = alphabet[t % 32] + time; t = Math.floor(t / 32); }
  const bytes = crypto.randomBytes(16);
  let rnd = '';
  for (let i = 0; i < 16; i++) rnd += alphabet[bytes[i] % 32];
  return time + rnd;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

// Split text into word-sized deltas whose concatenation is exactly the text.
function splitWords(text) {
  if (text === undefined || text === null) return [];
  text = String(text);
  if (text === '') return [];
  const tokens = text.match(/\s*\S+/g) || [];
  const joined = tokens.join('');
  const rest = text.slice(joined.length);
  if (rest.length > 0) {
    if (tokens.length > 0) tokens[tokens.length - 1] += rest; else tokens.push(rest);
  }
  return tokens;
}

function countWords(text) {
  if (!text) return 0;
  const m = String(text).match(/\S+/g);
  return m ? m.length : 0;
}

// Split a string into `parts` pieces (by code point, never inside a surrogate pair).
function splitPieces(str, parts) {
  const cps = Array.from(String(str));
  if (cps.length === 0) return [''];
  parts = Math.max(1, Math.min(parts || 3, cps.length));
  const size = Math.ceil(cps.length / parts);
  const out = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

function lowerType(t) {
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => String(x).toLowerCase() !== 'null');
    return nonNull.length ? String(nonNull[0]).toLowerCase() : 'null';
  }
  return t ? String(t).toLowerCase() : undefined;
}

// Example value for structured output: string "example", number/integer 42,
// boolean true, array of one item, object recursing over all properties, enum first value.
function schemaExample(schema, depth) {
  depth = depth || 0;
  if (!schema || typeof schema !== 'object' || depth > 12) return 'example';
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const alt = schema.anyOf || schema.oneOf || schema.allOf;
  if (Array.isArray(alt) && alt.length) {
    const firstNonNull = alt.find((s) => !(s && lowerType(s.type) === 'null')) || alt[0];
    return schemaExample(firstNonNull, depth + 1);
  }
  let t = lowerType(schema.type);
  if (!t) t = schema.properties ? 'object' : (schema.items ? 'array' : 'string');
  switch (t) {
    case 'string': return 'example';
    case 'number': return 42;
    case 'integer': return 42;
    case 'boolean': return true;
    case 'null': return null;
    case 'array': return [schemaExample(schema.items || { type: 'string' }, depth + 1)];
    case 'object': {
      const o = {};
      const props = schema.properties || {};
      for (const k of Object.keys(props)) o[k] = schemaExample(props[k], depth + 1);
      return o;
    }
    default: return 'example';
  }
}

// Tool-call arguments: required properties only; string "Paris", number 21, boolean true.
function toolArgsExample(schema, depth) {
  depth = depth || 0;
  if (!schema || typeof schema !== 'object' || depth > 12) return {};
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const alt = schema.anyOf || schema.oneOf;
  if (Array.isArray(alt) && alt.length) return toolArgsExample(alt[0], depth + 1);
  let t = lowerType(schema.type);
  if (!t) t = schema.properties ? 'object' : 'string';
  switch (t) {
    case 'string': return 'Paris';
    case 'number': return 21;
    case 'integer': return 21;
    case 'boolean': return true;
    case 'array': return [toolArgsExample(schema.items || { type: 'string' }, depth + 1)];
    case 'object': {
      const o = {};
      const props = schema.properties || {};
      const req = Array.isArray(schema.required) ? schema.required : [];
      for (const k of req) o[k] = toolArgsExample(props[k] || { type: 'string' }, depth + 1);
      return o;
    }
    default: return 'Paris';
  }
}

// Deterministic embedding vector for a text.
function embedding(text, dims) {
  let h = 2166136261;
  const s = String(text);
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
  const v = new Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    const x = Math.sin((h % 100000) * 0.001 + i * 12.9898) * 43758.5453;
    v[i] = x - Math.floor(x) - 0.5;
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dims; i++) v[i] = Math.round((v[i] / norm) * 1e6) / 1e6;
  return v;
}

// ---------------------------------------------------------------- multipart
function parseContentType(ct) {
  const out = { type: '', params: {} };
  if (!ct) return out;
  const parts = String(ct).split(';');
  out.type = parts[0].trim().toLowerCase();
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    out.params[k] = v;
  }
  return out;
}

// Returns array of {name, filename, content_type, size, value, data_base64, data(Buffer)} or null.
function parseMultipart(body, contentType) {
  const ct = parseContentType(contentType);
  if (ct.type !== 'multipart/form-data' || !ct.params.boundary) return null;
  const boundary = Buffer.from('--' + ct.params.boundary);
  const parts = [];
  let pos = body.indexOf(boundary);
  if (pos < 0) return parts;
  for (;;) {
    pos += boundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing --
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    let headEnd = body.indexOf('\r\n\r\n', pos);
    let sepLen = 4;
    if (headEnd < 0) { headEnd = body.indexOf('\n\n', pos); sepLen = 2; }
    if (headEnd < 0) break;
    const headText = body.slice(pos, headEnd).toString('utf8');
    const dataStart = headEnd + sepLen;
    const next = body.indexOf(boundary, dataStart);
    if (next < 0) break;
    let dataEnd = next;
    if (body[dataEnd - 2] === 0x0d && body[dataEnd - 1] === 0x0a) dataEnd -= 2;
    else if (body[dataEnd - 1] === 0x0a) dataEnd -= 1;
    const data = body.slice(dataStart, dataEnd);
    const part = { name: null, filename: null, content_type: null, size: data.length };
    for (const line of headText.split(/\r?\n/)) {
      const c = line.indexOf(':');
      if (c < 0) continue;
      const hn = line.slice(0, c).trim().toLowerCase();
      const hv = line.slice(c + 1).trim();
      if (hn === 'content-disposition') {
        const m1 = /(?:^|;)\s*name="([^"]*)"/i.exec(hv) || /(?:^|;)\s*name=([^;]*)/i.exec(hv);
        if (m1) part.name = m1[1].trim();
        const m2 = /filename="([^"]*)"/i.exec(hv) || /filename=([^;]*)/i.exec(hv);
        if (m2) part.filename = m2[1].trim();
      } else if (hn === 'content-type') {
        part.content_type = hv;
      }
    }
    if (part.filename === null) part.value = data.toString('utf8');
    part.data_base64 = data.toString('base64');
    Object.defineProperty(part, 'data', { value: data, enumerable: false });
    parts.push(part);
    pos = next;
  }
  return parts;
}

// ---------------------------------------------------------------- media
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (0xedb88320 ^ (c >>> 1)) : (c >>> 1);
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

// A valid w x h RGB PNG (gradient).
function makePng(w, h) {
  w = w || 8; h = h || 8;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255 / Math.max(1, w - 1)) | 0; raw[o + 1] = (y * 255 / Math.max(1, h - 1)) | 0; raw[o + 2] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// A valid baseline 8x8 mid-grey JPEG: one block, DC diff 0 and EOB, with minimal
// one-symbol Huffman tables.
function makeJpeg() {
  const dht = (cls) => [0xff, 0xc4, 0x00, 0x14, cls, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00];
  const dqt = [0xff, 0xdb, 0x00, 0x43, 0x00];
  for (let i = 0; i < 64; i++) dqt.push(1);
  return Buffer.from([].concat(
    [0xff, 0xd8],
    [0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00],
    dqt,
    [0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00],
    dht(0x00), dht(0x10),
    [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00],
    [0x3f],
    [0xff, 0xd9]));
}

function pcm16(sampleRate, seconds, freq) {
  const n = Math.max(1, Math.round(sampleRate * seconds));
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    b.writeInt16LE(Math.round(Math.sin(2 * Math.PI * (freq || 440) * i / sampleRate) * 8000), i * 2);
  }
  return b;
}

function wavHeader(dataLen, sampleRate, bitsPerSample, format) {
  const h = Buffer.alloc(44);
  const channels = 1;
  const byteRate = sampleRate * channels * bitsPerSample / 8;
  h.write('RIFF', 0, 'ascii'); h.writeUInt32LE(36 + dataLen, 4); h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii'); h.writeUInt32LE(16, 16); h.writeUInt16LE(format || 1, 20);
  h.writeUInt16LE(channels, 22); h.writeUInt32LE(sampleRate, 24); h.writeUInt32LE(byteRate, 28);
  h.writeUInt16LE(channels * bitsPerSample / 8, 32); h.writeUInt16LE(bitsPerSample, 34);
  h.write('data', 36, 'ascii'); h.writeUInt32LE(dataLen, 40);
  return h;
}

function makeWav(sampleRate, seconds) {
  sampleRate = sampleRate || 24000;
  const data = pcm16(sampleRate, seconds || 0.25);
  return Buffer.concat([wavHeader(data.length, sampleRate, 16, 1), data]);
}

// ID3v2 header + a few silent MPEG-1 Layer III frames (128 kbps, 44.1 kHz).
function makeMp3(frames) {
  frames = frames || 8;
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frameLen = 417; // 144 * 128000 / 44100
  const out = [id3];
  for (let i = 0; i < frames; i++) {
    const f = Buffer.alloc(frameLen);
    f[0] = 0xff; f[1] = 0xfb; f[2] = 0x90; f[3] = 0x64;
    out.push(f);
  }
  return Buffer.concat(out);
}

// Ogg CRC (poly 0x04c11db7, not reflected).
const OGG_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = (r & 0x80000000) ? ((r << 1) ^ 0x04c11db7) : (r << 1);
    t[i] = r >>> 0;
  }
  return t;
})();
function oggCrc(buf) {
  let c = 0;
  for (let i = 0; i < buf.length; i++) c = ((c << 8) ^ OGG_TABLE[((c >>> 24) ^ buf[i]) & 0xff]) >>> 0;
  return c >>> 0;
}
function oggPage(packet, seq, headerType, granule) {
  const segs = [];
  let left = packet.length;
  while (left >= 255) { segs.push(255); left -= 255; }
  segs.push(left);
  const h = Buffer.alloc(27 + segs.length);
  h.write('OggS', 0, 'ascii'); h[4] = 0; h[5] = headerType;
  h.writeUInt32LE(granule || 0, 6); h.writeUInt32LE(0, 10);
  h.writeUInt32LE(0x454d5521, 14); h.writeUInt32LE(seq, 18); h.writeUInt32LE(0, 22);
  h[26] = segs.length;
  for (let i = 0; i < segs.length; i++) h[27 + i] = segs[i];
  const page = Buffer.concat([h, packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}
// Ogg/Opus container with the two header packets and one silent packet.
function makeOgg() {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii'); head[8] = 1; head[9] = 1; head.writeUInt16LE(312, 10);
  head.writeUInt32LE(48000, 12); head.writeInt16LE(0, 16); head[18] = 0;
  const vendor = Buffer.from('emulator', 'ascii');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'ascii'); tags.writeUInt32LE(vendor.length, 8); vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length);
  const silent = Buffer.from([0xf8, 0xff, 0xfe]); // CELT 20 ms silence frame
  return Buffer.concat([oggPage(head, 0, 0x02, 0), oggPage(tags, 1, 0x00, 0), oggPage(silent, 2, 0x04, 960)]);
}

function makeFlac() {
  // "fLaC" + last STREAMINFO block (34 bytes); no frames.
  const si = Buffer.alloc(34);
  si.writeUInt16BE(4096, 0); si.writeUInt16BE(4096, 2);
  // sample rate 24000 (20 bits), channels-1 = 0 (3 bits), bps-1 = 15 (5 bits), total samples 0 (36 bits)
  const sr = 24000;
  si[10] = (sr >> 12) & 0xff; si[11] = (sr >> 4) & 0xff; si[12] = ((sr & 0x0f) << 4) | (0 << 1) | (15 >> 4);
  si[13] = (15 & 0x0f) << 4;
  return Buffer.concat([Buffer.from('fLaC', 'ascii'), Buffer.from([0x80, 0x00, 0x00, 0x22]), si]);
}

function makeAac(frames) {
  frames = frames || 4;
  const out = [];
  for (let i = 0; i < frames; i++) {
    const len = 7 + 2;
    const f = Buffer.alloc(len);
    // ADTS: sync FFF, MPEG-4, layer 0, no CRC; AAC LC, 24 kHz (idx 6), mono
    f[0] = 0xff; f[1] = 0xf1; f[2] = (1 << 6) | (6 << 2) | 0; f[3] = (1 << 6) | ((len >> 11) & 0x03);
    f[4] = (len >> 3) & 0xff; f[5] = ((len & 0x07) << 5) | 0x1f; f[6] = 0xfc;
    out.push(f);
  }
  return Buffer.concat(out);
}

function g711(n) { return Buffer.alloc(n || 2400, 0xff); }

// Audio for an (encoding, container) pair -> {data, contentType}.
function makeAudio(encoding, container, sampleRate) {
  encoding = (encoding || 'mp3').toLowerCase();
  container = container ? String(container).toLowerCase() : undefined;
  sampleRate = Number(sampleRate) || 24000;
  switch (encoding) {
    case 'linear16':
    case 'pcm':
    case 'wav':
      if (container === 'none' || encoding === 'pcm') return { data: pcm16(sampleRate, 0.25), contentType: 'audio/pcm' };
      return { data: makeWav(sampleRate, 0.25), contentType: 'audio/wav' };
    case 'mulaw':
    case 'alaw': {
      const d = g711(Math.round(sampleRate / 10));
      if (container === 'wav') {
        return { data: Buffer.concat([wavHeader(d.length, sampleRate, 8, encoding === 'mulaw' ? 7 : 6), d]), contentType: 'audio/wav' };
      }
      return { data: d, contentType: encoding === 'mulaw' ? 'audio/basic' : 'audio/x-alaw-basic' };
    }
    case 'opus':
    case 'ogg':
      return { data: makeOgg(), contentType: 'audio/ogg' };
    case 'flac': return { data: makeFlac(), contentType: 'audio/flac' };
    case 'aac': return { data: makeAac(), contentType: 'audio/aac' };
    default: return { data: makeMp3(), contentType: 'audio/mpeg' };
  }
}

// ---------------------------------------------------------------- request helpers
// Query string -> object; repeated keys become arrays.
function parseQuery(search) {
  const out = {};
  if (!search) return out;
  const sp = new URLSearchParams(search);
  for (const [k, v] of sp) {
    if (Object.prototype.hasOwnProperty.call(out, k)) {
      if (Array.isArray(out[k])) out[k].push(v); else out[k] = [out[k], v];
    } else out[k] = v;
  }
  return out;
}

// The body parsed as JSON when it looks like JSON, else undefined.
function tryJson(buf) {
  if (!buf || buf.length === 0) return undefined;
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  if (i >= buf.length) return undefined;
  const c = buf[i];
  // Only objects/arrays/strings/literals that look like JSON.
  if (!(c === 0x7b || c === 0x5b || c === 0x22 || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e)) return undefined;
  try { return JSON.parse(buf.toString('utf8')); } catch (e) { return undefined; }
}

module.exports = {
  parseQuery, tryJson,
  nextId, randomAlnum, ulid, uuid, splitWords, countWords, splitPieces,
  schemaExample, toolArgsExample, embedding, parseContentType, parseMultipart,
  crc32, makePng, makeJpeg, makeWav, makeMp3, makeOgg, makeFlac, makeAac, makeAudio, pcm16,
};
