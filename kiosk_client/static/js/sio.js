/*
 * sio.js — a minimal Socket.IO v4 client over one browser WebSocket.
 *
 * Why our own: the hall LAN has no internet and the kiosks, the presidium
 * console and the hall display need only a small part of socket.io-client:
 * one namespace ("/"), text packets, acknowledgements and reconnection.
 * Small enough to read in one sitting and to audit.
 *
 * Wire format (Engine.IO protocol v4 over the WebSocket transport only,
 * Socket.IO protocol v5 inside Engine.IO "message" packets):
 *
 *   server → client  0{"sid":…,"pingInterval":…,"pingTimeout":…}   Engine.IO open
 *   client → server  40{auth json}                                 connect to "/"
 *   server → client  40{"sid":…}  or  44{"message":…}             connected / refused
 *   both             42["event",data]                              event
 *   client → server  42<id>["event",data]                          event wanting an ack
 *   server → client  43<id>[answer]                                the ack
 *   server → client  2        client → server  3                   ping → pong
 *   either           41                                            namespace disconnect
 *
 * Not supported, on purpose: binary attachments (45/46), other namespaces,
 * HTTP long-polling. Our protocol (docs/protocol.md) uses none of them.
 *
 * Usage:
 *   const sio = new SioClient({ auth: () => ({ device: id }) });
 *   sio.onState((state) => …);           // "connecting" | "connected" | "stalled" | "reconnecting" | "closed"
 *   sio.on("vote_opened", (vote) => …);   // also "connect", "disconnect", "connect_error"
 *   sio.connect();
 *   const answer = await sio.emitWithAck("state", {}, 5000);  // rejects: err.code "timeout" | "disconnected" | "offline"
 */
(function (global) {
  "use strict";

  // Engine.IO packet types: the first character of every frame.
  const EIO_OPEN = "0";
  const EIO_CLOSE = "1";
  const EIO_PING = "2";
  const EIO_PONG = "3";
  const EIO_MESSAGE = "4";
  // Socket.IO packet types: the character after EIO_MESSAGE.
  const SIO_CONNECT = "0";
  const SIO_DISCONNECT = "1";
  const SIO_EVENT = "2";
  const SIO_ACK = "3";
  const SIO_CONNECT_ERROR = "4";

  // Events the client itself raises; the server cannot send these names.
  const RESERVED = new Set(["connect", "disconnect", "connect_error"]);

  function sioError(code, message) {
    const err = new Error(message || code);
    err.code = code;
    return err;
  }

  /** Split "2[...]" / "3" + "12[...]" into {type, id, data} (namespace "/" only). */
  function parseSocketPacket(text) {
    const type = text.charAt(0);
    let i = 1;
    if (text.charAt(i) === "/") {
      // "/nsp,…": another namespace; we only speak "/".
      const comma = text.indexOf(",", i);
      const nsp = comma < 0 ? text.slice(i) : text.slice(i, comma);
      if (nsp !== "/") return null;
      i = comma < 0 ? text.length : comma + 1;
    }
    let digits = "";
    while (i < text.length && text.charAt(i) >= "0" && text.charAt(i) <= "9") {
      digits += text.charAt(i);
      i += 1;
    }
    let data;
    if (i < text.length) {
      try {
        data = JSON.parse(text.slice(i));
      } catch (e) {
        return null; // a malformed packet is dropped, never thrown into the page
      }
    }
    return { type: type, id: digits === "" ? null : Number(digits), data: data };
  }

  class SioClient {
    /**
     * options.url: base URL of the server (default: this page's origin)
     * options.path: Socket.IO path (default "/socket.io/")
     * options.auth: object, or function returning one, sent on every (re)connect
     * options.minDelayMs / maxDelayMs: reconnection backoff bounds
     */
    constructor(options) {
      options = options || {};
      const base = new URL(options.url || global.location.href);
      const scheme = base.protocol === "https:" ? "wss:" : "ws:";
      const path = options.path || "/socket.io/";
      this.wsUrl = scheme + "//" + base.host + path + "?EIO=4&transport=websocket";
      this.auth = options.auth || null;
      this.minDelayMs = options.minDelayMs || 500;
      this.maxDelayMs = options.maxDelayMs || 8000;

      this.ws = null;
      this.state = "closed";
      this.connected = false; // the "/" namespace is connected (not merely the WebSocket)
      this.sid = null;
      this.listeners = new Map(); // event → [fn]
      this.stateListeners = [];
      this.acks = new Map(); // ack id → {resolve, reject, timer}
      this.nextAckId = 0;
      this.received = []; // events that arrived before the connect ack (kept in order)
      this.attempts = 0;
      this.wanted = false; // connect() called and close() not: keep reconnecting
      this.reconnectTimer = null;
      this.heartbeatTimer = null;
      this.heartbeatMs = 45000; // replaced by pingInterval + pingTimeout from the open packet
      this.lastFrameAt = 0; // when the server last sent anything

      // The browser knows before we do when the network returns: retry at once.
      global.addEventListener("online", () => {
        if (this.wanted && !this.ws) this._reconnectNow();
      });
      // …and when it goes: a WebSocket may linger until the heartbeat gives up (up to
      // a minute) while nothing can pass. Drop it now, so the state shows it at once.
      global.addEventListener("offline", () => {
        if (this.ws) this._lost("browser offline");
      });
    }

    // --- public API ----------------------------------------------------------------

    connect() {
      this.wanted = true;
      if (!this.ws) this._open();
      return this;
    }

    close() {
      this.wanted = false;
      clearTimeout(this.reconnectTimer);
      if (this.ws) {
        if (this.connected) this._send(EIO_MESSAGE + SIO_DISCONNECT);
        this._drop("client close");
      }
      this._setState("closed");
    }

    /** Drop this connection and open a new one after the usual backoff. */
    reconnect(reason) {
      if (this.ws) this._lost(reason || "client reconnect");
    }

    on(event, fn) {
      if (!this.listeners.has(event)) this.listeners.set(event, []);
      this.listeners.get(event).push(fn);
      return this;
    }

    off(event, fn) {
      const list = this.listeners.get(event) || [];
      this.listeners.set(event, list.filter((f) => f !== fn));
      return this;
    }

    /**
     * fn(state) now and on every change: connecting, connected, stalled (an
     * acknowledgement timed out and nothing at all came from the server since
     * the request: the link may be dead before the heartbeat says so),
     * reconnecting, closed.
     */
    onState(fn) {
      this.stateListeners.push(fn);
      fn(this.state);
      return this;
    }

    /** Fire and forget. Returns false when not connected (nothing is queued). */
    emit(event, data) {
      if (!this.connected) return false;
      return this._send(EIO_MESSAGE + SIO_EVENT + JSON.stringify([event, data]));
    }

    /**
     * Emit and wait for the server's acknowledgement. Resolves with the answer;
     * rejects with err.code "offline" (not connected: nothing sent),
     * "disconnected" (the connection dropped before the answer: the request may
     * or may not have arrived) or "timeout". Callers that must not lose or
     * double a request resend the same payload — the server deduplicates.
     */
    emitWithAck(event, data, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (!this.connected) {
          reject(sioError("offline", "not connected"));
          return;
        }
        const id = this.nextAckId++;
        const sentAt = Date.now();
        const timer = setTimeout(() => {
          this.acks.delete(id);
          // Silence since the request: say so now rather than after the heartbeat timeout.
          if (this.state === "connected" && this.lastFrameAt < sentAt) this._setState("stalled");
          reject(sioError("timeout", "no answer within " + timeoutMs + " ms"));
        }, timeoutMs || 10000);
        this.acks.set(id, { resolve: resolve, reject: reject, timer: timer });
        const args = data === undefined ? [event] : [event, data];
        if (!this._send(EIO_MESSAGE + SIO_EVENT + id + JSON.stringify(args))) {
          clearTimeout(timer);
          this.acks.delete(id);
          reject(sioError("offline", "send failed"));
        }
      });
    }

    // --- connection ------------------------------------------------------------------

    _open() {
      this._setState(this.attempts === 0 ? "connecting" : "reconnecting");
      let ws;
      try {
        ws = new WebSocket(this.wsUrl);
      } catch (e) {
        this._scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onmessage = (msg) => {
        if (this.ws === ws) this._onFrame(String(msg.data));
      };
      ws.onclose = () => {
        if (this.ws === ws) this._lost("transport closed");
      };
      ws.onerror = () => {
        // Browsers follow an error with close, some runtimes do not: treat it
        // as the end of this socket either way (the guard stops a double count).
        if (this.ws === ws) this._lost("transport error");
      };
    }

    _onFrame(frame) {
      this.lastFrameAt = Date.now();
      if (this.state === "stalled") this._setState("connected");
      this._armHeartbeat();
      const kind = frame.charAt(0);
      const body = frame.slice(1);
      if (kind === EIO_OPEN) {
        let open = {};
        try {
          open = JSON.parse(body);
        } catch (e) {
          /* keep the defaults */
        }
        if (open.pingInterval && open.pingTimeout) {
          this.heartbeatMs = open.pingInterval + open.pingTimeout;
          this._armHeartbeat();
        }
        const auth = typeof this.auth === "function" ? this.auth() : this.auth;
        this._send(EIO_MESSAGE + SIO_CONNECT + (auth ? JSON.stringify(auth) : ""));
      } else if (kind === EIO_PING) {
        this._send(EIO_PONG);
      } else if (kind === EIO_CLOSE) {
        this._lost("server close");
      } else if (kind === EIO_MESSAGE) {
        const packet = parseSocketPacket(body);
        if (packet) this._onPacket(packet);
      }
      // EIO_PONG, noop and upgrade packets need no answer over a WebSocket.
    }

    _onPacket(packet) {
      switch (packet.type) {
        case SIO_CONNECT: {
          this.connected = true;
          this.attempts = 0;
          this.sid = packet.data && packet.data.sid;
          this._setState("connected");
          this._dispatch("connect", []);
          const early = this.received;
          this.received = [];
          early.forEach((p) => this._onEvent(p));
          break;
        }
        case SIO_CONNECT_ERROR:
          // Refused by the server (e.g. unknown device, not logged in): tell the
          // page, then retry with backoff — the cause may be fixed meanwhile.
          this._dispatch("connect_error", [packet.data || {}]);
          this._drop("connect refused");
          this._scheduleReconnect();
          break;
        case SIO_DISCONNECT:
          this._lost("server disconnect");
          break;
        case SIO_EVENT:
          if (this.connected) this._onEvent(packet);
          else this.received.push(packet); // e.g. a challenge sent from the connect handler
          break;
        case SIO_ACK: {
          const pending = this.acks.get(packet.id);
          if (pending) {
            this.acks.delete(packet.id);
            clearTimeout(pending.timer);
            pending.resolve(Array.isArray(packet.data) ? packet.data[0] : packet.data);
          }
          break;
        }
        default:
          break; // binary packets are not part of our protocol
      }
    }

    _onEvent(packet) {
      if (!Array.isArray(packet.data) || typeof packet.data[0] !== "string") return;
      const name = packet.data[0];
      if (RESERVED.has(name)) return;
      const results = this._dispatch(name, packet.data.slice(1));
      if (packet.id !== null) {
        // The server asked for an acknowledgement: answer with the first listener's value.
        const answer = results.length && results[0] !== undefined ? [results[0]] : [];
        this._send(EIO_MESSAGE + SIO_ACK + packet.id + JSON.stringify(answer));
      }
    }

    _dispatch(event, args) {
      const results = [];
      (this.listeners.get(event) || []).slice().forEach((fn) => {
        try {
          results.push(fn.apply(null, args));
        } catch (e) {
          // One broken listener must not stop the others or the connection.
          if (global.console) global.console.error("sio listener " + event, e);
        }
      });
      return results;
    }

    _send(text) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      this.ws.send(text);
      return true;
    }

    /** No ping from the server in time: the link is dead even if TCP has not noticed. */
    _armHeartbeat() {
      clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = setTimeout(() => this._lost("ping timeout"), this.heartbeatMs);
    }

    /** Close the WebSocket and fail every pending ack; no reconnect decision here. */
    _drop(reason) {
      clearTimeout(this.heartbeatTimer);
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch (e) {
          /* already closed */
        }
      }
      const wasConnected = this.connected;
      this.connected = false;
      this.received = [];
      this.acks.forEach((pending) => {
        clearTimeout(pending.timer);
        pending.reject(sioError("disconnected", reason));
      });
      this.acks.clear();
      if (wasConnected) this._dispatch("disconnect", [reason]);
    }

    _lost(reason) {
      this._drop(reason);
      this._scheduleReconnect();
    }

    _scheduleReconnect() {
      if (!this.wanted) {
        this._setState("closed");
        return;
      }
      this.attempts += 1;
      this._setState("reconnecting");
      // Exponential backoff with jitter, so 3,000 kiosks do not return in one burst.
      const ceiling = Math.min(this.maxDelayMs, this.minDelayMs * Math.pow(2, this.attempts - 1));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this._open(), delay);
    }

    _reconnectNow() {
      clearTimeout(this.reconnectTimer);
      this._open();
    }

    _setState(state) {
      if (state === this.state) return;
      this.state = state;
      this.stateListeners.forEach((fn) => {
        try {
          fn(state);
        } catch (e) {
          if (global.console) global.console.error("sio state listener", e);
        }
      });
    }
  }

  global.SioClient = SioClient;
})(window);
