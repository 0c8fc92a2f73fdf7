//! The per-packet path: [`Routes`], the state a call's packet loops share,
//! and [`publish_loop`], which reads one participant's audio and writes it
//! to every subscriber's track.
//!
//! The loop holds the routes' std `Mutex` for one lookup per packet (meter,
//! route, targets, speaker) and never across `.await`; the writes happen
//! after it is released.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use webrtc::interceptor::Attributes;
use webrtc::track::track_remote::TrackRemote;

use crate::engine::Sfu;
use crate::room::SfuEvent;
use crate::routes::{lock, Routes};
use crate::rtp::audio_level;
use crate::tap::StreamTaps;
use crate::track::ForwardTrack;

/// Read one participant's audio and write it to every subscriber's track.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish_loop(
    from: u64,
    track: Arc<TrackRemote>,
    taps: Arc<StreamTaps>,
    level_id: Option<u8>,
    routes: Arc<Mutex<Routes<ForwardTrack>>>,
    sfu: Sfu,
    closed: CancellationToken,
    events: mpsc::UnboundedSender<SfuEvent>,
) {
    let mut targets: Vec<(Arc<ForwardTrack>, u16, u32)> = Vec::new();
    let mut routed = Vec::new();
    // Built once: re-registering with the token for every packet shows.
    let stop = closed.cancelled();
    tokio::pin!(stop);
    // One read buffer for the stream (`read_rtp` allocates and zeroes one
    // per packet); the packet copies what it keeps.
    let mut buf = vec![0u8; 1500];
    // The track's first packet was read before `on_track` and waits in the
    // track; the rest are read from the stream's tap, under the track's
    // per-packet locks and the stats recorder (see `crate::tap`).
    let tapped = taps.remote(track.ssrc());
    let attrs = Attributes::new();
    let mut first = true;
    loop {
        let read = async {
            match (&tapped, first) {
                (Some(reader), false) => reader.read(&mut buf, &attrs).await.map_err(drop),
                _ => track.read(&mut buf).await.map_err(drop),
            }
        };
        let (mut pkt, _) = tokio::select! {
            biased;
            r = read => match r { Ok(p) => p, Err(()) => break },
            _ = &mut stop => break,
        };
        first = false;
        sfu.inner
            .live
            .received_packets
            .fetch_add(1, Ordering::Relaxed);
        let level = level_id
            .and_then(|id| pkt.header.get_extension(id))
            .and_then(|ext| audio_level(&ext));
        targets.clear();
        routed.clear();
        let arrival = Instant::now();
        let speaker_change = {
            let mut r = lock(&routes);
            if let Some(meter) = r.upstream.get_mut(&from) {
                meter.record(
                    pkt.header.sequence_number,
                    pkt.header.timestamp,
                    pkt.payload.len(),
                    level,
                    arrival,
                );
            }
            r.forwarder.route(
                from,
                pkt.header.sequence_number,
                pkt.header.timestamp,
                &mut routed,
            );
            for (to, seq, ts) in &routed {
                if let Some(t) = r.tracks.get(&(from, *to)) {
                    targets.push((t.clone(), *seq, *ts));
                }
            }
            let now = arrival;
            // A muted participant is not heard, so cannot be the speaker.
            if let (Some((dbov, voice)), false) = (level, r.forwarder.is_muted(from)) {
                r.speaker.observe(from, dbov, voice, now);
            }
            r.speaker.poll(now)
        };
        if let Some(change) = speaker_change {
            let _ = events.send(SfuEvent::ActiveSpeaker {
                participant: change.speaker,
            });
        }
        for (t, seq, ts) in &targets {
            pkt.header.sequence_number = *seq;
            pkt.header.timestamp = *ts;
            if t.write(&mut pkt).await.is_ok_and(|n| n > 0) {
                sfu.inner
                    .live
                    .forwarded_packets
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
