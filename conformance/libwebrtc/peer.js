// A libwebrtc peer (node + @roamhq/wrtc) driven by a Python test over stdin/stdout: one JSON
// command a line in ({id, op, args}), one reply a line out ({id, result} | {id, error}).
// Commands run concurrently: those of conformance/peer_commands.js (shared with the browser
// page) and the audio ones below.
// Usage: node peer.js WRTC_MODULE_DIR  (the folder holding @roamhq/wrtc's package.json).
"use strict";
const readline = require("readline");
const wrtc = require(process.argv[2]);
const { RTCAudioSource, RTCAudioSink, RTCVideoSource, RTCVideoSink } = wrtc.nonstandard;
globalThis.RTCPeerConnection = wrtc.RTCPeerConnection; // for peer_commands.js
const { H, pcs, until, toB64, reply } = require("../peer_commands.js");

const RATE = 48000;
const FRAME = RATE / 100; // RTCAudioSource takes 10 ms frames

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

// Four flat quadrants of the given luma (I420, chroma 128) with a noisy band moving along the
// middle rows, 30 frames a second paced on the clock, into an RTCVideoSource.
function startPattern(s, width, height, lumas) {
  const source = new RTCVideoSource();
  const trackOut = source.createTrack();
  const ySize = width * height;
  const data = new Uint8ClampedArray(ySize * 3 / 2).fill(128);
  const hw = width >> 1, hh = height >> 1;
  const start = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - start) * 30 / 1000);
    if (due <= sent) return;
    sent = due;
    for (let y = 0; y < height; y++) {
      const top = y < hh;
      for (let x = 0; x < width; x++) {
        data[y * width + x] = lumas[(top ? 0 : 2) + (x < hw ? 0 : 1)];
      }
      if (Math.abs(y - hh) < 8) {
        const x0 = (sent * 8) % (width - 32);
        for (let x = x0; x < x0 + 32; x++) data[y * width + x] = (Math.random() * 256) | 0;
      }
    }
    source.onFrame({ width, height, data });
    s.patternSent++;
  }, 10);
  s.patternSent = 0;
  s.stops.push(() => { clearInterval(timer); trackOut.stop(); });
  return trackOut;
}

// What an RTCVideoSink sees: frames counted, the sizes seen, the first frame's arrival and
// the last, and the last frame's four quadrant mean lumas (16 pixels in from every edge).
function watch(s, trackIn) {
  const sink = new RTCVideoSink(trackIn);
  s.seen = { frames: 0, sizes: {}, first: null, last: null, means: null };
  sink.onframe = ({ frame }) => {
    const v = s.seen;
    const now = performance.now();
    v.frames++;
    v.first = v.first ?? now;
    v.last = now;
    const key = frame.width + "x" + frame.height;
    v.sizes[key] = (v.sizes[key] || 0) + 1;
    if (v.frames % 10 === 0) {
      const w = frame.width, h = frame.height, m = 16, hw = w >> 1, hh = h >> 1, d = frame.data;
      const mean = (x0, y0, x1, y1) => {
        let t = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) t += d[y * w + x];
        return t / ((x1 - x0) * (y1 - y0));
      };
      v.means = [mean(m, m, hw - m, hh - m), mean(hw + m, m, w - m, hh - m),
                 mean(m, hh + m, hw - m, h - m), mean(hw + m, hh + m, w - m, h - m)];
    }
  };
  s.stops.push(() => sink.stop());
}

const newPc = H.newPc;
Object.assign(H, {
  newPc() {
    const id = newPc();
    const s = pcs[id];
    s.tracks = 0;
    s.pc.ontrack = e => {
      s.tracks++;
      if (e.track.kind === "audio") listen(s, e.track);
      if (e.track.kind === "video") watch(s, e.track);
    };
    return id;
  },
  addTone(id, frequency) {
    // After a remote offer this takes the transceiver the offer created (W3C addTrack).
    const s = pcs[id];
    s.pc.addTrack(startTone(s, frequency));
    return s.pc.getTransceivers().length;
  },
  addPattern(id, width, height, lumas) {
    // After a remote offer this takes the transceiver the offer created (W3C addTrack).
    const s = pcs[id];
    s.pc.addTrack(startPattern(s, width, height, lumas));
    return s.pc.getTransceivers().length;
  },
  async seen(id, frames) {
    // Once ``frames`` remote video frames have come: their count, sizes, time span (ms) and
    // the quadrant means of a recent one; and how many of ours our pattern source produced.
    const s = pcs[id];
    await until(() => s.seen && s.seen.frames >= frames && s.seen.means, "video frames");
    return { ...s.seen, span: s.seen.last - s.seen.first, patternSent: s.patternSent };
  },
  async videoStats(id) {
    // The video inbound-rtp and outbound-rtp entries of getStats(), with the codec names.
    const report = await pcs[id].pc.getStats();
    const all = {};
    report.forEach(entry => { all[entry.id] = entry; });
    const out = { inbound: null, outbound: null };
    for (const entry of Object.values(all)) {
      if (entry.kind !== "video") continue;
      const codec = all[entry.codecId];
      const summary = { ...entry, mimeType: codec ? codec.mimeType : null };
      if (entry.type === "inbound-rtp") out.inbound = summary;
      if (entry.type === "outbound-rtp") out.outbound = summary;
    }
    return out;
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
  async realtimeCall(id, url, key, session) {
    // The OpenAI Realtime WebRTC example's shape: the offer POSTed right after createOffer (no
    // candidates), Bearer the ephemeral key; with ``session`` (JSON text) as multipart/form-data
    // fields sdp and session (node's own FormData), else as application/sdp. The answer is set.
    const pc = pcs[id].pc;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let body = offer.sdp;
    const headers = { Authorization: "Bearer " + key };
    if (session === null) {
      headers["Content-Type"] = "application/sdp";
    } else {
      body = new FormData();
      body.set("sdp", offer.sdp);
      body.set("session", session);
    }
    const response = await fetch(url, { method: "POST", headers, body });
    const text = await response.text();
    if (response.status === 201) await pc.setRemoteDescription({ type: "answer", sdp: text });
    return { status: response.status, location: response.headers.get("Location"),
             contentType: response.headers.get("Content-Type"), answer: text,
             offerHadCandidates: offer.sdp.includes("a=candidate") };
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
});

function quit() {
  for (const id of Object.keys(pcs)) H.closePc(id);
  process.exit(0); // wrtc's threads keep node alive otherwise
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", line => {
  const cmd = JSON.parse(line);
  if (cmd.op === "quit") quit();
  reply(cmd).then(r => process.stdout.write(JSON.stringify(r) + "\n"));
});
lines.on("close", quit);
process.stdout.write(JSON.stringify({ id: 0, result: "ready" }) + "\n");
