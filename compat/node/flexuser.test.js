// The official Node client against a running flexapi: fetch, update, list
// (through the client's own request and paging of next_page_url) and errors.
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
  let uri = `${base}/v2/Instances/${instance}/Users?PageSize=1`;
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
