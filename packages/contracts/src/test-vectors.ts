import { canonicalHash, canonicalJson, sha256Hex } from './canonical.js';
import type { WireEnvelope } from './envelope.js';

/** One canonical-form vector: JSON text in, canonical text and sha256 out. */
export interface CanonicalVector {
  readonly name: string;
  readonly inputJson: string;
  readonly canonical: string;
  readonly sha256: string;
}

const inputs: ReadonlyArray<readonly [string, string]> = [
  ['key order', '{"b":1,"a":2,"c":{"z":true,"y":null}}'],
  ['nested arrays keep order', '[3,1,2,[{"b":0,"a":0}]]'],
  ['numbers shortest form', '[1.0,1e21,1e-7,0.1,100,-0,123456789012345680000,5e-324]'],
  ['strings and escapes', '{"s":"line\\nbreak \\"quoted\\" tab\\t \\u00e9 \\u20ac \\ud83d\\ude00 \\u001f"}'],
  ['unicode key order by UTF-16', '{"\\u20ac":1,"\\ud83d\\ude00":2,"a":3,"\\u00e9":4}'],
  ['empty containers', '{"a":[],"b":{}}'],
  ['booleans and null', '[true,false,null]'],
];

/** Canonical-form test vectors, so a client in another language can check its canonicaliser. */
export function canonicalVectors(): CanonicalVector[] {
  return inputs.map(([name, inputJson]) => {
    const canonical = canonicalJson(JSON.parse(inputJson));
    return { name, inputJson, canonical, sha256: sha256Hex(canonical) };
  });
}

/** A chain vector: events (wire form) in order with each one's hash. */
export interface ChainVector {
  readonly events: readonly WireEnvelope[];
  readonly hashes: readonly string[];
}

/** Hashes for a list of envelopes, as a vector. */
export function chainVector(events: readonly WireEnvelope[]): ChainVector {
  return { events, hashes: events.map((e) => canonicalHash(e)) };
}
