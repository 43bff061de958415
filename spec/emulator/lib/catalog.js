'use strict';
// Workers AI models from the same data as the Lua adapters: spec/emulator/catalog.json, written by `make catalog`
// (scripts/catalog/gen_catalog.lua) beside lua/cloudflare/tanstack_ai/workers_ai/catalog.lua. A body that breaks
// a catalog model's input (required fields, types, enums, ranges, lengths, closed schemas, the input form) is
// refused with Cloudflare's error shape (400, code 5006, "Error: ..."), as Workers AI refuses it.
const path = require('path');
const fs = require('fs');

const data = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'catalog.json'), 'utf8'));

function entry(model) { return data.models[model] || null; }

function typeOk(kind, v) {
  const tv = Array.isArray(v) ? 'array' : (v === null ? 'null' : typeof v);
  for (const k of kind.split('|')) {
    if (k === 'any') return true;
    if (k === 'object' && tv === 'object') return true;
    if (k === 'object' && tv === 'array') return true; // arrays are objects in the typings' sense
    if (k === tv) return true;
    if (k === 'bytes' && tv === 'string') return true;
  }
  return false;
}

// A Cloudflare-shaped validation message, or null when obj fits the model's input.
function problem(model, e, obj, opts) {
  opts = opts || {};
  if (e.realtime) return "Error: " + model + " is a realtime model; connect over a websocket";
  if (e.input === 'multipart' && !opts.multipart) return "Error: required properties at '/' are 'multipart'";
  const fields = e.fields;
  for (const [k, d] of Object.entries(fields)) {
    const v = obj[k];
    if (v === undefined) {
      if (d.required && !(opts.raw && k === 'audio')) return "Error: required properties at '/' are '" + k + "'";
      continue;
    }
    if (!typeOk(d.type, v)) return "Error: Type mismatch of '/" + k + "', '" + (Array.isArray(v) ? 'array' : typeof v) + "' not in '" + d.type + "'";
    if (d.enum && typeof v === 'string' && d.enum.indexOf(v) < 0) return "Error: value at '/" + k + "' must be one of " + d.enum.join(', ');
    if (typeof v === 'number') {
      if (d.integer && !Number.isInteger(v)) return "Error: Type mismatch of '/" + k + "', 'number' not in 'integer'";
      if (d.minimum !== undefined && v < d.minimum) return "Error: '/" + k + "' must be >= " + d.minimum;
      if (d.maximum !== undefined && v > d.maximum) return "Error: '/" + k + "' must be <= " + d.maximum;
    }
    if (typeof v === 'string') {
      if (d.min_length !== undefined && v.length < d.min_length) return "Error: '/" + k + "' must NOT have fewer than " + d.min_length + " characters";
      if (d.max_length !== undefined && v.length > d.max_length) return "Error: '/" + k + "' must NOT have more than " + d.max_length + " characters";
    }
  }
  if (e.closed || opts.strict) {
    for (const k of Object.keys(obj)) {
      if (!(k in fields)) return "Error: 'additionalProperties' not allowed: '/" + k + "' is not a valid property";
    }
  }
  return null;
}

module.exports = { data, entry, problem };
