// A WHIP client in the page (RFC 9725), driven step by step from the test through Playwright.
// The page is on another origin than the service, so every request below is a CORS request.
window.W = {
  log: [],
  async publish(base, video, prefer) {
    this.base = base;
    // With video: the fake camera too (640x480), and its echo shown in a muted <video> element;
    // `prefer` (a mimeType) is put first in the camera's offer.
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: !!video });
    const pc = (this.pc = new RTCPeerConnection({ iceServers: [] }));
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendrecv" });
    if (video) {
      const camera = pc.addTransceiver(stream.getVideoTracks()[0], { direction: "sendrecv" });
      if (prefer) {
        // The codec named first in the offer, the rest after it (what the browser would send).
        const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
        const first = codecs.filter((c) => c.mimeType === prefer);
        camera.setCodecPreferences(first.concat(codecs.filter((c) => c.mimeType !== prefer)));
      }
      pc.addEventListener("track", (e) => {
        if (e.track.kind !== "video") return;
        const el = document.createElement("video");
        el.muted = el.autoplay = el.playsInline = true;
        el.srcObject = new MediaStream([e.track]);
        document.body.appendChild(el);
        el.play().catch(() => {});
      });
    }
    this.channel = pc.createDataChannel("echo");
    this.messages = [];
    this.channel.onmessage = (e) => this.messages.push(typeof e.data === "string" ? e.data : "bytes:" + new Uint8Array(e.data).join(","));
    this.channel.binaryType = "arraybuffer";
    this.trickled = [];
    this.pending = [];
    pc.onicecandidate = (e) => this.trickle(e.candidate);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // POST at once, before any candidate is gathered: the offer carries none.
    const response = await fetch(base + "/whip", {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: offer.sdp,
    });
    if (response.status !== 201) throw new Error("POST " + response.status + " " + (await response.text()));
    this.resource = new URL(response.headers.get("Location"), base).href;
    this.etag = response.headers.get("ETag");
    const answer = await response.text();
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    for (const c of this.pending.splice(0)) await this.trickle(c);
    return { offerHadCandidates: offer.sdp.includes("a=candidate"), answer };
  },
  credentials(sdp) {
    return {
      ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)[1],
      pwd: /a=ice-pwd:(\S+)/.exec(sdp)[1],
    };
  },
  fragment(candidates, end) {
    const { ufrag, pwd } = this.credentials(this.pc.localDescription.sdp);
    let text = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n`;
    for (const c of candidates) text += "a=" + c + "\r\n";
    if (end) text += "a=end-of-candidates\r\n";
    return text;
  },
  async trickle(candidate) {
    // Firefox marks the end of each m-section's gathering with an empty candidate; the null
    // that ends the whole gathering follows and is sent as end-of-candidates.
    if (candidate && !candidate.candidate) return;
    if (!this.resource || this.restarting) {
      this.pending.push(candidate);
      return;
    }
    const body = candidate ? this.fragment([candidate.candidate], false) : this.fragment([], true);
    const response = await fetch(this.resource, {
      method: "PATCH",
      headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": this.etag },
      body,
    });
    this.trickled.push(response.status);
  },
  async connected() {
    const pc = this.pc;
    const open = this.channel.readyState === "open" ? null : new Promise((r) => this.channel.addEventListener("open", r, { once: true }));
    if (pc.connectionState !== "connected") {
      await new Promise((resolve, reject) => {
        pc.addEventListener("connectionstatechange", () => {
          if (pc.connectionState === "connected") resolve();
          if (pc.connectionState === "failed") reject(new Error("failed"));
        });
      });
    }
    if (open) await open;
    return pc.connectionState;
  },
  async echo(text) {
    const before = this.messages.length;
    this.channel.send(text);
    this.channel.send(new Uint8Array([1, 2, 3]));
    for (let i = 0; i < 200 && this.messages.length < before + 2; i++) await new Promise((r) => setTimeout(r, 25));
    return this.messages.slice(before);
  },
  async audio() {
    const stats = await this.pc.getStats();
    let inbound = null, outbound = null, pair = null, transport = null;
    stats.forEach((s) => {
      if (s.type === "transport") transport = s;
      if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s;
      if (s.type === "outbound-rtp" && s.kind === "audio") outbound = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    let remote = null;
    if (pair) stats.forEach((s) => { if (s.id === pair.remoteCandidateId) remote = s; });
    return {
      received: inbound ? inbound.packetsReceived : 0,
      bytesReceived: inbound ? inbound.bytesReceived : 0,
      sent: outbound ? outbound.packetsSent : 0,
      bytesSent: outbound ? outbound.bytesSent : 0,
      remote: remote ? remote.address + ":" + remote.port : null,
      remoteProtocol: remote ? remote.protocol : null,
      remoteTcpType: remote ? remote.tcpType : null,
      localUfrag: transport ? transport.iceLocalUsernameFragment : null,
      iceState: transport ? transport.iceState : null,
      pairChanges: transport ? transport.selectedCandidatePairChanges : null,
      currentLocalUfrag: this.credentials(this.pc.localDescription.sdp).ufrag,
    };
  },
  async video() {
    const stats = await this.pc.getStats();
    let inbound = null, outbound = null;
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") inbound = s;
      if (s.type === "outbound-rtp" && s.kind === "video") outbound = s;
    });
    let codec = null;
    if (inbound) stats.forEach((s) => { if (s.id === inbound.codecId) codec = s.mimeType; });
    return {
      framesDecoded: inbound ? inbound.framesDecoded || 0 : 0,
      keyFramesDecoded: inbound ? inbound.keyFramesDecoded || 0 : 0,
      frameWidth: inbound ? inbound.frameWidth || 0 : 0,
      frameHeight: inbound ? inbound.frameHeight || 0 : 0,
      pliSent: inbound ? inbound.pliCount || 0 : 0,
      codec,
      framesEncoded: outbound ? outbound.framesEncoded || 0 : 0,
      keyFramesEncoded: outbound ? outbound.keyFramesEncoded || 0 : 0,
      sentWidth: outbound ? outbound.frameWidth || 0 : 0,
      pliReceived: outbound ? (outbound.pliCount || 0) + (outbound.firCount || 0) : 0,
    };
  },
  async restart() {
    const pc = this.pc;
    const oldEtag = this.etag;
    this.restarting = true;
    pc.restartIce();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const response = await fetch(this.resource, {
      method: "PATCH",
      headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" },
      body: this.fragment([], false),
    });
    const fragment = await response.text();
    if (response.status !== 200) throw new Error("restart PATCH " + response.status + " " + fragment);
    this.etag = response.headers.get("ETag");
    const { ufrag, pwd } = this.credentials(fragment);
    const old = this.credentials(pc.currentRemoteDescription.sdp);
    const answer = pc.currentRemoteDescription.sdp
      .replaceAll("a=ice-ufrag:" + old.ufrag, "a=ice-ufrag:" + ufrag)
      .replaceAll("a=ice-pwd:" + old.pwd, "a=ice-pwd:" + pwd);
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    this.restarting = false;
    for (const c of this.pending.splice(0)) await this.trickle(c);
    return { oldUfrag: old.ufrag, newUfrag: ufrag, etagChanged: this.etag !== oldEtag && !!this.etag, fragment };
  },
  async remove() {
    const response = await fetch(this.resource, { method: "DELETE" });
    this.pc.close();
    return response.status;
  },
};
