// Tests for a tiny orders client, run against a real understudy server.
//
// No npm dependencies: node:test, node:assert, node:child_process and the global fetch of
// Node 20. `before` starts the understudy binary on a free port with an empty scenarios
// directory and a random admin token; each test puts the scenarios it needs through the admin
// API, runs the client, and checks the journal; `afterEach` deletes what the test put and
// resets the server.
//
// Run from this folder with `node --test` (build the binary first with `cargo build`).

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// The code under test: a tiny orders client.
// ---------------------------------------------------------------------------------------------

class OrderRejected extends Error {
  constructor(status, body) {
    super(`order rejected with ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** POST /v1/orders; 201 → the created order, 409/422 → OrderRejected, 503 → retried. */
async function placeOrder(baseUrl, apiKey, order, { attempts = 3 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const resp = await fetch(`${baseUrl}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(order),
    });
    if (resp.status === 503 && attempt < attempts) {
      await resp.arrayBuffer(); // finish the response before the next attempt
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      continue;
    }
    const body = await resp.json();
    if (resp.status === 201) return { id: body.id, location: resp.headers.get('location') };
    throw new OrderRejected(resp.status, body);
  }
}

// ---------------------------------------------------------------------------------------------
// The harness: one understudy server for the whole file.
// ---------------------------------------------------------------------------------------------

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = path.resolve(repoRoot, process.env.UNDERSTUDY_BIN ?? 'target/debug/understudy');
const token = randomBytes(16).toString('hex');
const API_KEY = 'test-key';

let child;
let baseUrl;
let scenariosDir;
const putNames = [];

/** Starts the binary and resolves with its base URL, read from the `listening on` line. */
function startServer() {
  if (!existsSync(binary)) {
    throw new Error(`${binary} not found: run \`cargo build\` first, or set UNDERSTUDY_BIN`);
  }
  scenariosDir = mkdtempSync(path.join(tmpdir(), 'understudy-scenarios-'));
  child = spawn(
    binary,
    ['serve', '--bind', '127.0.0.1:0', '--scenarios', scenariosDir, '--watch', 'off',
      '--admin-token', token],
    { env: { ...process.env, RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`understudy did not start:\n${log}`)), 30_000);
    // Keep reading stdout for the whole run, so the server never blocks on a full pipe.
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      log += chunk;
      const match = log.match(/listening on (https?:\/\/\S+)/);
      if (match && !baseUrl) {
        baseUrl = match[1];
        clearTimeout(timer);
        resolve(baseUrl);
      }
    });
    child.stderr.on('data', (chunk) => { log += chunk; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`understudy exited with ${code}:\n${log}`));
    });
  });
}

/** An admin call with the token; resolves with { status, body }. */
async function admin(method, urlPath, body) {
  const resp = await fetch(`${baseUrl}/__admin${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: resp.status, body: await resp.json() };
}

async function putScenario(name, scenario) {
  const { status, body } = await admin('PUT', `/scenarios/${name}`, scenario);
  assert.ok(status === 200 || status === 201, `PUT ${name}: ${status} ${JSON.stringify(body)}`);
  putNames.push(name);
}

async function count(matcher) {
  const { status, body } = await admin('POST', '/requests/count', matcher);
  assert.equal(status, 200, JSON.stringify(body));
  return body.count;
}

async function journal(query = '') {
  const { status, body } = await admin('GET', `/requests${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body.requests;
}

before(startServer);

afterEach(async () => {
  for (const name of putNames.splice(0)) await admin('DELETE', `/scenarios/${name}`);
  const { status } = await admin('POST', '/reset'); // scenario states and the journal
  assert.equal(status, 200);
});

after(() => {
  if (child && child.exitCode === null) {
    child.removeAllListeners('exit');
    child.kill('SIGTERM'); // understudy stops gracefully
  }
  if (scenariosDir) rmSync(scenariosDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The orders service, as scenarios.
// ---------------------------------------------------------------------------------------------

const ORDERS = {
  description: 'The orders API: created, out of stock, validation error',
  routes: [
    {
      id: 'out-of-stock',
      priority: 10,
      request: { method: 'POST', path: '/v1/orders', json: { sku: 'SOLD-OUT' } },
      response: { status: 409, json: { error: 'out of stock' } },
    },
    {
      id: 'invalid',
      priority: 5,
      request: { method: 'POST', path: '/v1/orders', json: { qty: 0 } },
      response: { status: 422, json: { errors: ['qty must be at least 1'] } },
    },
    {
      id: 'created',
      request: {
        method: 'POST',
        path: '/v1/orders',
        headers: { 'content-type': 'application/json', authorization: 'Bearer .+' },
      },
      response: {
        status: 201,
        headers: { Location: '/v1/orders/7' },
        json: { id: 7, status: 'accepted' },
      },
    },
  ],
};

const OUTAGE = {
  routes: [{
    id: 'down',
    priority: 100,
    request: { method: 'POST', path: '/v1/orders' },
    response: { status: 503, json: { error: 'maintenance' } },
  }],
};

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

test('a valid order is created and sent as JSON with the API key', async () => {
  await putScenario('orders', ORDERS);

  const created = await placeOrder(baseUrl, API_KEY, { sku: 'WIDGET-1', qty: 2 });

  assert.deepEqual(created, { id: 7, location: '/v1/orders/7' });
  assert.equal(await count({
    method: 'POST',
    path: '/v1/orders',
    headers: { authorization: `Bearer ${API_KEY}` },
    json: { sku: 'WIDGET-1', qty: 2 },
  }), 1);
  const [entry] = await journal();
  assert.equal(entry.route, 'orders/created');
  assert.equal(entry.status, 201);
  assert.deepEqual(JSON.parse(entry.body), { sku: 'WIDGET-1', qty: 2 });
});

test('409 and 422 become OrderRejected with the server body', async () => {
  await putScenario('orders', ORDERS);

  await assert.rejects(placeOrder(baseUrl, API_KEY, { sku: 'SOLD-OUT', qty: 1 }),
    (err) => err instanceof OrderRejected && err.status === 409);
  await assert.rejects(placeOrder(baseUrl, API_KEY, { sku: 'WIDGET-1', qty: 0 }),
    (err) => err.status === 422 && err.body.errors[0] === 'qty must be at least 1');

  const routes = (await journal()).map((e) => e.route);
  assert.deepEqual(routes, ['orders/out-of-stock', 'orders/invalid']);
});

test('503 is retried three times, then reported', async () => {
  await putScenario('orders', ORDERS);
  await putScenario('outage', OUTAGE); // priority 100 outranks every orders route

  await assert.rejects(placeOrder(baseUrl, API_KEY, { sku: 'WIDGET-1', qty: 1 }),
    (err) => err.status === 503);

  assert.equal(await count({ method: 'POST', path: '/v1/orders' }), 3);
  assert.equal((await journal('?route=outage/down')).length, 3);
});

test('a request no route matches is listed with its near misses', async () => {
  await putScenario('orders', ORDERS);

  // A client bug: GET instead of POST.
  const resp = await fetch(`${baseUrl}/v1/orders`);
  await resp.arrayBuffer();

  assert.equal(resp.status, 404);
  assert.equal(resp.headers.get('x-understudy-unmatched'), '1');
  const { body } = await admin('GET', '/requests/unmatched');
  const [entry] = body.requests;
  assert.equal(entry.method, 'GET');
  assert.equal(entry.route, null);
  // Closest routes first (fewest failed matchers), each naming the matchers that failed.
  assert.deepEqual(entry.nearMisses, [
    { route: 'orders/out-of-stock', mismatches: ['method', 'json'] },
    { route: 'orders/invalid', mismatches: ['method', 'json'] },
    { route: 'orders/created', mismatches: ['method', 'headers.content-type', 'headers.authorization'] },
  ]);
});

test('each test starts with an empty journal', async () => {
  assert.deepEqual(await journal(), []);
});

test('a bad scenario is refused with 400 and its errors', async () => {
  const { status, body } = await admin('PUT', '/scenarios/broken', {
    routes: [{ response: { status: 700 } }],
  });

  assert.equal(status, 400);
  assert.deepEqual(body.errors, ['routes[0].response.status: expected an integer status code from 100 to 599, found 700']);
});

test('admin calls without the token get 401', async () => {
  const resp = await fetch(`${baseUrl}/__admin/requests`);
  await resp.arrayBuffer();

  assert.equal(resp.status, 401);
});
