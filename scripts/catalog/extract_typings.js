#!/usr/bin/env node
// Extract the AiModels map of @cloudflare/workers-types (a pinned version, installed by `make catalog` into
// build/catalog-npm) into plain JSON: for every model, the fields of its typed input (name, type, string enum,
// required) per variant of the input union, and the output's top-level shape.
// usage: node extract_typings.js <node_modules dir> <out.json>
"use strict";
const fs = require("fs");
const path = require("path");
const nm = path.resolve(process.argv[2]);
const out = process.argv[3];
const ts = require(path.join(nm, "typescript"));
const pkgDir = path.join(nm, "@cloudflare", "workers-types");
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
const file = path.join(pkgDir, "index.d.ts");
const program = ts.createProgram([file], { lib: ["lib.es2022.d.ts"], types: [], skipLibCheck: true });
const checker = program.getTypeChecker();
const sf = program.getSourceFile(file);

let aiModels;
ts.forEachChild(sf, (n) => {
  if (ts.isInterfaceDeclaration(n) && n.name.text === "AiModels") aiModels = n;
});

function kindOf(t) {
  if (t.flags & ts.TypeFlags.StringLike) return "string";
  if (t.flags & ts.TypeFlags.NumberLike) return "number";
  if (t.flags & ts.TypeFlags.BooleanLike) return "boolean";
  if (t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Never | ts.TypeFlags.Void)) return null;
  const s = t.getSymbol && t.getSymbol();
  const name = s && s.getName();
  if (name === "Uint8Array" || name === "ArrayBuffer" || name === "ReadableStream" || name === "Blob") return "bytes";
  if (name === "Array" || name === "ReadonlyArray" || (checker.isArrayType && checker.isArrayType(t)) || (checker.isTupleType && checker.isTupleType(t))) return "array";
  if (t.flags & ts.TypeFlags.Object) return "object";
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return "any";
  return "object";
}

// a property type -> { types: [...], enum?: [...] }
function describe(t) {
  const parts = t.isUnion() ? t.types : [t];
  const types = new Set();
  const lits = [];
  let allLit = true;
  for (const p of parts) {
    if (p.flags & ts.TypeFlags.StringLiteral) { lits.push(p.value); types.add("string"); continue; }
    if (p.flags & ts.TypeFlags.BooleanLiteral) { types.add("boolean"); allLit = false; continue; }
    const k = kindOf(p);
    if (k) { types.add(k); allLit = false; }
  }
  const d = { type: [...types].sort() };
  if (lits.length && allLit) d.enum = lits;
  return d;
}

// The members of an object-typed field (response_format: JSONMode {type, json_schema} for most models, but
// {type?: string} alone for some): their names, and the `type` member's string enum when it has one.
function membersOf(t) {
  const names = new Set();
  let typeEnum;
  for (const p of t.isUnion() ? t.types : [t]) {
    if (kindOf(p) !== "object") continue;
    for (const m of checker.getPropertiesOfType(p)) {
      names.add(m.getName());
      if (m.getName() === "type") {
        const md = m.valueDeclaration || (m.declarations && m.declarations[0]);
        const e = describe(checker.getTypeOfSymbolAtLocation(m, md || aiModels)).enum;
        if (e) typeEnum = e;
      }
    }
  }
  return { members: [...names].sort(), typeEnum };
}

function fieldsOf(t) {
  const fields = {};
  for (const prop of checker.getPropertiesOfType(t)) {
    const decl = prop.valueDeclaration || (prop.declarations && prop.declarations[0]);
    const pt = checker.getTypeOfSymbolAtLocation(prop, decl || aiModels);
    const d = describe(pt);
    if (d.type.length === 0) continue; // `?: never` (XOR<A, B>): not a field of this variant
    d.required = !(prop.flags & ts.SymbolFlags.Optional);
    if (prop.getName() === "response_format") {
      const m = membersOf(pt);
      d.members = m.members;
      if (m.typeEnum) d.type_enum = m.typeEnum;
    }
    fields[prop.getName()] = d;
  }
  return fields;
}

const models = {};
for (const m of aiModels.members) {
  const name = m.name.text;
  const cls = checker.getTypeAtLocation(m.type);
  const clsName = m.type.getText(sf);
  const inputsSym = cls.getProperty("inputs");
  const outSym = cls.getProperty("postProcessedOutputs");
  const it = checker.getTypeOfSymbolAtLocation(inputsSym, m);
  const variants = [];
  for (const v of it.isUnion() ? it.types : [it]) {
    if (v.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) variants.push(fieldsOf(v));
    else variants.push({ __kind: kindOf(v) });
  }
  const ot = checker.getTypeOfSymbolAtLocation(outSym, m);
  const outputs = [];
  for (const v of ot.isUnion() ? ot.types : [ot]) {
    const k = kindOf(v);
    if (k === "object" || (v.flags & ts.TypeFlags.Intersection)) outputs.push({ fields: Object.keys(fieldsOf(v)).sort() });
    else if (k) outputs.push({ kind: k });
  }
  models[name] = { class: clsName, inputs: variants, outputs };
}
fs.writeFileSync(out, JSON.stringify({ package: "@cloudflare/workers-types", version, models }, null, 1) + "\n");
console.log("extracted " + Object.keys(models).length + " models from @cloudflare/workers-types@" + version);
