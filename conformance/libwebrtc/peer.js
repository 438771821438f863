// A libwebrtc peer (node + @roamhq/wrtc) driven by a Python test over stdin/stdout: one JSON
// command a line in ({id, op, args}), one reply a line out ({id, result} | {id, error}).
// Commands run concurrently, as in conformance/browser/page.js whose op names this mirrors.
// Usage: node peer.js WRTC_MODULE_DIR  (the folder holding @roamhq/wrtc's package.json).
"use strict";
const crypto = require("crypto");
const readline = require("readline");
const wrtc = require(process.argv[2]);
const { RTCAudioSource, RTCAudioSink } = wrtc.nonstandard;

const RATE = 48000;
const FRAME = RATE / 100; // RTCAudioSource takes 10 ms frames
const pcs = {};
let nextPc = 0;

function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }
async function until(test, what, ms = 20000) {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error("timeout waiting for " + what);
    await sleep(2);
  }
}
const toB64 = buf => Buffer.from(buf).toString("base64");
const fromB64 = text => new Uint8Array(Buffer.from(text, "base64"));
function sha256(chunks) {
  const hash = crypto.createHash("sha256");
  for (const c of chunks) hash.update(new Uint8Array(c));
  return hash.digest("hex");
}
function track(s, ch) {
  ch.binaryType = "arraybuffer";
  s.ch[ch.label] = ch;
  s.inbox[ch.label] = [];
  ch.onmessage = e => s.inbox[ch.label].push(e.data);
  ch.onclose = () => s.closed.push(ch.label);
}
async function gathered(pc) {
  await until(() => pc.iceGatheringState === "complete", "ICE gathering");
}
function collectCandidates(s) {
  s.candidates = [];
  s.pc.onicecandidate = e => s.candidates.push(e.candidate ? {
    candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
    sdpMLineIndex: e.candidate.sdpMLineIndex } : null);
}

// A sine tone into an RTCAudioSource: 10 ms frames of 16-bit mono PCM, paced on the clock
// (setInterval alone drifts), at most 5 frames at once after a stall.
function startTone(s, frequency) {
  const source = new RTCAudioSource();
  const trackOut = source.createTrack();
  const samples = new Int16Array(FRAME);
  const step = 2 * Math.PI * frequency / RATE;
  const start = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - start) / 10);
    if (due - sent > 5) sent = due - 5;
    for (; sent < due; sent++) {
      for (let i = 0; i < FRAME; i++) samples[i] = Math.round(9000 * Math.sin(step * (sent * FRAME + i)));
      source.onData({ samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1,
                      numberOfFrames: FRAME });
    }
  }, 5);
  s.stops.push(() => { clearInterval(timer); trackOut.stop(); });
  return trackOut;
}

// What an RTCAudioSink hears: the first channel, from the first loud frame on.
function listen(s, trackIn) {
  const sink = new RTCAudioSink(trackIn);
  s.heard = { rate: RATE, samples: [], frames: 0 };
  sink.ondata = d => {
    const h = s.heard;
    h.frames++;
    h.rate = d.sampleRate;
    const channels = d.channelCount || 1;
    const first = [];
    for (let i = 0; i < d.samples.length; i += channels) first.push(d.samples[i]);
    if (h.samples.length === 0 && !first.some(v => Math.abs(v) >= 1000)) return;
    if (h.samples.length < 5 * h.rate) h.samples.push(...first);
  };
  s.stops.push(() => sink.stop());
}

const H = {
  newPc() {
    const id = ++nextPc;
    const pc = new wrtc.RTCPeerConnection();
    const s = { pc, ch: {}, inbox: {}, closed: [], stops: [], tracks: 0 };
    pcs[id] = s;
    pc.ondatachannel = e => track(s, e.channel);
    pc.ontrack = e => {
      s.tracks++;
      if (e.track.kind === "audio") listen(s, e.track);
    };
    return id;
  },
  createChannel(id, label, options) {
    const s = pcs[id];
    track(s, s.pc.createDataChannel(label, options));
    return true;
  },
  addTone(id, frequency) {
    // After a remote offer this takes the transceiver the offer created (W3C addTrack).
    const s = pcs[id];
    s.pc.addTrack(startTone(s, frequency));
    return s.pc.getTransceivers().length;
  },
  async offer(id) {
    const pc = pcs[id].pc;
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    return pc.localDescription.sdp;
  },
  async answer(id, sdp) {
    const pc = pcs[id].pc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    return pc.localDescription.sdp;
  },
  async setOffer(id, sdp) {
    await pcs[id].pc.setRemoteDescription({ type: "offer", sdp });
    return true;
  },
  async answerNow(id) {
    // Trickle: the answer at once, its candidates through trickleCandidates().
    const s = pcs[id];
    collectCandidates(s);
    await s.pc.setLocalDescription(await s.pc.createAnswer());
    return s.pc.localDescription.sdp;
  },
  async offerTrickle(id) {
    const s = pcs[id];
    collectCandidates(s);
    await s.pc.setLocalDescription(await s.pc.createOffer());
    return s.pc.localDescription.sdp;
  },
  async trickleCandidates(id) {
    // The candidates gathered since the last call (null marks the end), waiting for one.
    const s = pcs[id];
    await until(() => s.candidates.length > 0, "a candidate");
    return s.candidates.splice(0, s.candidates.length);
  },
  async addCandidate(id, candidate) {
    // candidate: {candidate, sdpMid, sdpMLineIndex} or null (end of candidates)
    await pcs[id].pc.addIceCandidate(candidate === null ? undefined : candidate);
    return true;
  },
  async setAnswer(id, sdp) {
    await pcs[id].pc.setRemoteDescription({ type: "answer", sdp });
    return true;
  },
  async waitOpen(id, label) {
    const s = pcs[id];
    await until(() => s.ch[label] && s.ch[label].readyState === "open", "open " + label);
    const ch = s.ch[label];
    // The binding reports an unset limit as 65535 where the W3C API says null.
    const limit = v => (v === 65535 ? null : v);
    return { id: ch.id, ordered: ch.ordered, maxRetransmits: limit(ch.maxRetransmits),
             maxPacketLifeTime: limit(ch.maxPacketLifeTime), protocol: ch.protocol,
             negotiated: ch.negotiated };
  },
  send(id, label, messages) {
    // messages: [["s", text] | ["b", base64]]
    const ch = pcs[id].ch[label];
    for (const [kind, value] of messages) ch.send(kind === "s" ? value : fromB64(value));
    return true;
  },
  async received(id, label, count) {
    const s = pcs[id];
    await until(() => s.inbox[label] && s.inbox[label].length >= count, count + " messages");
    return s.inbox[label].splice(0, count).map(
      m => typeof m === "string" ? ["s", m] : ["b", toB64(m)]);
  },
  async echo(id, label, count) {
    // Send back the next ``count`` messages as they came (text as text, binary as binary).
    const s = pcs[id];
    const ch = s.ch[label];
    await until(() => s.inbox[label] && s.inbox[label].length >= count, count + " messages");
    for (const m of s.inbox[label].splice(0, count)) ch.send(typeof m === "string" ? m : new Uint8Array(m));
    return true;
  },
  async sendRandom(id, label, total, chunk) {
    const ch = pcs[id].ch[label];
    const chunks = [];
    for (let at = 0; at < total; at += chunk) chunks.push(crypto.randomBytes(Math.min(chunk, total - at)));
    for (const c of chunks) {
      await until(() => ch.bufferedAmount < 1024 * 1024, "buffer room");
      ch.send(new Uint8Array(c));
    }
    return sha256(chunks);
  },
  async digestReceived(id, label, count) {
    const s = pcs[id];
    await until(() => s.inbox[label] && s.inbox[label].length >= count, count + " chunks");
    const chunks = s.inbox[label].splice(0, count);
    return [chunks.length, chunks.reduce((n, c) => n + c.byteLength, 0), sha256(chunks)];
  },
  close(id, label) { pcs[id].ch[label].close(); return true; },
  async waitClosed(id, label) {
    await until(() => pcs[id].closed.includes(label), "close of " + label);
    return pcs[id].ch[label].readyState;
  },
  async waitState(id, state) {
    await until(() => pcs[id].pc.connectionState === state, "connectionState " + state);
    return true;
  },
  async waitTrack(id) {
    await until(() => pcs[id].tracks > 0, "a remote track");
    return true;
  },
  async heard(id, seconds) {
    // ``seconds`` of the remote audio from its first loud frame, as base64 s16le at ``rate``.
    const s = pcs[id];
    await until(() => s.heard && s.heard.samples.length >= seconds * s.heard.rate, "audio");
    const h = s.heard;
    const n = Math.round(seconds * h.rate);
    return { rate: h.rate, frames: h.frames,
             samples: toB64(new Int16Array(h.samples.slice(0, n)).buffer) };
  },
  async audioStats(id) {
    // The audio inbound-rtp and outbound-rtp entries of getStats(), with the codec names.
    const report = await pcs[id].pc.getStats();
    const all = {};
    report.forEach(entry => { all[entry.id] = entry; });
    const out = { inbound: null, outbound: null };
    for (const entry of Object.values(all)) {
      if (entry.kind !== "audio") continue;
      const codec = all[entry.codecId];
      const summary = { ...entry, mimeType: codec ? codec.mimeType : null };
      if (entry.type === "inbound-rtp") out.inbound = summary;
      if (entry.type === "outbound-rtp") out.outbound = summary;
    }
    return out;
  },
  closePc(id) {
    const s = pcs[id];
    for (const stop of s.stops) stop();
    s.pc.close();
    delete pcs[id];
    return true;
  },
};

function quit() {
  for (const id of Object.keys(pcs)) H.closePc(id);
  process.exit(0); // wrtc's threads keep node alive otherwise
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", line => {
  const cmd = JSON.parse(line);
  if (cmd.op === "quit") quit();
  (async () => {
    let reply;
    try {
      reply = { id: cmd.id, result: await H[cmd.op](...cmd.args) };
    } catch (e) {
      reply = { id: cmd.id, error: String(e && e.stack || e) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  })();
});
lines.on("close", quit);
process.stdout.write(JSON.stringify({ id: 0, result: "ready" }) + "\n");
