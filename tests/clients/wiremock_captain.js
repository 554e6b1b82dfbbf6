// The npm `wiremock-captain` client (4.1.x) against a server on localhost:PORT (argument 1):
// either understudy (`serve --admin-api wiremock`) or the real WireMock 3.13.2, which must
// both pass. Each step prints `ok: STEP`; the last line is `ALL OK`. A wrong answer or a
// client error is an exception and a non-zero exit.
//
// Run: NODE_PATH=$WIREMOCK_NODE_MODULES node wiremock_captain.js PORT

'use strict';

const assert = require('node:assert/strict');
const {
    WireMock,
    WireMockAPI,
    MatchingAttributes,
    EndpointFeature,
    BodyType,
    DelayType,
    WireMockFault,
    ResponseTransformer,
} = require('wiremock-captain');

const base = `http://localhost:${Number(process.argv[2])}`;

function step(name) {
    console.log(`ok: ${name}`);
}

async function call(method, path, init = {}) {
    const resp = await fetch(base + path, {
        method,
        signal: AbortSignal.timeout(10000),
        ...init,
    });
    return { status: resp.status, headers: resp.headers, text: await resp.text() };
}

async function expectOk(responses) {
    for (const r of [].concat(responses)) {
        assert.ok(r.ok, `${r.url}: ${r.status} ${await r.text()}`);
    }
}

async function main() {
    const mock = new WireMock(base);
    await expectOk(await mock.clearAll());
    step('clearAll');

    // A JSON body stub (equalToJson, the default), headers, a query parameter, priority.
    const created = await mock.register(
        {
            method: 'POST',
            endpoint: '/captain/orders',
            body: { item: 'tea', qty: 2 },
            headers: { 'X-Team': 'blue' },
            queryParameters: { dry: 'false' },
        },
        { status: 201, body: { id: 7 }, headers: { 'X-Made': 'yes' } },
        { stubPriority: 1, requestEndpointFeature: EndpointFeature.UrlPath },
    );
    assert.ok(created.id, JSON.stringify(created));
    assert.equal(created.priority, 1);
    assert.equal(created.request.urlPath, '/captain/orders');
    // A catch-all below it: a plain text body, no headers, no priority (5).
    const fallback = await mock.register(
        { method: 'POST', endpoint: '/captain/orders' },
        { status: 400, body: 'bad order' },
        { responseBodyType: BodyType.Body, requestEndpointFeature: EndpointFeature.UrlPath },
    );
    // No body at all, a regex endpoint, a header matched by `contains`.
    const ping = await mock.register(
        { method: 'GET', endpoint: '/captain/ping/[0-9]+', headers: { Accept: 'text' } },
        { status: 204 },
        {
            requestEndpointFeature: EndpointFeature.UrlPathPattern,
            requestHeaderFeatures: { Accept: MatchingAttributes.Contains },
        },
    );
    step('register');

    let r = await call('POST', '/captain/orders?dry=false', {
        headers: { 'X-Team': 'blue', 'Content-Type': 'application/json' },
        body: JSON.stringify({ qty: 2, item: 'tea' }),
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(JSON.parse(r.text), { id: 7 });
    assert.equal(r.headers.get('x-made'), 'yes');
    assert.match(r.headers.get('content-type'), /^application\/json/);
    r = await call('POST', '/captain/orders?dry=true', {
        headers: { 'X-Team': 'blue' },
        body: JSON.stringify({ qty: 2, item: 'tea' }),
    });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'bad order');
    r = await call('GET', '/captain/ping/42', { headers: { Accept: 'text/plain' } });
    assert.equal(r.status, 204);
    r = await call('GET', '/captain/ping/x', { headers: { Accept: 'text/plain' } });
    assert.equal(r.status, 404);
    step('call stubs');

    const posts = await mock.getRequestsForAPI('POST', '/captain/orders?dry=false');
    assert.equal(posts.length, 1);
    assert.deepEqual(JSON.parse(posts[0].request.body), { qty: 2, item: 'tea' });
    assert.equal(posts[0].request.headers['X-Team'], 'blue');
    const all = await mock.getAllRequests();
    assert.equal(all.length, 4);
    const unmatched = await mock.getUnmatchedRequests();
    assert.deepEqual(unmatched.map((q) => q.url), ['/captain/ping/x']);
    step('getRequestsForAPI, getAllRequests, getUnmatchedRequests');

    // WireMockAPI: one endpoint and method, a default response.
    const api = new WireMockAPI(base, '/captain/users', 'GET', {
        requestEndpointFeature: EndpointFeature.UrlPath,
    });
    await api.register({ queryParameters: { id: '1' } }, { status: 200, body: { name: 'ada' } });
    await api.registerDefaultResponse({ status: 404, body: { error: 'no such user' } }, {
        stubPriority: 10,
    });
    r = await call('GET', '/captain/users?id=1');
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { name: 'ada' }]);
    r = await call('GET', '/captain/users?id=2');
    assert.deepEqual([r.status, JSON.parse(r.text)], [404, { error: 'no such user' }]);
    const userCalls = await api.getRequestsForAPI();
    assert.equal(userCalls.length, 0, 'the url filter compares the path only when there is no query');
    step('WireMockAPI');

    // Scenarios.
    const scenario = (required, next) => ({
        scenario: { scenarioName: 'door', requiredScenarioState: required, newScenarioState: next },
        responseBodyType: BodyType.Body,
    });
    await mock.register({ method: 'GET', endpoint: '/captain/door' }, { status: 200, body: 'closed' },
        scenario('Started'));
    await mock.register({ method: 'POST', endpoint: '/captain/door' }, { status: 200, body: 'opening' },
        scenario('Started', 'open'));
    await mock.register({ method: 'GET', endpoint: '/captain/door' }, { status: 200, body: 'open' },
        scenario('open'));
    assert.equal((await call('GET', '/captain/door')).text, 'closed');
    assert.equal((await call('POST', '/captain/door')).text, 'opening');
    assert.equal((await call('GET', '/captain/door')).text, 'open');
    const scenarios = await mock.getAllScenarios();
    const door = scenarios.find((s) => s.name === 'door');
    assert.ok(door, JSON.stringify(scenarios));
    assert.equal(door.state, 'open');
    assert.deepEqual([...door.possibleStates].sort(), ['Started', 'open']);
    await expectOk(await mock.resetAllScenarios());
    assert.equal((await call('GET', '/captain/door')).text, 'closed');
    step('scenarios');

    // Delays, faults, templates.
    await mock.register({ method: 'GET', endpoint: '/captain/slow' }, { status: 200, body: 'late' },
        { responseDelay: { type: DelayType.FIXED, constantDelay: 150 }, responseBodyType: BodyType.Body });
    await mock.register({ method: 'GET', endpoint: '/captain/broken' }, { status: 200 },
        { fault: WireMockFault.EMPTY_RESPONSE });
    await mock.register({ method: 'GET', endpoint: '/captain/echo?name=ada' },
        { status: 200, body: 'hello {{request.query.name}}' },
        { responseTransformers: [ResponseTransformer.RESPONSE_TEMPLATE], responseBodyType: BodyType.Body });
    const started = Date.now();
    assert.equal((await call('GET', '/captain/slow')).text, 'late');
    assert.ok(Date.now() - started >= 140, 'fixed delay');
    await assert.rejects(call('GET', '/captain/broken'));
    assert.equal((await call('GET', '/captain/echo?name=ada')).text, 'hello ada');
    step('delays, faults, templates');

    // Metadata.
    await mock.register(
        { method: 'GET', endpoint: '/captain/tagged', metadata: { owner: 'captain', tier: 1 } },
        { status: 200, body: 'tagged' },
        { responseBodyType: BodyType.Body },
    );
    const tagged = await mock.findMappingByMetadata({ owner: 'captain' }, MatchingAttributes.EqualToJson);
    assert.equal(tagged.length, 0, 'equalToJson compares the whole metadata');
    const byPath = await mock.findMappingByMetadata(
        { expression: '$.owner', equalTo: 'captain' },
        MatchingAttributes.MatchesJsonPath,
    );
    assert.equal(byPath.length, 1);
    assert.equal(byPath[0].request.url, '/captain/tagged');
    const removed = await mock.removeMappingByMetadata(
        { expression: '$.owner', equalTo: 'captain' },
        MatchingAttributes.MatchesJsonPath,
    );
    assert.deepEqual(removed, {});
    assert.equal((await call('GET', '/captain/tagged')).status, 404);
    step('findMappingByMetadata, removeMappingByMetadata');

    const mappings = await mock.getAllMappings();
    assert.ok(mappings.some((m) => m.id === created.id));
    const one = await mock.getMapping(created.id);
    assert.equal(one.id, created.id);
    assert.equal(one.priority, 1);
    assert.deepEqual(one.request.bodyPatterns, [
        { equalToJson: { item: 'tea', qty: 2 }, ignoreArrayOrder: false, ignoreExtraElements: false },
    ]);
    await expectOk(await mock.deleteMapping(ping.id));
    assert.equal((await call('GET', '/captain/ping/42', { headers: { Accept: 'text' } })).status, 404);
    assert.equal((await mock.getAllMappings()).length, mappings.length - 1);
    step('getAllMappings, getMapping, deleteMapping');

    await expectOk(await mock.clearAllExceptDefault());
    assert.equal((await mock.getAllMappings()).length, 0);
    assert.equal((await mock.getAllRequests()).length, 0);
    await mock.register({ method: 'GET', endpoint: '/captain/last' }, { status: 200 });
    await expectOk(await mock.clearAll());
    assert.equal((await mock.getAllMappings()).length, 0);
    assert.equal((await call('GET', '/captain/last')).status, 404);
    step('clearAllExceptDefault, clearAll');

    void fallback;
    console.log('ALL OK');
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
