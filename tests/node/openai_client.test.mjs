// The official `openai` npm client (the version package-lock.json pins) as a
// real client of `tessera serve` on the bundled demo model: plain and streamed
// chat completions and completions, the models list, a bad request as the
// client's typed 400 error, and the API key (401 without, success with); and
// embeddings from a second server on the committed tiny BERT (TESSERA_EMBED_MODEL).
// Greedy replies are compared with the server's own non-streamed answers taken
// with plain fetch, and completions with `tessera run --temp 0`.
//
// Run by CTest as `node openai_client.test.mjs` with TESSERA_BIN, TESSERA_MODEL
// and TESSERA_EMBED_MODEL set; exits 77 (CTest: skipped) when the npm packages are not
// installed, unless CI is set.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {spawn, execFileSync} from "node:child_process";

const bin = process.env.TESSERA_BIN;
const model = process.env.TESSERA_MODEL;
const embedModel = process.env.TESSERA_EMBED_MODEL;
if (!bin || !model || !embedModel) throw new Error("set TESSERA_BIN, TESSERA_MODEL and TESSERA_EMBED_MODEL");

let OpenAI;
try {
  OpenAI = (await import("openai")).default;
} catch (e) {
  const reason = `the openai npm package is not installed in tests/node (scripts/setup.sh --tests runs npm ci): ${e.message}`;
  if (process.env.CI) throw new Error(reason);
  console.log(`SKIP: ${reason}`);
  process.exit(77);
}

const apiKey = "k3y-for-tests";
const alias = "tessera-demo";
let server, baseURL, client, embedServer;

// `tessera serve` on a free port, resolved once /health answers 200.
async function startServer(path = model, name = alias) {
  const child = spawn(bin, ["serve", "-m", path, "--port", "0", "-t", "2", "-np", "2", "--api-key", apiKey, "--alias", name],
                      {stdio: ["ignore", "ignore", "pipe"]});
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(`${code ?? signal}`)));
  for (let i = 0; i < 1200; ++i) {  // bounded: about two minutes
    const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) {
      const url = `http://127.0.0.1:${m[1]}`;
      const health = await fetch(`${url}/health`).catch(() => null);
      if (health && health.status === 200) return {child, url, exited, log: () => log};
    }
    const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 100))]);
    if (done !== null) throw new Error(`tessera serve exited (${done}): ${log}`);
  }
  child.kill("SIGTERM");
  throw new Error(`tessera serve did not become ready: ${log}`);
}

// The server's own answer to a request, without the client library.
async function rawPost(path, body, key = apiKey, url = baseURL) {
  const headers = {"Content-Type": "application/json"};
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(`${url}${path}`, {method: "POST", headers, body: JSON.stringify(body)});
  return {status: res.status, body: await res.json()};
}

before(async () => {
  server = await startServer();
  baseURL = server.url;
  client = new OpenAI({apiKey, baseURL: `${baseURL}/v1`, maxRetries: 0, timeout: 120_000});
});

after(async () => {
  for (const s of [server, embedServer]) {
    if (!s) continue;
    s.child.kill("SIGTERM");
    await s.exited;
  }
});

const chatRequest = {
  model: alias,
  messages: [{role: "system", content: "Be brief."}, {role: "user", content: "Tell me about rivers."}],
  max_tokens: 24,
  temperature: 0,
};

test("models.list names the served model", async () => {
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, alias);
  assert.equal(models.data[0].object, "model");
});

test("chat.completions.create: plain reply equals the server's, streamed pieces concatenate to it", async () => {
  const raw = await rawPost("/v1/chat/completions", chatRequest);
  assert.equal(raw.status, 200, JSON.stringify(raw.body));
  const expected = raw.body.choices[0].message.content;
  assert.ok(expected.length > 0);

  const plain = await client.chat.completions.create(chatRequest);
  assert.equal(plain.object, "chat.completion");
  assert.equal(plain.model, alias);
  assert.equal(plain.choices[0].message.role, "assistant");
  assert.equal(plain.choices[0].message.content, expected);
  assert.equal(plain.choices[0].finish_reason, raw.body.choices[0].finish_reason);
  assert.equal(plain.usage.completion_tokens, raw.body.usage.completion_tokens);

  const stream = await client.chat.completions.create({...chatRequest, stream: true, stream_options: {include_usage: true}});
  let content = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.content) { content += choice.delta.content; ++chunks; }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.ok(chunks > 1, "the reply came in pieces");
  assert.equal(content, expected);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.equal(usage?.completion_tokens, plain.usage.completion_tokens);
});

test("completions.create: equals `tessera run --temp 0`, streamed pieces concatenate to it", async () => {
  const prompt = "The history of";
  const run = execFileSync(bin, ["run", "-m", model, "-p", prompt, "-n", "24", "--temp", "0", "-t", "1"],
                           {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]});
  const expected = run.slice(prompt.length, -1);  // stdout: the prompt, the continuation, a newline

  const plain = await client.completions.create({model: alias, prompt, max_tokens: 24, temperature: 0});
  assert.equal(plain.object, "text_completion");
  assert.equal(plain.choices[0].text, expected);
  assert.equal(plain.choices[0].finish_reason, "length");
  assert.equal(plain.usage.completion_tokens, 24);

  const stream = await client.completions.create({model: alias, prompt, max_tokens: 24, temperature: 0, stream: true});
  let text = "", finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? "";
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(text, expected);
  assert.equal(finish, "length");
});

test("a bad temperature is the client's BadRequestError with status 400", async () => {
  await assert.rejects(client.chat.completions.create({...chatRequest, temperature: 3}), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 400);
    assert.match(e.message, /'temperature' must be between/);
    assert.equal(e.error?.param, "temperature");
    return true;
  });
});

test("the API key: 401 without or with a wrong one, success with it", async () => {
  const wrong = new OpenAI({apiKey: "not-the-key", baseURL: `${baseURL}/v1`, maxRetries: 0});
  await assert.rejects(wrong.models.list(), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 401);
    return true;
  });
  await assert.rejects(wrong.chat.completions.create(chatRequest), OpenAI.AuthenticationError);
  const none = await rawPost("/v1/chat/completions", chatRequest, null);
  assert.equal(none.status, 401);
  assert.match(none.body.error.message, /API key/);
  const ok = await client.chat.completions.create(chatRequest);
  assert.ok(ok.choices[0].message.content.length > 0);
});

test("embeddings.create: the server's float vectors, through the client's default base64", async () => {
  embedServer = await startServer(embedModel, "tessera-bert");
  const embedClient = new OpenAI({apiKey, baseURL: `${embedServer.url}/v1`, maxRetries: 0, timeout: 120_000});
  const input = ["hello world", "the cat sat"];
  const raw = await rawPost("/v1/embeddings", {model: "tessera-bert", input, encoding_format: "float"}, apiKey,
                            embedServer.url);
  assert.equal(raw.status, 200, JSON.stringify(raw.body));
  const res = await embedClient.embeddings.create({model: "tessera-bert", input});
  assert.equal(res.object, "list");
  assert.equal(res.data.length, 2);
  for (const [i, d] of res.data.entries()) {
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, 64);
    assert.deepEqual(Array.from(d.embedding), raw.body.data[i].embedding);
  }
  assert.equal(res.usage.prompt_tokens, raw.body.usage.prompt_tokens);
  // A text generator has no embeddings: the client's typed 400.
  await assert.rejects(client.embeddings.create({model: alias, input: "hi"}), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
    assert.match(e.message, /not an embedding model/);
    return true;
  });
});
