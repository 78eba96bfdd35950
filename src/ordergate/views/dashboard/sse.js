// The dashboard's event stream: Server-Sent Events read with fetch(), since an EventSource
// cannot send the Authorization header. Loaded before dashboard.js, which uses
// `EventStream`; the parser is kept apart so it can be read (and tested) on its own.
"use strict";

// ---- Server-Sent Events over fetch (EventSource cannot send Authorization) ----

// Parses a text/event-stream body as the HTML standard says: lines end in CRLF, LF or CR;
// a blank line dispatches; ":" starts a comment; one space after the colon is dropped;
// `id` (without NUL) is remembered even for events that end up without data.
class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.data = [];
    this.type = "";
    this.lastEventId = "";
    this.pendingCR = false;
  }

  push(text) {
    if (this.pendingCR && text.startsWith("\n")) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    // A lone CR at the end may be half of a CRLF split across two chunks.
    if (this.buffer === "" && text.endsWith("\r")) this.pendingCR = true;
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
  }

  dispatch() {
    const type = this.type || "message", data = this.data;
    this.type = "";
    this.data = [];
    if (!data.length) return;
    this.onEvent({ type, data: data.join("\n"), id: this.lastEventId });
  }
}

// One stream, reconnected with Last-Event-ID after it ends (overflow, shutdown, a network
// error); 401/403 stop it, as retrying cannot help.
class EventStream {
  constructor(onEvent, onStatus) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastEventId = null;
    this.failures = 0;
    this.abort = null;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
  }

  async connect() {
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token()}` };
    // The first connection asks for ID 0, which no run has given out: the server answers
    // with a `gap` notice and the oldest lines it retains, so the panels open with the
    // recent past instead of empty. Later connections resume where the stream stopped.
    headers["Last-Event-ID"] = this.lastEventId === null ? "0" : this.lastEventId;
    this.abort = new AbortController();
    this.onStatus("connecting", "muted");
    let ended = "the stream ended";
    try {
      const response = await fetch("/v1/events", { headers, signal: this.abort.signal,
        cache: "no-store", credentials: "omit" });
      if (!response.ok) {
        let problem = null;
        try { problem = await response.json(); } catch (_) { problem = null; }
        const error = new ApiError(response.status, problem);
        if (response.status === 401 || response.status === 403) {
          this.onStatus(`refused: ${error.message}`, "bad");
          if (response.status === 401) onUnauthorized(error);
          return;
        }
        throw error;
      }
      this.failures = 0;
      this.onStatus("live", "good");
      const parser = new SseParser((event) => {
        if (event.id) this.lastEventId = event.id;
        this.onEvent(event);
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (error) {
      if (this.stopped) return;
      ended = error && error.message ? error.message : String(error);
    }
    if (this.stopped) return;
    const wait = RECONNECT_MS[Math.min(this.failures, RECONNECT_MS.length - 1)];
    this.failures += 1;
    this.onStatus(`reconnecting in ${wait / 1000}s (${ended})`, "warn");
    this.timer = setTimeout(() => this.connect(), wait);
  }
}
