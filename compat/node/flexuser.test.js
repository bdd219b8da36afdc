// The official Node client against a running flexapi: fetch, update, the v1
// list (through the client's own request and paging of next_page_url), v4
// Provision through the client's request, the v1 configuration, and errors.
// FLEXAPI_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, FLEXAPI_INSTANCE and
// FLEXAPI_USER come from the Go test that starts the server (TestNodeClient).
const test = require("node:test");
const assert = require("node:assert/strict");
const twilio = require("twilio");

const base = process.env.FLEXAPI_URL;
const instance = process.env.FLEXAPI_INSTANCE;
const user = process.env.FLEXAPI_USER;
const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
client.flexApi.baseUrl = base;

test("fetch", async () => {
  const u = await client.flexApi.v2.flexUser(instance, user).fetch();
  assert.equal(u.flexUserSid, user);
  assert.equal(u.instanceSid, instance);
  assert.equal(u.email, "one@example.com");
  assert.deepEqual(u.roles, ["agent"]);
  assert.ok(u.createdDate instanceof Date && !isNaN(u.createdDate));
  assert.equal(u.url, `${base}/v2/Instances/${instance}/Users/${user}`);
});

test("update", async () => {
  const before = await client.flexApi.v2.flexUser(instance, user).fetch();
  const u = await client.flexApi.v2.flexUser(instance, user).update({ email: "node@example.com", locale: "fr-CA" });
  assert.equal(u.email, "node@example.com");
  assert.equal(u.locale, "fr-CA");
  assert.equal(u.version, before.version + 1);
});

test("list, following next_page_url", async () => {
  let uri = `${base}/v1/Instances/${instance}/Users?PageSize=1`;
  const seen = [];
  while (uri) {
    const res = await client.request({ method: "get", uri });
    assert.equal(res.statusCode, 200);
    const page = typeof res.body === "string" ? JSON.parse(res.body) : res.body;
    assert.equal(page.meta.key, "users");
    seen.push(...page.users.map((u) => u.flex_user_sid));
    uri = page.meta.next_page_url;
  }
  assert.ok(seen.length >= 2, `walked ${seen.length} users`);
  assert.equal(new Set(seen).size, seen.length);
});

test("provision through the client's request, then fetch the user with v2", async () => {
  const provision = (fullName) =>
    client.request({
      method: "post",
      uri: `${base}/v4/Instances/${instance}/Users/Provision`,
      headers: { "Content-Type": "application/json" },
      data: { username: "node.agent@example.com", email: "node.agent@example.com", full_name: fullName, roles: ["agent"], worker: {} },
    });
  const first = await provision("Node Agent");
  assert.ok([200, 201].includes(first.statusCode), `status ${first.statusCode}`);
  const body = typeof first.body === "string" ? JSON.parse(first.body) : first.body;
  assert.match(body.flex_user_sid, /^FU[0-9a-f]{32}$/);
  assert.match(body.worker.worker_sid, /^WK[0-9a-f]{32}$/);
  const again = await provision("Node Agent");
  assert.equal(again.statusCode, 200);
  const u = await client.flexApi.v2.flexUser(instance, body.flex_user_sid).fetch();
  assert.equal(u.username, "node.agent@example.com");
  assert.equal(u.workerSid, body.worker.worker_sid);
  assert.equal(u.workspaceSid, body.worker.workspace_sid);
  assert.match(u.flexTeamSid, /^QO[0-9a-f]{32}$/);
});

test("the v1 configuration", async () => {
  const c = await client.flexApi.v1.configuration().fetch();
  assert.equal(c.accountSid, process.env.TWILIO_ACCOUNT_SID);
  assert.equal(c.flexInstanceSid, instance);
  assert.match(c.taskrouterWorkspaceSid, /^WS[0-9a-f]{32}$/);
  assert.equal(c.status, "ok");
  assert.ok(c.dateCreated instanceof Date && !isNaN(c.dateCreated));
  assert.equal(c.uiVersion, null);
});

test("autoRetry, given two 429s from a fault rule, retries and succeeds", async () => {
  const admin = (method, path, body) =>
    fetch(`${base}/_flexapi/${path}`, {
      method,
      headers: { Authorization: `Bearer ${process.env.FLEXAPI_ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: body && JSON.stringify(body),
    });
  const rule = await admin("POST", "faults", { method: "GET", path: `/v2/Instances/*/Users/${user}`, status: 429, times: 2 });
  assert.equal(rule.status, 201);
  const retrying = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN, { autoRetry: true, maxRetries: 3 });
  retrying.flexApi.baseUrl = base;
  const u = await retrying.flexApi.v2.flexUser(instance, user).fetch();
  assert.equal(u.flexUserSid, user);
  const journal = await (await admin("GET", `requests?path=/v2/Instances/*/Users/${user}&method=GET&limit=3`)).json();
  assert.deepEqual(journal.requests.map((r) => r.status), [429, 429, 200]);
});

test("errors arrive as RestException with Twilio's status and code", async () => {
  await assert.rejects(client.flexApi.v2.flexUser(instance, "FU" + "b".repeat(32)).fetch(), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.code, 20404);
    assert.match(err.message, /was not found/);
    return true;
  });
  await assert.rejects(client.flexApi.v2.flexUser(instance, user).update({ email: "not-an-address" }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 20001);
    return true;
  });
  const wrong = twilio(process.env.TWILIO_ACCOUNT_SID, "wrongtoken0123456789");
  wrong.flexApi.baseUrl = base;
  await assert.rejects(wrong.flexApi.v2.flexUser(instance, user).fetch(), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.code, 20003);
    return true;
  });
});
