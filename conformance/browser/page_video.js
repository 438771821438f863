// Video commands for the conformance page (loaded after page.js, added to its H table): the fake
// camera (Chromium: --use-fake-device-for-media-stream's test pattern; Firefox: its fake
// camera) sent on a transceiver, remote video shown in muted <video> elements and read back
// through a canvas, and the video inbound/outbound RTP stats.
"use strict";
Object.assign(H, {
  async addCamera(id, width, height) {
    const s = pcs[id];
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width, height } });
    s.camera = stream;
    for (const t of stream.getVideoTracks()) s.pc.addTrack(t, stream);
    return stream.getVideoTracks().length;
  },
  addVideoReceiver(id) {
    // A video transceiver that only receives (no camera), so an offer from the page has one.
    pcs[id].pc.addTransceiver("video", { direction: "recvonly" });
    return true;
  },
  watchVideo(id) {
    const s = pcs[id];
    s.videos = [];
    s.pc.addEventListener("track", e => {
      if (e.track.kind !== "video") return;
      const el = document.createElement("video");
      el.muted = true;
      el.autoplay = true;
      el.playsInline = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
      el.play().catch(() => {});
      s.videos.push(el);
      // The longest time between two presented frames after the first (a freeze, seen by the
      // page rather than by getStats' freeze heuristics), when the browser has the callback.
      if (s.videos.length === 1 && el.requestVideoFrameCallback) {
        s.frames = { count: 0, last: null, maxGap: 0 };
        const tick = now => {
          const f = s.frames;
          if (f.last !== null) f.maxGap = Math.max(f.maxGap, now - f.last);
          f.last = now;
          f.count++;
          el.requestVideoFrameCallback(tick);
        };
        el.requestVideoFrameCallback(tick);
      }
    });
    return true;
  },
  async videoPicture(id) {
    // The remote video's current picture: its size and the mean red level of its four
    // quadrants, 16 pixels in from every edge (the quadrant pattern is grey: red = luma).
    const s = pcs[id];
    await until(() => s.videos && s.videos.length > 0 && s.videos[0].videoWidth > 0,
                "a remote video picture");
    const el = s.videos[0];
    const w = el.videoWidth, h = el.videoHeight;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext("2d", { willReadFrequently: true });
    g.drawImage(el, 0, 0, w, h);
    const data = g.getImageData(0, 0, w, h).data;
    const m = 16, hw = w >> 1, hh = h >> 1;
    const mean = (x0, y0, x1, y1) => {
      let total = 0, n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) { total += data[(y * w + x) * 4]; n++; }
      }
      return total / n;
    };
    return { width: w, height: h,
             means: [mean(m, m, hw - m, hh - m), mean(hw + m, m, w - m, hh - m),
                     mean(m, hh + m, hw - m, h - m), mean(hw + m, hh + m, w - m, h - m)] };
  },
  resetFrameGaps(id) {
    const f = pcs[id].frames;
    if (f) { f.maxGap = 0; f.last = null; f.count = 0; }
    return f !== undefined;
  },
  frameGaps(id) {
    // Presented frames and the longest gap between two of them (ms) since resetFrameGaps.
    return pcs[id].frames || null;
  },
  async videoStats(id) {
    // The first video inbound-rtp and outbound-rtp entries, with their codec's mimeType.
    const report = await pcs[id].pc.getStats();
    const out = { inbound: null, outbound: null, codecs: {} };
    report.forEach(r => {
      if (r.type === "codec") out.codecs[r.id] = r.mimeType;
      if (r.type === "inbound-rtp" && r.kind === "video" && !out.inbound) {
        out.inbound = { packetsReceived: r.packetsReceived, framesDecoded: r.framesDecoded,
                        keyFramesDecoded: r.keyFramesDecoded, frameWidth: r.frameWidth,
                        frameHeight: r.frameHeight, framesPerSecond: r.framesPerSecond,
                        nackCount: r.nackCount, pliCount: r.pliCount, firCount: r.firCount,
                        framesDropped: r.framesDropped, packetsLost: r.packetsLost,
                        retransmittedPacketsReceived: r.retransmittedPacketsReceived,
                        freezeCount: r.freezeCount, totalFreezesDuration: r.totalFreezesDuration,
                        codecId: r.codecId };
      }
      if (r.type === "outbound-rtp" && r.kind === "video" && !out.outbound) {
        out.outbound = { packetsSent: r.packetsSent, framesEncoded: r.framesEncoded,
                         frameWidth: r.frameWidth, frameHeight: r.frameHeight,
                         framesPerSecond: r.framesPerSecond, codecId: r.codecId,
                         keyFramesEncoded: r.keyFramesEncoded, nackCount: r.nackCount,
                         pliCount: r.pliCount, firCount: r.firCount,
                         retransmittedPacketsSent: r.retransmittedPacketsSent };
      }
    });
    return out;
  },
});
