'use strict';
// Route tables and the matcher. Knows nothing about providers: lib/tables.js holds the
// tables, lib/dispatch.js runs what matched. See README.md ("Route tables").
//
// Pattern syntax (mounts and route paths; everything else is literal text):
//   {name}        one path segment            [^/]+
//   {name:REGEX}  a regular-expression piece  (braces inside REGEX must balance)
//   {name*}       the rest, maybe empty        .*
//   {name+}       the rest, not empty          .+
//   {/name*}      nothing, or "/" + the rest   (only useful at the end of a mount)
// A pattern matches the whole string. Parameters stay as received (not URL-decoded);
// an absent {/name*} gives ''.

const METHODS = ['*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const TABLE_KINDS = ['model', 'direct', 'socket', 'control'];
const INHERITED = ['shape', 'gateway', 'workersAi', 'auth'];

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'); }

// Compile a pattern into { re, names, source }.
function compilePattern(pattern) {
  if (typeof pattern !== 'string') throw new Error('route pattern must be a string: ' + pattern);
  let src = '';
  const names = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c !== '{') {
      if (c === '}') throw new Error('unbalanced "}" in pattern ' + JSON.stringify(pattern));
      src += escapeRe(c);
      i++;
      continue;
    }
    // find the matching close brace
    let depth = 0;
    let j = i;
    for (; j < pattern.length; j++) {
      if (pattern[j] === '\\') { j++; continue; }
      if (pattern[j] === '{') depth++;
      else if (pattern[j] === '}' && --depth === 0) break;
    }
    if (j >= pattern.length) throw new Error('unterminated "{" in pattern ' + JSON.stringify(pattern));
    const body = pattern.slice(i + 1, j);
    i = j + 1;
    let m;
    if ((m = /^\/([A-Za-z_]\w*)\*$/.exec(body))) {
      src += '(?:\\/(?<' + m[1] + '>.*))?';
      names.push(m[1]);
    } else if ((m = /^([A-Za-z_]\w*)([*+])$/.exec(body))) {
      src += '(?<' + m[1] + '>' + (m[2] === '*' ? '.*' : '.+') + ')';
      names.push(m[1]);
    } else if ((m = /^([A-Za-z_]\w*)(?::([\s\S]+))?$/.exec(body))) {
      src += '(?<' + m[1] + '>' + (m[2] !== undefined ? m[2] : '[^/]+') + ')';
      names.push(m[1]);
    } else {
      throw new Error('bad parameter {' + body + '} in pattern ' + JSON.stringify(pattern));
    }
  }
  if (new Set(names).size !== names.length) throw new Error('repeated parameter name in pattern ' + JSON.stringify(pattern));
  return { re: new RegExp('^' + src + '$'), names, source: pattern };
}

function execPattern(p, s) {
  const m = p.re.exec(s);
  if (!m) return null;
  const out = {};
  for (const n of p.names) out[n] = m.groups[n] === undefined ? '' : m.groups[n];
  return out;
}

function normMethods(method, where) {
  const list = Array.isArray(method) ? method : [method === undefined ? '*' : method];
  for (const x of list) {
    if (METHODS.indexOf(x) < 0) throw new Error(where + ': unknown method ' + JSON.stringify(x));
  }
  return list.indexOf('*') >= 0 ? null : list;
}

// Validate and compile a list of tables (returns new objects; the input is not changed).
function compileTables(tables) {
  const names = new Set();
  return tables.map((t, ti) => {
    const where = 'table ' + (t && t.name ? t.name : '#' + ti);
    if (!t || typeof t !== 'object') throw new Error(where + ': not an object');
    if (!t.name || names.has(t.name)) throw new Error(where + ': needs a unique name');
    names.add(t.name);
    const kind = t.kind || 'model';
    if (TABLE_KINDS.indexOf(kind) < 0) throw new Error(where + ': unknown kind ' + kind);
    const mount = compilePattern(t.mount);
    if (mount.names.indexOf('rest') < 0) throw new Error(where + ': mount must capture {rest*}, {rest+} or {/rest*}');
    if (t.strip !== undefined && !(Array.isArray(t.strip) && t.strip.every((s) => typeof s === 'string' && s))) {
      throw new Error(where + ': strip must be an array of non-empty strings');
    }
    if (!Array.isArray(t.routes)) throw new Error(where + ': routes must be an array');
    const routes = t.routes.map((r, ri) => {
      const rw = where + ' route ' + (r && r.path !== undefined ? JSON.stringify(r.path) : '#' + ri);
      if (!r || typeof r !== 'object') throw new Error(rw + ': not an object');
      if (typeof r.handler !== 'function') throw new Error(rw + ': handler must be a function');
      const path = compilePattern(r.path);
      for (const n of path.names) if (mount.names.indexOf(n) >= 0) throw new Error(rw + ': parameter {' + n + '} repeats one of the mount');
      const opts = {};
      for (const k of INHERITED) opts[k] = r[k] !== undefined ? r[k] : t[k];
      return Object.assign({}, r, { table: t.name, methods: normMethods(r.method, rw), pathPattern: path, opts, index: ri });
    });
    return Object.assign({}, t, { kind, mountPattern: mount, strip: t.strip || [], routes });
  });
}

// Match a request. Tables are tried in order; the first whose mount matches owns the path:
//   null                                  no table's mount matches
//   { table, route: null, params, rest }  the table's mount matches but none of its routes
//   { table, route, params, rest }        params: mount's and route's parameters (not `rest`)
function match(tables, method, path) {
  for (const table of tables) {
    const mp = execPattern(table.mountPattern, path);
    if (!mp) continue;
    let rest = mp.rest;
    delete mp.rest;
    for (const s of table.strip) if (rest.startsWith(s)) { rest = rest.slice(s.length); break; }
    for (const route of table.routes) {
      if (route.methods && route.methods.indexOf(method) < 0) continue;
      const rp = execPattern(route.pathPattern, rest);
      if (rp) return { table, route, params: Object.assign(mp, rp), rest };
    }
    return { table, route: null, params: mp, rest };
  }
  return null;
}

module.exports = { compilePattern, compileTables, match, METHODS, TABLE_KINDS };
