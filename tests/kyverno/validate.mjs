// Validates the custom resources levee generates against models generated from their CRD
// schemas: Kyverno policies with @kubernetes-models/kyverno, External Secrets' ExternalSecret
// with @kubernetes-models/external-secrets, Gateway API's HTTPRoute with
// @kubernetes-models/gateway-api (and kubernetes-models' from Kubernetes' OpenAPI). Used by
// tests/sandbox.rs.
//
// Two checks per object:
// 1. types and required fields: the model's own validator (ajv code generated from the CRD);
// 2. unknown keys: the CRD schemas allow unknown keys, which Kubernetes then prunes silently (a
//    misspelt `validationAction` would vanish without a word), so every key of the object is
//    looked up in the TypeScript interfaces the package generates from the same schemas.
//
// stdin: a JSON array of {name, doc}; stdout: a JSON array of {name, ok, errors}.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ValidatingPolicy } from "@kubernetes-models/kyverno/policies.kyverno.io/v1/ValidatingPolicy";
import { ClusterPolicy } from "@kubernetes-models/kyverno/kyverno.io/v1/ClusterPolicy";
import { ExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";

const models = {
  "policies.kyverno.io/v1 ValidatingPolicy": [
    ValidatingPolicy,
    "IComGithubKyvernoApiApiPoliciesKyvernoIoV1ValidatingPolicy",
  ],
  "kyverno.io/v1 ClusterPolicy": [ClusterPolicy, "IComGithubKyvernoKyvernoApiKyvernoV1ClusterPolicy"],
  "external-secrets.io/v1 ExternalSecret": [
    ExternalSecret,
    "IComGithubExternalSecretsExternalSecretsApisExternalsecretsV1ExternalSecret",
  ],
  "gateway.networking.k8s.io/v1 HTTPRoute": [HTTPRoute, "IIoK8sSigsGatewayApiApisV1HTTPRoute"],
};

// ---- the interfaces: exported name -> {key: type text} ----

const here = dirname(fileURLToPath(import.meta.url));
const packages = [
  "node_modules/@kubernetes-models/kyverno",
  "node_modules/@kubernetes-models/external-secrets",
  "node_modules/@kubernetes-models/gateway-api",
  "node_modules/@kubernetes-models/apimachinery",
  "node_modules/kubernetes-models/admissionregistration.k8s.io",
  "node_modules/kubernetes-models/apiextensions.k8s.io",
];

function dtsFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) dtsFiles(p, out);
    else if (name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// The `"key"?: Type;` lines of an interface or object type body.
function properties(body) {
  const props = new Map();
  for (const p of body.matchAll(/^\s+"([^"]+)"\??: (.+);$/gm)) props.set(p[1], p[2]);
  return props;
}

const interfaces = new Map(); // exported (long) name -> Map(key -> type text)
const aliases = new Map(); // exported name -> the name it stands for
const bases = new Map(); // exported name -> the (exported) interfaces it extends
for (const pkg of packages) {
  for (const file of dtsFiles(join(here, pkg))) {
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      // Map types span lines (`{\n [key: string]: string;\n }`): one line each.
      .replace(/\{\s*\[key: string\]: ([^;{}]+);\s*\}/g, "{ [key: string]: $1 }");
    const local = new Map();
    const localBases = new Map();
    for (const m of text.matchAll(/export interface (\w+)(?: extends ([^{]+))?\s*\{([\s\S]*?)\n\}/g)) {
      const props = properties(m[3]);
      const extended = (m[2] ?? "").split(",").map((b) => b.trim()).filter((b) => b && b !== "TypeMeta");
      if (extended.length) localBases.set(m[1], extended);
      if (/extends TypeMeta/.test(m[0])) {
        props.set("apiVersion", "string");
        props.set("kind", "string");
      }
      local.set(m[1], props);
    }
    for (const m of text.matchAll(/export type (\w+) = \{([\s\S]*?)\n\};/g)) {
      local.set(m[1], properties(m[2]));
    }
    const localAlias = new Map();
    for (const m of text.matchAll(/export type (\w+) = (\w+);/g)) localAlias.set(m[1], m[2]);
    for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
      for (const pair of m[1].split(",")) {
        const [from, to] = pair.trim().split(/\s+as\s+/);
        if (!to) continue;
        if (local.has(from)) interfaces.set(to, local.get(from));
        if (localBases.has(from)) bases.set(to, localBases.get(from));
        else if (localAlias.has(from)) aliases.set(to, localAlias.get(from));
      }
    }
  }
}

// An interface's keys, with those of the interfaces it extends (HTTPRouteSpec extends
// CommonRouteSpec, which holds parentRefs).
function resolve(name, depth = 0) {
  for (let i = 0; i < 10 && !interfaces.has(name) && aliases.has(name); i++) name = aliases.get(name);
  const own = interfaces.get(name);
  if (!own || !bases.has(name) || depth > 10) return own;
  const all = new Map(own);
  for (const base of bases.get(name)) {
    for (const [k, v] of resolve(base, depth + 1) ?? []) all.set(k, v);
  }
  return all;
}

// The type of a value described by a type text: "I..." (an interface), "Array<T>", "{ [key: string]: T }".
function unknownKeys(value, type, path, errors) {
  type = type.trim();
  const array = type.match(/^Array<(.+)>$/);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownKeys(v, array[1], `${path}/${i}`, errors));
    return;
  }
  const map = type.match(/^\{\s*\[key: string\]: (.+?);?\s*\}$/);
  if (map) {
    if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) unknownKeys(v, map[1], `${path}/${k}`, errors);
    }
    return;
  }
  if (!/^I\w+$/.test(type) || !value || typeof value !== "object" || Array.isArray(value)) return;
  const props = resolve(type);
  if (!props) {
    errors.push(`${path}: no interface ${type} in the models (cannot check its keys)`);
    return;
  }
  // An interface without properties is free-form JSON (`x-kubernetes-preserve-unknown-fields`,
  // such as a ClusterPolicy's `pattern`).
  if (props.size === 0) return;
  for (const [k, v] of Object.entries(value)) {
    if (!props.has(k)) errors.push(`${path}/${k}: unknown key (not in ${type})`);
    else unknownKeys(v, props.get(k), `${path}/${k}`, errors);
  }
}

// ---- the objects ----

const input = JSON.parse(readFileSync(0, "utf8"));
const results = input.map(({ name, doc }) => {
  const entry = models[`${doc.apiVersion} ${doc.kind}`];
  if (!entry) return { name, ok: false, errors: [`no model for ${doc.apiVersion} ${doc.kind}`] };
  const [Model, root] = entry;
  const errors = [];
  try {
    new Model(doc).validate();
  } catch (e) {
    errors.push(String(e.message ?? e));
  }
  unknownKeys(doc, root, "", errors);
  return { name, ok: errors.length === 0, errors };
});
process.stdout.write(JSON.stringify(results));
