// The server calls of the UI. Every call goes to the server the page was
// loaded from: a follower forwards operator calls to the leader.

const OPERATOR = '/ui/api/v1';

// HTTPError is an answer other than 2xx; its message is the server's.
export class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function check(resp, what) {
  if (resp.ok) return resp;
  const text = (await resp.text()).trim();
  throw new HTTPError(resp.status, `${what}: ${resp.status} ${text || resp.statusText}`);
}

// operator posts one operator API call and returns its JSON answer.
export async function operator(call, signal) {
  const resp = await fetch(OPERATOR, {
    method: 'POST', signal,
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
    body: JSON.stringify(call),
  });
  await check(resp, call.type);
  const text = await resp.text();
  return text ? JSON.parse(text) : {};
}

// getJSON reads a JSON endpoint of the server.
export async function getJSON(path, signal) {
  const resp = await fetch(path, { signal, headers: { 'Accept': 'application/json' }, cache: 'no-store' });
  await check(resp, path);
  return resp.json();
}

// MAX_RECORD bounds one record (the whole state of a large cluster is a
// few tens of MB): a corrupt length must not make the page allocate
// gigabytes.
export const MAX_RECORD = 512 << 20;

// RecordIO splits a byte stream into records: "<length>\n<length bytes>".
// Each record's bytes are gathered into one array sized up front, so a
// large first record (the whole state) is copied once.
export class RecordIO {
  constructor() {
    this.header = '';
    this.body = null;
    this.filled = 0;
    this.decoder = new TextDecoder();
  }

  // push takes the next chunk and returns the records it completed, as
  // strings. A malformed header throws.
  push(chunk) {
    const out = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.body === null) {
        const c = chunk[i++];
        if (c === 10) {
          const n = Number(this.header);
          if (this.header === '' || !Number.isSafeInteger(n) || n > MAX_RECORD) {
            throw new Error(`malformed RecordIO header ${JSON.stringify(this.header.slice(0, 32))}: expecting a length of at most ${MAX_RECORD} bytes`);
          }
          this.header = '';
          this.body = new Uint8Array(n);
          this.filled = 0;
        } else if (c >= 48 && c <= 57 && this.header.length < 12) {
          this.header += String.fromCharCode(c);
          continue;
        } else {
          throw new Error(`malformed RecordIO header: unexpected byte ${c}`);
        }
      }
      const take = Math.min(this.body.length - this.filled, chunk.length - i);
      this.body.set(chunk.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === this.body.length) {
        out.push(this.decoder.decode(this.body));
        this.body = null;
      }
    }
    return out;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// subscribe follows the operator event stream for good: it calls onEvent
// with each event (SUBSCRIBED first, with the whole state) and onStatus
// with 'connecting', 'live' or 'down' (and the reason), and reconnects
// with a growing pause when the stream ends, e.g. on a leader change. A
// stream that stays silent for three heartbeat intervals is dropped.
export async function subscribe(onEvent, onStatus) {
  let pause = 250;
  for (;;) {
    const ctl = new AbortController();
    let watchdog = null;
    try {
      onStatus('connecting');
      const resp = await fetch(OPERATOR, {
        method: 'POST', signal: ctl.signal,
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ type: 'SUBSCRIBE' }),
      });
      await check(resp, 'SUBSCRIBE');
      const reader = resp.body.getReader();
      const rio = new RecordIO();
      let silence = 45000;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctl.abort(), silence);
      };
      arm();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        for (const rec of rio.push(value)) {
          const ev = JSON.parse(rec);
          if (ev.type === 'SUBSCRIBED') {
            const hb = ev.subscribed && ev.subscribed.heartbeat_interval_seconds;
            if (hb > 0) silence = Math.max(3000, hb * 3000);
            pause = 250;
            onStatus('live');
          }
          onEvent(ev);
        }
      }
      onStatus('down', 'the event stream ended');
    } catch (err) {
      onStatus('down', err.message || String(err));
    } finally {
      clearTimeout(watchdog);
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 5000);
  }
}
