'use strict';
// Auth checks and the headers AI Gateway adds to its answers.

const U = require('./util');

// The token of an "Authorization: Bearer <token>" value, or null.
function bearer(v) {
  if (!v) return null;
  const m = /^\s*Bearer\s+(\S.*)$/i.exec(String(v));
  return m ? m[1].trim() : null;
}

function gatewayHeaders(ctx, sc) {
  const h = {
    'cf-aig-log-id': U.ulid(),
    'cf-aig-cache-status': (sc && sc.cache_status) || 'MISS',
  };
  if (ctx.headers['cf-aig-event-id']) h['cf-aig-event-id'] = ctx.headers['cf-aig-event-id'];
  return h;
}

// Gateways whose id starts with "auth" are authenticated gateways.
function gatewayAuthFails(ctx, gw) {
  if (!/^auth/.test(gw)) return false;
  return !bearer(ctx.headers['cf-aig-authorization']);
}

module.exports = { bearer, gatewayHeaders, gatewayAuthFails };
