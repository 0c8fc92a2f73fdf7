// Compiled (not run) by test/unit/types.test.js: the declarations in
// earshot.d.ts must type-check against the way the README uses the SDK.
import EarshotClient, { Call, CallInfo, CallIssue, EarshotError, Message, MutedTalkDetector, devToken, issueKey, listMicrophones, sortIssues } from "../../earshot.js";

async function main(): Promise<void> {
  const client = new EarshotClient({ url: "wss://chat.example.org/ws", maxAttempts: 10 });
  client.on("state", (state, info) => console.log(state, info.previous));
  client.on("reconnect_failed", (err: EarshotError) => console.log(err.code));
  client.on("message", (m: Message, meta) => console.log(m.seq, m.text, meta.source));
  client.on("notification", (n) => console.log(n.title, n.kind));
  client.on("event:customer_updated", (payload: unknown) => console.log(payload));
  client.on("call_started", (call: CallInfo, { ringing }) => console.log(call.id, ringing));
  client.on("*", (name: string, ...args: unknown[]) => console.log(name, args.length));
  await client.connect(async () => (await devToken({ user: "amira", role: "applicant" })).token);
  await client.joinRoom("visa-123");
  const local = client.sendMessage("visa-123", { text: "Hello", replyTo: "m-1" });
  const status: "sending" | "sent" | "failed" = local.status;
  const page = await client.getMessages("visa-123", { before: 10, limit: 20 });
  console.log(status, page.has_more);
  client.typing("visa-123");
  await client.markRead("visa-123");
  const mics = await listMicrophones();
  const call: Call = await client.startCall("visa-123", { mode: "sfu", deviceId: mics[0]?.deviceId });
  call.on("quality", (q) => console.log(q.participant_id, q.level, q.mos));
  call.on("speaking", ({ participant_id, speaking }) => console.log(participant_id, speaking));
  call.on("active_speaker", ({ participant_id }) => console.log(participant_id));
  call.on("stats", (r) => console.log(r.inbound?.length, r.outbound?.audio_level, r.connection_state));
  call.on("issue", (i: CallIssue) => console.log(issueKey(i), i.from_participant_id ?? null));
  call.on("issue_cleared", (i) => console.log(i.issue, i.duration_ms));
  call.on("talking_while_muted", ({ active }) => console.log(active));
  console.log(sortIssues(call.issues, call.participantId)[0]?.issue);
  client.on("call_issue", (f) => console.log(f.issue === "one_way_audio" ? f.from_user_id : f.user_id));
  const detector = new MutedTalkDetector({ onsetMs: 800 });
  console.log(detector.update(true, 0.3, Date.now()));
  call.setMuted(true);
  await call.setMicrophone(mics[1]?.deviceId ?? "default");
  for (const { pc } of call.peerConnections) await pc.getStats();
  await call.leave();
  const info: CallInfo = await client.startCall("visa-123", { mode: "p2p", join: false });
  const joined = await client.joinCall(info.id);
  await joined.end();
  const up = await client.uploadFile(new Blob(["x"]), "x.txt");
  client.sendMessage("visa-123", { attachments: [up] });
  // Monitoring (admins): live calls, then the history and a report.
  const live = await client.subscribeMonitor();
  for (const c of live) for (const p of c.participants) console.log(c.room_id, p.user.name, p.quality?.level, p.quality?.up_loss_pct);
  client.on("monitor_call", ({ call: c }) => console.log(c.id, c.participants.length));
  client.on("connection_quality", (q) => console.log(q.call_id, q.level, q.previous));
  client.on("monitor_call_ended", ({ call_id, summary }) => console.log(call_id, summary.worst_level, summary.avg_mos));
  const poor = await client.listCalls({ worst: "poor", since: Date.now() - 86400000 });
  const report = await client.getCallReport(poor[0].id);
  for (const s of report.samples) console.log(s.participant_id, s.at, s.mos, s.rtt_ms ?? null, s.sfu_loss_pct ?? null);
  for (const d of report.diagnosis ?? []) console.log(d.sentence, d.uplinks.map((u) => u.loss_pct));
  for (const i of report.issues ?? []) console.log(i.issue, i.started_at, i.ended_at, i.from_user_id);
  for (const l of report.legs ?? []) console.log(l.at, l.heard_loss_pct);
  const oneWay = await client.listCalls({ issue: "one_way_audio" });
  console.log(oneWay.length);
  console.log(report.call.ended_at, report.participants[0]?.worst_level, report.active);
  client.disconnect();
}

main().catch((err: unknown) => {
  if (err instanceof EarshotError) console.log(err.code, err.retryable);
});
