//! Kafka's framing over a socket: a 4-byte big-endian size, then that many bytes of request or
//! response. Reading and writing are separate halves, so one task can read the next frame (and
//! notice the peer closing) while another answers the last one.
//!
//! A frame's memory grows with the bytes that actually arrive: a size prefix claiming 100 MB
//! allocates nothing until those bytes come. Over a plain TCP socket, segment-file regions of a
//! Fetch go out with `sendfile(2)`; over TLS they are read and encrypted in chunks.

use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter, Interest,
};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use crate::log::FileRegion;

/// A piece of a response frame: bytes in memory, or bytes of a segment file sent with
/// `sendfile(2)` so they go from the page cache to the socket without passing through us.
#[derive(Debug, Clone)]
pub enum Part {
    /// Encoded protocol bytes.
    Bytes(Bytes),
    /// Record batches still in a segment file.
    File(FileRegion),
}

impl Part {
    fn len(&self) -> usize {
        match self {
            Part::Bytes(b) => b.len(),
            Part::File(r) => r.len,
        }
    }
}

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// A frame larger than the limit (`socket.request.max.bytes`, or
    /// `sasl.server.max.receive.size` before authentication), or a negative size.
    #[error("frame of {0} bytes exceeds the limit of {1} bytes")]
    TooLarge(i64, usize),
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed after {0} of {1} bytes of a frame")]
    Truncated(usize, usize),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Bytes read per step of a large frame.
const READ_STEP: usize = 64 * 1024;

/// The read half: frames in.
pub struct FrameReader {
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    /// The largest frame taken now; shared so authentication can raise it.
    max_frame: Arc<AtomicUsize>,
}

impl FrameReader {
    /// Reads frames from `read`, refusing any larger than `max_frame` at the time it starts.
    pub fn new(read: Box<dyn AsyncRead + Send + Unpin>, max_frame: Arc<AtomicUsize>) -> Self {
        FrameReader {
            reader: BufReader::with_capacity(4 * 1024, read),
            max_frame,
        }
    }

    /// Reads the next request frame.
    pub async fn read_frame(&mut self) -> Result<Bytes, FrameError> {
        let mut size = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self.reader.read(&mut size[got..]).await?;
            if n == 0 {
                return Err(if got == 0 {
                    FrameError::Closed
                } else {
                    FrameError::Truncated(got, 4)
                });
            }
            got += n;
        }
        let size = i32::from_be_bytes(size) as i64;
        let max = self.max_frame.load(Ordering::Relaxed);
        if size < 0 || size as usize > max {
            return Err(FrameError::TooLarge(size, max));
        }
        let size = size as usize;
        let mut buf = BytesMut::with_capacity(size.min(READ_STEP));
        while buf.len() < size {
            let want = (size - buf.len()).min(READ_STEP);
            buf.reserve(want);
            let n = (&mut self.reader)
                .take(want as u64)
                .read_buf(&mut buf)
                .await?;
            if n == 0 {
                return Err(FrameError::Truncated(buf.len(), size));
            }
        }
        Ok(buf.freeze())
    }
}

/// Where responses go: a TCP socket (file regions with `sendfile`) or any other stream (TLS).
enum Sink {
    Tcp(BufWriter<OwnedWriteHalf>),
    Other(BufWriter<Box<dyn AsyncWrite + Send + Unpin>>),
}

/// The write half: frames out.
pub struct FrameWriter {
    sink: Sink,
}

impl FrameWriter {
    /// Writes to a plain TCP socket.
    pub fn tcp(write: OwnedWriteHalf) -> Self {
        FrameWriter {
            sink: Sink::Tcp(BufWriter::with_capacity(64 * 1024, write)),
        }
    }

    /// Writes to another stream (TLS).
    pub fn other(write: Box<dyn AsyncWrite + Send + Unpin>) -> Self {
        FrameWriter {
            sink: Sink::Other(BufWriter::with_capacity(64 * 1024, write)),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Tcp(w) => w.write_all(bytes).await,
            Sink::Other(w) => w.write_all(bytes).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Tcp(w) => w.flush().await,
            Sink::Other(w) => w.flush().await,
        }
    }

    /// Writes one response frame (`body` without the size prefix) and flushes.
    pub async fn write_frame(&mut self, body: &[u8]) -> Result<(), FrameError> {
        let size = frame_size(body.len())?;
        self.write_all(&size.to_be_bytes()).await?;
        self.write_all(body).await?;
        self.flush().await?;
        Ok(())
    }

    /// Writes one response frame made of `parts` and flushes.
    pub async fn write_parts(&mut self, parts: &[Part]) -> Result<(), FrameError> {
        let size = frame_size(parts.iter().map(Part::len).sum())?;
        self.write_all(&size.to_be_bytes()).await?;
        for part in parts {
            match part {
                Part::Bytes(b) => self.write_all(b).await?,
                Part::File(region) => match &mut self.sink {
                    Sink::Tcp(w) => {
                        // Everything before the region must be on the wire first.
                        w.flush().await?;
                        send_file(w.get_ref().as_ref(), region).await?;
                    }
                    Sink::Other(w) => copy_region(w, region).await?,
                },
            }
        }
        self.flush().await?;
        Ok(())
    }

    /// Closes the stream's write side (TLS sends close_notify).
    pub async fn shutdown(&mut self) {
        let _ = match &mut self.sink {
            Sink::Tcp(w) => w.shutdown().await,
            Sink::Other(w) => w.shutdown().await,
        };
    }
}

fn frame_size(len: usize) -> Result<i32, FrameError> {
    i32::try_from(len).map_err(|_| {
        FrameError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("response of {len} bytes does not fit a frame"),
        ))
    })
}

/// Reads a file region in chunks and writes it through `w` (TLS cannot use `sendfile`).
async fn copy_region<W: AsyncWrite + Unpin>(w: &mut W, region: &FileRegion) -> std::io::Result<()> {
    let mut buf = vec![0u8; READ_STEP.min(region.len.max(1))];
    let mut done = 0;
    while done < region.len {
        let n = (region.len - done).min(buf.len());
        region
            .file
            .read_exact_at(&mut buf[..n], region.position + done as u64)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "segment file is shorter than the fetched region",
                    )
                } else {
                    e
                }
            })?;
        w.write_all(&buf[..n]).await?;
        done += n;
    }
    Ok(())
}

/// Sends a file region with `sendfile(2)`, waiting whenever the socket buffer is full.
async fn send_file(stream: &TcpStream, region: &FileRegion) -> std::io::Result<()> {
    let mut offset = libc::off_t::try_from(region.position)
        .map_err(|_| std::io::Error::other("file position out of range"))?;
    let end = offset + region.len as libc::off_t;
    while offset < end {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            // Both descriptors stay open for the call: the socket is borrowed, the file is held
            // by the region's Arc. sendfile reads and advances `offset`.
            // SAFETY: open descriptors, and `offset` is a valid, exclusive pointer.
            let n = unsafe {
                libc::sendfile(
                    stream.as_raw_fd(),
                    region.file.as_raw_fd(),
                    &mut offset,
                    (end - offset) as usize,
                )
            };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match sent {
            // The file ended before the region did: the frame cannot be completed.
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "segment file is shorter than the fetched region",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_claiming_much_more_than_arrives_allocates_only_what_arrived() {
        let (mut client, server) = tokio::io::duplex(1024);
        let max = Arc::new(AtomicUsize::new(200 << 20));
        let mut reader = FrameReader::new(Box::new(server), max);
        client
            .write_all(&(100_000_000i32).to_be_bytes())
            .await
            .unwrap();
        client.write_all(&[7u8; 10]).await.unwrap();
        drop(client);
        match reader.read_frame().await {
            Err(FrameError::Truncated(got, want)) => {
                assert_eq!((got, want), (10, 100_000_000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_are_read_whole_and_limits_checked_before_reading() {
        let (mut client, server) = tokio::io::duplex(64);
        let max = Arc::new(AtomicUsize::new(300_000));
        let mut reader = FrameReader::new(Box::new(server), max.clone());
        let body: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let sent = body.clone();
        let writer = tokio::spawn(async move {
            client
                .write_all(&(sent.len() as i32).to_be_bytes())
                .await
                .unwrap();
            client.write_all(&sent).await.unwrap();
            client.write_all(&(400_000i32).to_be_bytes()).await.unwrap();
            client
        });
        assert_eq!(&reader.read_frame().await.unwrap()[..], &body[..]);
        assert!(matches!(
            reader.read_frame().await,
            Err(FrameError::TooLarge(400_000, 300_000))
        ));
        drop(writer.await.unwrap());
    }
}
