'use strict';
// Error bodies in each provider's shape, and error replies for scenarios.

const { jsonReply } = require('./chat');

// ---------------------------------------------------------------- error bodies
const CF_MESSAGES = {
  10000: 'Authentication error',
  7003: 'No route for that URI',
  3003: 'Request is missing headers or body',
  3006: 'Request is too large',
  3007: 'Request timeout',
  3008: 'Request aborted',
  3010: 'Invalid or incomplete input for the model',
  3023: 'Service unavailable for account',
  3036: 'Account limited: you have used up your daily free allocation of 10,000 neurons',
  3040: 'Capacity temporarily exceeded, please try again.',
  3041: 'The account is not allowed to access this model',
  3042: 'The model name is invalid',
  3043: 'Internal server error',
  5004: 'Invalid data type for base64 input',
  5005: 'Model does not support LoRA',
  5006: 'Error: input validation failed',
  5007: 'No such model or task',
  5016: 'User has not agreed to the model terms',
  5018: 'The account is not allowed to access this model',
  5019: 'Deprecated SDK version',
  2001: 'Internal error',
  2003: 'Rate limited',
  2009: 'Unauthorized',
  2016: 'Prompt blocked due to security configurations',
  2017: 'Response blocked due to security configurations',
  2021: 'Insufficient wholesale credits',
  2040: "Provider has no BYOK credential with that alias",
};
const CF_DEFAULT_CODE = { 400: 5006, 401: 10000, 403: 10000, 404: 7003, 405: 5019, 408: 3007, 413: 3006, 429: 3040, 500: 3043, 502: 3043, 503: 3040, 504: 3007 };
const GW_DEFAULT_CODE = { 400: 2001, 401: 2009, 402: 2021, 403: 2009, 404: 7003, 429: 2003 };
const STATUS_TEXT = {
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large', 422: 'Unprocessable Entity',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 529: 'Overloaded',
};
const OPENAI_ERR = {
  400: ['invalid_request_error', null, 'Invalid request'],
  401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
  403: ['permission_error', 'unsupported_country_region_territory', 'Forbidden'],
  404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 1s.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
};
const ANTHROPIC_ERR = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error', 503: 'overloaded_error',
};
const GEMINI_STATUS = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

function errorBody(shape, status, code, message) {
  switch (shape) {
    case 'gateway': {
      const c = code !== undefined ? code : (GW_DEFAULT_CODE[status] || 2001);
      return { success: false, result: [], messages: [], error: [{ code: c, message: message || CF_MESSAGES[c] || STATUS_TEXT[status] || 'Error' }] };
    }
    case 'openai': {
      const d = OPENAI_ERR[status] || (status >= 500 ? OPENAI_ERR[500] : OPENAI_ERR[400]);
      return { error: { message: message || d[2], type: d[0], param: null, code: code !== undefined ? code : d[1] } };
    }
    case 'anthropic': {
      const t = ANTHROPIC_ERR[status] || (status >= 500 ? 'api_error' : 'invalid_request_error');
      return { type: 'error', error: { type: code !== undefined ? String(code) : t, message: message || (t === 'overloaded_error' ? 'Overloaded' : (STATUS_TEXT[status] || 'Error')) } };
    }
    case 'gemini': {
      const st = GEMINI_STATUS[status] || (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
      const msg = message || (status === 429 ? 'Resource has been exhausted (e.g. check quota).' : (STATUS_TEXT[status] || 'Error'));
      return { error: { code: status, message: msg, status: code !== undefined ? String(code) : st } };
    }
    default: {
      const c = code !== undefined ? code : (CF_DEFAULT_CODE[status] || (status >= 500 ? 3043 : 5006));
      return { result: null, success: false, errors: [{ code: c, message: message || CF_MESSAGES[c] || STATUS_TEXT[status] || 'Error' }], messages: [] };
    }
  }
}

function errorReply(ctx, sc, shape) {
  const status = Number(sc.status) || 500;
  if (shape === 'test' || !shape) shape = 'cloudflare';
  const code = sc.code !== undefined ? sc.code : undefined;
  if (typeof code === 'number' && code >= 2000 && code < 3000 && !sc.error_shape) shape = 'gateway';
  if (sc.error_shape) shape = sc.error_shape;
  const headers = {};
  let body;
  if (sc.body !== undefined && sc.body !== null) {
    if (typeof sc.body === 'string') { body = sc.body; headers['content-type'] = 'text/plain; charset=utf-8'; } else { body = JSON.stringify(sc.body); headers['content-type'] = 'application/json'; }
  } else {
    body = JSON.stringify(errorBody(shape, status, code, sc.message));
    headers['content-type'] = 'application/json';
  }
  if (sc.content_type) headers['content-type'] = sc.content_type;
  if (sc.retry_after !== undefined) headers['retry-after'] = String(sc.retry_after);
  if (sc.retry_after_ms !== undefined) headers['retry-after-ms'] = String(sc.retry_after_ms);
  return { status, headers, body, scenario: sc };
}

function simpleError(shape, status, code, message) {
  return jsonReply(status, errorBody(shape, status, code, message));
}

module.exports = { errorBody, errorReply, simpleError, CF_MESSAGES };
