// TypeScript declarations for earshot.js (the earshot browser SDK).
// Wire shapes follow docs/PROTOCOL.md; field names are the protocol's (snake_case).

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";
export type PresenceStatus = "online" | "away" | "busy" | "offline";
export type MessageType = "text" | "image" | "file" | "voice" | "system";
export type MessageStatus = "sending" | "sent" | "failed";

export type ServerErrorCode =
  | "UNAUTHENTICATED"
  | "ACCESS_DENIED"
  | "NOT_FOUND"
  | "BAD_REQUEST"
  | "RATE_LIMITED"
  | "MESSAGE_TOO_LARGE"
  | "NOT_JOINED"
  | "CONFLICT"
  | "UNAVAILABLE"
  | "INTERNAL"
  /** HTTP 413: an upload over the server's limit. */
  | "PAYLOAD_TOO_LARGE"
  /** HTTP 415 from `POST /api/uploads`. */
  | "UNSUPPORTED_MEDIA_TYPE"
  /** HTTP 405: a route called with a method it does not take. */
  | "METHOD_NOT_ALLOWED"
  /** HTTP 413 from `POST /api/uploads`: past the user's storage quota. */
  | "QUOTA_EXCEEDED"
  /** HTTP 507 from `POST /api/uploads`: the server is low on disk. */
  | "INSUFFICIENT_STORAGE";
/** Produced by the SDK: no reply in time, connection lost, HTTP request failed, microphone or WebRTC trouble. */
export type ClientErrorCode = "TIMEOUT" | "DISCONNECTED" | "NETWORK" | "MEDIA_DENIED" | "MEDIA_UNAVAILABLE" | "MEDIA";
export type ErrorCode = ServerErrorCode | ClientErrorCode;

export const SERVER_ERROR_CODES: readonly ServerErrorCode[];
export const CLIENT_ERROR_CODES: readonly ClientErrorCode[];

export class EarshotError extends Error {
  constructor(code: ErrorCode | string, message?: string, extra?: { requestId?: string; retryAfterMs?: number; status?: number; cause?: unknown });
  readonly name: "EarshotError";
  readonly code: ErrorCode;
  /** The request this error answers. */
  readonly requestId?: string;
  /** RATE_LIMITED: when to retry. */
  readonly retryAfterMs?: number;
  /** REST errors: the HTTP status. */
  readonly status?: number;
  /** Join errors: the room. */
  roomId?: string;
  /** True for codes worth retrying later. */
  readonly retryable: boolean;
  static fromFrame(frame: ErrorFrame): EarshotError;
}

export interface UserRef {
  id: string;
  name?: string | null;
  role?: string | null;
}

export interface RoomInfo {
  id: string;
  type: string;
  title: string;
  tenant?: string;
  metadata?: unknown;
  created_by: string;
  created_at: number;
}

export interface MemberView {
  user: UserRef;
  presence: PresenceStatus;
  last_seen?: number;
  last_read_seq: number;
  /** Messages up to here reached at least one of their devices. */
  delivered_seq?: number;
}

export interface MessagePreview {
  seq: number;
  sender_id: string;
  sender_name?: string;
  message_type: MessageType;
  text: string;
  created_at: number;
}

export interface RoomSummary {
  room: RoomInfo;
  unread: number;
  last_seq: number;
  last_message?: MessagePreview;
  /** Members currently online (any status but offline). */
  online: string[];
}

export interface Attachment {
  id: string;
  name?: string;
  mime_type?: string;
  size?: number;
  /** Fetch with `client.fetchAttachment(url)` / `attachmentUrl(url)` (it needs the Authorization header). */
  url?: string;
  thumbnail_url?: string;
}

/** `POST /api/uploads` result. */
export interface Upload extends Attachment {
  url: string;
}

export interface Message {
  /** Server id; null on a local message until it is acknowledged. */
  id: string | null;
  room_id: string;
  /** Per-room sequence number; null on a local message until acknowledged. */
  seq: number | null;
  sender: UserRef;
  client_msg_id: string;
  message_type: MessageType;
  text: string;
  reply_to?: string;
  refs?: unknown[];
  metadata?: unknown;
  lang?: string;
  attachments?: Attachment[];
  /** True for the assistant's messages (`ai_response`). */
  ai?: boolean;
  created_at: number;
  edited_at?: number;
  deleted: boolean;
}

/** What `sendMessage` returns: a message kept up to date as it is sent. */
export interface LocalMessage extends Message {
  local: true;
  status: MessageStatus;
  error?: EarshotError;
}

export interface PresenceView {
  user_id: string;
  status: PresenceStatus;
  last_seen?: number;
  devices?: number;
}

export interface Frame {
  type: string;
  request_id?: string;
  [key: string]: unknown;
}
export interface ErrorFrame extends Frame {
  type: "error";
  code: ErrorCode;
  message: string;
  retry_after_ms?: number;
}
export interface WelcomeFrame extends Frame {
  type: "welcome";
  user: UserRef;
  connection_id: string;
  server_time: number;
  heartbeat_interval_ms: number;
  /** When the token stops being honoured (ms, server clock); the SDK refreshes it before then. */
  token_expires_at?: number;
}
/** The reply to a token refresh (`authenticate` on the open socket). */
export interface TokenRefreshedFrame extends Frame {
  type: "token_refreshed";
  token_expires_at?: number;
}
export interface RoomJoinedFrame extends Frame {
  type: "room_joined";
  room: RoomInfo;
  members: MemberView[];
  last_seq: number;
  missed: Message[];
  has_more: boolean;
}
export interface MessageAckFrame extends Frame {
  type: "message_ack";
  room_id: string;
  client_msg_id: string;
  message_id: string;
  seq: number;
  created_at: number;
  duplicate: boolean;
}
export interface TypingFrame extends Frame {
  type: "typing";
  room_id: string;
  user_id: string;
  name?: string;
  is_typing: boolean;
}
export interface ReadReceiptFrame extends Frame {
  type: "read_receipt";
  room_id: string;
  user_id: string;
  seq: number;
}
export interface MessageDeletedFrame extends Frame {
  type: "message_deleted";
  room_id: string;
  message_id: string;
  seq: number;
}
export interface RoomLeftFrame extends Frame {
  type: "room_left";
  room_id: string;
}
export interface MemberJoinedFrame extends Frame {
  type: "member_joined";
  room_id: string;
  user: UserRef;
}
export interface MemberLeftFrame extends Frame {
  type: "member_left";
  room_id: string;
  user_id: string;
}
export interface PresenceFrame extends Frame, PresenceView {
  type: "presence";
}

export interface HistoryPage {
  room_id: string;
  /** Ascending seq. */
  messages: Message[];
  /** More exist in the direction paged. */
  has_more: boolean;
}

export interface RoomStateSnapshot {
  room: RoomInfo | null;
  members: MemberView[];
  /** Newest seq known to exist. */
  lastSeq: number;
  /** Newest seq delivered as a `message` event (contiguous from the join). */
  deliveredSeq: number;
  /** Your read mark (sent or about to be). */
  readSeq: number;
  joined: boolean;
}

export interface BackoffOptions {
  /** First retry delay (default 500 ms). */
  initialDelayMs?: number;
  /** Largest delay (default 30 000 ms). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction (0..1) of the delay taken off at random (default 0.5). */
  jitter?: number;
  /** Attempts before giving up (default Infinity). */
  maxAttempts?: number;
}

export type TokenProvider = () => string | Promise<string>;

export interface EarshotClientOptions {
  /** WebSocket URL (default: `ws(s)://<page host>/ws`). */
  url?: string;
  /** HTTP base for REST calls (default: derived from `url`). */
  baseUrl?: string;
  /** `message` (default): send `authenticate` first; `query`: `?token=` on the URL. */
  authMode?: "message" | "query";
  /** Reconnect attempts before `reconnect_failed` (default: unlimited). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** App-level `ping` period (default 10 000 ms). */
  heartbeatIntervalMs?: number;
  /** A `ping` without `pong` for this long means the connection is dead (default 5 000 ms). */
  heartbeatTimeoutMs?: number;
  /** Time from opening the socket to `welcome` (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Request timeout (default 15 000 ms). */
  requestTimeoutMs?: number;
  /** Send attempts per queued message before it fails (default 10). */
  sendMaxAttempts?: number;
  typing?: { refreshMs?: number; idleMs?: number };
  /** Injected for tests or non-browser runtimes. */
  WebSocket?: unknown;
  fetch?: typeof fetch;
  random?: () => number;
  /** Target for online/offline/visibilitychange hooks (default: window; null: none). */
  window?: unknown;
}

export interface SendMessageInput {
  /** Optional when there are attachments. */
  text?: string;
  /** Upload ids, or the objects `uploadFile` resolved with (shown at once on the local message). */
  attachments?: Array<string | Upload>;
  replyTo?: string;
  messageType?: Exclude<MessageType, "system">;
  refs?: unknown[];
  metadata?: unknown;
  lang?: string;
  /** Your own idempotency key (default: a random UUID). */
  clientMsgId?: string;
}

export interface EarshotEvents {
  state: (state: ConnectionState, info: { previous: ConnectionState }) => void;
  welcome: (frame: WelcomeFrame) => void;
  /** The token was refreshed on the open socket (from the token provider, before it expired). */
  token_refreshed: (frame: TokenRefreshedFrame) => void;
  connected: (info: { resumed: boolean; user: UserRef; connection_id: string }) => void;
  disconnected: (info: { code: number; reason: string; wasConnected: boolean; byClient: boolean }) => void;
  reconnecting: (info: { attempt: number; delay: number }) => void;
  reconnect_failed: (error: EarshotError) => void;
  error: (error: EarshotError) => void;
  pong: (frame: Frame & { rtt?: number }) => void;
  /** Every frame received, before it is handled. */
  frame: (frame: Frame) => void;
  room_joined: (frame: RoomJoinedFrame & { resumed: boolean }) => void;
  room_left: (frame: RoomLeftFrame) => void;
  /** In seq order, no gaps, no duplicates: from the join (`missed`), gap fills and live. */
  message: (message: Message, meta: { source: "missed" | "fill" | "live" }) => void;
  message_updated: (message: Message) => void;
  message_deleted: (frame: MessageDeletedFrame) => void;
  message_ack: (frame: MessageAckFrame) => void;
  /** A local message changed status (`sent` or `failed`, or `sending` again on retry). */
  message_status: (message: LocalMessage) => void;
  typing: (frame: TypingFrame) => void;
  read_receipt: (frame: ReadReceiptFrame) => void;
  /** Messages up to `seq` reached a device of `user_id`. */
  delivery_receipt: (frame: Frame & { room_id: string; user_id: string; seq: number }) => void;
  member_joined: (frame: MemberJoinedFrame) => void;
  member_left: (frame: MemberLeftFrame) => void;
  presence: (frame: PresenceFrame) => void;
  presence_list: (frame: Frame & { users: PresenceView[] }) => void;
  rooms: (frame: Frame & { rooms: RoomSummary[] }) => void;
  ok: (frame: Frame) => void;
  messages: (frame: Frame & HistoryPage) => void;
  /** The assistant answered; the message is also a `message` event (it has a seq in the room). */
  ai_response: (message: Message) => void;
  notification: (notification: Notification) => void;
  /** Notifications were marked read on one of your devices (this one included): `ids`, or `all` unread ones. */
  notifications_read: (change: { ids: string[]; all: boolean; read_at: number }) => void;
  /** A custom event published by the backend; also emitted as `event:<name>` with `(payload, event)`. */
  event: (event: CustomEvent) => void;
  /** A call started (`ringing`: someone else's start, the ring) in one of your rooms. */
  call_started: (call: CallInfo, meta: { ringing: boolean }) => void;
  call_ended: (frame: CallEndedFrame) => void;
  /** Someone accepted, declined, was busy or missed the call. */
  call_updated: (call: CallInfo) => void;
  /**
   * A live issue in a call: yours (`no_audio_sent`: your microphone sends no
   * sound while others speak; `one_way_audio`: you cannot hear someone, or
   * someone cannot hear you), or (monitors) any participant's in a call you watch.
   */
  call_issue: (frame: Frame & CallIssue) => void;
  /** The issue is over: hide its banner (only that one: several may be active). */
  call_issue_cleared: (frame: Frame & CallIssue & { duration_ms: number }) => void;
  /** The live room list changed: the rooms, most recently active first. */
  room_list: (rooms: RoomSummary[]) => void;
  /** You were put in a room (created with you, or you were added). */
  room_added: (frame: Frame & { room: RoomSummary }) => void;
  /** You are no longer a member of the room. */
  room_removed: (frame: Frame & { room_id: string }) => void;
  /** A room's title or metadata changed. */
  room_updated: (frame: Frame & { room: RoomInfo }) => void;
  /** A new message in a room of yours you have not joined on any device. */
  room_activity: (frame: Frame & { room_id: string; last_seq: number; message: MessagePreview }) => void;
  /** After every (re)connection: the calls that still concern this user. */
  active_calls: (calls: CallInfo[]) => void;
  /** This device joined a call. */
  call_joined: (call: Call) => void;
  /** The server does not take `call_stats` (no call-quality monitoring); the SDK stops sending them on this connection. */
  call_stats_unsupported: (error: EarshotError) => void;
  /** The fresh snapshot after a reconnect re-subscribed (the first one resolves `subscribeMonitor()`). */
  monitor_snapshot: (frame: Frame & { calls: MonitorCall[] }) => void;
  monitor_call: (frame: Frame & { call: MonitorCall }) => void;
  monitor_call_ended: (frame: Frame & { call_id: string; summary: CallSummary }) => void;
  /** A participant's level changed, in a call you are in or (monitors) any call you watch. */
  connection_quality: (frame: Frame & { call_id: string; participant_id: string; user_id: string; level: QualityLevel; previous: QualityLevel | null; mos: number; loss_pct: number; jitter_ms: number; rtt_ms: number | null }) => void;
}

export interface Notification {
  id: string;
  kind: "info" | "success" | "warning" | "error";
  title: string;
  body?: string;
  link?: string;
  data?: unknown;
  room_id?: string;
  created_at: number;
  read_at: number | null;
}

export interface CustomEvent {
  name: string;
  payload: unknown;
  /** Present when published to a room. */
  room_id?: string;
}


// ---- calls ----------------------------------------------------------------------

export type CallMode = "sfu" | "p2p";
export type CallState = "joining" | "connecting" | "connected" | "reconnecting" | "left" | "ended";
export type QualityLevel = "excellent" | "good" | "fair" | "poor";

export interface CallParticipantView {
  participant_id: string;
  user: UserRef;
  muted: boolean;
  joined_at: number;
}

export interface CallInfo {
  id: string;
  room_id: string;
  mode: CallMode;
  initiator: UserRef;
  started_at: number;
  participants: CallParticipantView[];
  /** `ringing` until someone other than the caller accepts. */
  state: "ringing" | "active";
  /** When the first callee accepted: the call timer starts there. */
  answered_at?: number;
  /** Everyone the call rang and where they stand. */
  invitees: CallInvitee[];
}

export type InviteState = "ringing" | "accepted" | "declined" | "busy" | "missed" | "cancelled";
export type CallOutcome = "completed" | "missed" | "declined" | "cancelled" | "busy" | "interrupted";

export interface DirectoryUser {
  id: string;
  name: string | null;
  role: string | null;
  presence: PresenceStatus;
  last_seen: number | null;
}

export interface CallInvitee {
  user_id: string;
  state: InviteState;
  /** Why they declined, when they said. */
  reason?: string;
  at: number;
}

export interface QualitySample {
  participant_id: string;
  level: QualityLevel;
  /** The level before this change (null for the first). */
  previous: QualityLevel | null;
  mos: number;
  loss_pct: number;
  jitter_ms: number;
  rtt_ms: number;
}

/** A participant as the Call keeps it. */
export interface CallParticipant extends CallParticipantView {
  /** This device. */
  isLocal: boolean;
  speaking: boolean;
  /** Last audio level (0..1). */
  level: number;
  /** Computed here from getStats (remote: their audio as received; local: the far end's report of ours). */
  quality?: QualitySample;
  /** The server's assessment (`connection_quality`), where the server sends it. */
  serverQuality?: { level: QualityLevel; mos?: number; loss_pct?: number; jitter_ms?: number; rtt_ms?: number };
}

export interface CallEndedFrame extends Frame {
  type: "call_ended";
  call_id: string;
  room_id: string;
  /** `gone`: the SDK found on reconnecting that the call no longer exists. */
  reason: "ended" | "empty" | "cancelled" | "declined" | "missed" | "busy" | "shutdown" | "gone" | string;
  /** How it went (`null` when the SDK only learnt the call is gone). */
  outcome: CallOutcome | null;
  /** From the first answer to the end; absent if nobody answered. */
  duration_ms?: number;
  ended_by?: string;
}

/**
 * A live call issue, as the server names it:
 * - `no_audio_sent`: the participant's microphone sends nothing (or silence) while others speak;
 * - `no_audio_received`: the participant hears nobody while others speak;
 * - `one_way_audio`: the participant (the receiver) cannot hear `from_participant_id` (the sender);
 * - `talking_while_muted`: the participant talks while muted (reported by their SDK);
 * - `reconnecting`: the participant's media path is interrupted;
 * - `media_failed`: the media path is gone (the participant is then removed, `call_left` `media_failed`).
 */
export type CallIssueKind = "no_audio_sent" | "no_audio_received" | "one_way_audio" | "talking_while_muted" | "reconnecting" | "media_failed";

/** One live issue (`call_issue`); keyed by (issue, participant_id, from_participant_id). */
export interface CallIssue {
  call_id: string;
  /** Who has the issue (for `one_way_audio`: the receiver, who cannot hear). */
  participant_id: string;
  user_id: string;
  issue: CallIssueKind | (string & {});
  /** When it began (ms since the epoch, server clock). */
  since: number;
  /** `one_way_audio`: the sender, whose audio does not reach `participant_id`. */
  from_participant_id?: string;
  from_user_id?: string;
}

/** The `call_stats` message the SDK sends every 5 s while in a call (docs/PROTOCOL.md). */
export interface CallStatsMessage {
  type: "call_stats";
  call_id: string;
  rtt_ms?: number;
  codec?: string;
  /** The worst `connectionState` of the call's peer connections. */
  connection_state?: RTCPeerConnectionState;
  outbound?: {
    packets_sent?: number;
    bytes_sent?: number;
    remote_packets_lost?: number;
    remote_fraction_lost?: number;
    remote_jitter_ms?: number;
    rtt_ms?: number;
    /** The microphone's level, 0..1 (the media source's `audioLevel`). */
    audio_level?: number;
  };
  inbound?: Array<{
    participant_id: string;
    packets_received?: number;
    packets_lost?: number;
    jitter_ms?: number;
    bytes_received?: number;
    concealed_samples?: number;
    total_samples_received?: number;
    jitter_buffer_delay_ms?: number;
    audio_level?: number;
  }>;
}

/** A participant's latest quality sample (docs/PROTOCOL.md, "Call quality"). */
export interface QualityView {
  level: QualityLevel;
  mos: number;
  /** Both legs combined, %. */
  loss_pct: number;
  up_loss_pct?: number | null;
  down_loss_pct?: number | null;
  jitter_ms: number;
  rtt_ms?: number | null;
  bitrate_kbps?: number | null;
  up_packets?: number | null;
  up_bytes?: number | null;
  down_packets?: number | null;
  down_bytes?: number | null;
  /** Mean RFC 6464 level, −dBov (127 is silence). */
  audio_level_dbov?: number | null;
  /** Share of packets with voice, 0..1. */
  voice_activity?: number | null;
  concealed_pct?: number | null;
  jitter_buffer_ms?: number | null;
  source: "sfu" | "client" | "sfu+client" | string;
  at: number;
}

export interface MonitorCall {
  id: string;
  room_id: string;
  mode: CallMode;
  started_at: number;
  initiator: UserRef;
  participants: Array<{
    participant_id: string;
    user: UserRef;
    muted: boolean;
    joined_at: number;
    /** The latest sample; null until the first. */
    quality: QualityView | null;
  }>;
}

/** A stored call (`GET /api/calls/{id}`): user ids, each device's stay. */
export interface CallRecord {
  id: string;
  room_id: string;
  mode: CallMode;
  initiator: string;
  started_at: number;
  ended_at: number | null;
  end_reason: "ended" | "empty" | "shutdown" | null;
  ended_by: string | null;
  participants: Array<{ participant_id: string; user_id: string; joined_at: number; left_at: number | null }>;
}

/** Quality over a set of samples (a call's or one participant's). */
export interface QualityTotals {
  samples: number;
  avg_mos: number | null;
  worst_mos: number | null;
  worst_level: QualityLevel | null;
  avg_loss_pct: number | null;
  max_loss_pct: number | null;
  avg_jitter_ms: number | null;
  avg_rtt_ms: number | null;
}

/** A call issue as the report keeps it. */
export interface CallReportIssue {
  participant_id: string;
  user_id: string;
  issue: CallIssueKind | (string & {});
  started_at: number;
  /** null while it goes on. */
  ended_at: number | null;
  from_participant_id?: string;
  from_user_id?: string;
}

/** Where the loss one participant heard came from (the report's `diagnosis`). */
export interface CallDiagnosis {
  participant_id: string;
  user_id: string;
  /** Loss in what this participant heard, %. */
  heard_loss_pct: number | null;
  /** The share of it lost on each sender's uplink. */
  uplinks: Array<{ participant_id: string; user_id: string; loss_pct: number | null }>;
  /** Lost in the SFU (sfu calls). */
  sfu_loss_pct: number | null;
  /** Lost on this participant's downlink. */
  downlink_loss_pct: number | null;
  jitter_ms: number | null;
  /** In words, with user ids as names: "omar heard 8 % loss: 7 % from amira's uplink, 1 % on omar's downlink". */
  sentence: string;
}

/** One participant's loss legs over one sample interval. */
export interface CallLeg {
  participant_id: string;
  at: number;
  heard_loss_pct: number | null;
  uplinks: Array<{ participant_id: string; loss_pct: number | null }>;
  sfu_loss_pct: number | null;
  downlink_loss_pct: number | null;
}

/** `GET /api/calls/{id}/report`. */
export interface CallReport {
  call: CallRecord;
  summary: CallSummary;
  participants: Array<QualityTotals & { participant_id: string; user_id: string; joined_at: number; left_at: number | null }>;
  /** Every sample in time order. */
  samples: Array<Omit<QualityView, "at"> & { participant_id: string; at: number; sfu_loss_pct?: number | null }>;
  /** Every live issue of the call, in order. */
  issues?: CallReportIssue[];
  /** One entry per participant: where the loss they heard came from. */
  diagnosis?: CallDiagnosis[];
  /** Per participant per sample interval. */
  legs?: CallLeg[];
  active: boolean;
}

export interface CallSummary extends QualityTotals {
  id: string;
  room_id: string;
  mode: CallMode;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  /** Devices that took part. */
  participants: number;
}

export interface CallOptions {
  /** `startCall` only: `sfu` (default) or `p2p`. */
  mode?: CallMode;
  /** `startCall` only: false to start without joining (resolves with the CallInfo). */
  join?: boolean;
  /** Microphone (`listMicrophones()`); default: the system's. */
  deviceId?: string;
  /** Use this stream instead of opening the microphone (it is not stopped on leave). */
  stream?: MediaStream;
  /** Join muted. */
  muted?: boolean;
  /** Where the `<audio>` elements go (default: a hidden element at the end of the page). */
  audioContainer?: HTMLElement;
  /** Override the server's `ice_servers`. */
  iceServers?: RTCIceServer[];
  /** `call_stats` period (default 2000 ms: p2p call issues are found from these reports). */
  statsIntervalMs?: number;
  /** Quality sampling period (default 2000 ms). */
  qualityIntervalMs?: number;
  /** Consecutive samples a new quality level needs before it is reported (default 2). */
  qualityRequiredSamples?: number;
  /** Audio level polling for speaking indicators (default 300 ms). */
  levelIntervalMs?: number;
  speaking?: { threshold?: number; hangoverMs?: number; switchMs?: number };
  p2p?: { disconnectedRestartMs?: number };
  /**
   * Talking while muted (listened to on a clone of the microphone while
   * muted): false turns it off; the numbers tune it (see MutedTalkDetector).
   */
  mutedTalk?: false | MutedTalkOptions;
  /** How often the microphone's level is read while muted (default 100 ms). */
  mutedTalkIntervalMs?: number;
}

export interface MutedTalkOptions {
  /** RMS (0..1) of a 10 ms frame that counts as voice (default 0.02). */
  threshold?: number;
  /** Voice for this long while muted raises the issue (default 1000 ms). */
  onsetMs?: number;
  /** Pauses shorter than this do not break a stretch of voice (default 600 ms). */
  gapMs?: number;
  /** Quiet for this long ends it (default 3000 ms). */
  quietMs?: number;
}

/** The decision behind `talking_while_muted`, fed levels and times. */
export class MutedTalkDetector {
  constructor(options?: MutedTalkOptions);
  readonly active: boolean;
  /** The new verdict when it changed (report it), else null. */
  update(muted: boolean, level: number, now: number): boolean | null;
  reset(): void;
}

/** The loudness of samples (-1..1): the highest RMS over frames of `frameSize` samples. */
export function frameLevel(samples: ArrayLike<number>, frameSize?: number): number;

/** Every issue kind, most important first. */
export const ISSUE_KINDS: readonly CallIssueKind[];
/** `issue|participant_id|from_participant_id`. */
export function issueKey(issue: Pick<CallIssue, "issue" | "participant_id" | "from_participant_id">): string;
/** Issues, most important first for the device `selfId`. */
export function sortIssues<T extends Pick<CallIssue, "issue" | "participant_id" | "since">>(issues: Iterable<T>, selfId?: string | null): T[];

export interface CallEvents {
  state: (state: CallState, info: { previous: CallState; reason?: string }) => void;
  /** Joined (again, after `rejoined`): this device's participant id. */
  joined: (info: { participant_id: string; call: CallInfo }) => void;
  /** Joined again after a reconnect or a failed media connection (a new participant id). */
  rejoined: (info: { participant_id: string; reason: string }) => void;
  participant_joined: (p: CallParticipant) => void;
  participant_left: (info: { participant_id: string; user_id: string; participant?: CallParticipant }) => void;
  participants: (list: CallParticipant[]) => void;
  /** A participant's audio arrived; `element` is their `<audio>`. */
  track: (info: { participant_id: string; track: MediaStreamTrack; stream: MediaStream; element: HTMLAudioElement | null }) => void;
  muted: (info: { participant_id: string; muted: boolean; by?: string }) => void;
  local_muted: (info: { muted: boolean }) => void;
  muted_by_moderator: (info: { muted: boolean; by: string }) => void;
  /** sfu: the server's choice; p2p: the loudest speaking participant. null: nobody. */
  active_speaker: (info: { participant_id: string | null; participant?: CallParticipant }) => void;
  speaking: (info: { participant_id: string; speaking: boolean; level: number; participant?: CallParticipant }) => void;
  /** A participant's quality level changed (computed here from getStats). */
  quality: (sample: QualitySample & { call_id: string; user_id?: string; participant?: CallParticipant }) => void;
  /** The server's `connection_quality` for a participant. */
  connection_quality: (frame: Frame & { participant_id: string; user_id: string; level: QualityLevel; previous?: QualityLevel; mos: number; loss_pct: number; jitter_ms: number; rtt_ms: number }) => void;
  /** Each `call_stats` report, as sent. */
  stats: (report: CallStatsMessage) => void;
  stats_error: (error: unknown) => void;
  /** The peer connection state (aggregate over peers in p2p; `waiting`: alone in a p2p call). */
  media_state: (state: RTCPeerConnectionState | "waiting") => void;
  negotiated: (info: { by: "client" | "server" | "p2p"; reason?: string; participant_id?: string }) => void;
  /** Offers crossed; ours was rolled back (sfu: on the server's CONFLICT). */
  glare: (info: { reason: string; error?: EarshotError | null; participant_id?: string }) => void;
  ice_restart: (info: { participant_id: string | null; reason?: string }) => void;
  microphone: (info: { deviceId: string; label: string }) => void;
  autoplay_blocked: (info: { participant_id: string; error: unknown }) => void;
  left: (info: { reason: string; error?: unknown }) => void;
  ended: (info: { reason: string; outcome?: CallOutcome; duration_ms?: number; ended_by?: string }) => void;
  /** The call's state on the server changed (`call_updated`): answered, declined, missed... */
  updated: (info: CallInfo) => void;
  /** The server raised a live issue of this device (`call_issue`; see `call.issues`). */
  issue: (issue: CallIssue) => void;
  /** One issue ended (`call_issue_cleared`, a rejoin, the call's end, or the participant it was about left). */
  issue_cleared: (issue: CallIssue & { duration_ms?: number }) => void;
  /** The SDK heard the user talk while muted (`active`), or stop; it tells the server (`report_call_issue`). */
  talking_while_muted: (info: { active: boolean }) => void;
  /** The server refused a `report_call_issue`. */
  issue_report_error: (error: EarshotError) => void;
  error: (error: EarshotError) => void;
}

export class Call extends Emitter<CallEvents> {
  readonly id: string;
  readonly roomId: string;
  readonly mode: CallMode;
  readonly info: CallInfo;
  readonly state: CallState;
  /** This device's participant id (null until joined). */
  readonly participantId: string | null;
  readonly participants: Map<string, CallParticipant>;
  readonly muted: boolean;
  readonly activeSpeaker: string | null;
  /** True until someone other than the caller answers. */
  readonly ringing: boolean;
  /** When the first callee answered (ms since the epoch), or null. */
  readonly answeredAt: number | null;
  readonly localStream: MediaStream | null;
  readonly localTrack: MediaStreamTrack | null;
  /** The call's peer connections (one in sfu calls; one per other participant in p2p calls). */
  readonly peerConnections: Array<{ pc: RTCPeerConnection; participantId: string | null }>;
  /** The last `call_stats` report sent. */
  readonly lastReport: CallStatsMessage | null;
  /** This device's live issues (from `call_issue`), most important first. */
  readonly issues: CallIssue[];
  participantList(): CallParticipant[];
  audioElement(participantId: string): HTMLAudioElement | undefined;
  setMuted(muted: boolean): boolean;
  toggleMute(): boolean;
  /** Switch microphones in the call (replaceTrack: no renegotiation). */
  setMicrophone(deviceId: string): Promise<MediaStreamTrack>;
  /**
   * Play the other participants on this output device ("" = the system
   * default). Rejects (e.g. NotFoundError) for a device the browser refuses,
   * and then changes nothing.
   */
  setOutputDevice(deviceId: string): Promise<void>;
  resumeAudio(): void;
  restartIce(): void;
  renegotiate(): Promise<void>;
  /** Moderators (staff roles). */
  muteParticipant(participantId: string, muted?: boolean): Promise<Frame>;
  leave(): Promise<void>;
  /** The caller, before anyone answered: cancel the call (it ends for everyone). */
  cancel(): Promise<void>;
  /** Initiator or staff: end the call for everyone. */
  end(): Promise<void>;
  readStats(): Promise<Array<{ rttMs?: number; codec?: string; outbound: object[]; inbound: Array<{ participant_id: string; bytes_received?: number; audio_level?: number }> }>>;
  statsReport(): Promise<CallStatsMessage>;
}

export function listMicrophones(): Promise<Array<{ deviceId: string; label: string; groupId: string }>>;
export function openMicrophone(deviceId?: string): Promise<MediaStream>;
/** The server's simplified E-model: MOS 1..4.5. */
export function estimateMos(lossPct: number, jitterMs: number, rttMs: number): number;
export function levelFromMos(mos: number): QualityLevel;

export type EventName = keyof EarshotEvents | (string & {});
/** The listener type of event `E` in an event map (any other name: untyped). */
export type ListenerOf<M, E extends string> = E extends "*" ? (event: string, ...args: any[]) => void : E extends keyof M ? M[E] : (...args: any[]) => void;

/** on / off / once, and `'*'`: a listener that gets `(eventName, ...args)` for every event. */
export class Emitter<M = EarshotEvents> {
  /** Subscribe; returns an unsubscribe function. */
  on<E extends (keyof M & string) | "*" | (string & {})>(event: E, listener: ListenerOf<M, E>): () => void;
  off(event: string, listener: (...args: any[]) => void): void;
  once<E extends (keyof M & string) | "*" | (string & {})>(event: E, listener: ListenerOf<M, E>): () => void;
  emit(event: string, ...args: unknown[]): void;
  listenerCount(event?: string): number;
}

/** A feature module installed with `client.use(plugin)`. */
export type EarshotPlugin<T> = (client: EarshotClient) => T;

export class EarshotClient extends Emitter<EarshotEvents> {
  constructor(options?: EarshotClientOptions);
  readonly url: string;
  readonly baseUrl: string;
  readonly state: ConnectionState;
  /** The signed-in user (from `welcome`), null before. */
  readonly user: UserRef | null;
  /** This connection's id (a call's `participant_id`). */
  readonly connectionId: string | null;
  /** Last known presence per user. */
  readonly presence: Map<string, PresenceView>;
  readonly joinedRooms: string[];

  /** Connect; a provider is called again before every reconnect. Resolves with `welcome`. */
  connect(tokenOrProvider: string | TokenProvider): Promise<WelcomeFrame>;
  /** Close for good: no reconnect; queued messages fail. */
  disconnect(): void;
  /** While reconnecting: skip the rest of the backoff delay and try now. */
  reconnectNow(): void;
  use<T>(plugin: EarshotPlugin<T>): T;

  /** Send a raw frame now; false when not connected. */
  send(frame: Frame): boolean;
  /** Send a request (a fresh `request_id`) and resolve with the reply frame; rejects with EarshotError. */
  request<T extends Frame = Frame>(type: string, payload?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T>;

  /** The first page of the user's rooms (the server's default page size). */
  listRooms(): Promise<RoomSummary[]>;
  /** The room list as live state: filled by `listRooms()`, kept current by the server's pushes. */
  readonly roomList: { list(): RoomSummary[] };
  /** People you may talk to (staff: your tenant's users; others: your tenant's staff), by part of a name or id. */
  findUsers(q?: string, options?: { limit?: number }): Promise<DirectoryUser[]>;
  /** One page of the user's rooms; pass `nextCursor` back as `cursor` for the next. */
  listRoomsPage(options?: { limit?: number; cursor?: string | null }): Promise<{ rooms: RoomSummary[]; hasMore: boolean; nextCursor: string | null }>;
  joinRoom(roomId: string, options?: { sinceSeq?: number; timeoutMs?: number }): Promise<RoomJoinedFrame>;
  leaveRoom(roomId: string): Promise<void>;
  roomState(roomId: string): RoomStateSnapshot | undefined;

  sendMessage(roomId: string, input: string | SendMessageInput): LocalMessage;
  retryMessage(clientMsgId: string): LocalMessage | undefined;
  pendingMessages(roomId?: string): LocalMessage[];
  editMessage(roomId: string, messageId: string, text: string): Promise<Frame>;
  deleteMessage(roomId: string, messageId: string): Promise<Frame>;
  getMessages(roomId: string, page?: { before?: number; after?: number; limit?: number }): Promise<HistoryPage>;

  /** Debounced typing: call on every keystroke. */
  typing(roomId: string): void;
  stopTyping(roomId: string): void;
  /** Move your read mark to `seq` (default: newest received). Resolves true once confirmed. */
  markRead(roomId: string, seq?: number): Promise<boolean>;
  /** Members other than you who have read up to `seq`. */
  readBy(roomId: string, seq: number): UserRef[];
  /** Delivered: every other member has `seq` on at least one device (or has read it). */
  deliveredToAll(roomId: string, seq: number): boolean;

  setPresence(status: "online" | "away" | "busy"): Promise<void>;
  getPresence(userIds: string[]): Promise<PresenceView[]>;
  presenceOf(userId: string): PresenceView | undefined;

  /** Calls of this client (routing, active calls per room). */
  readonly calls: { readonly active: Map<string, CallInfo>; readonly current: Call | undefined };
  /** Start a call (`mode` sfu by default) and join it unless `join: false`. */
  startCall(roomId: string, options?: CallOptions & { join?: true }): Promise<Call>;
  startCall(roomId: string, options: CallOptions & { join: false }): Promise<CallInfo>;
  /** Join a call: opens the microphone, joins, connects the media. */
  joinCall(callId: string, options?: CallOptions): Promise<Call>;
  /** Decline a call ringing for you (`reason`: `busy` or a short text). */
  declineCall(callId: string, reason?: string): Promise<void>;
  /** Cancel a call you placed that nobody has answered yet. */
  cancelCall(callId: string): Promise<void>;
  readonly currentCall: Call | undefined;
  /** The room's active call, from the ring or `GET /api/rooms/{id}/calls`; null if none. */
  activeCall(roomId: string, options?: { refresh?: boolean }): Promise<CallInfo | null>;

  /** Monitor roles: the snapshot of ongoing calls; `monitor_call` / `monitor_call_ended` events follow. */
  subscribeMonitor(): Promise<MonitorCall[]>;
  unsubscribeMonitor(): void;
  /** `GET /api/calls` with filters: call summaries. */
  /** `issue`: calls that had at least one issue of that kind. */
  listCalls(query?: { room_id?: string; user_id?: string; since?: number; until?: number; worst?: QualityLevel; issue?: CallIssueKind; limit?: number }): Promise<CallSummary[]>;
  getCallReport(callId: string): Promise<CallReport>;
  monitorCalls(): Promise<MonitorCall[]>;

  /** `id` only for staff roles and service (`api_roles`) tokens; others get ACCESS_DENIED and should omit it (the server generates one). */
  createRoom(room: { id?: string; type?: string; title: string; participants?: string[]; metadata?: unknown }): Promise<RoomInfo>;
  getRoom(roomId: string): Promise<{ room: RoomInfo; members: MemberView[]; last_seq: number }>;
  addMember(roomId: string, userId: string): Promise<unknown>;
  removeMember(roomId: string, userId: string): Promise<unknown>;
  getAssistant(roomId: string): Promise<{ room_id: string; enabled: boolean }>;
  /** Staff turn the room's assistant on or off; the room's creator may only turn it off. */
  setAssistant(roomId: string, enabled: boolean): Promise<{ room_id: string; enabled: boolean }>;
  getRoomCalls(roomId: string): Promise<{ room_id: string; calls: CallRecord[]; active: string | null }>;
  getCallRecord(callId: string): Promise<{ call: CallRecord; active: boolean }>;
  listNotifications(options?: { unread?: boolean }): Promise<Notification[]>;
  markNotificationRead(id: string): Promise<unknown>;
  markAllNotificationsRead(): Promise<unknown>;
  /** `POST /api/uploads`; send the result (or its id) in `sendMessage(room, {attachments})`. */
  uploadFile(file: Blob, name?: string): Promise<Upload>;
  /** GET an attachment with the Authorization header. */
  fetchAttachment(url: string): Promise<Blob>;
  /** `fetchAttachment` as a cached blob: URL. */
  attachmentUrl(url: string): Promise<string>;
  revokeAttachmentUrls(): Promise<void>;
}
export default EarshotClient;

/** Dev mode only: `POST /api/dev/token`. */
export function devToken(
  claims: { user: string; name?: string; role?: string; tenant?: string | null; rooms?: string[]; ttl_secs?: number },
  options?: { baseUrl?: string; fetch?: typeof fetch },
): Promise<{ token: string; claims: Record<string, unknown> }>;
/** `GET /api/dev/config`. */
export function devConfig(options?: { baseUrl?: string; fetch?: typeof fetch }): Promise<{ dev: boolean; staff_roles: string[] }>;
export function uuid(): string;

export const CLOSE: Readonly<{ NORMAL: 1000; POLICY: 1008; TOO_BIG: 1009; RESTART: 1012; SLOW_CONSUMER: 1013; HEARTBEAT: 4000; TOKEN_EXPIRED: 4001 }>;
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>>;
/** Delay before retry `attempt` (0-based): in [capped × (1 − jitter), capped]. */
export function backoffDelay(attempt: number, options?: BackoffOptions, random?: () => number): number;
export class Backoff {
  constructor(options?: BackoffOptions, random?: () => number);
  readonly attempt: number;
  readonly exhausted: boolean;
  /** Delay before the next attempt, or null when attempts are used up. */
  next(): number | null;
  reset(): void;
}

export interface OutboxEntry {
  clientMsgId: string;
  roomId: string;
  frame: Frame;
  message: LocalMessage;
  state: "queued" | "inflight" | "sent" | "failed";
  attempts: number;
  notBefore: number;
  error?: unknown;
}
export class Outbox {
  constructor(options?: { maxAttempts?: number; maxInFlightPerRoom?: number; now?: () => number });
  readonly size: number;
  enqueue(roomId: string, frame: Frame, message: object): OutboxEntry;
  get(clientMsgId: string): OutboxEntry | undefined;
  pending(roomId?: string): OutboxEntry[];
  take(ready: (roomId: string) => boolean): OutboxEntry[];
  ack(clientMsgId: string, ack?: { message_id?: string; seq?: number; created_at?: number }): OutboxEntry | undefined;
  fail(clientMsgId: string, error: unknown): OutboxEntry | undefined;
  defer(clientMsgId: string, delayMs?: number, error?: unknown): OutboxEntry | undefined;
  requeueInFlight(): OutboxEntry[];
  retry(clientMsgId: string): OutboxEntry | undefined;
  failAll(error: unknown, roomId?: string): OutboxEntry[];
  nextDueAt(): number | null;
}

export class Sequencer {
  constructor(lastSeq?: number);
  readonly lastSeq: number;
  readonly hasGap: boolean;
  reset(lastSeq: number): void;
  /** Returns the messages to deliver now, ascending and contiguous. */
  push<T extends { seq: number }>(messages: T[]): T[];
  skipGap<T extends { seq: number }>(): T[];
}

export class TypingDebouncer {
  constructor(send: (isTyping: boolean) => void, options?: { refreshMs?: number; idleMs?: number; now?: () => number; setTimer?: typeof setTimeout; clearTimer?: typeof clearTimeout });
  keystroke(): void;
  stop(): void;
  reset(): void;
}
