//! Request bodies read up to a limit, for every form and JSON endpoint a browser or wallet posts to.

use axum::body::{Body, Bytes, HttpBody as _};

/// How much of an oversized body is read and thrown away before the 413 goes out.
pub const DRAIN_BYTES: usize = 1 << 20;

/// `body`, at most `limit` bytes; `None` beyond (answer 413), or when the body breaks off.
///
/// An oversized body is read on and discarded up to [`DRAIN_BYTES`] more first: a server that
/// answers while the client is still sending closes with unread data, the kernel resets the
/// connection, and the client may get a reset instead of the 413 and its page (a test of the
/// NCP's wallet token endpoint saw exactly that). Past the drain bound the connection is given
/// up, so a hostile client cannot make the server read without end.
pub async fn read_bounded(mut body: Body, limit: usize) -> Option<Bytes> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(frame) = frame else { return None };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > limit.saturating_add(DRAIN_BYTES) {
            return None;
        }
    }
    (seen <= limit).then(|| kept.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of `chunks` pieces of `size` bytes, and how many of them the reader pulled.
    fn chunked(
        chunks: usize,
        size: usize,
    ) -> (Body, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pulled.clone();
        // Lazy: a chunk is made (and counted) when the reader pulls it.
        let stream = tokio_stream::iter((0..chunks).map(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; size]))
        }));
        (Body::from_stream(stream), pulled)
    }

    #[tokio::test]
    async fn up_to_the_limit_the_body_is_kept_whole() {
        let (body, _) = chunked(4, 1000);
        let got = read_bounded(body, 4000).await.expect("within the limit");
        assert_eq!(got.len(), 4000);
        assert_eq!(read_bounded(Body::empty(), 0).await.expect("empty"), "");
    }

    #[tokio::test]
    async fn one_byte_over_is_refused_after_reading_the_rest() {
        let (body, pulled) = chunked(5, 1000);
        assert!(read_bounded(body, 4999).await.is_none());
        // Read to the end (so the 413 is not lost to a reset), not stopped at the limit.
        assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn past_the_drain_bound_reading_stops() {
        let chunk = 64 * 1024;
        let chunks = 4 * DRAIN_BYTES / chunk;
        let (body, pulled) = chunked(chunks, chunk);
        assert!(read_bounded(body, 1000).await.is_none());
        let read = pulled.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            read <= (1000 + DRAIN_BYTES) / chunk + 2,
            "read {read} of {chunks} chunks"
        );
    }

    #[tokio::test]
    async fn a_broken_body_is_refused() {
        let stream = tokio_stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("connection reset")),
        ]);
        assert!(
            read_bounded(Body::from_stream(stream), 1000)
                .await
                .is_none()
        );
    }
}
