'use strict';
// The TypeScript client's request hash, as an oracle for tests/hash_vs_javascript.rs.
//
// Rules (the TypeScript package's `hashRequest`): SHA-256 hex of
// JSON.stringify({ endpoint, params: normalise(params) }), where normalise turns numbers
// and booleans into String(x), keeps strings, null and undefined, maps arrays element
// by element, and rebuilds each object from its keys in Object.keys(o).sort() order by
// plain assignment (so a "__proto__" key sets the prototype instead of adding a
// property), leaving out keys whose value normalises to undefined.
//
// Usage: node hash_oracle.js CASES OUT
//   CASES: one case per line, the JSON array [endpoint, paramsText]; paramsText is
//          parsed with JSON.parse, as the client would have received it.
//   OUT:   one line per case: the hex hash, a space, and JSON.stringify of the hashed
//          text.

const crypto = require('node:crypto');
const fs = require('node:fs');

function normalise(value) {
  if (value === null) {
    return null;
  }
  switch (typeof value) {
    case 'undefined':
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      break;
  }
  if (Array.isArray(value)) {
    return value.map(normalise);
  }
  const rebuilt = {};
  for (const key of Object.keys(value).sort()) {
    const normalised = normalise(value[key]);
    if (normalised !== undefined) {
      rebuilt[key] = normalised;
    }
  }
  return rebuilt;
}

function hashRequest(endpoint, params) {
  const text = JSON.stringify({ endpoint, params: normalise(params) });
  return [crypto.createHash('sha256').update(text).digest('hex'), text];
}

const [casesPath, outPath] = process.argv.slice(2);
if (!casesPath || !outPath) {
  process.stderr.write('usage: node hash_oracle.js CASES OUT\n');
  process.exit(2);
}
const out = [];
for (const line of fs.readFileSync(casesPath, 'utf8').split('\n')) {
  if (line === '') {
    continue;
  }
  const [endpoint, paramsText] = JSON.parse(line);
  const [hash, text] = hashRequest(endpoint, JSON.parse(paramsText));
  out.push(`${hash} ${JSON.stringify(text)}`);
}
fs.writeFileSync(outPath, out.join('\n') + '\n');
