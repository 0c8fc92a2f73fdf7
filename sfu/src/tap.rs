//! [`StreamTaps`]: the per-stream RTP reader and writer of one peer
//! connection, taken from inside webrtc-rs's interceptor chain so the
//! forwarding loop can use them directly.
//!
//! Reading a remote track through `TrackRemote::read` costs, per packet, a
//! tokio mutex, a watch subscription and a `select!` on the receiver's state,
//! a read lock on the receiver's track list, and the stats recorder that
//! every peer connection's chain ends with (a message to a stats task per
//! packet). Writing through the track's `TrackLocalWriter` takes another
//! tokio mutex. None of that does anything for an audio SFU. A [`Tap`] sits
//! last in the chains we build: it sees each stream's reader and writer as
//! the interceptors before it left them (receiver and sender reports still
//! see every packet), records them by SSRC, and passes them on unchanged.
//!
//! What is lost by reading under the stats recorder: webrtc-rs's own
//! `get_stats` inbound counters, which nothing here uses (the SFU meters
//! its links itself, see [`crate::meter`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use webrtc::interceptor::stream_info::StreamInfo;
use webrtc::interceptor::{
    Interceptor, InterceptorBuilder, RTCPReader, RTCPWriter, RTPReader, RTPWriter,
};

type Reader = Arc<dyn RTPReader + Send + Sync>;
type Writer = Arc<dyn RTPWriter + Send + Sync>;

/// The streams of one peer connection, by SSRC.
#[derive(Default)]
pub struct StreamTaps {
    // std Mutexes: held only to insert, remove or clone one `Arc`, never
    // across `.await`; bound and unbound a few times per call.
    remote: Mutex<HashMap<u32, Reader>>,
    local: Mutex<HashMap<u32, Writer>>,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold no invariant a panic could break halfway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StreamTaps {
    /// The reader of the remote stream `ssrc`, once it is bound.
    pub fn remote(&self, ssrc: u32) -> Option<Reader> {
        guard(&self.remote).get(&ssrc).cloned()
    }

    /// The writer of the local stream `ssrc`, once it is bound.
    pub fn local(&self, ssrc: u32) -> Option<Writer> {
        guard(&self.local).get(&ssrc).cloned()
    }

    /// How many streams are bound (remote, local).
    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        (guard(&self.remote).len(), guard(&self.local).len())
    }

    /// An interceptor builder whose interceptors record into these taps.
    pub fn builder(self: &Arc<Self>) -> Box<dyn InterceptorBuilder + Send + Sync> {
        Box::new(TapBuilder(self.clone()))
    }

    /// An interceptor recording into these taps.
    pub fn interceptor(self: &Arc<Self>) -> Arc<Tap> {
        Arc::new(Tap(self.clone()))
    }
}

struct TapBuilder(Arc<StreamTaps>);

impl InterceptorBuilder for TapBuilder {
    fn build(
        &self,
        _id: &str,
    ) -> Result<Arc<dyn Interceptor + Send + Sync>, webrtc::interceptor::Error> {
        Ok(self.0.interceptor())
    }
}

/// Records every stream it is bound to; changes nothing.
pub struct Tap(Arc<StreamTaps>);

#[async_trait]
impl Interceptor for Tap {
    async fn bind_rtcp_reader(
        &self,
        reader: Arc<dyn RTCPReader + Send + Sync>,
    ) -> Arc<dyn RTCPReader + Send + Sync> {
        reader
    }

    async fn bind_rtcp_writer(
        &self,
        writer: Arc<dyn RTCPWriter + Send + Sync>,
    ) -> Arc<dyn RTCPWriter + Send + Sync> {
        writer
    }

    async fn bind_local_stream(&self, info: &StreamInfo, writer: Writer) -> Writer {
        guard(&self.0.local).insert(info.ssrc, writer.clone());
        writer
    }

    async fn unbind_local_stream(&self, info: &StreamInfo) {
        guard(&self.0.local).remove(&info.ssrc);
    }

    async fn bind_remote_stream(&self, info: &StreamInfo, reader: Reader) -> Reader {
        guard(&self.0.remote).insert(info.ssrc, reader.clone());
        reader
    }

    async fn unbind_remote_stream(&self, info: &StreamInfo) {
        guard(&self.0.remote).remove(&info.ssrc);
    }

    async fn close(&self) -> Result<(), webrtc::interceptor::Error> {
        guard(&self.0.remote).clear();
        guard(&self.0.local).clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrtc::interceptor::Attributes;
    use webrtc::rtp::packet::Packet;

    struct Fixed(u16);

    #[async_trait]
    impl RTPReader for Fixed {
        async fn read(
            &self,
            _buf: &mut [u8],
            a: &Attributes,
        ) -> Result<(Packet, Attributes), webrtc::interceptor::Error> {
            let mut p = Packet::default();
            p.header.sequence_number = self.0;
            Ok((p, a.clone()))
        }
    }

    #[async_trait]
    impl RTPWriter for Fixed {
        async fn write(
            &self,
            _pkt: &Packet,
            _a: &Attributes,
        ) -> Result<usize, webrtc::interceptor::Error> {
            Ok(self.0 as usize)
        }
    }

    fn info(ssrc: u32) -> StreamInfo {
        StreamInfo {
            ssrc,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn records_streams_by_ssrc_until_unbound() {
        let taps = Arc::new(StreamTaps::default());
        let tap = taps.interceptor();
        let r = tap.bind_remote_stream(&info(7), Arc::new(Fixed(42))).await;
        // Passed through unchanged, and the same reader is recorded.
        let mut buf = [0u8; 8];
        let (p, _) = r.read(&mut buf, &Attributes::new()).await.unwrap();
        assert_eq!(p.header.sequence_number, 42);
        let (p, _) = taps
            .remote(7)
            .unwrap()
            .read(&mut buf, &Attributes::new())
            .await
            .unwrap();
        assert_eq!(p.header.sequence_number, 42);
        assert!(taps.remote(8).is_none());

        tap.bind_local_stream(&info(9), Arc::new(Fixed(5))).await;
        let n = taps
            .local(9)
            .unwrap()
            .write(&Packet::default(), &Attributes::new())
            .await
            .unwrap();
        assert_eq!(n, 5);
        assert_eq!(taps.len(), (1, 1));

        tap.unbind_remote_stream(&info(7)).await;
        tap.unbind_local_stream(&info(9)).await;
        assert!(taps.remote(7).is_none() && taps.local(9).is_none());
        assert_eq!(taps.len(), (0, 0));
    }
}
