#!/usr/bin/env node
// Validates Kubernetes objects against the real schemas, and exits non-zero
// naming the first object of each failure and its error.
//
//   node validate.js FILE... ("-" for stdin)
//
// Each input is a JSON array, a JSON object (a v1 List is expanded), one JSON
// object per line, or a YAML stream ("---" separated). Checks:
// - Kubernetes kinds: the kubernetes-models package's validator (the
//   Kubernetes OpenAPI schemas compiled with ajv); cert-manager.io/v1 kinds:
//   @kubernetes-models/cert-manager's; postgresql.cnpg.io/v1 (CloudNativePG):
//   @kubernetes-models/cloudnative-pg's. A kind listed in WOK_UNCHECKED_KINDS
//   ("k8s.mariadb.com/v1alpha1/MariaDB") passes unchecked, saying so.
// - route.openshift.io/v1 Route: the OpenShift OpenAPI document shipped by
//   the openshift-rest-client package, compiled with ajv, unknown fields
//   refused as server-side apply refuses them.
// - apiextensions.k8s.io/v1 CustomResourceDefinition: kubernetes-models, plus
//   the structural-schema rules of the API server, plus ajv compiling the
//   schema; wok.dev objects in the same inputs are then validated against
//   the CRDs given (the documented examples must be accepted).
"use strict";

const fs = require("fs");
const zlib = require("zlib");
const YAML = require("yaml");
const Ajv = require("ajv");

function readInput(file) {
  const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
  const trimmed = text.trim();
  let docs;
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    try {
      const v = JSON.parse(trimmed);
      docs = Array.isArray(v) ? v : [v];
    } catch (e) {
      // One JSON object per line.
      docs = trimmed.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    }
  } else {
    docs = [];
    for (const d of YAML.parseAllDocuments(text)) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      const v = d.toJS();
      if (v !== null && v !== undefined) docs.push(v);
    }
  }
  const out = [];
  for (const d of docs) {
    if (d && d.kind === "List" && Array.isArray(d.items)) out.push(...d.items);
    else out.push(d);
  }
  return out.map((object, i) => ({ object, where: `${file} (object ${i + 1})` }));
}

function describe(o) {
  if (!o || typeof o !== "object") return String(o);
  const md = o.metadata || {};
  const name = md.namespace ? `${md.namespace}/${md.name}` : md.name;
  return `${o.apiVersion || "?"} ${o.kind || "?"} ${name || "?"}`;
}

function formatAjv(errors) {
  return errors
    .slice(0, 5)
    .map((e) => `${e.instancePath || "/"} ${e.message}${e.params && e.params.additionalProperty ? `: ${e.params.additionalProperty}` : ""}`)
    .join("; ");
}

// --- Kubernetes kinds: kubernetes-models -----------------------------------

const esmModels = new Map();
async function loadEsmModels() {
  const m = await import("@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster");
  esmModels.set("postgresql.cnpg.io/v1/Cluster", m.Cluster);
}

function kubernetesModel(apiVersion, kind) {
  if (!/^[a-z0-9.-]*\/?v[0-9a-z]+$/.test(apiVersion || "") || !/^[A-Za-z]+$/.test(kind || "")) {
    return null;
  }
  // CloudNativePG's kinds (spec.database): its package is ES modules only,
  // loaded before main (loadEsmModels).
  if (apiVersion.startsWith("postgresql.cnpg.io/")) return esmModels.get(`${apiVersion}/${kind}`) || null;
  // cert-manager's kinds (the chart's admission certificate) come from its own package.
  const path = apiVersion.startsWith("cert-manager.io/")
    ? `@kubernetes-models/cert-manager/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  try {
    const mod = require(path);
    return mod[kind] || null;
  } catch (e) {
    return null;
  }
}

function validateKubernetes(o) {
  const Model = kubernetesModel(o.apiVersion, o.kind);
  if (!Model) return `no schema for ${o.apiVersion} ${o.kind} in kubernetes-models`;
  try {
    new Model(o).validate();
  } catch (e) {
    return e.message;
  }
  return null;
}

// --- OpenShift Route: the OpenShift OpenAPI document -----------------------

let routeValidator = null;

function strictDefinitions(defs) {
  for (const d of Object.values(defs)) {
    // Server-side apply refuses unknown fields; the document does not say so.
    if (d.properties && d.additionalProperties === undefined) d.additionalProperties = false;
  }
  // The document writes IntOrString as a string with a format ajv does not know.
  defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = { type: ["integer", "string"] };
  return defs;
}

function validateRoute(o) {
  if (!routeValidator) {
    const spec = require.resolve("openshift-rest-client/lib/specs/openshift-openapi-spec.json.gz");
    const doc = JSON.parse(zlib.gunzipSync(fs.readFileSync(spec)).toString("utf8"));
    const defs = strictDefinitions(doc.definitions);
    const route = defs["com.github.openshift.api.route.v1.Route"];
    if (!route) throw new Error("the OpenShift OpenAPI document has no route.v1.Route");
    // status is the router's to write; an object being applied has none.
    route.required = (route.required || []).filter((r) => r !== "status");
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    routeValidator = ajv.compile({ definitions: defs, $ref: "#/definitions/com.github.openshift.api.route.v1.Route" });
  }
  if (o.apiVersion !== "route.openshift.io/v1") return `apiVersion must be route.openshift.io/v1`;
  return routeValidator(o) ? null : formatAjv(routeValidator.errors);
}

// --- CRDs: structural schemas ------------------------------------------------

const FORBIDDEN = ["$ref", "definitions", "dependencies", "deprecated", "id", "patternProperties", "additionalItems", "$schema"];

// The API server's rules for a structural schema (apiextensions
// "Specifying a structural schema"), the ones a generator can get wrong.
function structuralProblems(s, at, problems, root) {
  if (!s || typeof s !== "object") return problems.push(`${at}: not a schema`);
  for (const k of FORBIDDEN) if (k in s) problems.push(`${at}: ${k} is not allowed`);
  if (s.uniqueItems === true) problems.push(`${at}: uniqueItems true is not allowed`);
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  if (!intOrString && (typeof s.type !== "string" || !s.type)) problems.push(`${at}: has no type`);
  if ("x-kubernetes-preserve-unknown-fields" in s && s["x-kubernetes-preserve-unknown-fields"] !== true) {
    problems.push(`${at}: x-kubernetes-preserve-unknown-fields must be true if set`);
  }
  if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
  }
  if (s.type === "array" && !s.items) problems.push(`${at}: an array needs items`);
  if (s.required) {
    for (const r of s.required) if (!s.properties || !(r in s.properties)) problems.push(`${at}: required ${r} is not a property`);
  }
  for (const [k, v] of Object.entries(s.properties || {})) {
    if (root && k === "metadata") {
      const keys = Object.keys(v).filter((x) => x !== "type" && x !== "description");
      if (v.type !== "object" || keys.length) problems.push(`${at}.metadata: may only be {type: object}`);
      continue;
    }
    structuralProblems(v, `${at}.${k}`, problems, false);
  }
  if (s.items) structuralProblems(s.items, `${at}[]`, problems, false);
  if (s.additionalProperties && typeof s.additionalProperties === "object") {
    structuralProblems(s.additionalProperties, `${at}{}`, problems, false);
  }
  return problems;
}

const crdSchemas = new Map(); // "wok.dev/v1alpha1 Site" -> ajv validate function

function validateCrd(o) {
  const base = validateKubernetes(o);
  if (base) return base;
  const spec = o.spec;
  const problems = [];
  if (o.metadata.name !== `${spec.names.plural}.${spec.group}`) problems.push(`metadata.name must be ${spec.names.plural}.${spec.group}`);
  if (spec.versions.filter((v) => v.storage).length !== 1) problems.push("exactly one version must be the storage version");
  for (const v of spec.versions) {
    const schema = v.schema && v.schema.openAPIV3Schema;
    if (!schema) {
      problems.push(`version ${v.name}: no openAPIV3Schema`);
      continue;
    }
    if (schema.type !== "object") problems.push(`version ${v.name}: the root must be an object`);
    structuralProblems(schema, `${v.name}.openAPIV3Schema`, problems, true);
    for (const c of v.additionalPrinterColumns || []) {
      if (!c.jsonPath.startsWith(".")) problems.push(`version ${v.name}: column ${c.name}: jsonPath must start with "."`);
    }
    try {
      const ajv = new Ajv({ strict: false, allErrors: true });
      // Like the API server: properties not declared are pruned, so refuse them here.
      const strict = JSON.parse(JSON.stringify(schema), (k, val) =>
        val && typeof val === "object" && val.properties && val.additionalProperties === undefined && !val["x-kubernetes-preserve-unknown-fields"]
          ? { ...val, additionalProperties: false }
          : val);
      strict.properties.metadata = { type: "object" };
      crdSchemas.set(`${spec.group}/${v.name} ${spec.names.kind}`, ajv.compile(strict));
    } catch (e) {
      problems.push(`version ${v.name}: the schema does not compile: ${e.message}`);
    }
  }
  return problems.length ? problems.join("; ") : null;
}

function validateCustom(o) {
  const check = crdSchemas.get(`${o.apiVersion} ${o.kind}`);
  if (!check) return `no CRD for ${o.apiVersion} ${o.kind} in the inputs`;
  return check(o) ? null : formatAjv(check.errors);
}

// --- main ----------------------------------------------------------------------

function validate(o) {
  if (!o || typeof o !== "object" || Array.isArray(o)) return "not an object";
  if (!o.apiVersion || !o.kind) return "apiVersion and kind are required";
  if (o.kind === "CustomResourceDefinition") return validateCrd(o);
  if (o.kind === "Route" && String(o.apiVersion).startsWith("route.openshift.io/")) return validateRoute(o);
  if (String(o.apiVersion).startsWith("wok.dev/")) return validateCustom(o);
  // Kinds with no schema to be had here (mariadb-operator publishes none on
  // npm): only when the caller names them, and said on the output.
  const unchecked = (process.env.WOK_UNCHECKED_KINDS || "").split(",").filter(Boolean);
  if (unchecked.includes(`${o.apiVersion}/${o.kind}`)) {
    console.log(`unchecked (no schema available): ${o.apiVersion} ${o.kind}`);
    return null;
  }
  return validateKubernetes(o);
}

function main(files) {
  if (!files.length) {
    console.error("usage: node validate.js FILE... (- for stdin)");
    return 2;
  }
  let items = [];
  for (const f of files) items = items.concat(readInput(f));
  // CRDs first, so that the custom objects of the same inputs meet them.
  items.sort((a, b) => (b.object && b.object.kind === "CustomResourceDefinition") - (a.object && a.object.kind === "CustomResourceDefinition"));
  let failed = 0;
  const kinds = new Map();
  for (const { object, where } of items) {
    const error = validate(object);
    if (error) {
      failed++;
      console.error(`INVALID ${describe(object)} [${where}]: ${error}`);
    } else {
      const k = `${object.apiVersion} ${object.kind}`;
      kinds.set(k, (kinds.get(k) || 0) + 1);
    }
  }
  if (!items.length) {
    console.error("no objects in the input");
    return 1;
  }
  const summary = [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
  console.log(`${items.length - failed} valid, ${failed} invalid (${summary})`);
  return failed ? 1 : 0;
}

loadEsmModels()
  .then(() => {
    process.exitCode = main(process.argv.slice(2));
  })
  .catch((e) => {
    console.error(`error: ${e.message}`);
    process.exitCode = 1;
  });

