// The demo page: one OpenAI Realtime-style call over WebRTC to this server.
// Microphone -> RTP; the agent's voice comes back on the same audio transceiver; events travel
// on the "oai-events" data channel. No build step, no framework.
"use strict";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const demo = (window.demo = {
  state: "idle", events: [], user: [], agent: [], latencies: [], errors: [], callId: null,
  remoteVoice: [],  // [start, end] spans (performance.now() ms) when the agent was heard
});

let pc = null, channel = null, local = null, statsTimer = null, levelTimer = null;
let agentItem = null, agentText = "", lastLocalVoice = 0, turnStart = null, heard = false;
let audioContext = null, remoteAnalyser = null, localAnalyser = null, remoteStream = null;

function setState(state) {
  demo.state = state;
  $("status").textContent = state;
}

function addLine(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  $("conversation").append(li);
  return li;
}

function log(direction, event) {
  demo.events.push({ direction, type: event.type, at: performance.now() });
  const li = document.createElement("li");
  li.textContent = `${direction} ${event.type}` + (event.delta ? ` ${JSON.stringify(event.delta)}` : "");
  $("log").append(li);
  while ($("log").children.length > 300) $("log").firstChild.remove();
}

function send(event) {
  if (!channel || channel.readyState !== "open") return;
  log("→", event);
  channel.send(JSON.stringify(event));
}

function level(analyser) {
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  return Math.sqrt(sum / data.length);
}

function watchLevels() {
  // Local voice: the end of the user's speech is the last moment the microphone was loud.
  // Remote voice: the first loud moment after a turn ends is "first reply audio heard".
  levelTimer = setInterval(() => {
    const now = performance.now();
    if (localAnalyser && level(localAnalyser) > 0.01) lastLocalVoice = now;
    if (remoteAnalyser) {
      const remote = level(remoteAnalyser);
      demo.remoteLevel = Math.max(demo.remoteLevel || 0, remote);
      if (remote > 0.005) {
        const last = demo.remoteVoice[demo.remoteVoice.length - 1];
        if (last && now - last[1] < 250) last[1] = now;
        else demo.remoteVoice.push([now, now]);
      }
      if (turnStart !== null && !heard && remote > 0.005) {
        heard = true;
        const ms = Math.round(now - turnStart);
        demo.latencies.push(ms);
        $("latency").textContent = `${ms} ms`;
        if (agentItem) {
          const span = document.createElement("span");
          span.className = "latency";
          span.textContent = `(${ms} ms)`;
          agentItem.after(span);
        }
      }
    }
  }, 10);
}

window.demoStats = () => (pc ? pc.getStats() : Promise.resolve(new Map()));

async function pollStats() {
  if (!pc) return;
  const stats = await pc.getStats();
  const codecs = new Map();
  stats.forEach((s) => { if (s.type === "codec") codecs.set(s.id, s); });
  stats.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined)
      $("rtt").textContent = `${Math.round(s.currentRoundTripTime * 1000)} ms`;
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      if (s.jitter !== undefined) $("jitter").textContent = `${Math.round(s.jitter * 1000)} ms`;
      $("lost").textContent = `${s.packetsLost ?? 0} of ${s.packetsReceived ?? 0}`;
      const codec = codecs.get(s.codecId);
      if (codec) $("codec").textContent = `${codec.mimeType} ${codec.clockRate / 1000} kHz`;
      demo.packetsReceived = s.packetsReceived;
      demo.bytesReceived = s.bytesReceived;
      if (s.jitterBufferEmittedCount)  // the mean time audio waited in the jitter buffer
        demo.jitterBufferMs = Math.round((1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount);
    }
    if (s.type === "remote-candidate") demo.remoteCandidate = `${s.address}:${s.port}`;
  });
  demo.figures = ["latency", "rtt", "jitter", "lost", "codec"].map((id) => $(id).textContent);
  report();
}

function report() {
  const url = params.get("report");
  // Test harnesses without WebDriver (Firefox) read the page's state from these POSTs.
  if (url) fetch(url, { method: "POST", mode: "no-cors", body: JSON.stringify(demo) }).catch(() => {});
}

function onEvent(event) {
  log("←", event);
  switch (event.type) {
    case "session.created":
      setState("connected: speak");
      break;
    case "input_audio_buffer.speech_started":
      setState("listening");
      break;
    case "input_audio_buffer.speech_stopped":
      turnStart = lastLocalVoice || performance.now();
      heard = false;
      setState("thinking");
      break;
    case "conversation.item.input_audio_transcription.completed":
      demo.user.push(event.transcript);
      addLine("user", event.transcript);
      break;
    case "response.created":
      agentText = "";
      agentItem = addLine("agent", "");
      break;
    case "response.output_audio_transcript.delta":
    case "response.audio_transcript.delta":
      agentText += event.delta;
      if (agentItem) agentItem.textContent = agentText;
      break;
    case "response.output_audio_transcript.done":
    case "response.audio_transcript.done":
      if (agentItem) agentItem.textContent = event.transcript;
      break;
    case "output_audio_buffer.started":
      setState("speaking");
      break;
    case "output_audio_buffer.stopped":
    case "output_audio_buffer.cleared":
      setState("connected: speak");
      break;
    case "response.done":
      demo.agent.push({ status: event.response?.status, text: agentText });
      report();
      break;
    case "error":
      demo.errors.push(event.error);
      addLine("error", `error: ${event.error?.message}`);
      report();
      break;
  }
}

// A server that stops answering (killed, unplugged) leaves ICE without replies: Chromium says
// "disconnected" within seconds, every browser "failed" once consent expires (RFC 7675 §5.1,
// 30 s). "disconnected" may still recover (a network blip): the page says the server is not
// answering and gives it a few seconds; "failed", or no recovery by then, ends the call.
const LOST = "Connection lost: the server stopped answering";
const INTERRUPTED = "Connection interrupted: the server is not answering";
const GRACE_MS = 5000;
let lostTimer = null;
let stateBeforeLoss = null;

function watchConnection() {
  if (!pc) return;
  const states = [pc.connectionState, pc.iceConnectionState];
  if (states.includes("failed")) {
    demo.lostAt ??= performance.now();
    hangup(LOST);
  } else if (states.includes("disconnected")) {
    if (lostTimer !== null) return;
    demo.lostAt = performance.now();
    stateBeforeLoss = demo.state;
    setState(INTERRUPTED);
    lostTimer = setTimeout(() => hangup(LOST), GRACE_MS);
  } else if (pc.connectionState === "closed") {
    hangup("connection closed");
  } else if (lostTimer !== null) {  // back before the grace ran out
    clearTimeout(lostTimer);
    lostTimer = null;
    demo.lostAt = null;
    setState(stateBeforeLoss);
  }
}

async function talk() {
  $("talk").disabled = true;
  setState("starting");
  // Made inside the click, before any await, so the browser lets it play.
  audioContext = new AudioContext();
  try {
    const micFile = params.get("mic");  // test harnesses: a file as the microphone (Firefox
    if (micFile) {                       // has no fake-capture file; served with CORS)
      const player = new Audio();
      player.crossOrigin = "anonymous";
      player.src = micFile;
      local = player.mozCaptureStream ? player.mozCaptureStream() : player.captureStream();
      await player.play();
    } else {
      local = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    }
    audioContext.resume().catch(() => {});  // never settles while autoplay is blocked
    localAnalyser = audioContext.createAnalyser();
    audioContext.createMediaStreamSource(local).connect(localAnalyser);
    pc = new RTCPeerConnection();
    pc.addTransceiver(local.getAudioTracks()[0], { direction: "sendrecv" });
    pc.ontrack = (e) => {
      const stream = (remoteStream = e.streams[0] || new MediaStream([e.track]));
      $("remote").srcObject = stream;
      remoteAnalyser = audioContext.createAnalyser();
      remoteAnalyser.fftSize = 512;  // a 10 ms window: the level follows the voice closely
      audioContext.createMediaStreamSource(stream).connect(remoteAnalyser);
    };
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = watchConnection;
    channel = pc.createDataChannel("oai-events");
    channel.onmessage = (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (err) { demo.errors.push(String(err)); }
    };
    channel.onopen = () => {
      $("text").disabled = $("send").disabled = false;
      const voice = params.get("voice");
      if (voice) send({ type: "session.update", session: { voice } });
      if (params.get("say")) say(params.get("say"));  // typed input for test harnesses
    };
    await pc.setLocalDescription(await pc.createOffer());
    const headers = { "Content-Type": "application/sdp" };
    if (params.get("token")) headers.Authorization = `Bearer ${params.get("token")}`;
    const response = await fetch("v1/realtime/calls", { method: "POST", body: pc.localDescription.sdp, headers });
    if (response.status !== 201) throw new Error(`${response.status}: ${await response.text()}`);
    demo.callId = response.headers.get("Location").split("/").pop();
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    $("hangup").disabled = false;
    watchLevels();
    statsTimer = setInterval(pollStats, 1000);
  } catch (err) {
    demo.errors.push(String(err));
    addLine("error", String(err));
    await hangup(`failed: ${err.message || err}`);
    report();
  }
}

async function hangup(reason = "idle") {
  clearTimeout(lostTimer);
  lostTimer = null;
  clearInterval(statsTimer);
  clearInterval(levelTimer);
  if (demo.callId) {
    fetch(`v1/realtime/calls/${demo.callId}/hangup`, { method: "POST" }).catch(() => {});
    demo.callId = null;
  }
  pc?.close();
  local?.getTracks().forEach((t) => t.stop());
  audioContext?.close();
  pc = channel = local = audioContext = remoteAnalyser = localAnalyser = remoteStream = null;
  turnStart = agentItem = null;  // no turn in progress: nothing is listening or thinking
  heard = false;
  $("talk").disabled = false;
  $("hangup").disabled = $("text").disabled = $("send").disabled = true;
  setState(reason);
}

function say(text) {
  demo.user.push(text);
  addLine("user", text);
  send({ type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text }] } });
  send({ type: "response.create" });
  turnStart = performance.now();
  heard = false;
}

// Records the agent's voice as received, for tests that transcribe it back: then
// demo.stopRecording() resolves to the recording (webm/opus) in base64.
demo.recordRemote = () => {
  const recorder = new MediaRecorder(remoteStream);
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.start();
  demo.stopRecording = () => new Promise((resolve) => {
    recorder.onstop = () => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result.split(",", 2)[1]);
      reader.readAsDataURL(new Blob(chunks));
    };
    recorder.stop();
  });
};

$("talk").addEventListener("click", talk);
$("hangup").addEventListener("click", () => hangup());
$("typed").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  say(text);
});
if (params.get("auto")) talk();
