// Remote-controlled WebRTC page: fetches commands from the test server (/next), runs each
// concurrently (H of conformance/peer_commands.js, inlined before this), and posts
// {id, result | error} to /result. No driver needed, so the same page works in Chromium (opened
// by Playwright) and Firefox (opened from the command line).
"use strict";
async function serve() {
  for (;;) {
    let cmd;
    try {
      cmd = await (await fetch("/next")).json();
    } catch (e) {
      await sleep(200);
      continue;
    }
    if (cmd.op === "quit") return;
    reply(cmd).then(r => fetch("/result", { method: "POST", body: JSON.stringify(r) }));
  }
}
serve();
