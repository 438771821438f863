// The commands of a remote-controlled RTCPeerConnection, shared by the browser page (inlined
// before conformance/browser/page.js) and the libwebrtc node peer (require()d by
// conformance/libwebrtc/peer.js, which puts wrtc's RTCPeerConnection in globalThis first).
// A command is {id, op, args}; reply(command) runs H[op](...args) and makes {id, result | error}.
// Only web APIs here (crypto, btoa, atob): node has them as globals too.
"use strict";
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
function toB64(buf) {
  let s = "";
  const bytes = new Uint8Array(buf);
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
function fromB64(text) { return Uint8Array.from(atob(text), c => c.charCodeAt(0)); }
async function sha256(chunks) {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { all.set(new Uint8Array(c), at); at += c.byteLength; }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, "0")).join("");
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
  // Plain fields: wrtc's RTCIceCandidate has no toJSON().
  s.candidates = [];
  s.pc.onicecandidate = e => s.candidates.push(e.candidate ? {
    candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
    sdpMLineIndex: e.candidate.sdpMLineIndex } : null);
}
function endOfGathering(pc) {
  // The null icecandidate of the next gathering (a restart gathers anew: the state may still
  // read "complete" from the last one when setLocalDescription resolves).
  return new Promise((resolve, reject) => {
    const previous = pc.onicecandidate;
    const timer = setTimeout(() => reject(new Error("timeout waiting for gathering")), 20000);
    pc.onicecandidate = e => {
      if (previous) previous(e);
      if (!e.candidate) { clearTimeout(timer); pc.onicecandidate = previous; resolve(); }
    };
  });
}
async function take(s, label, count, what) {
  await until(() => s.inbox[label] && s.inbox[label].length >= count, count + " " + what);
  return s.inbox[label].splice(0, count);
}

const H = {
  newPc() {
    const id = ++nextPc;
    const pc = new RTCPeerConnection();
    const s = { pc, ch: {}, inbox: {}, closed: [], stops: [] };
    pcs[id] = s;
    pc.ondatachannel = e => track(s, e.channel);
    return id;
  },
  createChannel(id, label, options) {
    const s = pcs[id];
    track(s, s.pc.createDataChannel(label, options));
    return true;
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
  sendOnOpen(id, label, text) {
    const ch = pcs[id].ch[label];
    ch.addEventListener("open", () => ch.send(text));
    return true;
  },
  async restartOffer(id) {
    // W3C restartIce(): negotiationneeded fires, and the next offer carries new ICE
    // credentials and the candidates gathered for them. Returns [sdp, how it restarted].
    const pc = pcs[id].pc;
    let how = "iceRestart option";
    if (typeof pc.restartIce === "function") {
      let needed = false;
      const previous = pc.onnegotiationneeded;
      pc.onnegotiationneeded = () => { needed = true; };
      pc.restartIce();
      await until(() => needed, "negotiationneeded after restartIce()", 5000);
      pc.onnegotiationneeded = previous;
      how = "restartIce";
    }
    const done = endOfGathering(pc);
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: how !== "restartIce" }));
    await done;
    return [pc.localDescription.sdp, how];
  },
  async answerRestart(id, sdp) {
    // Answer an ICE restart offer: new credentials, the new candidates in the answer.
    const pc = pcs[id].pc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    const done = endOfGathering(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await done;
    return pc.localDescription.sdp;
  },
  async iceState(id) {
    const pc = pcs[id].pc;
    return [pc.iceConnectionState, pc.connectionState];
  },
  async setAnswer(id, sdp) {
    await pcs[id].pc.setRemoteDescription({ type: "answer", sdp });
    return true;
  },
  async waitOpen(id, label) {
    const s = pcs[id];
    await until(() => s.ch[label] && s.ch[label].readyState === "open", "open " + label);
    const ch = s.ch[label];
    // wrtc reports an unset limit as 65535 where the W3C API says null.
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
    const messages = await take(pcs[id], label, count, "messages");
    return messages.map(m => typeof m === "string" ? ["s", m] : ["b", toB64(m)]);
  },
  async echo(id, label, count) {
    // Send back the next ``count`` messages as they came (text as text, binary as binary).
    const s = pcs[id];
    for (const m of await take(s, label, count, "messages")) {
      s.ch[label].send(typeof m === "string" ? m : new Uint8Array(m));
    }
    return true;
  },
  async sendRandom(id, label, total, chunk) {
    // ``chunk`` at most 65536: getRandomValues' limit.
    const ch = pcs[id].ch[label];
    const chunks = [];
    for (let at = 0; at < total; at += chunk) {
      chunks.push(crypto.getRandomValues(new Uint8Array(Math.min(chunk, total - at))));
    }
    for (const c of chunks) {
      await until(() => ch.bufferedAmount < 1024 * 1024, "buffer room");
      ch.send(c);
    }
    return await sha256(chunks);
  },
  async digestReceived(id, label, count) {
    const chunks = await take(pcs[id], label, count, "chunks");
    return [chunks.length, chunks.reduce((n, c) => n + c.byteLength, 0), await sha256(chunks)];
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
  // The data-channel stats getStats() lists, as [label, state] pairs sorted by label, and
  // the peer connection's dataChannelsOpened/Closed; with close, after closing the pc.
  async channelStats(id, close) {
    const s = pcs[id];
    if (close) s.pc.close();
    const channels = [];
    let counts = null;
    (await s.pc.getStats()).forEach(r => {
      if (r.type === "data-channel") channels.push([r.label, r.state]);
      if (r.type === "peer-connection") counts = [r.dataChannelsOpened, r.dataChannelsClosed];
    });
    channels.sort();
    return { channels, counts };
  },
  closePc(id) {
    const s = pcs[id];
    for (const stop of s.stops) stop();
    s.pc.close();
    delete pcs[id];
    return true;
  },
};

async function reply(cmd) {
  try {
    return { id: cmd.id, result: await H[cmd.op](...cmd.args) };
  } catch (e) {
    return { id: cmd.id, error: String(e) + (e && e.stack ? "\n" + e.stack : "") };
  }
}

if (typeof module === "object") module.exports = { H, pcs, until, toB64, reply };
