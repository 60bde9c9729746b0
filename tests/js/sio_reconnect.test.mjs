// sio.js's reconnect(): what the tablet does when its `authenticate` goes unanswered
// (kiosk.js, AUTH_WAIT_MS): drop this connection, fail what waited on it, open a new one.
// sio.js is a classic script over `window`; it runs here in a context with a fake
// WebSocket that records what the client sends and lets the test play the server.
// Run: node --test tests/js  (tests/test_js.py runs it in the Python suite).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const SOURCE = readFileSync(new URL("../../kiosk_client/static/js/sio.js", import.meta.url), "utf8");

function loadSio() {
  const sockets = [];
  class FakeWebSocket {
    static OPEN = 1;
    constructor(url) {
      this.url = url;
      this.readyState = FakeWebSocket.OPEN;
      this.sent = [];
      this.closed = false;
      sockets.push(this);
    }
    send(text) {
      this.sent.push(text);
    }
    close() {
      this.closed = true;
      this.readyState = 3;
    }
    serverSays(frame) {
      if (this.onmessage) this.onmessage({ data: frame });
    }
  }
  const window = {
    location: { href: "http://hall.test/kiosk" },
    addEventListener() {},
    console: console,
  };
  const context = vm.createContext({ window, WebSocket: FakeWebSocket, URL, setTimeout, clearTimeout });
  vm.runInContext(SOURCE, context);
  return { SioClient: window.SioClient, sockets };
}

async function until(condition, what) {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("never: " + what);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function connected(sockets, SioClient) {
  const sio = new SioClient({ auth: { device: "kd_test" }, minDelayMs: 10, maxDelayMs: 20 });
  const disconnects = [];
  sio.on("disconnect", (reason) => disconnects.push(reason));
  sio.connect();
  const ws = sockets[sockets.length - 1];
  ws.serverSays('0{"sid":"e1","pingInterval":25000,"pingTimeout":60000}');
  assert.deepEqual(ws.sent, ['40{"device":"kd_test"}']);
  ws.serverSays('40{"sid":"s1"}');
  assert.equal(sio.connected, true);
  return { sio, ws, disconnects };
}

test("an unanswered authenticate times out; reconnect drops the connection and opens another", async () => {
  const { SioClient, sockets } = loadSio();
  const { sio, ws, disconnects } = connected(sockets, SioClient);
  const asked = sio.emitWithAck("authenticate", { device: "kd_test", signature: "sig" }, 30);
  assert.equal(ws.sent[1], '420["authenticate",{"device":"kd_test","signature":"sig"}]');
  await assert.rejects(asked, (e) => e.code === "timeout");

  const other = sio.emitWithAck("state", {}, 60000); // waiting on the same connection
  sio.reconnect("no answer to authenticate");
  assert.equal(ws.closed, true);
  assert.equal(sio.connected, false);
  assert.deepEqual(disconnects, ["no answer to authenticate"]);
  await assert.rejects(other, (e) => e.code === "disconnected");

  await until(() => sockets.length === 2, "a second connection opened");
  assert.equal(sockets[1].closed, false);
  ws.serverSays('430[{"ok":true}]'); // the old connection's late answer reaches nobody
  sio.close();
});

test("reconnect on a client with no connection does nothing", () => {
  const { SioClient, sockets } = loadSio();
  const sio = new SioClient({ auth: { device: "kd_test" } });
  sio.reconnect("nothing to drop");
  assert.equal(sockets.length, 0);
  assert.equal(sio.state, "closed");
});
