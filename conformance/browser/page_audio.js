// Audio commands for the conformance page (loaded after page.js, added to its H table):
// microphone (Chrome: the fake capture file; Firefox: its fake tone) sent on a transceiver,
// remote tracks played on a muted <audio> element, and inbound/outbound RTP stats.
"use strict";
Object.assign(H, {
  async addMic(id) {
    const s = pcs[id];
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    s.mic = stream;
    for (const t of stream.getAudioTracks()) s.pc.addTrack(t, stream);
    return stream.getAudioTracks().length;
  },
  watchTracks(id) {
    const s = pcs[id];
    s.remoteTracks = [];
    s.pc.addEventListener("track", e => {
      s.remoteTracks.push(e.track);
      const el = document.createElement("audio");
      el.muted = true;
      el.autoplay = true;
      el.srcObject = e.streams[0] || new MediaStream([e.track]);
      document.body.appendChild(el);
    });
    return true;
  },
  async waitRemoteTrack(id) {
    const s = pcs[id];
    await until(() => s.remoteTracks && s.remoteTracks.length > 0, "a remote track");
    return s.remoteTracks[0].kind;
  },
  async insertDTMF(id, tones, duration, gap) {
    // Chrome's RTCDTMFSender on the first audio sender; every tonechange is recorded.
    const s = pcs[id];
    const sender = s.pc.getSenders().find(x => x.track && x.track.kind === "audio");
    const dtmf = sender.dtmf;
    if (!s.toneChanges) {
      s.toneChanges = [];
      dtmf.addEventListener("tonechange", e => s.toneChanges.push(e.tone));
    }
    await until(() => dtmf.canInsertDTMF, "canInsertDTMF", 5000);
    dtmf.insertDTMF(tones, duration, gap);
    return dtmf.toneBuffer;
  },
  async waitTonesDone(id) {
    const s = pcs[id];
    await until(() => s.toneChanges.includes(""), "the final tonechange");
    return s.toneChanges;
  },
  async transportStats(id) {
    // The DTLS transport as the browser reports it (Chromium: tlsVersion "FEFC" for 1.3).
    const report = await pcs[id].pc.getStats();
    let out = null;
    report.forEach(r => {
      if (r.type === "transport" && !out) {
        out = { tlsVersion: r.tlsVersion, dtlsCipher: r.dtlsCipher, dtlsState: r.dtlsState };
      }
    });
    return out;
  },
  async audioStats(id) {
    // The first audio inbound-rtp and outbound-rtp entries, with their codec's mimeType.
    const report = await pcs[id].pc.getStats();
    const out = { inbound: null, outbound: null, codecs: {} };
    report.forEach(r => {
      if (r.type === "codec") out.codecs[r.id] = r.mimeType;
      if (r.type === "inbound-rtp" && r.kind === "audio" && !out.inbound) {
        out.inbound = { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived,
                        packetsLost: r.packetsLost, jitter: r.jitter, codecId: r.codecId,
                        timestamp: r.timestamp };
      }
      if (r.type === "outbound-rtp" && r.kind === "audio" && !out.outbound) {
        out.outbound = { packetsSent: r.packetsSent, bytesSent: r.bytesSent,
                         codecId: r.codecId };
      }
    });
    return out;
  },
});
