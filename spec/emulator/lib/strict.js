'use strict';
// Refusals (on by default; `node server.js --lenient` turns them off): the Workers AI REST API refuses what
// Cloudflare refuses, so a missing or wrong key, an unknown model or a malformed account id can be rehearsed
// locally. The emulator cannot know your key: without `--api-key KEY` any non-empty bearer key is taken; with it,
// only that one. spec/helpers/emulator.lua gives the specs well-formed defaults (ACCOUNT_ID, API_KEY).
//
// Cloudflare's answers (https://developers.cloudflare.com/workers-ai/platform/errors/ and the v4 API envelope):
//   account id not 32 hex digits  400, errors 7003 "Could not route to <path>, perhaps your object identifier is
//                                 invalid?" and 7000 "No route for that URI"
//   no bearer key, or a key other  401, error 10000 "Authentication error"
//   than --api-key
//   a model not in the catalog    400, error 5007 "No such model <model> or task"

const CAT = require('./catalog');
const { jsonReply } = require('./chat');
const { simpleError } = require('./errors');
const { bearer } = require('./gateway');

const config = { on: true, apiKey: null };

function envelope(status, errors) {
  return jsonReply(status, { result: null, success: false, errors, messages: [] });
}

// The model a Workers AI REST request names: in the path (run/{model}) or in the body (v1/*, run with an envelope).
function modelOf(ctx, params) {
  if (params && params.model) return decodeURIComponent(params.model);
  const b = ctx.json;
  return b && typeof b === 'object' && typeof b.model === 'string' ? b.model : null;
}

// The refusal of a request to the Workers AI REST mount, or null.
function refusal(ctx, params) {
  if (!config.on) return null;
  const acct = params && params.acct;
  if (acct !== undefined && !/^[0-9a-f]{32}$/.test(acct)) {
    return envelope(400, [
      { code: 7003, message: 'Could not route to ' + ctx.path + ', perhaps your object identifier is invalid?' },
      { code: 7000, message: 'No route for that URI' },
    ]);
  }
  const key = bearer(ctx.headers.authorization);
  if (!key || (config.apiKey !== null && key !== config.apiKey)) {
    return simpleError('cloudflare', 401, 10000, 'Authentication error');
  }
  const model = modelOf(ctx, params);
  if (model && /^@(cf|hf)\//.test(model) && !CAT.entry(model)) {
    return simpleError('cloudflare', 400, 5007, 'No such model ' + model + ' or task');
  }
  return null;
}

module.exports = { config, refusal };
